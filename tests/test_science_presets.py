"""Paper presets pinned to the papers' tables.

The simulator and its numpy oracle read the same preset objects, so an oracle test
cannot see a wrong constant: a mistyped time constant moves both. Each test here
compares a preset with the numbers printed in the paper, cited in the test, written
out by hand rather than taken from the code. Units: times in ms, potentials in mV,
conductances in nS, capacitances in pF, currents in pA.
"""
from __future__ import annotations

import math

import pytest
from brian2 import mV, ms, nS, pA, pF

from bioplaus.spec import AdEx, Izhikevich, LIF, PairSTDP, TripletSTDP
from bioplaus.spec.neurons import AdaptiveThreshold


def _f(q, unit) -> float:
    return float(q / unit)


# --------------------------------------------------------------------------- triplet STDP

#: Pfister & Gerstner (2006), J. Neurosci. 26(38):9673-9682, table of the triplet-model parameters
#: (Table 4): tau_+ = 16.8 ms and tau_- = 33.7 ms for every set; (tau_x, tau_y) in ms, then A2+, A3+, A2-, A3-.
PFISTER_GERSTNER_2006 = {
    "visual_cortex": (101, 125, 5e-10, 6.2e-3, 7e-3, 2.3e-4, False),            # visual cortex, all-to-all
    "visual_cortex_nearest": (714, 40, 8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, True),  # visual cortex, nearest spike
    "hippocampal": (946, 27, 6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, False),             # hippocampal culture, all-to-all
}


@pytest.mark.parametrize("preset", sorted(PFISTER_GERSTNER_2006))
def test_triplet_presets_are_pfister_gerstner_2006_table_values(preset):
    tau_x, tau_y, a2p, a3p, a2m, a3m, nearest = PFISTER_GERSTNER_2006[preset]
    r = getattr(TripletSTDP, preset)()
    assert (_f(r.tau_plus, ms), _f(r.tau_minus, ms)) == pytest.approx((16.8, 33.7), rel=1e-12)
    assert (_f(r.tau_x, ms), _f(r.tau_y, ms)) == pytest.approx((tau_x, tau_y), rel=1e-12)
    assert (r.A2_plus, r.A3_plus, r.A2_minus, r.A3_minus) == pytest.approx((a2p, a3p, a2m, a3m), rel=1e-12)
    assert r.nearest is nearest


def test_triplet_default_is_the_visual_cortex_set():
    assert TripletSTDP() == TripletSTDP.visual_cortex()


# --------------------------------------------------------------------------- pair STDP

def test_song_abbott_preset_is_song_miller_abbott_2000():
    """Song, Miller & Abbott (2000), Nat. Neurosci. 3:919, Methods: tau_+ = tau_- = 20 ms, A_+ = 0.005, A_-/A_+ = 1.05."""
    r = PairSTDP.song_abbott()
    assert (_f(r.tau_plus, ms), _f(r.tau_minus, ms)) == pytest.approx((20.0, 20.0), rel=1e-12)
    assert r.A_plus == pytest.approx(0.005, rel=1e-12)
    assert r.A_minus / r.A_plus == pytest.approx(1.05, rel=1e-12)
    assert r.bounds == "hard" and (r.w_min, r.w_max) == (0.0, 1.0)  # additive rule, clipped to [0, g_max]


def test_bi_poo_preset_has_the_time_constants_of_the_fit_to_bi_poo_data():
    """Bi & Poo (1998) data fitted with exponentials, Bi & Poo (2001), Annu. Rev. Neurosci. 24:139:
    tau_+ = 16.8 ms, tau_- = 33.7 ms (the values Pfister & Gerstner 2006 use for every set). The
    amplitudes are a per-pairing scale; the window's integral is negative (depression dominates,
    A_- tau_- > A_+ tau_+), as in the data and as stability of additive STDP requires."""
    r = PairSTDP.bi_poo()
    assert (_f(r.tau_plus, ms), _f(r.tau_minus, ms)) == pytest.approx((16.8, 33.7), rel=1e-12)
    assert r.A_minus * _f(r.tau_minus, ms) > r.A_plus * _f(r.tau_plus, ms)
    assert r.A_plus > r.A_minus  # the peak of potentiation exceeds that of depression (Bi & Poo 1998, Fig. 7)


# --------------------------------------------------------------------------- Izhikevich (2003)

#: Izhikevich (2003), IEEE Trans. Neural Netw. 14(6):1569, Fig. 2: (a, b, c [mV], d); v_peak = 30 mV.
IZHIKEVICH_2003 = {
    "regular_spiking": (0.02, 0.2, -65, 8),
    "intrinsically_bursting": (0.02, 0.2, -55, 4),
    "chattering": (0.02, 0.2, -50, 2),
    "fast_spiking": (0.1, 0.2, -65, 2),
    "thalamo_cortical": (0.02, 0.25, -65, 0.05),
    "resonator": (0.1, 0.26, -65, 2),
    "low_threshold_spiking": (0.02, 0.25, -65, 2),
}


@pytest.mark.parametrize("preset", sorted(IZHIKEVICH_2003))
def test_izhikevich_presets_are_the_fig2_values(preset):
    if not hasattr(Izhikevich, preset):
        pytest.skip(f"no preset {preset}")
    a, b, c, d = IZHIKEVICH_2003[preset]
    m = getattr(Izhikevich, preset)()
    assert (m.a, m.b) == pytest.approx((a, b), rel=1e-12)
    assert (_f(m.c, mV), _f(m.d, mV)) == pytest.approx((c, d), rel=1e-12)
    assert _f(m.v_peak, mV) == pytest.approx(30.0, rel=1e-12)


def test_every_izhikevich_preset_is_a_row_of_fig2():
    names = [n for n in dir(Izhikevich) if not n.startswith("_") and isinstance(getattr(Izhikevich, n, None), type(
        Izhikevich.regular_spiking)) and n not in ("resting_potential", "replace")]
    assert {"regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking"} <= set(names)
    assert set(names) <= set(IZHIKEVICH_2003), f"presets without a pinned row: {set(names) - set(IZHIKEVICH_2003)}"


# --------------------------------------------------------------------------- AdEx, Naud et al. (2008)

#: Naud, Marcille, Clopath & Gerstner (2008), Biol. Cybern. 99:335, Table 1 (V_T = -50 mV and
#: Delta_T = 2 mV in every row): C [pF], g_L [nS], E_L [mV], a [nS], tau_w [ms], b [pA], V_r [mV].
NAUD_2008 = {
    "tonic": (200, 10, -70, 2, 30, 0, -58),
    "adapting": (200, 12, -70, 2, 300, 60, -58),
    "initial_bursting": (130, 18, -58, 4, 150, 120, -50),
    "bursting": (130, 18, -58, 4, 150, 120, -50),
    "regular_bursting": (200, 10, -58, 2, 120, 100, -46),
    "delayed_accelerating": (200, 12, -70, -10, 300, 0, -58),
    "delayed_regular_bursting": (100, 10, -65, -10, 90, 30, -47),
    "transient": (100, 10, -65, 10, 90, 100, -47),
    "irregular": (100, 12, -60, -11, 130, 30, -48),
}


@pytest.mark.parametrize("preset", sorted(NAUD_2008))
def test_adex_presets_are_naud_2008_table1_rows(preset):
    if not hasattr(AdEx, preset):
        pytest.skip(f"no preset {preset}")
    C, gL, EL, a, tau_w, b, Vr = NAUD_2008[preset]
    m = getattr(AdEx, preset)()
    got = (_f(m.C_m, pF), _f(m.g_L, nS), _f(m.E_L, mV), _f(m.a, nS), _f(m.tau_w, ms), _f(m.b, pA), _f(m.V_reset, mV))
    assert got == pytest.approx((C, gL, EL, a, tau_w, b, Vr), rel=1e-9, abs=1e-9)
    assert (_f(m.V_T, mV), _f(m.Delta_T, mV)) == pytest.approx((-50.0, 2.0), rel=1e-12)


def test_adex_default_is_brette_gerstner_2005():
    """Brette & Gerstner (2005), J. Neurophysiol. 94:3637, Table 1 (regular spiking)."""
    m = AdEx()
    got = (_f(m.C_m, pF), _f(m.g_L, nS), _f(m.E_L, mV), _f(m.V_T, mV), _f(m.Delta_T, mV), _f(m.tau_w, ms),
           _f(m.a, nS), _f(m.b, pA), _f(m.V_reset, mV))
    assert got == pytest.approx((281, 30, -70.6, -50.4, 2, 144, 4, 80.5, -70.6), rel=1e-9)


# --------------------------------------------------------------------------- Diehl & Cook (2015)

def test_diehl_cook_neurons_are_the_papers():
    """Diehl & Cook (2015), Front. Comput. Neurosci. 9:99, Methods and their published code:
    excitatory E_rest = -65 mV, reset -65 mV, threshold -52 mV (+ theta), refractory 5 ms, tau_m = 100 ms,
    E_exc = 0 mV, E_inh = -100 mV, tau_ge = 1 ms, tau_gi = 2 ms; theta_plus = 0.05 mV, tau_theta = 1e7 ms;
    inhibitory E_rest = -60 mV, reset -45 mV, threshold -40 mV, refractory 2 ms, tau_m = 10 ms, E_inh = -85 mV."""
    e = LIF.diehl_cook_excitatory()
    assert _f(e.C_m / e.g_L, ms) == pytest.approx(100.0, rel=1e-12)
    assert (_f(e.E_L, mV), _f(e.V_reset, mV), _f(e.V_th, mV)) == pytest.approx((-65, -65, -52), rel=1e-12)
    assert _f(e.t_ref, ms) == pytest.approx(5.0, rel=1e-12)
    assert e.synapse == "conductance"
    assert (_f(e.E_e, mV), _f(e.E_i, mV), _f(e.tau_e, ms), _f(e.tau_i, ms)) == pytest.approx((0, -100, 1, 2), abs=1e-12)
    th = e.adaptation
    assert isinstance(th, AdaptiveThreshold)
    assert (_f(th.theta_plus, mV), _f(th.tau_theta, ms)) == pytest.approx((0.05, 1e7), rel=1e-12)

    from bioplaus.networks.stdp_classifier import diehl_cook_inhibitory
    i = diehl_cook_inhibitory()
    assert _f(i.C_m / i.g_L, ms) == pytest.approx(10.0, rel=1e-12)
    assert (_f(i.E_L, mV), _f(i.V_reset, mV), _f(i.V_th, mV)) == pytest.approx((-60, -45, -40), rel=1e-12)
    assert _f(i.t_ref, ms) == pytest.approx(2.0, rel=1e-12)
    assert (_f(i.E_e, mV), _f(i.E_i, mV), _f(i.tau_e, ms), _f(i.tau_i, ms)) == pytest.approx((0, -85, 1, 2), abs=1e-12)


def test_diehl_cook_network_constants_are_the_papers():
    """Diehl & Cook (2015): STDP tau_pre = 20 ms, tau_post1 = 20 ms, tau_post2 = 40 ms, nu_pre = 1e-4,
    w_max = 1, initial weights U(0.003, 0.303); fixed E->I 10.4 and I->E 17 (nS); 350 ms presentation,
    150 ms rest. (max_rate, norm_total and nu_post are tuned for the 8x8 digits; their MNIST values
    63.75 Hz, 78 and 0.01 are named in the class docstring, checked below.)"""
    from bioplaus.networks.stdp_classifier import DiehlCook

    p = DiehlCook()
    assert (_f(p.tau_pre, ms), _f(p.tau_post, ms), _f(p.tau_post2, ms)) == pytest.approx((20, 20, 40), rel=1e-12)
    assert p.nu_pre == pytest.approx(1e-4, rel=1e-12) and p.w_max == 1.0
    assert tuple(p.w_init) == pytest.approx((0.003, 0.303), rel=1e-12)
    assert (_f(p.w_ei, nS), _f(p.w_ie, nS)) == pytest.approx((10.4, 17.0), rel=1e-12)
    assert (_f(p.present, ms), _f(p.rest, ms)) == pytest.approx((350, 150), rel=1e-12)
    assert (_f(p.theta_plus, mV), _f(p.tau_theta, ms)) == pytest.approx((0.05, 1e7), rel=1e-12)
    doc = " ".join(DiehlCook.__doc__.split())
    for text in ("max_rate = 63.75 Hz", "norm_total = 78", "nu_post = 0.01"):
        assert text in doc
    assert math.isclose(255 / 4, 63.75)  # MNIST intensity 255 / 4 Hz


def test_vogels_abbott_neuron_is_brette_2007_coba():
    """Vogels & Abbott (2005) as in Brette et al. (2007), J. Comput. Neurosci. 23:349, COBA benchmark:
    C = 200 pF, g_L = 10 nS (tau_m = 20 ms), E_L = -60 mV, V_th = -50 mV, reset -60 mV, refractory 5 ms,
    tau_e = 5 ms, tau_i = 10 ms, E_e = 0 mV, E_i = -80 mV."""
    n = LIF.vogels_abbott()
    got = (_f(n.C_m, pF), _f(n.g_L, nS), _f(n.E_L, mV), _f(n.V_th, mV), _f(n.V_reset, mV), _f(n.t_ref, ms),
           _f(n.tau_e, ms), _f(n.tau_i, ms), _f(n.E_e, mV), _f(n.E_i, mV))
    assert got == pytest.approx((200, 10, -60, -50, -60, 5, 5, 10, 0, -80), abs=1e-9)
