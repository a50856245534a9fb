"""Integration methods, time-step limits, conductance signs and the published neuron presets.

Sources of the constants and behaviours checked here:
Izhikevich (2003), *Simple model of spiking neurons*, IEEE TNN 14:1569, Fig. 2;
Naud, Marcille, Clopath & Gerstner (2008), *Firing patterns in the adaptive exponential
integrate-and-fire model*, Biol. Cybern. 99:335, Table 1 and Fig. 4;
Song, Miller & Abbott (2000), Nat. Neurosci. 3:919;
Sjöström, Turrigiano & Nelson (2001), Neuron 32:1149, as fit by Pfister & Gerstner (2006).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.simulation import simulate
from bioplaus.spec import (LIF, AdEx, Izhikevich, Monitor, NetworkSpec, PairSTDP, Population, Projection,
                           SpikeTrains, TripletSTDP)


def isis(spikes_s):
    return np.diff(np.asarray(spikes_s)) * 1e3


# --------------------------------------------------------------------------- integration method

def test_lif_decay_is_exact_at_a_coarse_step():
    """v relaxes to E_L + I/g_L as exp(-t/tau_m), even at dt = tau_m/20; forward Euler
    would give (1 - dt/tau)^n, 2.5 % of the gap off after one tau."""
    model = LIF(I_ext="0.15 nA", V_th="0 mV")  # tau_m = 200 pF / 10 nS = 20 ms; never fires
    net = NetworkSpec([Population("n", model, 1)], monitors=[Monitor("n", ("v",))], duration="60 ms", dt="1 ms")
    r = simulate(net, "numpy")
    t, v = r["n.state.t"], r["n.state.v"][0]
    v_inf = -70e-3 + 0.15e-9 / 10e-9
    expected = v_inf + (-70e-3 - v_inf) * np.exp(-t / 20e-3)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-9)


def test_conductance_decay_is_exact_at_a_coarse_step():
    """One input spike: g_e(t) = w exp(-t/tau_e) with tau_e = 5 ms at dt = 1 ms (Euler: 0.8^n)."""
    model = LIF(synapse="conductance", V_th="0 mV")
    net = NetworkSpec([Population("src", SpikeTrains(indices=[0], times=["0 ms"]), 1), Population("n", model, 1)],
                      [Projection("p", "src", "n", w_init=1.0, weight_scale="2 nS")],
                      monitors=[Monitor("n", ("g_e",))], duration="20 ms", dt="1 ms")
    r = simulate(net, "numpy")
    g = r["n.state.g_e"][0]
    k = np.argmax(g)
    ratio = g[k + 1:k + 10] / g[k:k + 9]
    np.testing.assert_allclose(ratio, math.exp(-1 / 5), rtol=1e-9)


# --------------------------------------------------------------------------- dt limits

@pytest.mark.parametrize("model, field, shown", [
    (AdEx.tonic().replace(tau_e="0.3 ms"), "tau_e", "0.3 ms"),
    (AdEx.tonic().replace(C_m="4 pF"), "C_m/g_L", "0.4 ms"),
    (Izhikevich.regular_spiking().replace(tau_i="0.2 ms"), "tau_i", "0.2 ms"),
])
def test_forward_euler_refuses_a_step_too_large_for_a_time_constant(model, field, shown):
    net = NetworkSpec([Population("cells", model, 2)], duration="1 ms", dt="0.1 ms")
    with pytest.raises(ConfigError) as e:
        simulate(net, "numpy")
    assert e.value.key_path == f"populations.cells.model.{field}"
    assert e.value.value == shown
    assert "forward Euler" in str(e.value) and "0.5 ms" in str(e.value)  # 5 dt


def test_forward_euler_accepts_the_papers_step():
    """Izhikevich (2003) integrates with 1 ms; tau_e = 5 ms is exactly 5 steps: allowed."""
    model = Izhikevich.regular_spiking().replace(I_ext="10 mV/ms")
    r = simulate(NetworkSpec([Population("n", model, 1)], monitors=[Monitor("n")], duration="100 ms", dt="1 ms"),
                 "numpy")
    assert r["n.spikes.t"].size > 0


# --------------------------------------------------------------------------- conductance signs

def _onto(model, scale, **proj):
    return NetworkSpec([Population("src", SpikeTrains(indices=[0], times=["1 ms"]), 1), Population("n", model, 1)],
                       [Projection("p", "src", "n", weight_scale=scale, **proj)], duration="5 ms")


@pytest.mark.parametrize("proj, key, value", [
    (dict(w_init=-0.2), "projections.p.w_init", -0.2),
    (dict(w_init=(-0.5, 1.0)), "projections.p.w_init", "min -0.5"),
    (dict(w_init=0.5, rule=PairSTDP(w_min=-1.0)), "projections.p.rule.w_min", -1.0),
])
def test_negative_conductances_are_refused(proj, key, value):
    with pytest.raises(ConfigError) as e:
        _onto(LIF(synapse="conductance"), "1 nS", **proj)
    assert e.value.key_path == key and e.value.value == value
    assert "negative conductance" in str(e.value)
    # a current-based target may take negative weights (a negative current is physical)
    _onto(LIF(synapse="current"), "1 nA", **proj)


# --------------------------------------------------------------------------- Izhikevich (2003) presets

@pytest.fixture(scope="module")
def izhikevich_runs():
    from bioplaus.experiments.zoo import run_firing_patterns

    return run_firing_patterns("izhikevich", step="300 ms", baseline="0 ms")


def test_izhikevich_presets_are_the_papers_numbers():
    """Izhikevich (2003), Fig. 2: (a, b, c, d) of each named cell class."""
    table = {"regular_spiking": (0.02, 0.2, -65, 8), "intrinsically_bursting": (0.02, 0.2, -55, 4),
             "chattering": (0.02, 0.2, -50, 2), "fast_spiking": (0.1, 0.2, -65, 2),
             "thalamo_cortical": (0.02, 0.25, -65, 0.05), "resonator": (0.1, 0.26, -65, 2),
             "low_threshold_spiking": (0.02, 0.25, -65, 2)}
    assert set(Izhikevich.PRESETS) == set(table)
    for name, (a, b, c, d) in table.items():
        m = getattr(Izhikevich, name)()
        assert (m.a, m.b, float(m.c) * 1e3, float(m.d) * 1e3) == pytest.approx((a, b, c, d)), name
    assert float(Izhikevich.regular_spiking().resting_potential()) == pytest.approx(-70e-3)


def test_izhikevich_rs_adapts_and_fs_does_not(izhikevich_runs):
    rs, fs = isis(izhikevich_runs["regular_spiking"]["spikes"]), isis(izhikevich_runs["fast_spiking"]["spikes"])
    assert rs[-1] / rs[0] > 2.2                      # measured 2.5: spike-frequency adaptation
    assert np.std(rs[2:]) / np.mean(rs[2:]) < 0.05   # then tonic
    assert 1e3 / np.mean(fs[-5:]) > 100              # FS: > 100 Hz ...
    assert fs[-1] / fs[0] < 2.0                      # ... with little slowing (measured 1.8)
    assert np.std(fs[4:]) / np.mean(fs[4:]) < 0.05
    assert np.mean(rs[-3:]) > 5 * np.mean(fs[-3:])


def test_izhikevich_bursts(izhikevich_runs):
    ib = isis(izhikevich_runs["intrinsically_bursting"]["spikes"])
    assert np.all(ib[:2] < 5) and np.all(ib[2:] > 20)     # one initial burst, then single spikes
    ch = isis(izhikevich_runs["chattering"]["spikes"])
    within, between = ch[ch < 10], ch[ch > 20]
    assert between.size >= 3 and within.size >= 3 * between.size  # bursts of >= 4 spikes, repeated


def test_izhikevich_rebound_after_hyperpolarisation(izhikevich_runs):
    """TC and LTS (b = 0.25) held near -90 mV for 150 ms fire when released; TC a burst."""
    for name, n_min in (("thalamo_cortical", 4), ("low_threshold_spiking", 1)):
        tr = izhikevich_runs[name]
        sp = tr["spikes"]
        release = 0.150
        assert np.all(sp > release), name                        # silent while held down
        assert float(tr["v"][np.searchsorted(tr["t"], release) - 1]) == pytest.approx(-90e-3, abs=1e-3)
        assert sp.size >= n_min and sp[0] < release + 0.030, (name, sp)
        if n_min > 1:
            assert np.all(isis(sp[:n_min]) < 10)


def test_izhikevich_resonator_prefers_its_period(izhikevich_runs):
    """RZ: a pulse pair 20 ms apart (half the 41 ms subthreshold period) is ignored, the same pair
    40 ms apart fires it; each pulse alone is subthreshold. RS, an integrator, never fires to the pair."""
    sp = izhikevich_runs["resonator"]["spikes"]
    first = 0.020
    assert sp.size >= 1
    assert np.all(sp > first + 0.190)      # nothing after the first pulse pair, nor after the third pulse alone
    assert sp[0] < first + 0.190 + 0.020
    from bioplaus.experiments.zoo import step_responses
    from brian2 import mV, ms, second

    rs = step_responses({"rs": Izhikevich.regular_spiking()}, [(0.3 * second, {})],
                        pulses={"rs": [first, first + 0.020, first + 0.150, first + 0.190]},
                        pulse_weight={"rs": 0.6 * mV / ms})["rs"]
    assert rs["spikes"].size == 0


# --------------------------------------------------------------------------- Naud et al. (2008) AdEx

NAUD_TABLE1 = {  # C (pF), g_L (nS), E_L (mV), tau_w (ms), a (nS), b (pA), V_r (mV); V_T = -50 mV, Delta_T = 2 mV
    "tonic": (200, 10, -70, 30, 2, 0, -58), "adapting": (200, 12, -70, 300, 2, 60, -58),
    "initial_bursting": (130, 18, -58, 150, 4, 120, -50), "regular_bursting": (200, 10, -58, 120, 2, 100, -46),
    "delayed_accelerating": (200, 12, -70, 300, -10, 0, -58),
    "delayed_regular_bursting": (100, 10, -65, 90, -10, 30, -47),
    "transient": (100, 10, -65, 90, 10, 100, -47), "irregular": (100, 12, -60, 130, -11, 30, -48),
}


def test_adex_presets_are_the_papers_numbers():
    assert AdEx.PRESETS == tuple(NAUD_TABLE1)
    for name, row in NAUD_TABLE1.items():
        m = getattr(AdEx, name)()
        got = (float(m.C_m) * 1e12, float(m.g_L) * 1e9, float(m.E_L) * 1e3, float(m.tau_w) * 1e3,
               float(m.a) * 1e9, float(m.b) * 1e12, float(m.V_reset) * 1e3)
        assert got == pytest.approx(row), name
        assert (float(m.V_T), float(m.Delta_T)) == pytest.approx((-50e-3, 2e-3))


@pytest.fixture(scope="module")
def adex_runs():
    from bioplaus.experiments.zoo import run_firing_patterns

    return run_firing_patterns("adex", step="400 ms", baseline="0 ms")


def test_adex_eight_firing_patterns(adex_runs):
    sp = {k: v["spikes"] * 1e3 for k, v in adex_runs.items()}
    isi = {k: np.diff(v) for k, v in sp.items()}
    # tonic: constant ISIs
    assert isi["tonic"].size > 20 and isi["tonic"].max() / isi["tonic"].min() < 1.1
    # adapting: ISIs only grow, several-fold
    assert np.all(np.diff(isi["adapting"]) > 0) and isi["adapting"][-1] / isi["adapting"][0] > 3
    # initial burst: two short ISIs, then regular long ones
    ib = isi["initial_bursting"]
    assert np.all(ib[:2] < 10) and np.all(ib[2:] > 40)
    # regular bursting: short ISIs inside bursts, long ones between, repeated
    rb = isi["regular_bursting"]
    assert np.sum(rb > 100) >= 2 and np.all((rb < 10) | (rb > 100)) and np.sum(rb < 10) >= np.sum(rb > 100)
    # delayed accelerating: a late first spike, then the ISIs shorten
    da = isi["delayed_accelerating"]
    assert sp["delayed_accelerating"][0] > 25 and da[-1] < 0.75 * da[0] and np.all(np.diff(da) < 0.05)
    # delayed regular bursting: a late first spike, then bursts
    drb = isi["delayed_regular_bursting"]
    assert sp["delayed_regular_bursting"][0] > 40 and np.sum(drb > 40) >= 2 and np.sum(drb < 10) >= 2 * np.sum(drb > 40)
    # transient: a few spikes at the onset, then silence
    assert 1 <= sp["transient"].size <= 4 and sp["transient"][-1] < 50
    # irregular: ISIs vary without settling or trending
    irr = isi["irregular"][3:]
    assert irr.size >= 8 and np.std(irr) / np.mean(irr) > 0.3
    assert abs(np.corrcoef(np.arange(irr.size), irr)[0, 1]) < 0.5


def test_firing_patterns_model_files_run_and_draw_the_grid(tmp_path):
    """models/firing_patterns_adex.toml (run shortened) and models/firing_patterns_izhikevich.toml
    (the protocols the Izhikevich tests above run): one trace per preset, the grid figure."""
    from pathlib import Path

    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    models = Path(__file__).resolve().parent.parent / "models"
    izh = load_model(models / "firing_patterns_izhikevich.toml").params
    assert (izh.family, float(izh.step), float(izh.dt)) == ("izhikevich", pytest.approx(0.3), pytest.approx(1e-4))
    for stem, family in (("firing_patterns_adex", AdEx),):
        cfg = load_model(models / f"{stem}.toml", ['params.step="60 ms"', 'params.baseline="10 ms"'])
        res = run_model(cfg, tmp_path / stem, progress=lambda m: None)
        assert [r["preset"] for r in res.rows] == list(family.PRESETS)
        assert (tmp_path / stem / "figures" / "firing_patterns.png").stat().st_size > 10_000
        for name in family.PRESETS:
            I, t = res.arrays[f"{name}.I"], res.arrays[f"{name}.t"]
            assert I.shape == t.shape == res.arrays[f"{name}.v"].shape
        if family is AdEx:  # the step starts after the baseline, at the paper's amplitude
            I = res.arrays["tonic.I"]
            assert I[res.arrays["tonic.t"] < 0.010].max() == 0 and I.max() == pytest.approx(500e-12)


# --------------------------------------------------------------------------- Pfister & Gerstner vs Sjöström

def test_triplet_fits_reproduce_the_sjostrom_data():
    """Normalised mean-square error E of Pfister & Gerstner's (2006) visual-cortex fits against the
    Sjöström et al. (2001) points (10 points, s.e.m.-normalised): both fits are within the data's
    error bars on average (E < 1); the pair rule with the same pair terms (A3 = 0) is not."""
    from bioplaus.experiments.zoo import SJOSTROM_2001, sjostrom_nmse
    from bioplaus.reference.plasticity import triplet_frequency_curve

    F = SJOSTROM_2001["frequencies_hz"]
    E = {}
    for preset in ("visual_cortex", "visual_cortex_nearest"):
        rule = getattr(TripletSTDP, preset)(w_min=-1e9, w_max=1e9)
        E[preset] = sjostrom_nmse(F, triplet_frequency_curve(rule, F, 0.010), triplet_frequency_curve(rule, F, -0.010))
        pair = rule.replace(A3_plus=0.0, A3_minus=0.0)
        E_pair = sjostrom_nmse(F, triplet_frequency_curve(pair, F, 0.010), triplet_frequency_curve(pair, F, -0.010))
        assert E_pair > 5 * E[preset], (preset, E_pair, E[preset])
    assert E["visual_cortex"] == pytest.approx(0.34, abs=0.01)         # measured 0.342
    assert E["visual_cortex_nearest"] == pytest.approx(0.23, abs=0.01)  # measured 0.232
    # the data themselves: E of the data against itself is 0, of a flat zero curve large
    assert sjostrom_nmse(F, SJOSTROM_2001["dw_plus"], SJOSTROM_2001["dw_minus"]) == 0
    assert sjostrom_nmse(F, np.zeros(5), np.zeros(5)) > 5  # 9.2
    with pytest.raises(ConfigError, match="params.frequencies"):
        sjostrom_nmse([10.0, 20.0], [0, 0], [0, 0])


# --------------------------------------------------------------------------- Song, Miller & Abbott (2000)

def test_song_model_file_is_the_papers_protocol():
    """Song, Miller & Abbott (2000), Methods: 1000 excitatory (plastic) and 200 inhibitory inputs,
    g_max = 0.015 g_L, g_in = 0.05 g_L, A+ = 0.005, A-/A+ = 1.05, tau+- = 20 ms; tau_m = 20 ms,
    V_rest = -70 mV, V_th = -54 mV, V_reset = -60 mV, E_ex = 0 mV, E_in = -70 mV, tau_ex = tau_in = 5 ms."""
    from pathlib import Path

    from bioplaus.config import load_model
    from bioplaus.experiments.base import RunContext
    from bioplaus.experiments.zoo import StdpCompetition

    cfg = load_model(Path(__file__).resolve().parent.parent / "models" / "stdp_competition.toml")
    p = cfg.params
    assert (p.n_exc, p.n_inh, p.A_plus, p.A_ratio, p.rates) == (1000, 200, 0.005, 1.05, (10.0, 40.0))
    assert float(p.duration) >= 1000 and cfg.backend == "cpp"
    net = StdpCompetition().network(p.replace(duration="10 ms"), RunContext(seed=0))
    n = net.population("neuron0").model
    g_L = float(n.g_L)
    assert float(n.C_m) / g_L == pytest.approx(20e-3)
    assert (float(n.E_L), float(n.V_th), float(n.V_reset), float(n.E_e), float(n.E_i)) == \
        pytest.approx((-70e-3, -54e-3, -60e-3, 0.0, -70e-3))
    assert float(net.projection("syn0").weight_scale) / g_L == pytest.approx(0.015)
    assert float(net.projection("inh_syn0").weight_scale) / g_L == pytest.approx(0.05)
    rule = net.projection("syn0").rule
    assert (rule.A_plus, rule.A_minus / rule.A_plus, float(rule.tau_plus), float(rule.tau_minus)) == \
        pytest.approx((0.005, 1.05, 20e-3, 20e-3))
    assert {net.population(f"exc{k}").size for k in (0, 1)} == {1000} and net.population("inh1").size == 200


def test_song_competition_starts_depression_dominated():
    """Shortened (10 s, A+ x10, dt = 1 ms, 10 Hz inputs; 13 s): from g_max, A- tau- > A+ tau+ pulls the
    weights off the upper bound and the output rate down (the onset of the competition the full run in
    benchmarks/RESULTS.md carries to bimodal weights). Measured: fraction at g_max 1 -> 0.35, rate
    174 -> 123 Hz; with A-/A+ = 0.95 instead they stay at 0.86 and 185 Hz."""
    from bioplaus.experiments.base import RunContext
    from bioplaus.experiments.zoo import StdpCompetition

    e = StdpCompetition()
    p = e.Params(duration="10 s", A_plus=0.05, dt="1 ms", snapshots=5, rates=[10.0], w_init=1.0)
    r = e.run(p, RunContext(backend="numpy", seed=0))
    wt = r.arrays["w_t_0"]                       # (1000 synapses, 5 snapshots)
    high = np.mean(wt > 0.9, axis=0)
    rate = r.arrays["output_rate_0"]
    assert high[0] == 1.0 and high[-1] < 0.5
    assert np.all(np.diff(high) <= 0.02)
    assert rate[-1] < 0.8 * rate[0]
    assert np.std(wt[:, -1]) > 0.15                # spread out (0.18), not a uniform slide
