"""Rate rules (Hebb, Oja, BCM): learning outcomes and step-by-step agreement with the numpy oracle.

Inputs are :class:`SampleSequence` rates shown for whole time steps, the output a
linear :class:`RateUnit` with ``tau=None`` (:math:`y = \\sum_j w_j x_j`), so Brian2
and the oracle see exactly the same numbers and must agree to rounding.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.reference.plasticity import bcm_run, hebb_dw, hebb_fixed_point, oja_run
from bioplaus.simulation import simulate
from bioplaus.spec import BCM, Hebb, Monitor, NetworkSpec, Oja, Population, Projection, RateUnit, SampleSequence

# oracle vs Brian2 with identical inputs: rounding only
ORACLE_ATOL = 1e-12  # measured ~1e-16 (weights of order 1)


def rate_net(samples, rule, w0, *, present="1 ms", post=None, weight_scale=None, monitors=(), dt="1 ms"):
    samples = np.asarray(samples, float)
    n_in = samples.shape[1]
    w0 = np.asarray(w0, float).reshape(n_in, -1)
    post = post or RateUnit(tau=None, transfer="linear")
    window = float(SampleSequence(samples[:1], present=present).present) * 1e3
    return NetworkSpec(
        populations=[Population("inp", SampleSequence(samples, present=present), n_in),
                     Population("out", post, w0.shape[1])],
        projections=[Projection("ff", "inp", "out", rule=rule, w_init=w0, weight_scale=weight_scale)],
        monitors=list(monitors), dt=dt, duration=f"{len(samples) * window} ms")


# --------------------------------------------------------------------------- Hebb

def test_hebb_with_decay_reaches_fixed_point():
    r_pre = np.array([0.5, 1.0, 2.0, 4.0])
    r_post, eta, decay, h = 3.0, 2.0, 10.0, 1e-3
    steps = 1500
    # the plastic projection transmits nothing (weight_scale 0): the post rate is its bias, constant
    net = rate_net(np.tile(r_pre, (steps, 1)), Hebb(eta="2 Hz", decay="10 Hz"), np.full(4, 0.05),
                   post=RateUnit(tau=None, transfer="linear", bias=r_post), weight_scale=0.0)
    w = simulate(net, "numpy")["ff.w"]
    w_star = hebb_fixed_point(r_pre, [r_post], eta, decay).ravel()
    np.testing.assert_allclose(w_star, eta * r_pre * r_post / decay)
    np.testing.assert_allclose(w, w_star, rtol=1e-4)
    assert np.abs(w - 0.05).min() > 0.2  # learning happened
    # the oracle's Euler map gives the same trajectory
    w_or = np.full((4, 1), 0.05)
    for _ in range(steps):
        w_or = w_or + hebb_dw(w_or, r_pre, [r_post], eta, decay, h)
    np.testing.assert_allclose(w, w_or.ravel(), atol=ORACLE_ATOL)


def test_hebb_respects_w_max():
    net = rate_net(np.ones((300, 2)), Hebb(eta="10 Hz", w_max=0.3), [0.1, 0.2],
                   post=RateUnit(tau=None, bias=2.0), weight_scale=0.0)
    w = simulate(net, "numpy")["ff.w"]
    np.testing.assert_allclose(w, [0.3, 0.3])


# --------------------------------------------------------------------------- Oja

def _correlated_inputs(d, n, seed):
    """Zero-mean Gaussian inputs with covariance Q diag(1, 0.3..0.05) Q^T (leading eigenvector Q[:, 0]).

    The initial weights (norm ~0.5) point mostly along the last eigenvector.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.r_[1.0, np.linspace(0.3, 0.05, d - 1)]
    C = (Q * lam) @ Q.T
    return rng.multivariate_normal(np.zeros(d), C, size=n), Q[:, 0], 0.5 * Q[:, -1] + 0.1 * Q[:, 0]


@pytest.mark.parametrize("d", [2, 5, 10])
def test_oja_finds_leading_eigenvector(d):
    X, e1, w0 = _correlated_inputs(d, 6000, seed=d)
    net = rate_net(X, Oja(eta="5 Hz"), w0)
    w = simulate(net, "numpy")["ff.w"]
    cos = abs(w @ e1) / np.linalg.norm(w)
    assert cos > 0.99, f"|cos(w, PC1)| = {cos:.4f}"
    assert np.linalg.norm(w) == pytest.approx(1.0, rel=0.02)
    assert abs(w0 @ e1) / np.linalg.norm(w0) < 0.2 and np.abs(w - w0).max() > 0.1  # it learned
    np.testing.assert_allclose(w, oja_run(w0, X, 5.0, 1e-3), atol=ORACLE_ATOL)


# --------------------------------------------------------------------------- BCM

def test_bcm_becomes_selective():
    K, m = 4, 8
    patterns = np.full((K, m), 0.1)
    for k in range(K):
        patterns[k, 2 * k:2 * k + 2] = 1.0
    rng = np.random.default_rng(0)
    order = rng.integers(0, K, 600)
    w0 = rng.uniform(0.2, 0.4, m)
    rule = BCM(eta="5 Hz", tau_theta="50 ms", y0=1.0)
    net = rate_net(patterns[order], rule, w0, present="10 ms",
                   monitors=[Monitor("out", ("theta_ff",), dt="100 ms")])
    r = simulate(net, "numpy")
    w = r["ff.w"]
    before, after = np.sort(patterns @ w0)[::-1], np.sort(patterns @ w)[::-1]
    assert before[0] / before[1] < 1.5  # not selective at the start
    assert after[0] / after[1] > 3, f"responses {np.round(patterns @ w, 3)}"
    assert after[0] > 1.0 and r["out.state.theta_ff"].max() > 0.5  # the threshold slid up with activity
    # the oracle, fed the same per-step inputs, takes the same path
    X = np.repeat(patterns[order], 10, axis=0)
    w_or, _ = bcm_run(w0, 0.0, X, eta=5.0, tau_theta=0.05, y0=1.0, h=1e-3)
    np.testing.assert_allclose(w, w_or, atol=ORACLE_ATOL)


def test_update_interval_sets_the_euler_step():
    """With ``update_interval = 2 ms`` the weights change every other step, by ``h = 2 ms`` each time."""
    X, _, w0 = _correlated_inputs(3, 500, seed=7)
    net = rate_net(X, Oja(eta="5 Hz", update_interval="2 ms"), w0, present="2 ms")
    w = simulate(net, "numpy")["ff.w"]
    np.testing.assert_allclose(w, oja_run(w0, X, 5.0, 2e-3), atol=ORACLE_ATOL)
    assert np.abs(w - oja_run(w0, np.repeat(X, 2, axis=0), 5.0, 1e-3)).max() > 1e-4  # not the 1 ms path
