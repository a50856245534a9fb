"""e-prop: exact without recurrence, Brian2 traces equal the numpy reference, the loss goes down."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.metrics import angle_deg
from bioplaus.reference.eprop import (PARAMS, LIFNet, bptt_gradients, eprop_gradients, poisson_input, sine_target,
                                      train_recurrent)


def _task(n_in=10, steps=200, seed=0, rate=0.05):
    rng = np.random.default_rng(seed)
    return poisson_input(n_in, steps, rate, rng), np.hstack([sine_target(steps, 80), -sine_target(steps, 50)])


@pytest.mark.parametrize("reset_grad", [False, True])
def test_eprop_with_symmetric_feedback_is_bptt_without_recurrence(reset_grad):
    x, y = _task()
    net = LIFNet.random(10, 30, 2, np.random.default_rng(1), w_in=2.0, recurrent=False, feedback="symmetric")
    loss_e, ge, tr, _ = eprop_gradients(net, x, y)
    loss_b, gb, _ = bptt_gradients(net, x, y, reset_grad=reset_grad)
    assert loss_e == loss_b
    assert tr.z.sum() > 50 and np.abs(ge["W_in"]).max() > 1e-3  # spikes, non-trivial gradients
    if reset_grad:
        # BPTT through the reset adds the neuron's own past spikes: e-prop leaves that path out
        assert angle_deg(ge["W_in"], gb["W_in"]) > 0.1
        return
    for k in PARAMS:
        np.testing.assert_allclose(ge[k], gb[k], rtol=1e-10, atol=1e-13)


def test_recurrence_makes_eprop_an_approximation_readout_stays_exact():
    x, y = _task()
    net = LIFNet.random(10, 30, 2, np.random.default_rng(1), w_in=2.0, w_rec=1.0, feedback="symmetric")
    _, ge, _, _ = eprop_gradients(net, x, y)
    _, gb, _ = bptt_gradients(net, x, y)
    np.testing.assert_allclose(ge["W_out"], gb["W_out"], rtol=1e-10)
    np.testing.assert_allclose(ge["b_out"], gb["b_out"], rtol=1e-10)
    a = angle_deg(ge["W_in"], gb["W_in"])
    assert 1.0 < a < 90.0


def test_eligibility_traces_recorded_online_sum_to_the_gradient():
    x, y = _task(steps=120)
    net = LIFNet.random(10, 12, 2, np.random.default_rng(2), w_in=2.0)
    _, g, tr, rec = eprop_gradients(net, x, y, record=True)
    T = len(x)
    np.testing.assert_allclose(np.einsum("tj,tji->ji", rec.L, rec.ebar_in) / T, g["W_in"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(rec.L, tr.err @ net.B.T, rtol=1e-12)


def test_eprop_lowers_the_loss():
    x, y = _task(steps=300)
    y = y[:, :1]
    net = LIFNet.random(10, 40, 1, np.random.default_rng(3), w_in=2.0, feedback="random")
    losses, trained = train_recurrent(net, x, y, 60, "eprop", lr=0.01)
    assert losses[-10:].mean() < 0.5 * losses[:3].mean()
    assert not np.allclose(trained.W_in, net.W_in) and not np.allclose(trained.W_rec, net.W_rec)
    assert np.all(np.diag(trained.W_rec) == 0)


@pytest.mark.parametrize("feedback", ["random", "symmetric"])
def test_brian2_eprop_matches_the_numpy_reference(feedback):
    pytest.importorskip("brian2")
    from bioplaus.networks.eprop import EpropNetwork, run_eprop

    x, y = _task(n_in=5, steps=80, seed=4, rate=0.15)
    spec = EpropNetwork(feedback=feedback, lr=0.05)
    net = LIFNet.random(5, 8, 2, np.random.default_rng(5), w_in=3.0, w_rec=1.5, feedback=feedback)
    net.alpha, net.kappa = spec.alpha, spec.kappa
    trials = 3
    r = run_eprop(spec, net.params(), x, y, trials, B=net.B, backend="numpy", record=True)
    T = len(x)
    # first trial, step by step: membrane potential, learning signal, eligibility traces
    _, g, tr, rec = eprop_gradients(net, x, y, record=True)
    assert tr.z.sum() > 20 and np.abs(rec.ebar_rec).max() > 0.1
    np.testing.assert_allclose(r.records["v"][:T], tr.v, atol=1e-12)
    np.testing.assert_allclose(r.records["L"][:T], rec.L, atol=1e-12)
    np.testing.assert_allclose(r.records["ebar_in"][:T], rec.ebar_in, atol=1e-11)
    np.testing.assert_allclose(r.records["ebar_rec"][:T], rec.ebar_rec, atol=1e-11)
    # Adam between trials: the same losses and weights as the reference's training loop
    losses, _ = train_recurrent(net, x, y, trials, "eprop", lr=0.05)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-9)
    assert losses[-1] < losses[0]
    # the last trial's gradient is accumulated but not applied: weights as the reference's after trials - 1
    _, trained_prev = train_recurrent(net, x, y, trials - 1, "eprop", lr=0.05)
    for k in PARAMS:
        np.testing.assert_allclose(r.weights[k], trained_prev.params()[k], rtol=1e-9, atol=1e-12)
    _, g_last, _, _ = eprop_gradients(trained_prev, x, y)
    for k in PARAMS:
        np.testing.assert_allclose(r.records[f"grad_{k}"] / T, g_last[k], rtol=1e-9, atol=1e-12)


def test_bad_network_parameters_are_named():
    from bioplaus.networks.eprop import EpropNetwork

    with pytest.raises(ConfigError, match="EpropNetwork.tau_m"):
        EpropNetwork(tau_m=20)
    with pytest.raises(ConfigError, match="EpropNetwork.feedback"):
        EpropNetwork(feedback="learned")


def test_eprop_model_runs_brian2_and_reference_side_by_side(tmp_path):
    pytest.importorskip("brian2")
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model("models/eprop_sine.toml", ["params.trials=4", 'params.duration="100 ms"', "params.n_rec=10",
                                                 "params.n_in=5"], backend="numpy")
    res = run_model(cfg, tmp_path / "out", progress=lambda msg: None)
    loss = {k: np.array([r[k] for r in res.rows]) for k in res.rows[0] if k != "trial"}
    assert set(loss) == {"brian2_eprop", "numpy_eprop", "numpy_eprop_symmetric", "numpy_bptt", "numpy_bptt_no_reset"}
    np.testing.assert_allclose(loss["brian2_eprop"], loss["numpy_eprop"], rtol=1e-9)
    assert res.info["brian2_vs_numpy_max_loss_diff"] < 1e-9
    assert (tmp_path / "out" / "figures" / "eprop_loss.png").exists()
