"""The papers' protocols in the numpy harness, and Lillicrap et al.'s (2016) alignment measure."""
import math

import numpy as np
import pytest

from bioplaus.harness import CompareConfig, _signal_angles, compare
from bioplaus.metrics import angle_deg, signal_angle_deg
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.mlp import MLP


def test_signal_angle_is_a_mean_over_samples_not_the_angle_of_the_batch():
    a = np.array([[1.0, 0.0], [0.0, 100.0]])
    b = np.array([[0.0, 1.0], [0.0, 100.0]])
    # per sample: 90 and 0 degrees; the flattened batch is dominated by the large second row
    assert signal_angle_deg(a, b) == pytest.approx(45.0)
    assert angle_deg(a, b) < 1.0
    # a vanishing sample has no direction and is left out
    assert signal_angle_deg(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])) == 0.0
    assert math.isnan(signal_angle_deg(np.zeros((2, 2)), np.ones((2, 2))))
    with pytest.raises(ValueError, match="shape"):
        signal_angle_deg(np.ones((2, 3)), np.ones((3, 2)))


def test_signal_angle_of_fa_recomputed_by_hand():
    rng = np.random.default_rng(0)
    net = MLP.random((6, 5, 3), "tanh", "cross_entropy", rng)
    x, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    fa = make_credit_rule("fa").learner()
    fa.init(net, np.random.default_rng(1), TrainSettings(lr=0.05))
    B = fa.feedback[0]  # (5, 3): carries the output error to the hidden layer
    fp = net.forward(x)
    e = net.output_error(fp.z, y)
    fprime = net.derivative(fp.h[1])
    d_fa, d_bp = (e @ B.T) * fprime, (e @ net.weights[1]) * fprime
    want = np.mean([angle_deg(d_fa[n], d_bp[n]) for n in range(40)])
    (got,) = _signal_angles(fa, x, y, 1)
    assert got == pytest.approx(want, abs=1e-8) and 30 < got < 150
    bp = make_credit_rule("bp").learner()
    bp.init(net, np.random.default_rng(1), TrainSettings(lr=0.1))
    assert _signal_angles(bp, x, y, 1) == (0.0,)
    # FA whose feedback is the transposed forward matrix is backprop: angle 0
    fa.feedback = [net.weights[1].T.copy()]
    assert _signal_angles(fa, x, y, 1)[0] == pytest.approx(0.0, abs=1e-6)


def test_harness_records_the_signal_angle_beside_the_update_angle():
    res = compare(CompareConfig(rules=("bp", "fa", "hebbian"), hidden=(32,), epochs=2, seeds=1), progress=False)
    last = {r["rule"]: r for r in res.rows if r["epoch"] == 2}
    assert last["bp"]["angle_signal_l1"] == 0.0
    assert 0 < last["fa"]["angle_signal_l1"] < 90 and 0 < last["fa"]["angle_update_l1"] < 90
    assert math.isnan(last["hebbian"]["angle_signal_l1"])
    s = {x.rule: x for x in res.summary}
    assert s["fa"].angle_signal[0] == last["fa"]["angle_signal_l1"]
    assert "∠ signal L1 (°)" in res.markdown()
