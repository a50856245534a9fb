"""Random draws have the distribution their docstrings state (scale, mean, variance, support).

Two backends given the same draw agree even when the draw is wrong; these tests check
the draw itself against the documented formula:

* :meth:`bioplaus.reference.mlp.MLP.random`: uniform on :math:`[-s, s]`,
  :math:`s = g\\sqrt{3/n_{in}}`, standard deviation :math:`g/\\sqrt{n_{in}}` (LeCun et al.
  1998), gain :math:`g` = 1 (tanh), :math:`\\sqrt 2` (relu), 4 (sigmoid); biases 0.
* FA feedback :math:`B_l` (shape of :math:`W_{l+1}^\\top`): the forward initialisation of
  :math:`W_{l+1}` (fan-in :math:`n_{l+1}`... the hidden layer it feeds back to) times
  ``feedback_scale`` (Lillicrap et al. 2016).
* DFA feedback :math:`D_l \\in \\mathbb{R}^{n_l \\times n_L}`: uniform with the scale of a layer
  of fan-in :math:`n_l`, times ``feedback_scale`` (Nøkland 2016).
* sign symmetry: exactly ``scale * sign(W_{l+1}^T)`` (Liao et al. 2016).
* ``Projection(w_init=(low, high))``: uniform on ``[low, high]`` in the built network.

Sample moments are compared with tolerances of about 10 standard errors, far below
the change a wrong fan-in, gain or factor of two would make.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.reference.credit import make_credit_rule
from bioplaus.reference.mlp import MLP

GAIN = {"tanh": 1.0, "relu": np.sqrt(2.0), "sigmoid": 4.0}
SIZES = (300, 400, 200, 10)


def _check_uniform(w: np.ndarray, half_width: float, what: str) -> None:
    """``w`` looks like i.i.d. draws from U(-half_width, half_width)."""
    n = w.size
    sd = half_width / np.sqrt(3.0)
    # standard errors: mean sd/sqrt(n); sample std ~ sd*sqrt(0.8/(4n)) for a uniform
    assert abs(w.mean()) < 10 * sd / np.sqrt(n), f"{what}: mean {w.mean():.3g}"
    assert w.std() == pytest.approx(sd, rel=max(10 * np.sqrt(0.2 / n), 1e-3)), f"{what}: std {w.std():.4g} vs {sd:.4g}"
    assert np.abs(w).max() <= half_width
    assert np.abs(w).max() > half_width * (1 - 20 / n)  # the support is filled up to its edge
    # flat: each quarter of the interval holds a quarter of the draws
    q = np.histogram(w, bins=4, range=(-half_width, half_width))[0] / n
    np.testing.assert_allclose(q, 0.25, atol=10 * np.sqrt(0.25 * 0.75 / n))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_forward_weights_follow_the_lecun_formula(activation):
    net = MLP.random(SIZES, activation, rng=np.random.default_rng(0))
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        n_out, n_in = SIZES[l + 1], SIZES[l]
        assert w.shape == (n_out, n_in)
        np.testing.assert_array_equal(b, 0.0)
        if w.size >= 2000:
            _check_uniform(w, GAIN[activation] * np.sqrt(3.0 / n_in), f"W{l + 1} ({activation})")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_fa_feedback_has_the_forward_scale_times_feedback_scale(activation, scale):
    net = MLP.random(SIZES, activation, rng=np.random.default_rng(1))
    B = make_credit_rule("fa", feedback_scale=scale).init_feedback(net, np.random.default_rng(2))
    assert len(B) == net.n_hidden
    for l, b in enumerate(B):
        assert b.shape == net.weights[l + 1].T.shape == (SIZES[l + 1], SIZES[l + 2])
        if b.size >= 2000:
            _check_uniform(b, scale * GAIN[activation] * np.sqrt(3.0 / SIZES[l + 1]), f"B{l + 1}")
        assert not np.allclose(b, net.weights[l + 1].T)  # independent of the forward weights


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_dfa_feedback_scale_uses_the_fan_in_of_the_hidden_layer(scale):
    sizes = (50, 3000, 2000, 10)
    net = MLP.random(sizes, "tanh", rng=np.random.default_rng(3))
    D = make_credit_rule("dfa", feedback_scale=scale).init_feedback(net, np.random.default_rng(4))
    assert [d.shape for d in D] == [(3000, 10), (2000, 10)]
    for l, d in enumerate(D):
        _check_uniform(d, scale * np.sqrt(3.0 / sizes[l + 1]), f"D{l + 1}")


def test_sign_feedback_is_the_sign_of_the_forward_weights_times_scale():
    net = MLP.random(SIZES, "tanh", rng=np.random.default_rng(5))
    rule = make_credit_rule("sign", scale=0.3)
    fb = rule.feedback_matrices(net, None)
    for l, b in enumerate(fb):
        np.testing.assert_array_equal(b, 0.3 * np.sign(net.weights[l + 1].T))
        assert set(np.unique(b)) <= {-0.3, 0.3}
        assert abs(np.mean(b > 0) - 0.5) < 0.02  # uniform forward weights: half positive


def test_uniform_initial_weights_of_a_built_projection():
    """``w_init=(low, high)``: mean (low+high)/2, variance (high-low)^2/12, inside [low, high]."""
    from bioplaus.simulation import simulate
    from bioplaus.spec import LIF, NetworkSpec, Population, PoissonInput, Projection

    lo, hi = 0.2, 0.6
    spec = NetworkSpec(populations=[Population("inp", PoissonInput(rates="0 Hz"), 200), Population("out", LIF(), 100)],
                       projections=[Projection("ff", "inp", "out", w_init=(lo, hi), weight_scale="0.1 nA")],
                       duration="0.1 ms", seed=7)
    w = simulate(spec, "numpy")["ff.w"]  # no input spikes: the weights are the initial draw
    assert w.size == 200 * 100
    _check_uniform(w - (lo + hi) / 2, (hi - lo) / 2, "w_init")
