"""Homeostasis: weight normalisation under STDP, synaptic scaling to a target rate, adaptive threshold."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.reference.plasticity import normalize_weights
from bioplaus.simulation import simulate
from bioplaus.spec import (LIF, AdaptiveThreshold, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population,
                           Projection, SynapticScaling, WeightNormalization)

DT = "0.5 ms"


def _sums_over_time(r, projection, n_post):
    """Recorded ``(n_post, n_times)`` sums of each post neuron's incoming weights."""
    w, j = r[f"{projection}.state.w"], r[f"{projection}.j"]
    return np.array([w[j == k].sum(axis=0) for k in range(n_post)])


def _stdp_net(homeostasis, monitor_dt=DT):
    return NetworkSpec(
        populations=[Population("inp", PoissonInput(rates="30 Hz", frozen=True), 40), Population("out", LIF(), 3)],
        projections=[Projection("ff", "inp", "out", rule=PairSTDP(A_plus=0.02, A_minus=0.021), w_init=(0.2, 0.8),
                                connectivity=0.8, weight_scale="0.6 nA", homeostasis=homeostasis)],
        monitors=[Monitor("out", ("spikes",)), Monitor("ff", ("w",), dt=monitor_dt)],
        dt=DT, duration="500 ms", seed=3)


def test_weight_normalization_holds_sum_while_stdp_runs(backend):
    total = 20.0
    r = simulate(_stdp_net(WeightNormalization(total=total, interval=DT)), backend)
    assert r.spike_counts("out").min() > 20  # STDP had postsynaptic spikes to work with
    sums = _sums_over_time(r, "ff", 3)[:, 1:]  # the first sample is the initial state
    np.testing.assert_allclose(sums, total, rtol=1e-9)
    W = r.weight_matrix("ff")
    np.testing.assert_allclose(np.nan_to_num(W), normalize_weights(np.nan_to_num(W), total), rtol=1e-9)
    # the weights themselves moved: STDP ran under the constraint
    w = r["ff.state.w"]
    assert np.abs(w[:, -1] - w[:, 1]).max() > 0.1


def test_without_normalization_the_sum_drifts():
    r = simulate(_stdp_net(None, monitor_dt="50 ms"), "numpy")
    sums = _sums_over_time(r, "ff", 3)
    assert np.abs(sums[:, -1] - sums[:, 0]).max() > 1.0


def _scaling_net(w_init, scaling, duration="2 s"):
    return NetworkSpec(
        populations=[Population("inp", PoissonInput(rates="20 Hz", frozen=True), 30), Population("out", LIF(), 4)],
        projections=[Projection("ff", "inp", "out", w_init=w_init, connectivity=0.7, weight_scale="1 nA",
                                homeostasis=scaling)],
        monitors=[Monitor("out", ("spikes",))], dt=DT, duration=duration, seed=2)


def _rates(r, t0, t1):
    t = r["out.spikes.t"]
    return np.sum((t >= t0) & (t < t1)) / (4 * (t1 - t0))


@pytest.mark.parametrize("w_init, direction", [(0.35, "down"), (0.06, "up")])
def test_synaptic_scaling_moves_rate_to_target(w_init, direction):
    target = 10.0
    scaling = SynapticScaling(target_rate=f"{target} Hz", tau_rate="100 ms", tau_scaling="300 ms", interval="5 ms")
    free = simulate(_scaling_net(w_init, None), "numpy")
    scaled = simulate(_scaling_net(w_init, scaling), "numpy")
    start, free_end, scaled_end = _rates(free, 0, 0.5), _rates(free, 1.5, 2.0), _rates(scaled, 1.5, 2.0)
    # unscaled, the rate stays where it started (stationary input) ...
    assert abs(free_end - start) < 0.3 * start + 2.0
    if direction == "down":
        assert start > 2 * target
    else:
        assert start < target / 2
    # ... scaled, it ends much closer to the target
    assert abs(scaled_end - target) < 0.4 * abs(start - target), (start, free_end, scaled_end)
    w = np.nanmean(scaled.weight_matrix("ff"))
    assert (w < w_init) if direction == "down" else (w > w_init)


def test_adaptive_threshold_rises_with_activity():
    def run(adaptation):
        net = NetworkSpec(populations=[Population("n", LIF(I_ext="0.35 nA", adaptation=adaptation), 1)],
                          monitors=[Monitor("n", ("spikes",) + (("theta",) if adaptation else ()), dt="10 ms")],
                          dt=DT, duration="1 s")
        return simulate(net, "numpy")

    plain = run(None)
    adapted = run(AdaptiveThreshold(theta_plus="1 mV", tau_theta="500 ms"))
    theta = adapted["n.state.theta"][0]
    assert theta[0] == 0 and theta[-1] > 2e-3  # volts: more than 2 mV after 1 s
    assert theta[-1] > theta[50] > theta[10] > 0  # builds up while the cell fires (and decays between spikes)
    n_plain, n_adapted = len(plain["n.spikes.t"]), len(adapted["n.spikes.t"])
    assert n_adapted < 0.7 * n_plain, (n_plain, n_adapted)
    # early on, before theta has built up, both fire alike
    t_a, t_p = adapted["n.spikes.t"], plain["n.spikes.t"]
    assert t_a[0] == pytest.approx(t_p[0])
