"""Neuron models against their analytic behaviour and published firing patterns (numpy backend)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioplaus.simulation import simulate
from bioplaus.spec import (LIF, AdEx, Izhikevich, Monitor, NetworkSpec, Population, Projection, RateUnit,
                           SampleSequence, SpikeTrains)
from bioplaus.spec.neurons import TRANSFER_FUNCTIONS


def isis_ms(result, pop, unit=0):
    return np.diff(result.spike_times(pop, unit)) * 1e3


# --------------------------------------------------------------------------- LIF

def lif_rate(model: LIF, I: float) -> float:
    """Analytic rate of a current-driven LIF (SI units): 1/(t_ref + tau_m ln((IR + E_L - V_reset)/(IR + E_L - V_th)))."""
    R = 1 / float(model.g_L)
    tau = float(model.C_m) * R
    drive = I * R + float(model.E_L)
    if drive <= float(model.V_th):
        return 0.0
    return 1 / (float(model.t_ref) + tau * math.log((drive - float(model.V_reset)) / (drive - float(model.V_th))))


@pytest.mark.parametrize("model", [LIF(), LIF.vogels_abbott(synapse="current")], ids=["default", "vogels_abbott"])
def test_lif_f_i_curve_matches_analytic_rate(model):
    currents_nA = [0.15, 0.25, 0.3, 0.45, 0.7, 1.0]
    pops = [Population(f"n{k}", model.replace(I_ext=f"{I} nA"), 1) for k, I in enumerate(currents_nA)]
    monitors = [Monitor("n0", ("spikes", "v"), dt="10 ms")] + [Monitor(p.name) for p in pops[1:]]
    net = NetworkSpec(populations=pops, monitors=monitors, duration="300 ms")
    r = simulate(net, "numpy")
    errors = []
    for k, I in enumerate(currents_nA):
        expected = lif_rate(model, I * 1e-9)
        t = r.spike_times(f"n{k}", 0)
        if expected == 0:
            assert t.size == 0
            # subthreshold: v settles at E_L + I R
            v_inf = float(model.E_L) + I * 1e-9 / float(model.g_L)
            assert r[f"n{k}.state.v"][0, -1] == pytest.approx(v_inf, abs=1e-4)
            continue
        assert t.size >= 5, (I, t.size)
        measured = 1 / np.mean(np.diff(t))  # ISIs: independent of the start from E_L
        errors.append(abs(measured / expected - 1))
    assert len(errors) >= 5
    # measured: 0.1-1.3 %; the largest at 1 nA, where the ~4 ms ISI is quantised to dt = 0.1 ms
    assert max(errors) < 0.02, errors


def test_lif_conductance_steady_state_voltage():
    """A constant conductance pair clamps v at (g_L E_L + g_e E_e + g_i E_i)/(g_L + g_e + g_i)."""
    model = LIF(synapse="conductance", V_th="-40 mV", tau_e="1e9 ms", tau_i="1e9 ms")  # conductances do not decay
    kick = SpikeTrains(indices=[0], times=["0 ms"])
    g_e, g_i = 6e-9, 4e-9
    net = NetworkSpec(
        populations=[Population("src", kick, 1), Population("n", model, 1)],
        projections=[Projection("exc", "src", "n", w_init=1.0, weight_scale="6 nS", receptor="exc"),
                     Projection("inh", "src", "n", w_init=1.0, weight_scale="4 nS", receptor="inh")],
        monitors=[Monitor("n", ("spikes", "v", "g_e", "g_i"))], duration="150 ms")
    r = simulate(net, "numpy")
    assert r["n.spikes.t"].size == 0
    g_L, E_L, E_e, E_i, C = (float(model.g_L), float(model.E_L), float(model.E_e), float(model.E_i),
                             float(model.C_m))
    assert r["n.state.g_e"][0, -1] == pytest.approx(g_e, rel=1e-6)
    assert r["n.state.g_i"][0, -1] == pytest.approx(g_i, rel=1e-6)
    v_ss = (g_L * E_L + g_e * E_e + g_i * E_i) / (g_L + g_e + g_i)
    v = r["n.state.v"][0]
    assert v[-1] == pytest.approx(v_ss, abs=1e-5)  # -51 mV
    assert abs(v_ss - E_L) > 0.015  # the conductances moved v a lot
    # and it gets there with the effective membrane time constant C/(g_L + g_e + g_i) = 10 ms
    tau_eff = C / (g_L + g_e + g_i)
    # the input spike at t = 0 reaches g_e/g_i after that step's update; the monitor records at the
    # end of each step, so the value labelled t has seen the conductances for t - dt
    elapsed = np.maximum(r["n.state.t"] - float(net.dt), 0)
    expected = v_ss + (E_L - v_ss) * np.exp(-elapsed / tau_eff)
    assert np.max(np.abs(v - expected)) < 0.1e-3  # within 0.1 mV of a 19 mV approach (Euler, dt = tau/100)


# --------------------------------------------------------------------------- AdEx

def _adex_run(preset: str, current: str, duration="500 ms"):
    model = getattr(AdEx, preset)().replace(I_ext=current)
    net = NetworkSpec(populations=[Population("n", model, 1)], monitors=[Monitor("n", ("spikes", "w_a"))],
                      duration=duration)
    return simulate(net, "numpy")


def test_adex_tonic_spiking_has_constant_isis():
    r = _adex_run("tonic", "500 pA")
    isi = isis_ms(r, "n")
    assert isi.size >= 30
    assert isi.max() / isi.min() < 1.1
    assert np.std(isi[5:]) / np.mean(isi[5:]) < 0.01


def test_adex_adapting_isis_increase():
    r = _adex_run("adapting", "500 pA")
    isi = isis_ms(r, "n")
    assert isi.size >= 6
    assert np.all(np.diff(isi) > -1e-9)
    assert isi[-1] / isi[0] > 3
    # the adaptation current jumps by b at every spike
    w = r["n.state.w_a"][0]
    assert w.max() > 0
    jumps = np.diff(w)
    assert np.sort(jumps)[-1] == pytest.approx(float(AdEx.adapting().b), rel=0.02)


def test_adex_initial_burst_then_tonic():
    r = _adex_run("bursting", "400 pA")
    isi = isis_ms(r, "n")
    assert isi.size >= 5
    burst, late = isi[:2], isi[3:]
    assert np.all(burst < 10) and np.all(late > 40)
    assert np.std(late) / np.mean(late) < 0.1


# --------------------------------------------------------------------------- Izhikevich

def izhikevich_oracle(a, b, c, d, I, duration_ms, dt_ms=0.1, v_peak=30.0):
    """Izhikevich (2003) in the paper's units (mV, ms), forward Euler from rest: spike steps."""
    v = (-(5 - b) - math.sqrt((5 - b) ** 2 - 4 * 0.04 * 140)) / (2 * 0.04)  # rest: 0.04v^2 + (5-b)v + 140 = 0
    u = b * v
    spikes = []
    for n in range(int(round(duration_ms / dt_ms))):
        v, u = v + dt_ms * (0.04 * v * v + 5 * v + 140 - u + I), u + dt_ms * a * (b * v - u)
        if v > v_peak:
            spikes.append(n)
            v, u = c, u + d
    return np.array(spikes)


@pytest.mark.parametrize("preset", ["regular_spiking", "fast_spiking", "chattering", "intrinsically_bursting"])
def test_izhikevich_presets_follow_the_paper_equations(preset):
    model = getattr(Izhikevich, preset)().replace(I_ext="10 mV/ms")
    net = NetworkSpec(populations=[Population("n", model, 1)], monitors=[Monitor("n", ("spikes", "u"), dt="1 ms")],
                      duration="200 ms")
    r = simulate(net, "numpy")
    steps = np.round(r["n.spikes.t"] / float(net.dt)).astype(int)
    expected = izhikevich_oracle(model.a, model.b, float(model.c) * 1e3, float(model.d) * 1e3, 10.0, 200)
    assert steps.size >= 5
    np.testing.assert_array_equal(steps, expected)
    # u is in mV/ms (= V/s) and starts at b*v_rest; recorded after the first step, so within one Euler step
    u0 = model.b * -70.0  # -14 mV/ms: rest is -70 mV for b = 0.2 (Izhikevich 2003)
    assert r["n.state.u"][0, 0] == pytest.approx(u0, abs=0.01 * abs(u0))


def test_izhikevich_fast_spiking_fires_faster_and_regular_spiking_adapts():
    pops = [Population("rs", Izhikevich.regular_spiking().replace(I_ext="10 mV/ms"), 1),
            Population("fs", Izhikevich.fast_spiking().replace(I_ext="10 mV/ms"), 1)]
    r = simulate(NetworkSpec(pops, monitors=[Monitor("rs"), Monitor("fs")], duration="300 ms"), "numpy")
    rs, fs = isis_ms(r, "rs"), isis_ms(r, "fs")
    assert r.spike_counts("fs")[0] > 3 * r.spike_counts("rs")[0]
    # RS: spike-frequency adaptation (Izhikevich 2003, Fig. 2): the ISI grows after the first spikes
    assert rs[-1] / rs[0] > 1.5
    # FS: high-frequency tonic firing (> 100 Hz) without such adaptation
    assert 1e3 / np.mean(fs[3:]) > 100
    assert fs[-1] / fs[0] < 2.0 and np.std(fs[3:]) / np.mean(fs[3:]) < 0.05  # 1.81 from rest (-70 mV)
    # reset jumps u by d/ms: 8 mV/ms for RS (the paper's d = 8)
    assert float(Izhikevich.regular_spiking().d) == pytest.approx(8e-3)


# --------------------------------------------------------------------------- rate units

TRANSFER = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


@pytest.fixture(scope="module")
def rate_run():
    """Every transfer function, with and without a time constant, driven by a step of inputs at t = 0."""
    x = [[-1.0, -0.2, 0.3, 1.5]]
    pops = [Population("x", SampleSequence(samples=x, present="200 ms"))]
    projs = []
    for f in TRANSFER_FUNCTIONS:
        for tag, tau in (("tau", "10 ms"), ("inst", None)):
            name = f"{f}_{tag}"
            pops.append(Population(name, RateUnit(tau=tau, transfer=f, gain=2.0, bias=-0.1), 4))
            projs.append(Projection(f"to_{name}", "x", name, connectivity="one_to_one", w_init=1.0))
    pops.append(Population("ext", RateUnit(tau=None, transfer="tanh", gain=1.5, bias=0.2, I_ext=0.5), 1))
    monitors = [Monitor(p.name, ("r",)) for p in pops[1:]]
    net = NetworkSpec(pops, projs, monitors=monitors, duration="100 ms")
    return np.array(x[0]), simulate(net, "numpy")


@pytest.mark.parametrize("transfer", TRANSFER_FUNCTIONS)
@pytest.mark.parametrize("tag", ["tau", "inst"])
def test_rate_unit_steady_state_is_transfer_of_input(rate_run, transfer, tag):
    x, r = rate_run
    expected = TRANSFER[transfer](2.0 * x - 0.1)
    final = r[f"{transfer}_{tag}.state.r"][:, -1]
    np.testing.assert_allclose(final, expected, rtol=1e-3, atol=1e-4)  # exp(-10) left after 10 tau
    if tag == "inst":
        np.testing.assert_allclose(r[f"{transfer}_{tag}.state.r"][:, 5], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transfer", TRANSFER_FUNCTIONS)
def test_rate_unit_time_constant(rate_run, transfer):
    """tau dr/dt = f - r: the gap to the steady state shrinks by e every tau = 10 ms."""
    x, r = rate_run
    f = TRANSFER[transfer](2.0 * x - 0.1)
    t = r[f"{transfer}_tau.state.t"]
    rr = r[f"{transfer}_tau.state.r"]
    window = (t > 2e-3) & (t < 40e-3)
    for k in range(len(x)):
        gap = f[k] - rr[k, window]
        if abs(f[k]) < 1e-9:
            assert np.all(np.abs(rr[k]) < 1e-12)
            continue
        slope = np.polyfit(t[window], np.log(gap / f[k]), 1)[0]
        assert -1 / slope == pytest.approx(10e-3, rel=0.01)


def test_rate_unit_external_input(rate_run):
    _, r = rate_run
    assert r["ext.state.r"][0, -1] == pytest.approx(np.tanh(1.5 * 0.5 + 0.2), rel=1e-12)
