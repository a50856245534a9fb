"""Forward-Forward: exact layer-local gradients, goodness separates positive from negative data."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.data import load_dataset
from bioplaus.errors import ConfigError
from bioplaus.harness import CompareConfig, compare
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.forward_forward import ForwardForward, _normalise, embed_label, ff_layer_grads
from bioplaus.reference.mlp import MLP


def test_embed_label_replaces_the_first_inputs():
    x = np.arange(12.0).reshape(2, 6)
    out = embed_label(x, np.array([2, 0]), 3, scale=0.5)
    np.testing.assert_array_equal(out[:, 3:], x[:, 3:])
    np.testing.assert_array_equal(out[:, :3], [[0, 0, 0.5], [0.5, 0, 0]])
    assert x[0, 0] == 0 and x[1, 0] == 6  # input untouched


def _layer_loss(net, h_in, sign, theta):
    x = _normalise(h_in)
    h = net._f(x @ net.weights[0].T + net.biases[0])
    G = (h * h).sum(axis=1)
    return float(np.mean(np.logaddexp(0, -sign * (G - theta))))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_layer_gradient_matches_finite_differences(rng, activation, sign):
    net = MLP.random((5, 7, 2), activation, rng=rng)
    h_in = rng.standard_normal((9, 5))
    dW, db, _, _ = ff_layer_grads(net, 0, h_in, sign, theta=1.5)
    num = np.zeros_like(dW)
    eps = 1e-6
    for idx in np.ndindex(*dW.shape):
        old = net.weights[0][idx]
        net.weights[0][idx] = old + eps
        up = _layer_loss(net, h_in, sign, 1.5)
        net.weights[0][idx] = old - eps
        down = _layer_loss(net, h_in, sign, 1.5)
        net.weights[0][idx] = old
        num[idx] = (up - down) / (2 * eps)
    np.testing.assert_allclose(dW, num, rtol=1e-5, atol=1e-8)
    assert np.abs(dW).max() > 1e-4


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a positive sample has more goodness than a negative one."""
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))


def test_trained_goodness_separates_positive_from_negative_data():
    d = load_dataset("digits", seed=0)
    rng = np.random.default_rng(0)
    net = MLP.random((64, 100, 10), rng=rng)
    learner = ForwardForward().learner()
    learner.init(net, np.random.default_rng(1), TrainSettings(lr=0.1, momentum=0.9, batch_size=16))

    def goodness():
        wrong = (d.y_test + rng.integers(1, 10, len(d.y_test))) % 10
        return learner.goodness(d.x_test, d.y_test)[:, 0], learner.goodness(d.x_test, wrong)[:, 0]

    pos0, neg0 = goodness()
    assert _auc(pos0, neg0) < 0.7  # before training the label hardly matters
    for _ in range(4):
        learner.train_epoch(d.x_train, d.y_train, rng)
    pos, neg = goodness()
    theta = learner.rule.theta
    assert np.mean(pos) > theta > np.mean(neg)
    assert _auc(pos, neg) > 0.9
    acc = np.mean(np.argmax(learner.predict(d.x_test), axis=1) == d.y_test)
    assert acc > 0.85


def test_ff_runs_in_the_harness_with_undefined_angles():
    res = compare(CompareConfig(rules=("bp", "ff"), hidden=(32,), epochs=2, seeds=1), progress=False)
    s = res.summary_of("ff")
    assert s.status == "ok" and s.test_acc[0] > 0.5   # from chance (0.1)
    assert np.isnan(s.angle_update[0])
    assert set(res.weights) >= {"ff/seed0/W1", "ff/seed0/b1"}


@pytest.mark.parametrize("params, key", [({"theta": 0}, "ForwardForward.theta"),
                                         ({"negatives": "easy"}, "ForwardForward.negatives"),
                                         ({"activation": "softplus"}, "ForwardForward.activation")])
def test_bad_parameters_are_named(params, key):
    with pytest.raises(ConfigError) as ei:
        make_credit_rule("ff", **params)
    assert ei.value.key_path == key
