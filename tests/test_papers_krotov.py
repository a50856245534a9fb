"""Krotov & Hopfield (2019) at the paper's power n = 4.5: the divergence guard of the harness limits
weights, not the feature statistics that standardise max(Wv, 0)^n for the readout."""
import numpy as np

from bioplaus.harness import WEIGHT_LIMIT, _check_weights
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.mlp import MLP


def _learner(n: float):
    rng = np.random.default_rng(0)
    net = MLP.random((64, 40, 10), "relu", "cross_entropy", rng)
    learner = make_credit_rule("hebbian", n=n).learner()
    learner.init(net, np.random.default_rng(1), TrainSettings(lr=0.01))
    return learner


def test_large_feature_statistics_at_n_4_5_are_not_a_divergence():
    x = np.random.default_rng(2).uniform(0, 16, (200, 64))   # 8x8 digits' pixel range before scaling
    learner = _learner(4.5)
    learner._update_stats(0, x)
    w = learner.weights()
    assert max(np.abs(w["feature_std1"]).max(), np.abs(w["feature_mean1"]).max()) > WEIGHT_LIMIT
    assert np.abs(w["W1"]).max() < 10
    assert _check_weights(learner) is None
    # the standardised features the readout sees are of order 1
    h = learner.features(x)
    assert np.isfinite(h).all() and np.abs(h.mean(axis=0)).max() < 1e-6 and np.abs(h).max() < 200


def test_the_guard_still_stops_large_weights_and_non_finite_statistics():
    learner = _learner(4.5)
    learner.hidden[0][0, 0] = 2 * WEIGHT_LIMIT
    assert "W1" in _check_weights(learner)
    learner = _learner(4.5)
    learner.sd[0][3] = np.inf
    assert "feature_std1" in _check_weights(learner)
