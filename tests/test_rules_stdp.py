"""Spike-timing rules against the analytic window and the numpy oracle.

Every synapse of a test network is one independent pre/post pair: the presynaptic
neuron is a spike generator, the postsynaptic one a LIF forced to fire by a
second generator through a strong static synapse. The plastic projection has
``weight_scale = 0`` so it never perturbs the postsynaptic spike times, which
are taken from the spike monitor (the LIF fires one time step after its driver).
"""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import ms, second

from bioplaus.reference.plasticity import (pair_stdp_dw, pairing_protocol, stdp_window, triplet_frequency_curve,
                                           triplet_stdp_dw)
from bioplaus.simulation import simulate
from bioplaus.spec import (LIF, Monitor, NearestSTDP, NetworkSpec, PairSTDP, Population, Projection, SpikeTrains,
                           TripletSTDP)

# tiers (ARCHITECTURE rule 8): oracle vs Brian2 on deterministic spike trains agrees to rounding
WINDOW_RTOL = 1e-9  # measured: 1e-15 (pair window), ~1e-16 (triplet); rounding only


def forced_pairs(pre_trains, post_trains, rules, *, dt="0.1 ms", duration=None, w_init=0.5, modulators=(),
                 extra_monitors=()):
    """A network of independent pairs: synapse ``k`` connects pre ``k`` to post ``k``.

    ``pre_trains[k]`` / ``post_trains[k]`` are spike times in seconds; the post neuron
    is driven one step earlier so that it fires at the requested times. ``rules``
    maps projection names to rules (all one-to-one from ``pre`` to ``post``).
    """
    n = len(pre_trains)
    step = float(_q(dt))
    pre_i = np.concatenate([np.full(len(t), k) for k, t in enumerate(pre_trains)]).astype(int)
    pre_t = np.concatenate([np.asarray(t, float) for t in pre_trains])
    drv_i = np.concatenate([np.full(len(t), k) for k, t in enumerate(post_trains)]).astype(int)
    drv_t = np.concatenate([np.asarray(t, float) for t in post_trains]) - step
    assert drv_t.min() >= 0
    end = max(pre_t.max(), drv_t.max()) + 0.01
    # a one-step current pulse (LIF's g_e decays exactly, by exp(-10) per step): exactly one spike per drive
    post = LIF(tau_e=step / 10 * second, t_ref="1 ms")
    projections = [Projection("drive", "drv", "post", connectivity="one_to_one", w_init=1.0,
                              weight_scale="100 nA")]
    for name, rule in rules.items():
        projections.append(Projection(name, "pre", "post", rule=rule, connectivity="one_to_one", w_init=w_init,
                                      weight_scale="0 nA"))
    return NetworkSpec(
        populations=[Population("pre", SpikeTrains(pre_i, pre_t * second, n=n), n),
                     Population("drv", SpikeTrains(drv_i, drv_t * second, n=n), n),
                     Population("post", post, n)],
        projections=projections, modulators=list(modulators),
        monitors=[Monitor("post", ("spikes",)), *extra_monitors],
        dt=dt, duration=duration if duration is not None else end * second)


def _q(text):
    from bioplaus.spec.params import parse_quantity

    return parse_quantity(text) if isinstance(text, str) else text


def spike_times(result, population, n):
    t, i = result[f"{population}.spikes.t"], result[f"{population}.spikes.i"]
    return [np.sort(t[i == k]) for k in range(n)]


def assert_forced(result, wanted, dt):
    """The post neurons fired exactly at the requested times (one step after their drive)."""
    got = spike_times(result, "post", len(wanted))
    for k, (g, w) in enumerate(zip(got, wanted)):
        assert len(g) == len(w), f"post {k} fired {len(g)} times, wanted {len(w)}"
        np.testing.assert_allclose(g, w, atol=0.01 * dt)
    return got


# --------------------------------------------------------------------------- pair STDP window

DELTAS_MS = np.linspace(-100, 100, 41)  # includes 0 (counted as pre-before-post)
T_PRE = 0.15


def _window_net(rule, w_init=0.5):
    pre = [[T_PRE] for _ in DELTAS_MS]
    post = [[T_PRE + d * 1e-3] for d in DELTAS_MS]
    return forced_pairs(pre, post, {"ff": rule}, w_init=w_init), pre, post


def test_pair_stdp_window_matches_analytic(backend):
    rule = PairSTDP.bi_poo()  # tau_plus != tau_minus, so swapped constants would show
    net, pre, post = _window_net(rule)
    r = simulate(net, backend)
    got = assert_forced(r, post, 1e-4)
    delta = np.array([g[0] - p[0] for g, p in zip(got, pre)])
    dw = r["ff.w"] - 0.5
    expected = stdp_window(delta, 0.0096, 0.0053, 16.8e-3, 33.7e-3)
    assert np.abs(dw).max() > 5e-3  # learning happened
    assert np.all(np.sign(dw) == np.where(delta >= 0, 1, -1))
    rel = np.abs(dw - expected) / np.abs(expected)
    assert rel.max() < WINDOW_RTOL, f"max relative error {rel.max():.2e}"
    # the event-driven oracle agrees with the analytic window for isolated pairs
    oracle = [pair_stdp_dw(p, g, rule) for p, g in zip(pre, got)]
    np.testing.assert_allclose(oracle, expected, rtol=1e-12)


def test_pair_stdp_soft_bounds_scale_by_distance_to_bound():
    rule = PairSTDP(A_plus=0.01, A_minus=0.0105, bounds="soft", w_min=0.0, w_max=1.0)
    n = len(DELTAS_MS)
    w0 = np.linspace(0.2, 0.8, n)
    pre = [[T_PRE] for _ in DELTAS_MS]
    post = [[T_PRE + d * 1e-3] for d in DELTAS_MS]
    net = forced_pairs(pre, post, {"ff": rule}, w_init=np.diag(w0))
    r = simulate(net, "numpy")
    got = assert_forced(r, post, 1e-4)
    delta = np.array([g[0] - p[0] for g, p in zip(got, pre)])
    dw = r["ff.w"] - w0
    window = stdp_window(delta, 0.01, 0.0105, 0.02, 0.02)
    expected = window * np.where(delta >= 0, 1.0 - w0, w0 - 0.0)
    np.testing.assert_allclose(dw, expected, rtol=WINDOW_RTOL)
    # the multiplicative factor is really there: hard bounds would differ by far more than the tolerance
    assert np.abs(dw - window).max() > 10 * WINDOW_RTOL * np.abs(window).max()
    oracle = [pair_stdp_dw(p, g, rule, w0=w) for p, g, w in zip(pre, got, w0)]
    np.testing.assert_allclose(dw, oracle, rtol=1e-9)


def test_pair_stdp_hard_bounds_clip():
    rule = PairSTDP(A_plus=0.05, A_minus=0.05, w_min=0.0, w_max=1.0)
    pre = [[0.05], [0.05]]
    post = [[0.051], [0.049]]  # potentiation of w near w_max, depression of w near w_min
    net = forced_pairs(pre, post, {"ff": rule}, w_init=np.diag([0.98, 0.02]))
    r = simulate(net, "numpy")
    np.testing.assert_allclose(r["ff.w"], [1.0, 0.0], atol=1e-12)
    assert pair_stdp_dw([0.05], [0.051], rule, w0=0.98) == pytest.approx(0.02)


# --------------------------------------------------------------------------- nearest-spike interaction

# (pre times, post times) in seconds; the first two are where nearest-spike and all-to-all differ
PATTERNS = [
    ([0.020, 0.030], [0.040]),                     # pre pre post
    ([0.060], [0.020, 0.035]),                     # post post pre
    ([0.020, 0.045, 0.050], [0.030, 0.055, 0.070]),  # mixed sequence
    ([0.030], [0.040]),                            # a single pair: both schemes agree
]


def test_nearest_stdp_matches_oracle_and_differs_from_all_to_all():
    pre = [p for p, _ in PATTERNS]
    post = [q for _, q in PATTERNS]
    rules = {"near": NearestSTDP(A_plus=0.01, A_minus=0.0105), "all": PairSTDP(A_plus=0.01, A_minus=0.0105)}
    r = simulate(forced_pairs(pre, post, rules), "numpy")
    got = assert_forced(r, post, 1e-4)
    for name, rule in rules.items():
        oracle = np.array([pair_stdp_dw(p, g, rule) for p, g in zip(pre, got)])
        np.testing.assert_allclose(r[f"{name}.w"] - 0.5, oracle, rtol=1e-9, atol=1e-15)
    near, alltoall = r["near.w"] - 0.5, r["all.w"] - 0.5
    # pre-pre-post: nearest pairs the post spike with the last pre spike only
    assert near[0] == pytest.approx(0.01 * np.exp(-10 / 20), rel=1e-9)
    assert alltoall[0] == pytest.approx(0.01 * (np.exp(-10 / 20) + np.exp(-20 / 20)), rel=1e-9)
    # post-post-pre: the pre spike is depressed by the last post spike only
    assert near[1] == pytest.approx(-0.0105 * np.exp(-25 / 20), rel=1e-9)
    assert abs(near[1] - alltoall[1]) > 1e-3
    assert near[3] == pytest.approx(alltoall[3], rel=1e-12)


# --------------------------------------------------------------------------- triplet STDP

FREQS_HZ = np.array([0.1, 1, 5, 10, 20, 30, 40, 50])


def test_triplet_pairing_frequency_curve_oracle():
    """Sjöström et al. (2001) protocol, 60 pairings, Pfister & Gerstner (2006) visual-cortex fit."""
    rule = TripletSTDP.visual_cortex()
    minus = triplet_frequency_curve(rule, FREQS_HZ, -0.010)
    plus = triplet_frequency_curve(rule, FREQS_HZ, +0.010)
    # post-before-pre: depression at low frequency, potentiation at high frequency
    assert np.all(minus[FREQS_HZ <= 20] < -0.25)
    assert minus[-1] > 0.5
    # pre-before-post: potentiation that grows with the pairing frequency
    assert np.all(np.diff(plus) > 0)
    assert plus[0] < 1e-6 and plus[-1] > 0.5
    # at 50 Hz the two orders become nearly the same spike train
    assert minus[-1] == pytest.approx(plus[-1], rel=0.05)
    # without the triplet terms the oracle is the pair rule with amplitudes A2
    pair_like = rule.replace(A3_plus=0.0, A3_minus=0.0, A2_plus=0.005)
    pre, post = pairing_protocol(20.0, 0.010, 10)
    pair = dict(A_plus=0.005, A_minus=7e-3, tau_plus=16.8e-3, tau_minus=33.7e-3)
    assert triplet_stdp_dw(pre, post, pair_like) == pytest.approx(pair_stdp_dw(pre, post, pair), rel=1e-12)


def test_triplet_stdp_matches_oracle():
    """One network, one synapse per (frequency, sign of dt); fewer pairings at low frequency."""
    dt = "0.5 ms"  # event-driven traces are exact at any step; spike times are multiples of it
    cases = [(f, d, n) for f, n in ((1.0, 2), (10.0, 20), (20.0, 40), (50.0, 60)) for d in (-0.010, 0.010)]
    pre, post = [], []
    for f, d, n in cases:
        p, q = pairing_protocol(f, d, n, t0=0.02)
        pre.append(p)
        post.append(q)
    rules = {"trip": TripletSTDP.visual_cortex(), "near": TripletSTDP.visual_cortex_nearest()}
    r = simulate(forced_pairs(pre, post, rules, dt=dt, w_init=1.0), "numpy")
    got = assert_forced(r, post, 5e-4)
    for name, rule in rules.items():
        dw = r[f"{name}.w"] - 1.0
        oracle = np.array([triplet_stdp_dw(p, g, rule, w0=1.0) for p, g in zip(pre, got)])
        np.testing.assert_allclose(dw, oracle, rtol=WINDOW_RTOL)
        assert np.sum(np.abs(dw) > 1e-3) >= len(cases) - 1  # all but (1 Hz, +10 ms) changed clearly
    dw = dict(zip(cases, r["trip.w"] - 1.0))
    assert dw[(1.0, -0.010, 2)] < 0 and dw[(50.0, -0.010, 60)] > 0
    assert dw[(10.0, 0.010, 20)] > 0 and dw[(50.0, 0.010, 60)] > dw[(20.0, 0.010, 40)] > 0


# --------------------------------------------------------------------------- user-defined rules

def test_custom_spike_rule_runs():
    """A rule defined outside the package: spec class, name, builder, and it runs."""
    from dataclasses import dataclass
    from typing import Any, ClassVar

    from bioplaus.build.registry import Code, register
    from bioplaus.spec.params import number, set_field
    from bioplaus.spec.rules import Rule, make_rule, register_rule

    @register_rule("test_pre_decay")
    @dataclass(frozen=True)
    class PreDecay(Rule):
        r"""Every presynaptic spike shrinks the weight: :math:`w \leftarrow (1 - \beta) w`."""

        kind: ClassVar[str] = "spike"
        beta: Any = 0.1

        def __post_init__(self):
            set_field(self, "beta", number("PreDecay", "beta", self.beta, low=0.0, high=1.0))

    @register(PreDecay)
    def build_pre_decay(rule, proj, ctx):
        return Code(equations=["w : 1"], params={"beta": rule.beta}, on_pre=["w = (1 - beta)*w"])

    pre = [[0.01, 0.02, 0.03], [0.01], []]
    post = [[0.05], [0.05], [0.05]]
    r = simulate(forced_pairs(pre, post, {"ff": make_rule("test_pre_decay", beta=0.2)}, w_init=0.5), "numpy")
    np.testing.assert_allclose(r["ff.w"], 0.5 * 0.8 ** np.array([3, 1, 0]), rtol=1e-12)


def test_adding_a_rule_example_in_the_builders_docstring():
    """The walkthrough at the top of bioplaus.build.rules runs as written."""
    import doctest

    import bioplaus.build.rules as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0
