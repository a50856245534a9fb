"""One deterministic plastic network gives the same result on every Brian2 CPU backend.

The network (frozen Poisson input and imposed spike trains into LIF neurons, with
pair STDP) is defined once; the backend is injected by the ``backend`` fixture
(numpy, cython marked ``cython``, cpp marked ``standalone``). The numpy run is the
reference; :mod:`tests.test_gpu` compares cuda with cpp on the same network.
"""
from __future__ import annotations

import gc

import numpy as np
import pytest

from bioplaus.simulate import simulate
from bioplaus.spec import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection, SpikeTrains

#: runtime vs standalone code: same arithmetic, so the final weights agree to rounding
WEIGHT_RTOL = 1e-6


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
        monitors=[Monitor("out", ("spikes", "v"), indices=[0])],
        duration="300 ms", seed=11, name="cross",
    )


@pytest.fixture(scope="module")
def reference():
    return simulate(plastic_network(), "numpy")


def test_same_weights_and_spikes_on_every_backend(backend, reference):
    r = reference if backend == "numpy" else simulate(plastic_network(), backend)
    w_ref, w = reference["ff.w"], r["ff.w"]
    # learning happened (a closeness check alone could pass with frozen weights)
    w0 = simulate_initial_weights()
    assert np.max(np.abs(w_ref - w0)) > 0.05
    assert r["out.spikes.t"].size >= 20
    np.testing.assert_array_equal(r["ff.i"], reference["ff.i"])
    np.testing.assert_array_equal(r["ff.j"], reference["ff.j"])
    max_rel = np.max(np.abs(w - w_ref) / np.maximum(np.abs(w_ref), 1e-12))
    assert max_rel < WEIGHT_RTOL, f"{backend}: max relative weight difference {max_rel:.3g}"
    np.testing.assert_array_equal(r["out.spikes.i"], reference["out.spikes.i"])
    np.testing.assert_allclose(r["out.spikes.t"], reference["out.spikes.t"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["out.state.v"], reference["out.state.v"], rtol=1e-6, atol=1e-9)
    assert r.backend == backend and r.timings["total_s"] > 0


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
