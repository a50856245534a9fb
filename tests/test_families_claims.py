"""The essays' claims as measurements: direction controls, non-differentiable units, the claim models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.direction import norm_matched
from bioplaus.reference.mlp import MLP
from bioplaus.reference.nondiff import with_units

MODELS = Path(__file__).resolve().parent.parent / "models"


def _layer_vecs(g):
    return [np.concatenate([w.ravel(), b.ravel()]) for w, b in zip(g.dW, g.db)]


def test_direction_controls_take_steps_of_backprops_norm(rng):
    net = MLP.random((6, 40, 30, 4), rng=rng)
    x, y = rng.standard_normal((16, 6)), rng.integers(0, 4, 16)
    g = net.gradients(x, y)[1]
    gv = _layer_vecs(g)
    cos = {m: [] for m in ("random", "descent")}
    for _ in range(200):
        for mode in ("random", "descent"):
            u = _layer_vecs(norm_matched(g, mode, rng))
            for a, b in zip(u, gv):
                np.testing.assert_allclose(np.linalg.norm(a), np.linalg.norm(b), rtol=1e-12)
                cos[mode].append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert min(cos["descent"]) > 0  # never uphill
    assert 0.3 < np.mean(np.array(cos["random"]) > 0) < 0.7  # uphill as often as downhill
    assert max(np.abs(cos["random"])) < 0.6  # nearly orthogonal in these dimensions
    s = _layer_vecs(norm_matched(g, "sign"))
    for a, b in zip(s, gv):
        np.testing.assert_allclose(a, np.sign(b) * np.linalg.norm(b) / np.linalg.norm(np.sign(b)), rtol=1e-12)


def test_direction_rules_are_registered_and_the_probe_does_not_change_training(rng):
    net = MLP.random((6, 12, 3), rng=rng)
    x, y = rng.standard_normal((32, 6)), rng.integers(0, 3, 32)
    runs = []
    for probe in (False, True):
        learner = make_credit_rule("random-dir").learner()
        learner.init(net.copy(), np.random.default_rng(4), TrainSettings(lr=0.1))
        learner.step(x, y)
        if probe:
            learner.alignment(x, y)
        learner.step(x, y)
        runs.append(learner.net.weights[0].copy())
    np.testing.assert_array_equal(*runs)


def test_step_units_stop_backprop_with_the_true_derivative_but_not_the_others(rng):
    net0 = MLP.random((8, 20, 4), rng=rng)
    x, y = rng.standard_normal((32, 8)), rng.integers(0, 4, 32)
    for units in ("step", "staircase"):
        true = with_units(net0, units, "true")
        h = true.forward(x).h[1]
        levels = {0.0, 1.0} if units == "step" else {-1.0, -0.5, 0.0, 0.5, 1.0}
        assert set(np.unique(h)) <= levels and len(np.unique(h)) > 1
        g_bp = make_credit_rule("bp").learner()
        g_bp.init(true, np.random.default_rng(0), TrainSettings(lr=0.1))
        assert not g_bp.updates(x, y).dW[0].any() and g_bp.updates(x, y).dW[1].any()
        for rule in ("fa", "dfa", "bp"):
            lr = make_credit_rule(rule).learner()
            lr.init(with_units(net0, units, "ste"), np.random.default_rng(0), TrainSettings(lr=0.1))
            assert lr.updates(x, y).dW[0].any(), rule
        npl = make_credit_rule("np", sigma=0.3).learner()
        npl.init(with_units(net0, units, "true"), np.random.default_rng(0), TrainSettings(lr=0.1))
        assert npl.updates(x, y).dW[0].any()
    with pytest.raises(ConfigError, match="units"):
        with_units(net0, "sign", "true")


def test_claim_any_direction_model_gives_a_verdict(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_any_direction.toml", ["params.epochs=2", "params.seeds=1", "params.hidden=[32]"])
    res = run_model(cfg, tmp_path / "c1", progress=lambda m: None)
    assert res.status == "ok"
    acc = res.info["test_acc"]
    assert acc["bp"] > 0.8 and acc["random-dir"] < acc["bp"] - 0.3
    assert isinstance(res.info["held"], bool) and not res.info["held"]
    text = (tmp_path / "c1" / "summary.md").read_text()
    assert "**Result: the claim did not hold.**" in text and "random-dir" in text
    assert (tmp_path / "c1" / "figures" / "claim_any_direction.png").exists()
    with pytest.raises(ConfigError, match="params.rules"):
        load_model(MODELS / "claim_any_direction.toml", ['params.rules=["fa", "random-dir"]'])


def test_claim_nondifferentiable_model_gives_a_verdict(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_nondifferentiable.toml",
                     ["params.epochs=1", "params.seeds=1", "params.hidden=32", 'params.units=["step"]'])
    res = run_model(cfg, tmp_path / "c2", progress=lambda m: None)
    assert res.status == "ok"
    v = res.info["verdicts"]["step"]
    assert v["bp_hidden_frozen"] is True and isinstance(v["held"], bool)
    assert (tmp_path / "c2" / "figures" / "claim_nondifferentiable.png").exists()
    with pytest.raises(ConfigError, match="params.units"):
        load_model(MODELS / "claim_nondifferentiable.toml", ['params.units=["sigmoidish"]'])


def test_doctests_of_the_new_modules():
    import doctest

    from bioplaus.reference import nondiff

    assert doctest.testmod(nondiff).failed == 0


def test_claim_depth_model_measures_norms_per_layer_and_gives_a_verdict(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.results import read_csv
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_depth.toml", ["params.epochs=1", "params.seeds=1", "params.depths=[1, 3]",
                                                   "params.width=16"])
    res = run_model(cfg, tmp_path / "c3", progress=lambda m: None)
    assert res.status == "ok" and isinstance(res.info["verdict"]["held"], bool)
    rows = read_csv(tmp_path / "c3" / "metrics.csv")
    norms = [r for r in rows if r["kind"] == "norm_at_init" and int(r["depth"]) == 3]
    assert len(norms) == 3 * 4 and all(float(r["update_norm"]) > 0 for r in norms)
    # at depth 1, BP and FA share the output layer's update (same output error) but not the hidden one's
    n1 = {(r["rule"], int(r["layer"])): float(r["update_norm"]) for r in rows
          if r["kind"] == "norm_at_init" and int(r["depth"]) == 1}
    assert n1["bp", 2] == pytest.approx(n1["fa", 2]) and n1["bp", 1] != pytest.approx(n1["fa", 1])


def test_claim_unsupervised_model_compares_learned_and_random_features(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_unsupervised.toml",
                     ['params.dataset="digits"', "params.epochs=1", "params.hidden=32"])
    res = run_model(cfg, tmp_path / "c6", progress=lambda m: None)
    acc = res.info["test_acc"]
    assert res.status == "ok" and set(acc) == {"bp", "hebbian", "random features"}
    assert acc["hebbian"] != acc["random features"]  # the control really keeps the random features
    assert isinstance(res.info["held"], bool)
    assert "**Result: the claim" in (tmp_path / "c6" / "summary.md").read_text()
