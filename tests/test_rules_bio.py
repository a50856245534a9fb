"""Inhibitory STDP (Vogels et al. 2011) and short-term plasticity (Tsodyks & Markram).

Each rule is checked three ways: the Brian2 build against the numpy oracle on given
spike trains (rounding-level tolerance), the defining behaviour against theory (the
target rate that inhibitory STDP settles to; the analytic steady state of a regular
train for short-term plasticity), and the presets against the papers' values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from brian2 import Hz, mV, ms, pA, second

from bioplaus.netfile import spec_from_table
from bioplaus.reference.plasticity import (clopath_dw, istdp_dw, tsodyks_markram_release,
                                           tsodyks_markram_steady_state)
from bioplaus.simulation import simulate
from bioplaus.build.registry import Code, register
from bioplaus.spec import AdEx, LIF, Monitor, NetworkSpec, PoissonInput, Population, Projection, SpikeTrains
from bioplaus.spec.params import param
from bioplaus.spec.rules import ClopathSTDP, InhibitorySTDP, TsodyksMarkram, make_rule
from test_rules_stdp import forced_pairs, spike_times  # tests/ is on sys.path (rootdir conftest)

ORACLE_RTOL = 1e-12   # oracle vs Brian2 on given spike trains: rounding only
RATE_RTOL = 0.2       # learning outcome (ARCHITECTURE rule 8): rate within 20 % of rho0 (bias and noise, see below)


# --------------------------------------------------------------------------- inhibitory STDP

def _trains(rng, n, rate, duration, dt=1e-4):
    """Poisson spike times on the simulation grid (at most one spike per step)."""
    out = []
    for _ in range(n):
        steps = np.flatnonzero(rng.random(int(duration / dt)) < rate * dt)
        out.append(np.round(steps[steps > 20] * dt, 10))
    return out


def test_istdp_matches_oracle():
    rng = np.random.default_rng(3)
    n = 6
    pre, post = _trains(rng, n, 30.0, 0.6), _trains(rng, n, 25.0, 0.6)
    rule = InhibitorySTDP(eta=0.01, tau_stdp="20 ms", rho0="10 Hz", w_min=-1e9, w_max=1e9)
    r = simulate(forced_pairs(pre, post, {"ie": rule}, w_init=0.5))
    got = spike_times(r, "post", n)     # the forced post spikes (one step after their drive)
    w = r["ie.w"]
    want = np.array([0.5 + istdp_dw(pre[k], got[k], rule, w0=0.5) for k in range(n)])
    assert np.all(np.abs(want - 0.5) > 1e-3)   # learning happened
    np.testing.assert_allclose(w, want, rtol=ORACLE_RTOL, atol=1e-14)


def test_istdp_oracle_symmetric_window_and_offset():
    """One pair, either order: +eta e^{-|dt|/tau} from the pairing, -eta alpha from the presynaptic spike."""
    rule = dict(eta=1.0, tau_stdp=0.02, rho0=5.0)
    for pre, post in (([0.0], [0.012]), ([0.012], [0.0])):
        assert istdp_dw(pre, post, rule) == pytest.approx(np.exp(-0.012 / 0.02) - 2 * 5.0 * 0.02, abs=1e-15)


def _balance_net(rho_targets, duration, n=16, eta=0.05, w_exc="0.03 nA", dt="1 ms", seed=1):
    """``n`` LIF neurons per target rate, each driven by ~100 of 200 excitatory Poisson inputs (alone:
    ~45 Hz) and by 50 inhibitory Poisson inputs through inhibitory STDP synapses starting at 0."""
    pops = [Population("exc", PoissonInput(rates="10 Hz"), 200), Population("inh", PoissonInput(rates="10 Hz"), 50)]
    projs, mons = [], []
    for k, rho in enumerate(rho_targets):
        pops.append(Population(f"n{k}", LIF(t_ref="2 ms"), n))
        projs.append(Projection(f"e{k}", "exc", f"n{k}", connectivity=0.5, w_init=2.0, weight_scale=w_exc))
        projs.append(Projection(f"i{k}", "inh", f"n{k}", receptor="inh", w_init=0.0, weight_scale="0.03 nA",
                                rule=InhibitorySTDP(eta=eta, tau_stdp="20 ms", rho0=rho, w_max=20.0)))
        mons.append(Monitor(f"n{k}", ("spikes",)))
    return NetworkSpec(pops, projs, monitors=mons, dt=dt, duration=duration, seed=seed)


def test_istdp_drives_the_rate_to_the_target():
    # measured late rates (seeds 1, 2, 3): 5.18, 6.00, 5.75 Hz for 5 Hz; 12.6, 13.3, 12.9 Hz for 12 Hz
    targets, n, duration, window = (5.0, 12.0), 16, 24.0, 12.0
    r = simulate(_balance_net([t * Hz for t in targets], duration * second, n=n))
    for k, rho in enumerate(targets):
        t = r[f"n{k}.spikes.t"]
        early = np.sum(t < 1.0) / (1.0 * n)
        late = np.sum(t > duration - window) / (window * n)
        assert early > 3 * rho, f"target {rho} Hz: the neurons should start well above it, got {early} Hz"
        assert late == pytest.approx(rho, rel=RATE_RTOL), f"target {rho} Hz, late rate {late} Hz"
        assert r[f"i{k}.w"].mean() > 0.1   # inhibition grew from 0


def test_istdp_presets_match_the_paper():
    # Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011), Science 334:1569, supplementary methods:
    # tau_STDP = 20 ms, alpha = 2 rho0 tau_STDP, rho0 = 5 Hz (single neuron), 3 Hz (network)
    single, network = InhibitorySTDP.vogels2011(), InhibitorySTDP.vogels2011_network()
    assert float(single.tau_stdp) == pytest.approx(0.020) and float(network.tau_stdp) == pytest.approx(0.020)
    assert float(single.rho0) == pytest.approx(5.0) and float(network.rho0) == pytest.approx(3.0)
    assert single.alpha == pytest.approx(0.2) and network.alpha == pytest.approx(0.12)


# --------------------------------------------------------------------------- short-term plasticity

def _stp_net(trains, rules, dt="0.1 ms", duration=None):
    """Synapse ``k`` of each projection carries train ``k`` onto its own LIF whose current input
    ``g_e`` integrates exactly (decay exp(-dt/tau_e) per step), so the jump at each spike is the
    transmitted ``weight_scale * w * u * x``."""
    n = len(trains)
    idx = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)]).astype(int)
    times = np.concatenate(trains)
    pops = [Population("pre", SpikeTrains(idx, times * second, n=n), n)]
    projs, mons = [], []
    for name, rule in rules.items():
        pops.append(Population(f"post_{name}", LIF(tau_e="5 ms", V_th="1000 mV"), n))
        projs.append(Projection(name, "pre", f"post_{name}", rule=rule, connectivity="one_to_one",
                                w_init=2.0, weight_scale="1 pA"))
        mons.append(Monitor(f"post_{name}", ("g_e",)))
    return NetworkSpec(pops, projs, monitors=mons, dt=dt,
                       duration=duration if duration is not None else (times.max() + 0.002) * second)


def _jumps(r, name, trains, dt=1e-4, tau_e=5e-3):
    """Transmitted amounts (in units of weight_scale * w) at each spike of each train, from the recorded g_e."""
    g = np.asarray(r[f"post_{name}.state.g_e"]) / 1e-12 / 2.0
    decay = np.exp(-dt / tau_e)
    out = []
    for k, t in enumerate(trains):
        s = np.round(np.asarray(t) / dt).astype(int)
        out.append(g[k, s + 1] - g[k, s] * decay)
    return out


def test_stp_matches_oracle_event_by_event():
    rng = np.random.default_rng(5)
    trains = [np.round(np.cumsum(rng.uniform(0.002, 0.08, 12)), 3) for _ in range(3)]
    rules = {"dep": TsodyksMarkram.depressing(), "fac": TsodyksMarkram.facilitating(),
             "mix": TsodyksMarkram(U=0.2, tau_rec="200 ms", tau_facil="50 ms")}
    r = simulate(_stp_net(trains, rules, dt="1 ms"))
    for name, rule in rules.items():
        got = _jumps(r, name, trains, dt=1e-3)
        for k, t in enumerate(trains):
            want = tsodyks_markram_release(t, rule)
            np.testing.assert_allclose(got[k], want, rtol=1e-9, err_msg=f"{name}, train {k}")
        np.testing.assert_array_equal(r[f"{name}.w"], 2.0)   # transmission changes, w does not


def test_stp_steady_state_of_a_regular_train():
    # u converges by (1 - U) exp(-1/(f tau_facil)) per spike: 150 spikes at 20 Hz, 350 at 50 Hz leave < 1e-8
    freqs, n_spikes = (20.0, 50.0), (150, 350)
    trains = [np.round(0.001 + np.arange(n) / f, 6) for f, n in zip(freqs, n_spikes)]
    rules = {"dep": TsodyksMarkram.depressing(), "fac": TsodyksMarkram.facilitating()}
    r = simulate(_stp_net(trains, rules, dt="1 ms"))
    ratios = {}
    for name, rule in rules.items():
        for f, amp in zip(freqs, _jumps(r, name, trains, dt=1e-3)):
            u, x = tsodyks_markram_steady_state(f, rule)
            assert amp[0] == pytest.approx(float(rule.U), rel=1e-9)             # a rested synapse transmits U
            assert amp[-1] == pytest.approx(u * x, rel=1e-7), (name, f)         # steady state, analytic
            ratios[name, f] = amp[-1] / amp[0]
    # depression at 20 Hz: 0.5 -> 0.057 (PSC ratio 0.11), facilitation: 0.03 -> 0.165 (ratio 5.5)
    assert ratios["dep", 20.0] < 0.2 and ratios["fac", 20.0] > 3.0
    assert ratios["dep", 50.0] < ratios["dep", 20.0]


def test_stp_presets_match_the_paper():
    # Tsodyks, Pawelzik & Markram (1998), Neural Comput. 10:821, Fig. 1 parameters:
    # depressing U_SE = 0.5, tau_rec = 800 ms; facilitating U_SE = 0.03, tau_rec = 130 ms, tau_facil = 530 ms
    d, f = TsodyksMarkram.depressing(), TsodyksMarkram.facilitating()
    assert (d.U, float(d.tau_rec), float(d.tau_facil)) == pytest.approx((0.5, 0.8, 0.0))
    assert (f.U, float(f.tau_rec), float(f.tau_facil)) == pytest.approx((0.03, 0.13, 0.53))


def test_new_rules_are_available_to_model_files():
    r = spec_from_table("rule", {"type": "istdp", "preset": "vogels2011_network"}, "projections.ie.rule")
    assert isinstance(r, InhibitorySTDP) and r.alpha == pytest.approx(0.12)
    s = spec_from_table("rule", {"type": "tsodyks_markram", "U": 0.2, "tau_facil": "50 ms"}, "projections.ee.rule")
    assert isinstance(s, TsodyksMarkram) and float(s.tau_facil) == pytest.approx(0.05)
    assert make_rule("istdp", rho0="3 Hz").alpha == pytest.approx(0.12)
    assert float(make_rule("tsodyks_markram", tau_facil="530 ms").tau_facil) == pytest.approx(0.53)
    c = spec_from_table("rule", {"type": "clopath", "preset": "visual_cortex"}, "projections.ff.rule")
    assert isinstance(c, ClopathSTDP) and float(c.tau_plus) == pytest.approx(0.007)


# --------------------------------------------------------------------------- voltage-based STDP (Clopath et al. 2010)

def test_clopath_matches_oracle_on_the_recorded_potential():
    """A LIF held above theta_+ by a current (threshold out of reach, so the recorded potential is
    the one the rule sees) receives EPSPs from the presynaptic train; the plastic projection does
    not transmit. LTD at presynaptic spikes and LTP from the trace both act."""
    rng = np.random.default_rng(7)
    dt = 1e-4
    pre = np.round(np.sort(rng.uniform(0.005, 0.15, 25)) / dt).astype(int)
    pre = np.unique(pre)
    rule = ClopathSTDP(A_LTD=1e-3, A_LTP=1e-4, w_min=-1e9, w_max=1e9)
    net = NetworkSpec(
        [Population("pre", SpikeTrains(np.zeros(len(pre), int), pre * dt * second, n=1), 1),
         Population("post", LIF(V_th="0 mV", I_ext="0.28 nA", tau_e="3 ms"), 1)],
        [Projection("drive", "pre", "post", w_init=1.0, weight_scale="0.4 nA"),
         Projection("ff", "pre", "post", rule=rule, w_init=0.5, weight_scale="0 nA")],
        monitors=[Monitor("post", ("v",))], dt=f"{dt * 1e3} ms", duration="0.45 s")
    r = simulate(net)
    v = np.asarray(r["post.state.v"])[0]
    assert v.max() > float(rule.theta_plus)    # potentiation is possible
    want = clopath_dw(v[1:], pre, rule, dt, w0=0.5, u0=-0.070)
    assert abs(want) > 1e-3
    np.testing.assert_allclose(r["ff.w"][0] - 0.5, want, rtol=1e-9)
    # each term alone: no LTP without A_LTP, no LTD without A_LTD (both contribute)
    ltd = clopath_dw(v[1:], pre, dict(rule.__dict__, A_LTP=0.0), dt, w0=0.5, u0=-0.070)
    ltp = clopath_dw(v[1:], pre, dict(rule.__dict__, A_LTD=0.0), dt, w0=0.5, u0=-0.070)
    assert ltd < -1e-3 and ltp > 1e-3


def test_clopath_preset_matches_the_paper():
    # Clopath, Büsing, Vasilaki & Gerstner (2010), Nat. Neurosci. 13:344, Table 1b, visual cortex:
    # A_LTD = 14e-5 mV^-1, A_LTP = 8e-5 mV^-2, theta_- = -70.6 mV, theta_+ = -45.3 mV,
    # tau_x = 15 ms, tau_- = 10 ms, tau_+ = 7 ms
    c = ClopathSTDP.visual_cortex()
    assert (c.A_LTD, c.A_LTP) == pytest.approx((14e-5, 8e-5))
    assert (float(c.theta_minus), float(c.theta_plus)) == pytest.approx((-70.6e-3, -45.3e-3))
    assert (float(c.tau_x), float(c.tau_minus), float(c.tau_plus)) == pytest.approx((0.015, 0.010, 0.007))


@dataclass(frozen=True)
class ClopathAdEx(AdEx):
    r"""The postsynaptic neuron of Clopath et al. (2010), Methods and Table 1a: AdEx with a spike
    afterdepolarisation :math:`z` (:math:`z \leftarrow I_{sp}` at a spike, :math:`\tau_z`), an adaptive
    threshold :math:`V_T` (:math:`\leftarrow V_{T,max}` at a spike, relaxing to :math:`V_{T,rest}` with
    :math:`\tau_{V_T}`); a spike when :math:`v > V_T`, then :math:`v` held at 29.4 mV for 2 ms and
    reset to :math:`E_L` (as in Larisch's 2019 replication of the paper). The end of the clamp is a
    ``run_regularly`` operation added by :func:`_clopath_protocol` (``reset_end``)."""

    I_sp: Any = param("400 pA", unit=pA)
    tau_z: Any = param("40 ms", unit=ms, positive=True)
    tau_VT: Any = param("50 ms", unit=ms, positive=True)
    V_Tmax: Any = param("-30.4 mV", unit=mV)


@register(ClopathAdEx)
def build_clopath_adex(model, pop, ctx):
    code = Code(method="euler")
    code.equations = [
        "dv/dt = int(t - lastspike > 2*ms + dt/2)"
        "*(-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w_a + z + I_syn + I_ext)/C_m : volt",
        "dw_a/dt = (a*(v - E_L) - w_a)/tau_w : amp",
        "dz/dt = -z/tau_z : amp",
        "dV_T/dt = (V_Trest - V_T)/tau_VT : volt",
        "dg_e/dt = -g_e/tau_e : amp", "dg_i/dt = -g_i/tau_i : amp", "I_syn = g_e - g_i : amp", "I_ext : amp",
    ]
    code.params.update(C_m=model.C_m, g_L=model.g_L, E_L=model.E_L, V_Trest=model.V_T, Delta_T=model.Delta_T,
                       tau_w=model.tau_w, a=model.a, b=model.b, I_sp=model.I_sp, tau_z=model.tau_z,
                       tau_VT=model.tau_VT, V_Tmax=model.V_Tmax, tau_e=model.tau_e, tau_i=model.tau_i)
    code.threshold = "v > V_T and v < 20*mV and not_refractory"
    code.reset = ["v = 29.4*mV", "w_a += b", "z = I_sp", "V_T = V_Tmax"]
    code.refractory = 2 * ms
    code.init = {"v": model.E_L, "V_T": model.V_T, "I_ext": model.I_ext}
    return code


CLAMP_END = "v = v + (E_L - v)*int(v > 20*mV)*int(t - lastspike > 2*ms - dt/2)"


def _clopath_protocol(rule, freqs, delta, n_pairs=5):
    """Sjöström et al. (2001) pairing protocol as in Clopath et al. (2010), Fig. 2: ``n_pairs`` pre/post
    pairs at each frequency, post ``delta`` after pre (negative: before). Synapse ``k`` of the plastic
    projection sees frequency ``freqs[k]``; the post spikes are forced by a 1 ms current pulse (they
    follow it by 0.4-0.6 ms, so |delta| is 10 +- 0.6 ms). Pairs at frequencies below 1 Hz do not
    interact (all traces decay within 1 s): one pair is simulated and its change multiplied by ``n_pairs``.
    Returns the weight change per frequency."""
    from bioplaus.build.network import build_network

    pre_i, pre_t, drv_i, drv_t = [], [], [], []
    for k, f in enumerate(freqs):
        for j in range(1 if f < 1 else n_pairs):
            t0 = 0.02 + j / f
            tp, tq = (t0, t0 + delta) if delta > 0 else (t0 - delta, t0)
            pre_i.append(k), pre_t.append(tp), drv_i.append(k), drv_t.append(tq - 0.001)
    n = len(freqs)
    net = NetworkSpec([Population("pre", SpikeTrains(np.array(pre_i), np.array(pre_t) * second, n=n), n),
                       Population("drv", SpikeTrains(np.array(drv_i), np.array(drv_t) * second, n=n), n),
                       Population("post", ClopathAdEx(b="0.805 pA", tau_e="0.5 ms"), n)],
                      [Projection("drive", "drv", "post", connectivity="one_to_one", w_init=1.0, weight_scale="20 nA"),
                       Projection("ff", "pre", "post", connectivity="one_to_one", rule=rule, w_init=0.5,
                                  weight_scale="0 nA")], dt="0.1 ms")
    built = build_network(net)
    post = built.groups["post"]
    built.network.add(post.run_regularly(CLAMP_END, when="after_resets", name="post_clamp_end"))
    built.network.run((max(pre_t + drv_t) + 0.1) * second)
    dw = np.asarray(built.synapses["ff"].w) - 0.5
    return dw * np.where(np.asarray(freqs) < 1, n_pairs, 1)


def test_clopath_frequency_dependence_of_the_pairing_protocol():
    # measured: pre-post +2.8e-2 (0.1 Hz) rising to +4.5e-2 (50 Hz); post-pre -7.4e-3 (0.1 Hz),
    # -7.5e-3 (10 Hz), -4.3e-3 (20 Hz), +1.9e-2 (40 Hz), +3.4e-2 (50 Hz)
    freqs = [0.1, 10.0, 20.0, 40.0, 50.0]
    rule = ClopathSTDP.visual_cortex(w_min=-1e9)
    pre_post = _clopath_protocol(rule, freqs, +0.010)
    post_pre = _clopath_protocol(rule, freqs, -0.010)
    # post-pre: depression at low frequencies turns into potentiation at high ones (Sjöström et al. 2001)
    assert post_pre[0] < 0 and post_pre[1] < 0 and post_pre[2] < 0, post_pre
    assert post_pre[3] > 0 and post_pre[4] > 0, post_pre
    # pre-post: potentiation that grows with the frequency
    assert np.all(np.diff(pre_post) > 0) and pre_post[-1] > 1.3 * pre_post[0] > 0, pre_post
