"""One deterministic plastic network: every Brian2 CPU backend against an independent oracle.

The network (frozen Poisson input and imposed spike trains into LIF neurons, with
pair STDP) is defined once; the backend is injected by the ``backend`` fixture
(numpy, cython marked ``cython``, cpp marked ``standalone``). Each backend's final
weights are compared with the numpy STDP oracle (:func:`bioplaus.reference.plasticity.pair_stdp_dw`,
event by event, no Brian2) fed that backend's own recorded input and output spikes, and
every teacher spike must make its neuron fire. Compiled backends are also compared with
the numpy runtime (same arithmetic, so the same spikes and weights to rounding);
:mod:`tests.test_gpu` compares cuda with cpp on the same network.
"""
from __future__ import annotations

import gc

import numpy as np
import pytest

from bioplaus.simulation import simulate
from bioplaus.spec import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection, SpikeTrains

#: runtime vs standalone code: same arithmetic, so the final weights agree to rounding
WEIGHT_RTOL = 1e-6
#: Brian2 (event-driven traces, exact exponentials) vs the oracle on the same spikes: rounding only;
#: the largest relative difference measured is ~1e-16
ORACLE_RTOL = 1e-12


def plastic_network() -> NetworkSpec:
    """40 frozen Poisson inputs onto 4 LIF neurons (pair STDP), plus imposed 'teacher' spikes."""
    teach_t = np.arange(10.0, 300.0, 25.0)
    teacher = SpikeTrains(indices=np.arange(teach_t.size) % 4, times=[f"{t} ms" for t in teach_t], n=4)
    return NetworkSpec(
        populations=[
            Population("inp", PoissonInput(rates="30 Hz", frozen=True), 40),
            Population("teach", teacher),
            Population("out", LIF(), 4),
        ],
        projections=[
            Projection("ff", "inp", "out", rule=PairSTDP(A_plus=0.02, A_minus=0.021), w_init=(0.2, 0.6),
                       weight_scale="0.25 nA"),
            Projection("teacher", "teach", "out", connectivity="one_to_one", w_init=1.0, weight_scale="5 nA"),
        ],
        monitors=[Monitor("out", ("spikes", "v"), indices=[0]), Monitor("inp", ("spikes",))],
        duration="300 ms", seed=11, name="cross",
    )


@pytest.fixture(scope="module")
def reference():
    return simulate(plastic_network(), "numpy")


def oracle_weights(r, w0: np.ndarray) -> np.ndarray:
    """Final weights from the numpy pair-STDP oracle, given the run's own input and output spikes."""
    from bioplaus.reference.plasticity import pair_stdp_dw

    rule = PairSTDP(A_plus=0.02, A_minus=0.021)
    pre = {k: r["inp.spikes.t"][r["inp.spikes.i"] == k] for k in range(40)}
    post = {k: r["out.spikes.t"][r["out.spikes.i"] == k] for k in range(4)}
    return np.array([w0[n] + pair_stdp_dw(pre[i], post[j], rule, w0=w0[n])
                     for n, (i, j) in enumerate(zip(r["ff.i"], r["ff.j"]))])


@pytest.fixture(scope="module")
def initial_weights():
    return simulate_initial_weights()


def test_every_backend_matches_the_stdp_oracle(backend, reference, initial_weights):
    r = reference if backend == "numpy" else simulate(plastic_network(), backend)
    w0 = initial_weights
    assert w0.min() >= 0.2 and w0.max() <= 0.6 and w0.std() > 0.05  # w_init = (0.2, 0.6), drawn per synapse
    w = r["ff.w"]
    # learning happened (a closeness check alone could pass with frozen weights)
    assert np.max(np.abs(w - w0)) > 0.05
    assert r["out.spikes.t"].size >= 20 and r["inp.spikes.t"].size > 200
    w_or = oracle_weights(r, w0)
    max_rel = np.max(np.abs(w - w_or) / np.abs(w_or))
    assert max_rel < ORACLE_RTOL, f"{backend}: weights vs the STDP oracle, max relative difference {max_rel:.3g}"
    # every teacher spike (5 nA into its neuron) makes that neuron fire within 3 ms
    teach = plastic_network().populations[1].model
    for i, t in zip(np.asarray(teach.indices), np.asarray(teach.times)):
        ts = r["out.spikes.t"][r["out.spikes.i"] == i]
        assert np.any((ts >= t) & (ts < t + 3e-3)), f"{backend}: no spike of neuron {i} after the teacher at {t}"
    assert r.backend == backend and r.timings["total_s"] > 0


def test_compiled_backends_reproduce_the_numpy_runtime(backend, reference):
    if backend == "numpy":
        pytest.skip("the numpy runtime is the reference of this comparison")
    r = simulate(plastic_network(), backend)
    np.testing.assert_array_equal(r["ff.i"], reference["ff.i"])
    np.testing.assert_array_equal(r["ff.j"], reference["ff.j"])
    max_rel = np.max(np.abs(r["ff.w"] - reference["ff.w"]) / np.maximum(np.abs(reference["ff.w"]), 1e-12))
    assert max_rel < WEIGHT_RTOL, f"{backend}: max relative weight difference {max_rel:.3g}"
    np.testing.assert_array_equal(r["out.spikes.i"], reference["out.spikes.i"])
    np.testing.assert_allclose(r["out.spikes.t"], reference["out.spikes.t"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["out.state.v"], reference["out.state.v"], rtol=1e-6, atol=1e-9)


def simulate_initial_weights() -> np.ndarray:
    """The initial weights: the network built (numpy, not run); the builder draws them from the seed."""
    from brian2.utils.logger import catch_logs

    from bioplaus.backends import session
    from bioplaus.build import build_network

    with session("numpy"), catch_logs():  # built but never run: silence Brian2's "unused object" warnings
        built = build_network(plastic_network())
        w = built.weights("ff")["w"]
        del built
        gc.collect()
    return w
