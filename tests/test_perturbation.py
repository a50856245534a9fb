"""Node and weight perturbation: unbiased estimates whose variance grows with the network."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.harness import CompareConfig, compare
from bioplaus.reference.credit import make_credit_rule
from bioplaus.reference.mlp import MLP, loss_value
from bioplaus.reference.perturbation import (estimate_mean, estimator_deviation, flatten, node_perturbation_grads,
                                             sample_losses, weight_perturbation_grads)

ESTIMATORS = {"np": node_perturbation_grads, "wp": weight_perturbation_grads}


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_sample_losses_average_to_the_batch_loss(rng, loss):
    z = rng.standard_normal((8, 3))
    y = rng.integers(0, 3, 8)
    assert sample_losses(z, y, loss).mean() == pytest.approx(loss_value(z, y, loss), rel=1e-12)


def _problem(hidden=8):
    rng = np.random.default_rng(7)
    net = MLP.random((5, hidden, 3), "tanh", "cross_entropy", rng)
    return net, rng.standard_normal((16, 5)), rng.integers(0, 3, 16)


@pytest.mark.parametrize("name", ["np", "wp"])
def test_estimate_is_unbiased_and_error_shrinks_like_one_over_sqrt_samples(name):
    net, x, y = _problem()
    g = flatten(net.gradients(x, y)[1])
    f = ESTIMATORS[name]
    rng = np.random.default_rng(11)
    errs = {}
    for n in (400, 6400):
        # mean relative error over a few independent repetitions, to steady the ratio
        e = [np.linalg.norm(flatten(estimate_mean(lambda r: f(net, x, y, 1e-3, r), n, rng)) - g)
             for _ in range(3)]
        errs[n] = float(np.mean(e)) / np.linalg.norm(g)
    mean = flatten(estimate_mean(lambda r: f(net, x, y, 1e-3, r), 6400, rng))
    cos = mean @ g / (np.linalg.norm(mean) * np.linalg.norm(g))
    assert cos > 0.95
    ratio = errs[400] / errs[6400]  # 16x the samples: sqrt(16) = 4x smaller error
    assert 2.8 < ratio < 5.7, errs


def test_variance_grows_with_the_hidden_layer():
    rel = {}
    for H in (8, 128):
        net, x, y = _problem(H)
        true = net.gradients(x, y)[1]
        rng = np.random.default_rng(0)
        for name, f in ESTIMATORS.items():
            est = [f(net, x, y, 1e-3, rng) for _ in range(60)]
            rel[name, H] = estimator_deviation(est, true, layers=[0])["rel_var"]
    assert rel["np", 128] > 4 * rel["np", 8]
    assert rel["wp", 128] > 4 * rel["wp", 8]
    assert rel["wp", 128] > 10 * rel["np", 128]  # perturbing weights is noisier than perturbing units


def test_a_deterministic_estimate_has_no_variance(rng):
    net, x, y = _problem()
    true = net.gradients(x, y)[1]
    dev = estimator_deviation([true, true], true)
    assert dev["rel_mse"] == 0 and dev["rel_var"] == 0 and dev["cos"] == pytest.approx(1.0)


def test_perturbation_rules_learn_in_the_harness_and_measuring_does_not_change_training():
    cfg = CompareConfig(rules=("np", "wp"), hidden=(32,), epochs=2, seeds=1)
    a = compare(cfg, progress=False)
    assert a.final("np", "test_acc")[0] > 0.25  # from chance (0.1)
    assert a.final("wp", "test_acc")[0] > 0.15
    ang = a.curve("np", "angle_update_l1")[0]
    assert np.all((ang > 0) & (ang < 90))
    learner = make_credit_rule("np").learner()
    net = MLP.random((5, 8, 3), rng=np.random.default_rng(0))
    from bioplaus.reference.credit import TrainSettings
    learner.init(net, np.random.default_rng(1), TrainSettings(lr=0.01))
    x, y = np.random.default_rng(2).standard_normal((4, 5)), np.array([0, 1, 2, 0])
    before = learner.rng.bit_generator.state
    learner.alignment(x, y)
    assert learner.rng.bit_generator.state == before


@pytest.mark.parametrize("params, key", [({"sigma": 0.0}, "NodePerturbation.sigma"),
                                         ({"samples": 0}, "NodePerturbation.samples")])
def test_bad_parameters_are_named(params, key):
    with pytest.raises(ConfigError) as ei:
        make_credit_rule("np", **params)
    assert ei.value.key_path == key


def test_perturbation_variance_model_runs_and_variance_grows(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model("models/perturbation_variance.toml", ["params.widths=[8, 128]", "params.samples=30",
                                                            "params.epochs=1", "params.warmup_epochs=1",
                                                            'params.rules=["bp", "np"]'])
    res = run_model(cfg, tmp_path / "out", progress=lambda msg: None)
    est = {(r["rule"], r["width"]): r for r in res.rows if r["kind"] == "estimate" and r["layer"] == "W1"}
    assert est["np", 128]["rel_var"] > 3 * est["np", 8]["rel_var"]
    assert est["wp", 128]["rel_var"] > 3 * est["wp", 8]["rel_var"]
    assert est["bp", 8]["rel_mse"] == 0 and est["fa", 8]["rel_var"] == 0
    assert {"perturbation_variance", "perturbation_accuracy"} <= set(res.figures)
    assert (tmp_path / "out" / "figures" / "perturbation_variance.png").exists()
    assert "rel. MSE" in (tmp_path / "out" / "summary.md").read_text()
