"""e-prop: exact without recurrence, the spec-built Brian2 network equals the numpy reference (traces,
spikes, losses, weights; Adam and SGD), composes beyond the recipe, the loss goes down."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.metrics import angle_deg
from bioplaus.reference.eprop import (PARAMS, LIFNet, bptt_gradients, eprop_gradients, lif_forward, poisson_input,
                                      sine_target, train_recurrent)


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
    spec = EpropNetwork(feedback=feedback, lr=0.05, tau_out="30 ms")     # alpha != kappa: traces tell them apart
    net = LIFNet.random(5, 8, 2, np.random.default_rng(5), w_in=3.0, w_rec=1.5, feedback=feedback)
    net.alpha, net.kappa = spec.alpha, spec.kappa
    trials = 3
    r = run_eprop(spec, net.params(), x, y, trials, B=net.B, backend="numpy", record=True, spikes=True)
    T = len(x)
    # first trial, step by step: membrane potential, learning signal, eligibility traces
    _, g, tr, rec = eprop_gradients(net, x, y, record=True)
    assert tr.z.sum() > 20 and np.abs(rec.ebar_rec).max() > 0.1
    # identical spikes in every trial: the reference's network after k Adam steps fires at the same steps
    steps, units = r.spikes
    for k in range(trials):
        z = np.zeros((T, 8))
        sel = (steps >= k * T) & (steps < (k + 1) * T)
        z[steps[sel] - k * T, units[sel]] = 1
        trained_k = train_recurrent(net, x, y, k, "eprop", lr=0.05)[1] if k else net
        np.testing.assert_array_equal(z, lif_forward(trained_k, x, y).z)
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


def test_sgd_update_is_plain_gradient_descent_on_the_trial_mean():
    pytest.importorskip("brian2")
    from bioplaus.networks.eprop import EpropNetwork, run_eprop

    x, y = _task(n_in=5, steps=60, seed=6, rate=0.15)
    net = LIFNet.random(5, 6, 2, np.random.default_rng(7), w_in=3.0, w_rec=1.5, feedback="random")
    spec = EpropNetwork(optimizer="sgd", lr=0.5)
    net.alpha, net.kappa = spec.alpha, spec.kappa
    r = run_eprop(spec, net.params(), x, y, 3, B=net.B)
    ref, losses = net.copy(), []
    for _ in range(2):      # the third trial's gradient is accumulated, applied at the next trial's start
        loss, g, _, _ = eprop_gradients(ref, x, y)
        losses.append(loss)
        for k in PARAMS:
            getattr(ref, k)[...] -= 0.5 * g[k]
    losses.append(eprop_gradients(ref, x, y)[0])
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10)
    for k in PARAMS:
        np.testing.assert_allclose(r.weights[k], getattr(ref, k), rtol=1e-10, atol=1e-13)
    assert np.abs(r.weights["W_in"] - net.W_in).max() > 1e-3      # it learned


def test_sparse_recurrence_and_seeded_random_feedback_compose_from_specs():
    """A network the recipe does not make, from specs alone: 3 recurrent inputs per unit, feedback drawn
    from the network seed, SGD. Trial 1's gradient at every synapse equals the reference's on the dense
    network with zeros where there is no synapse, and trial 2 starts from W - lr*g on the synapses only."""
    pytest.importorskip("brian2")
    from bioplaus.build.network import BuildContext
    from bioplaus.networks.eprop import eprop_results
    from bioplaus.simulation import simulate
    from bioplaus.spec import Monitor, NetworkSpec, Population, Projection
    from bioplaus.spec.credit import RandomFeedback
    from bioplaus.spec.eligibility import SGD, Eprop, EpropLIF, EpropReadout, LeakyReadout, TrialInput
    from bioplaus.spec.network import FixedInDegree

    x, y = _task(n_in=4, steps=60, seed=8, rate=0.2)
    rng = np.random.default_rng(9)
    N, lr = 7, 0.3
    W_in, W_rec0, W_out = rng.normal(0, 1.5, (N, 4)), rng.normal(0, 0.6, (N, N)), rng.normal(0, 0.5, (2, N))
    fb = RandomFeedback(scale=0.4, distribution="normal", scale_by_fan_in=False)
    opt = SGD(lr=lr)
    net = NetworkSpec(
        [Population("inp", TrialInput(x)), Population("rec", EpropLIF(), N),
         Population("out", LeakyReadout(target=y), 2)],
        [Projection("W_in", "inp", "rec", rule=Eprop(optimizer=opt), w_init=W_in.T, weight_scale=1.0),
         Projection("W_rec", "rec", "rec", rule=Eprop(optimizer=opt), connectivity=FixedInDegree(3, allow_self=False),
                    w_init=W_rec0.T, weight_scale=1.0),
         Projection("W_out", "rec", "out", rule=EpropReadout(feedback=fb, optimizer=opt), w_init=W_out.T,
                    weight_scale=1.0)],
        monitors=[Monitor("out", ("loss",), dt="60 ms")], dt="1 ms", duration="120 ms", seed=3)
    res = simulate(net)
    r = eprop_results(res)
    i, j = res["W_rec.i"], res["W_rec.j"]
    mask = np.zeros((N, N), bool)
    mask[j, i] = True
    assert mask.sum() == 3 * N and not mask.diagonal().any()
    B = fb.draw(BuildContext(net).rng("feedback:W_out"), 2, N).T      # (N, n_out), as the builder draws it
    ref = LIFNet(W_in.copy(), np.where(mask, W_rec0, 0.0), W_out.copy(), np.zeros(2), np.exp(-1 / 20),
                 np.exp(-1 / 20), B=B)
    loss1, g1, tr, _ = eprop_gradients(ref, x, y)
    assert tr.z.sum() > 10
    for k in PARAMS:
        getattr(ref, k)[...] -= lr * (np.where(mask, g1[k], 0.0) if k == "W_rec" else g1[k])
    loss2, g2, _, _ = eprop_gradients(ref, x, y)
    np.testing.assert_allclose(r.losses, [loss1, loss2], rtol=1e-10)
    np.testing.assert_allclose(r.weights["W_rec"], ref.W_rec, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.state["W_rec.grad"] / 60, g2["W_rec"][j, i], rtol=1e-9, atol=1e-13)
    assert np.abs(ref.W_rec - np.where(mask, W_rec0, 0)).max() > 1e-3


def test_eprop_specs_report_bad_compositions_by_name():
    pytest.importorskip("brian2")
    from bioplaus.simulation import simulate
    from bioplaus.spec import LIF, NetworkSpec, Population, Projection
    from bioplaus.spec.credit import FixedFeedback
    from bioplaus.spec.eligibility import Eprop, EpropLIF, EpropReadout, LeakyReadout, TrialInput

    x = np.zeros((10, 2))
    with pytest.raises(ConfigError, match="EpropReadout.feedback"):
        EpropReadout(feedback="random")
    with pytest.raises(ConfigError, match="TrialInput.spikes"):
        TrialInput(x + 0.5)
    with pytest.raises(ConfigError, match="Eprop.optimizer"):
        Eprop(optimizer="adam")

    def net(target_steps=10, post_model=None, readout=True, matrix=None):
        pops = [Population("inp", TrialInput(x)), Population("rec", post_model or EpropLIF(), 3),
                Population("out", LeakyReadout(target=np.zeros((target_steps, 1))), 1)]
        ws = "1 nA" if post_model is not None else 1.0
        projs = [Projection("W_in", "inp", "rec", rule=Eprop(), weight_scale=ws)]
        if readout:
            fb = "symmetric" if matrix is None else FixedFeedback(matrix)
            projs.append(Projection("W_out", "rec", "out", rule=EpropReadout(feedback=fb), weight_scale=1.0))
        return NetworkSpec(pops, projs, dt="1 ms", duration="10 ms")

    with pytest.raises(ConfigError, match=r"populations\.out\.model\.target = '12 steps'.*10 steps"):
        simulate(net(target_steps=12))
    with pytest.raises(ConfigError, match=r"projections\.W_in\.post = 'rec'.*EpropLIF"):
        simulate(net(post_model=LIF(), readout=False))
    with pytest.raises(ConfigError, match=r"projections\.W_in\.rule.*EpropReadout.*found 0"):
        simulate(net(readout=False))
    with pytest.raises(ConfigError, match=r"projections\.W_out\.rule\.feedback\.matrix.*\(1, 3\)"):
        simulate(net(matrix=np.ones((3, 1))))


@pytest.mark.standalone
def test_cpp_standalone_equals_numpy(tmp_path):
    from bioplaus.networks.eprop import EpropNetwork, run_eprop

    x, y = _task(n_in=5, steps=50, seed=4, rate=0.15)
    net = LIFNet.random(5, 8, 2, np.random.default_rng(5), w_in=3.0, w_rec=1.5, feedback="random")
    spec = EpropNetwork(lr=0.05)
    r = {b: run_eprop(spec, net.params(), x, y, 3, B=net.B, backend=b, spikes=True,
                      directory=str(tmp_path / "cpp") if b == "cpp" else None) for b in ("numpy", "cpp")}
    np.testing.assert_allclose(r["cpp"].losses, r["numpy"].losses, rtol=1e-12)
    for k in PARAMS:
        np.testing.assert_allclose(r["cpp"].weights[k], r["numpy"].weights[k], rtol=1e-12, atol=1e-14)
    for a, b in zip(r["cpp"].spikes, r["numpy"].spikes):
        np.testing.assert_array_equal(np.sort(a), np.sort(b))
    assert len(r["cpp"].spikes[0]) > 20 and r["cpp"].losses[-1] < r["cpp"].losses[0]


def test_eprop_experiment_simulates_the_network_it_declares_once():
    """The seam sweeps rely on: run() simulates exactly the NetworkSpec network() returns, through ctx.simulate."""
    pytest.importorskip("brian2")
    from bioplaus.experiments.base import RunContext, experiment_class
    from bioplaus.simulation import simulate

    cls = experiment_class("eprop")
    p = cls.Params(n_in=4, n_rec=6, duration="40 ms", trials=2, bptt=False)
    calls = []

    def simulator(spec, backend, **kw):
        calls.append(spec)
        return simulate(spec, backend, **kw)

    ctx = RunContext(seed=5, progress=lambda msg: None, simulator=simulator)
    res = cls().run(p, ctx)
    declared = cls().network(p, ctx)
    assert len(calls) == 1
    assert calls[0].to_dict() == declared.to_dict()
    assert res.info["brian2_vs_numpy_max_loss_diff"] < 1e-9


def _alif_eprop_trial(W_in, W_rec, W_out, b, B, x, y, alpha, kappa, rho, beta, v_th=1.0, gamma=0.3):
    r"""One trial of e-prop for ALIF units (Bellec et al. 2020, Methods, eqs. for ALIF), in the discrete
    order of :mod:`bioplaus.reference.eprop`: :math:`v_t = \alpha(v_{t-1} + I_{t-1} - v_{th} z_{t-1})`,
    :math:`a_t = \rho(a_{t-1} + z_{t-1})`, :math:`z_t = H(v_t - v_{th} - \beta a_t)`; eligibility vector
    :math:`(\epsilon^v, \epsilon^a)`, :math:`\epsilon^v_t = \alpha(\epsilon^v_{t-1} + s_{t-1})`,
    :math:`\epsilon^a_{t+1} = \rho(\psi_t\epsilon^v_t + (1 - \beta\psi_t)\epsilon^a_t)`,
    :math:`e_t = \psi_t(\epsilon^v_t - \beta\epsilon^a_t)` (the reset's derivative left out, as for LIF)."""
    T, N = len(x), W_in.shape[0]
    v, a, yv = np.zeros(N), np.zeros(N), np.zeros(W_out.shape[0])
    z_prev, x_prev = np.zeros(N), np.zeros(x.shape[1])
    ev_in, ev_rec = np.zeros(x.shape[1]), np.zeros(N)
    ea_in, ea_rec = np.zeros((N, x.shape[1])), np.zeros((N, N))
    eb_in, eb_rec = np.zeros_like(ea_in), np.zeros_like(ea_rec)
    out = {"z": np.zeros((T, N)), "ebar_in": np.zeros((T,) + ea_in.shape), "ebar_rec": np.zeros((T, N, N)),
           "L": np.zeros((T, N))}
    for t in range(T):
        v = alpha * (v + W_in @ x_prev + W_rec @ z_prev - v_th * z_prev)
        a = rho * (a + z_prev)
        ev_in, ev_rec = alpha * (ev_in + x_prev), alpha * (ev_rec + z_prev)
        z = (v > v_th + beta * a).astype(float)
        psi = (gamma / v_th * np.maximum(0.0, 1 - np.abs((v - v_th - beta * a) / v_th)))[:, None]
        eb_in = kappa * eb_in + psi * (ev_in[None, :] - beta * ea_in)
        eb_rec = kappa * eb_rec + psi * (ev_rec[None, :] - beta * ea_rec)
        ea_in = rho * (psi * ev_in[None, :] + (1 - beta * psi) * ea_in)
        ea_rec = rho * (psi * ev_rec[None, :] + (1 - beta * psi) * ea_rec)
        yv = kappa * yv + W_out @ z
        out["L"][t] = B @ (yv + b - y[t])
        out["z"][t], out["ebar_in"][t], out["ebar_rec"][t] = z, eb_in, eb_rec
        np.fill_diagonal(out["ebar_rec"][t], 0.0)
        z_prev, x_prev = z, x[t]
    return out


def test_alif_units_adapt_and_their_eligibility_traces_follow_both_components():
    pytest.importorskip("brian2")
    from bioplaus.networks.eprop import EpropNetwork, run_eprop

    x, y = _task(n_in=5, steps=80, seed=4, rate=0.2)
    net = LIFNet.random(5, 8, 2, np.random.default_rng(5), w_in=3.0, w_rec=1.5, feedback="random")
    runs = {}
    for beta in (0.0, 0.5):
        spec = EpropNetwork(beta=beta, tau_a="100 ms", tau_out="30 ms", lr=0.05)
        runs[beta] = run_eprop(spec, net.params(), x, y, 2, B=net.B, record=True, spikes=True)
    r, T = runs[0.5], len(x)
    ref = _alif_eprop_trial(net.W_in, net.W_rec, net.W_out, net.b_out, net.B, x, y, spec.alpha, spec.kappa,
                            np.exp(-1 / 100), 0.5)
    steps, units = r.spikes
    z = np.zeros((T, 8))
    z[steps[steps < T], units[steps < T]] = 1
    np.testing.assert_array_equal(z, ref["z"])
    assert len(runs[0.0].spikes[0][runs[0.0].spikes[0] < T]) > z.sum() > 10      # adaptation: fewer spikes
    np.testing.assert_allclose(r.records["L"][:T], ref["L"], atol=1e-12)
    np.testing.assert_allclose(r.records["ebar_in"][:T], ref["ebar_in"], atol=1e-11)
    np.testing.assert_allclose(r.records["ebar_rec"][:T], ref["ebar_rec"], atol=1e-11)
    assert r.losses[1] < r.losses[0]
