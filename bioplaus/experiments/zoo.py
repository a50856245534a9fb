"""The local-rule zoo: classic plasticity experiments, each a model file in ``models/``.

=====================  ============================================================
``stdp_window``        pairing protocol: measured Δw(Δt) on the analytic window
``triplet_frequency``  Sjöström et al. (2001) pairing-frequency protocol, triplet STDP
``oja``                Oja's rule finds the first principal component
``bcm``                BCM neurons become selective to one input pattern
``stdp_competition``   Song, Miller & Abbott (2000): competition, bimodal weights
``reward_stdp``        reward-modulated STDP credits the rewarded pairing
=====================  ============================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..plots import (plot_bcm_selectivity, plot_oja_convergence, plot_stdp_window, plot_triplet_frequency,
                     plot_weight_bars, plot_weight_distribution)
from ..spec.params import choice, integer, number, quantity, set_field
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, register_experiment

__all__ = ["StdpWindow", "TripletFrequency", "OjaPCA", "BCMSelectivity", "StdpCompetition", "RewardStdp",
           "correlated_gaussian"]


def _ms(q) -> float:
    return float(q) * 1e3


# --------------------------------------------------------------------------- STDP window

@register_experiment("stdp_window")
class StdpWindow(Experiment):
    """Pair-STDP window measured by a pairing protocol, one synapse per Δt, against the analytic curve."""

    description = "pair-STDP learning window: measured weight change against A+ exp(-Δt/τ+), -A- exp(Δt/τ-)"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        rule: str = "stdp"
        A_plus: Any = 0.01
        A_minus: Any = 0.0105
        tau_plus: Any = "20 ms"
        tau_minus: Any = "20 ms"
        dt_max: Any = "100 ms"
        n_points: int = 41
        pairings: int = 1
        period: Any = "1 s"

        def __post_init__(self):
            set_field(self, "rule", choice("params", "rule", self.rule, ("stdp", "nearest_stdp")))
            set_field(self, "dt_max", quantity("params", "dt_max", self.dt_max, _MS, positive=True))
            set_field(self, "n_points", integer("params", "n_points", self.n_points, minimum=3))
            set_field(self, "pairings", integer("params", "pairings", self.pairings, minimum=1))
            set_field(self, "period", quantity("params", "period", self.period, _MS, positive=True))
            if not float(self.period) > 2 * float(self.dt_max):
                raise ConfigError("params.period", self.period, f"more than 2 * dt_max = {2 * self.dt_max}")
            self.stdp_rule()  # validates the rule parameters now

        def stdp_rule(self):
            from ..spec.rules import NearestSTDP, PairSTDP

            cls = PairSTDP if self.rule == "stdp" else NearestSTDP
            try:
                return cls(A_plus=self.A_plus, A_minus=self.A_minus, tau_plus=self.tau_plus,
                           tau_minus=self.tau_minus, w_min=-1e9, w_max=1e9)
            except ConfigError as exc:
                raise ConfigError("params." + exc.key_path.split(".", 1)[1], exc.value, exc.expected) from None

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import NetworkSpec, Population, Projection, SpikeTrains

        dts = np.linspace(-_ms(p.dt_max), _ms(p.dt_max), p.n_points)
        dts = dts[np.abs(dts) > 1e-9]
        n = len(dts)
        T = _ms(p.period)
        base = _ms(p.dt_max) + 10.0
        pre_t = np.concatenate([base + k * T + np.zeros(n) for k in range(p.pairings)])
        post_t = np.concatenate([base + k * T + dts for k in range(p.pairings)])
        idx = np.tile(np.arange(n), p.pairings)
        rule = p.stdp_rule()
        net = NetworkSpec(
            populations=[Population("pre", SpikeTrains(indices=idx, times=pre_t * 1e-3 * _S), n),
                         Population("post", SpikeTrains(indices=idx, times=post_t * 1e-3 * _S), n)],
            projections=[Projection("syn", "pre", "post", rule=rule, connectivity="one_to_one", w_init=0.0)],
            duration=(p.pairings * T + 2 * base) * 1e-3 * _S, dt="0.1 ms", seed=ctx.seed, name="stdp_window")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        dw = r["syn.w"][np.argsort(r["syn.i"])] / p.pairings
        tp, tm = _ms(rule.tau_plus), _ms(rule.tau_minus)
        analytic = np.where(dts > 0, rule.A_plus * np.exp(-dts / tp), -rule.A_minus * np.exp(dts / tm))
        rel = np.abs(dw - analytic) / np.abs(analytic)
        rows = [dict(delta_t_ms=float(d), dw=float(w), analytic=float(a)) for d, w, a in zip(dts, dw, analytic)]
        fig = plot_stdp_window(dts, dw, lambda x: np.where(x > 0, rule.A_plus * np.exp(-x / tp),
                                                           -rule.A_minus * np.exp(x / tm)),
                               title=f"{type(rule).__name__} window ({ctx.backend})")
        summary = (f"Max relative error of the measured window against the analytic curve: **{rel.max():.2e}** "
                   f"over {n} values of Δt in ±{_ms(p.dt_max):.0f} ms.\n")
        return ExperimentResult(rows=rows, arrays={"delta_t_ms": dts, "dw": dw, "analytic": analytic},
                                summary=summary, figures={"stdp_window": fig},
                                info={"max_rel_error": float(rel.max()), **r.timings})


# --------------------------------------------------------------------------- triplet frequency

@register_experiment("triplet_frequency")
class TripletFrequency(Experiment):
    """Sjöström et al. (2001) pairing-frequency protocol with triplet STDP (Pfister & Gerstner 2006)."""

    description = "triplet STDP: weight change against pairing frequency for Δt = ±10 ms (Sjöström protocol)"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        preset: str = "visual_cortex"
        frequencies: Any = (0.1, 10.0, 20.0, 40.0, 50.0)
        pairings: int = 60
        delta_t: Any = "10 ms"
        w_init: float = 1.0

        def __post_init__(self):
            set_field(self, "preset", choice("params", "preset", self.preset,
                                             ("visual_cortex", "visual_cortex_nearest", "hippocampal")))
            fr = tuple(number("params", f"frequencies[{k}]", f, positive=True) for k, f in enumerate(self.frequencies))
            if not fr:
                raise ConfigError("params.frequencies", [], "at least one frequency in Hz")
            set_field(self, "frequencies", fr)
            set_field(self, "pairings", integer("params", "pairings", self.pairings, minimum=1))
            set_field(self, "delta_t", quantity("params", "delta_t", self.delta_t, _MS, positive=True))
            set_field(self, "w_init", number("params", "w_init", self.w_init, nonnegative=True))
            for f in fr:
                if 1e3 / f <= _ms(self.delta_t):
                    raise ConfigError("params.frequencies", f, "a frequency whose period exceeds delta_t")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import NetworkSpec, Population, Projection, SpikeTrains, TripletSTDP

        rule = getattr(TripletSTDP, p.preset)(w_min=-1e9, w_max=1e9)
        d = _ms(p.delta_t)
        conds = [(f, s) for s in (+1, -1) for f in p.frequencies]
        pre_i, pre_t, post_i, post_t = [], [], [], []
        start = 50.0
        for k, (f, sign) in enumerate(conds):
            T = 1e3 / f
            t = start + np.arange(p.pairings) * T
            pre_i.append(np.full(p.pairings, k)); post_i.append(np.full(p.pairings, k))
            pre_t.append(t if sign > 0 else t + d)
            post_t.append(t + d if sign > 0 else t)
        duration = start + max(p.pairings / f * 1e3 for f in p.frequencies) + 1000
        n = len(conds)
        net = NetworkSpec(
            populations=[Population("pre", SpikeTrains(indices=np.concatenate(pre_i),
                                                       times=np.concatenate(pre_t) * 1e-3 * _S), n),
                         Population("post", SpikeTrains(indices=np.concatenate(post_i),
                                                        times=np.concatenate(post_t) * 1e-3 * _S), n)],
            projections=[Projection("syn", "pre", "post", rule=rule, connectivity="one_to_one", w_init=p.w_init)],
            duration=duration * 1e-3 * _S, dt="0.1 ms", seed=ctx.seed, name="triplet_frequency")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        dw = r["syn.w"][np.argsort(r["syn.i"])] - p.w_init
        rows = [dict(frequency_hz=f, delta_t_ms=sign * d, dw=float(w), dw_percent=float(100 * w / p.w_init))
                for (f, sign), w in zip(conds, dw)]
        nf = len(p.frequencies)
        fig = plot_triplet_frequency(p.frequencies, dw[:nf], dw[nf:], w_init=p.w_init, delta_t_ms=d,
                                     title=f"Triplet STDP ({p.preset}), {p.pairings} pairings")
        table = md_table(["frequency (Hz)", f"Δw % (+{d:g} ms)", f"Δw % (−{d:g} ms)"],
                          [[f, float(100 * a / p.w_init), float(100 * b / p.w_init)]
                           for f, a, b in zip(p.frequencies, dw[:nf], dw[nf:])])
        return ExperimentResult(rows=rows, arrays={"frequencies": np.array(p.frequencies), "dw_plus": dw[:nf],
                                                   "dw_minus": dw[nf:]},
                                summary=table + "\n", figures={"triplet_frequency": fig}, info=r.timings)


# --------------------------------------------------------------------------- Oja

def correlated_gaussian(dims: int, n: int, rng: np.random.Generator, spread: float = 4.0):
    """Zero-mean Gaussian samples with a random covariance whose eigenvalues span ``spread``."""
    q, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
    eig = np.geomspace(1.0, 1.0 / spread, dims) if dims > 1 else np.ones(1)
    cov = (q * eig) @ q.T
    x = rng.multivariate_normal(np.zeros(dims), cov, size=n)
    return x, cov


@register_experiment("oja")
class OjaPCA(Experiment):
    """Oja's rule on correlated Gaussian input converges to the leading principal component."""

    description = "Oja's rule: a linear rate neuron learns the first principal component"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dims: int = 5
        n_samples: int = 3000
        eta: Any = "10 Hz"
        present: Any = "1 ms"
        spread: float = 4.0
        w_init_scale: float = 0.1

        def __post_init__(self):
            set_field(self, "dims", integer("params", "dims", self.dims, minimum=1))
            set_field(self, "n_samples", integer("params", "n_samples", self.n_samples, minimum=1))
            set_field(self, "eta", quantity("params", "eta", self.eta, _HZ, positive=True))
            set_field(self, "present", quantity("params", "present", self.present, _MS, positive=True))
            set_field(self, "spread", number("params", "spread", self.spread, low=1.0))
            set_field(self, "w_init_scale", number("params", "w_init_scale", self.w_init_scale, positive=True))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import Monitor, NetworkSpec, Oja, Population, Projection, RateUnit, SampleSequence

        rng = np.random.default_rng(ctx.seed)
        x, cov = correlated_gaussian(p.dims, p.n_samples, rng, p.spread)
        pc1 = np.linalg.eigh(cov)[1][:, -1]
        w0 = rng.uniform(-p.w_init_scale, p.w_init_scale, size=(p.dims, 1))
        n_rec = 100
        net = NetworkSpec(
            populations=[Population("x", SampleSequence(samples=x, present=p.present)),
                         Population("y", RateUnit(tau=None, transfer="linear"), 1)],
            projections=[Projection("w", "x", "y", rule=Oja(eta=p.eta), w_init=w0)],
            monitors=[Monitor("w", ("w",), dt=p.present * max(1, p.n_samples // n_rec))],
            dt=p.present, duration=p.n_samples * p.present, seed=ctx.seed, name="oja")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        w = r["w.w"][np.argsort(r["w.i"])]
        wt = r["w.state.w"]  # (n_syn, n_t)
        order = np.argsort(r["w.i"])
        wt = wt[order]
        cos_t = np.abs(pc1 @ wt) / np.maximum(np.linalg.norm(wt, axis=0), 1e-12)
        cos = float(abs(pc1 @ w) / np.linalg.norm(w))
        rows = [dict(t_s=float(t), cos_pc1=float(c), norm=float(nrm))
                for t, c, nrm in zip(r["w.state.t"], cos_t, np.linalg.norm(wt, axis=0))]
        fig = plot_oja_convergence(r["w.state.t"], cos_t, np.linalg.norm(wt, axis=0))
        summary = f"Final |cos(w, PC1)| = **{cos:.4f}**, ‖w‖ = **{np.linalg.norm(w):.4f}** (dims = {p.dims}).\n"
        return ExperimentResult(rows=rows, arrays={"w": w, "pc1": pc1, "cov": cov, "w_t": wt},
                                summary=summary, figures={"oja_convergence": fig},
                                info={"cos_pc1": cos, "norm": float(np.linalg.norm(w)), **r.timings})


# --------------------------------------------------------------------------- BCM

@register_experiment("bcm")
class BCMSelectivity(Experiment):
    r"""BCM neurons exposed to several input patterns become selective to one of them.

    ``n_patterns`` = :math:`K` binary patterns (30 % of the inputs active, chosen at random),
    scaled to unit length so that none is favoured by its size, are presented one per
    ``present``, in blocks that show every pattern once in random order (so each is seen
    equally often), to rectified linear units with the BCM rule and the
    sliding threshold :math:`\tau_\theta\dot\theta = y^2/y_0 - \theta` (Intrator & Cooper
    1992). Weights may change sign (``w_min`` < 0), as in Bienenstock, Cooper & Munro
    (1982) and Cooper et al. (2004, *Theory of Cortical Plasticity*, ch. 3). With linearly
    independent patterns shown equally often the stable fixed points are the selective
    ones: response :math:`K y_0` to one pattern and 0 to the others (then
    :math:`\theta = \langle y^2\rangle/y_0 = y^2/(K y_0)` equals the preferred response).
    In discrete time, with :math:`\theta` read just after its update at the preferred
    pattern, the fixed point is :math:`y^* = y_0 (\tau_\theta/h)(1 - (1 - h/\tau_\theta)^K)`,
    which tends to :math:`K y_0` for :math:`\tau_\theta \gg K h` (3.88 for the model file).
    :math:`\theta` must move faster than the weights (Dayan & Abbott 2001, ch. 8.2):
    ``tau_theta`` is 50 presentations, shorter than the ~150 over which the weights
    settle. Which pattern a neuron picks depends on its initial weights, so the preferred patterns spread over
    the neurons. Selectivity is reported as in Bienenstock et al. (1982):
    :math:`1 - \bar y / y_{max}` over the patterns (:math:`1 - 1/K` for a perfectly selective neuron).
    """

    description = "BCM rule with a sliding threshold: neurons become selective to one input pattern"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_inputs: int = 20
        n_patterns: int = 4
        n_neurons: int = 8
        n_presentations: int = 20000
        eta: Any = "6 Hz"
        tau_theta: Any = "50 ms"
        present: Any = "1 ms"
        y0: float = 1.0
        w_min: float = -5.0
        w_max: float = 5.0

        def __post_init__(self):
            for f, m in (("n_inputs", 1), ("n_patterns", 2), ("n_neurons", 1), ("n_presentations", 1)):
                set_field(self, f, integer("params", f, getattr(self, f), minimum=m))
            set_field(self, "eta", quantity("params", "eta", self.eta, _HZ, positive=True))
            set_field(self, "tau_theta", quantity("params", "tau_theta", self.tau_theta, _MS, positive=True))
            set_field(self, "present", quantity("params", "present", self.present, _MS, positive=True))
            set_field(self, "y0", number("params", "y0", self.y0, positive=True))
            set_field(self, "w_min", number("params", "w_min", self.w_min))
            set_field(self, "w_max", number("params", "w_max", self.w_max))
            if not self.w_max > self.w_min:
                raise ConfigError("params.w_max", self.w_max, f"a value above w_min = {self.w_min}")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import BCM, NetworkSpec, Population, Projection, RateUnit, SampleSequence

        rng = np.random.default_rng(ctx.seed)
        n_active = max(1, round(0.3 * p.n_inputs))
        patterns = np.zeros((p.n_patterns, p.n_inputs))
        for k in range(p.n_patterns):
            patterns[k, rng.choice(p.n_inputs, n_active, replace=False)] = 1.0 / np.sqrt(n_active)
        blocks = -(-p.n_presentations // p.n_patterns)
        order = np.concatenate([rng.permutation(p.n_patterns) for _ in range(blocks)])[:p.n_presentations]
        x = patterns[order]
        w0 = rng.uniform(0.0, 0.2, size=(p.n_inputs, p.n_neurons))
        rule = BCM(eta=p.eta, tau_theta=p.tau_theta, y0=p.y0, w_min=p.w_min, w_max=p.w_max)
        net = NetworkSpec(
            populations=[Population("x", SampleSequence(samples=x, present=p.present)),
                         Population("y", RateUnit(tau=None, transfer="relu"), p.n_neurons)],
            projections=[Projection("w", "x", "y", rule=rule, w_init=w0)],
            dt=p.present, duration=p.n_presentations * p.present, seed=ctx.seed, name="bcm")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        W = r.weight_matrix("w")
        resp = np.maximum(patterns @ W, 0)  # (patterns, neurons)
        target = p.n_patterns * p.y0
        steps = float(p.tau_theta / p.present)
        fixed_point = p.y0 * steps * (1.0 - (1.0 - 1.0 / steps) ** p.n_patterns)
        best = resp.max(axis=0)
        pref = np.argmax(resp, axis=0)
        others = np.sort(resp, axis=0)[-2]
        sel = 1.0 - resp.mean(axis=0) / np.maximum(best, 1e-12)
        rows = [dict(neuron=j, preferred_pattern=int(pref[j]), preferred_response=float(best[j]),
                     max_other_response=float(others[j]), selectivity=float(sel[j]),
                     **{f"response_p{k}": float(resp[k, j]) for k in range(p.n_patterns)})
                for j in range(p.n_neurons)]
        fig = plot_bcm_selectivity(resp)
        summary = (f"Fixed point of a selective BCM neuron: response K·y0 = {target:g} to its preferred "
                   f"pattern, 0 to the others ({fixed_point:.3g} in discrete time); selectivity 1 - mean/max = "
                   f"{1 - 1 / p.n_patterns:.2f}.\n\n"
                   + md_table(["neuron", "preferred pattern", "preferred response", "largest other response",
                               "selectivity"],
                              [[j, int(pref[j]), float(best[j]), float(others[j]), float(sel[j])]
                               for j in range(p.n_neurons)])
                   + f"\n{len(set(pref.tolist()))} of {p.n_patterns} patterns are preferred by some neuron.\n")
        return ExperimentResult(rows=rows, arrays={"W": W, "patterns": patterns, "responses": resp},
                                summary=summary, figures={"bcm_selectivity": fig},
                                info={"target_response": float(target), "fixed_point": float(fixed_point),
                                      "min_preferred_response": float(best.min()),
                                      "max_preferred_response": float(best.max()),
                                      "max_other_response": float(others.max()),
                                      "min_selectivity": float(sel.min()),
                                      "n_preferred_patterns": int(len(set(pref.tolist()))), **r.timings})


# --------------------------------------------------------------------------- Song & Abbott competition

@register_experiment("stdp_competition")
class StdpCompetition(Experiment):
    """Song, Miller & Abbott (2000): additive STDP makes inputs compete; correlated inputs win."""

    description = "Song/Abbott STDP competition: bimodal weights, correlated inputs win"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_inputs: int = 1000
        rate: Any = "15 Hz"
        correlated_fraction: float = 0.5
        correlation: float = 0.2
        duration: Any = "20 s"
        A_plus: float = 0.01
        g_max: Any = "0.15 nS"  # 0.015 leak conductances (Song et al. 2000)

        def __post_init__(self):
            set_field(self, "n_inputs", integer("params", "n_inputs", self.n_inputs, minimum=2))
            set_field(self, "rate", quantity("params", "rate", self.rate, _HZ, positive=True))
            set_field(self, "correlated_fraction", number("params", "correlated_fraction", self.correlated_fraction,
                                                          low=0.0, high=1.0))
            set_field(self, "correlation", number("params", "correlation", self.correlation, low=0.0, high=1.0))
            set_field(self, "duration", quantity("params", "duration", self.duration, _MS, positive=True))
            set_field(self, "A_plus", number("params", "A_plus", self.A_plus, positive=True))
            set_field(self, "g_max", quantity("params", "g_max", self.g_max, _NS, positive=True))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import LIF, Monitor, NetworkSpec, PairSTDP, Population, Projection, SpikeTrains

        rng = np.random.default_rng(ctx.seed)
        dt = 1e-4
        T = float(p.duration)
        rate = float(p.rate)
        n_c = int(round(p.n_inputs * p.correlated_fraction))
        # correlated group: each input copies a shared Poisson "mother" train with probability sqrt(c)
        steps = int(T / dt)
        idx_l, t_l = [], []
        if n_c:
            c = np.sqrt(p.correlation)
            mother = np.nonzero(rng.random(steps) < rate * dt)[0]
            for k in range(n_c):
                own = np.nonzero(rng.random(steps) < rate * (1 - c) * dt)[0]
                keep = mother[rng.random(mother.size) < c]
                s = np.union1d(own, keep)
                idx_l.append(np.full(s.size, k)); t_l.append(s)
        n_u = p.n_inputs - n_c
        counts = rng.poisson(rate * T, size=n_u)
        for k in range(n_u):
            s = np.unique(rng.integers(0, steps, size=counts[k]))
            idx_l.append(np.full(s.size, n_c + k)); t_l.append(s)
        idx = np.concatenate(idx_l)
        tt = np.concatenate(t_l) * dt
        rule = PairSTDP(A_plus=p.A_plus, A_minus=p.A_plus * 1.05, tau_plus="20 ms", tau_minus="20 ms")
        neuron = LIF(C_m="200 pF", g_L="10 nS", E_L="-70 mV", V_th="-54 mV", V_reset="-60 mV", t_ref="0 ms",
                     synapse="conductance", tau_e="5 ms", tau_i="5 ms", E_e="0 mV", E_i="-70 mV")
        net = NetworkSpec(
            populations=[Population("inputs", SpikeTrains(indices=idx, times=tt * _S, n=p.n_inputs), p.n_inputs),
                         Population("neuron", neuron, 1)],
            projections=[Projection("syn", "inputs", "neuron", rule=rule, w_init=(0.0, 1.0), weight_scale=p.g_max)],
            monitors=[Monitor("neuron", ("spikes",))],
            duration=p.duration, dt="0.1 ms", seed=ctx.seed, name="stdp_competition")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        w = r["syn.w"][np.argsort(r["syn.i"])]
        rate_out = len(r["neuron.spikes.t"]) / T
        bimodal = float(np.mean((w < 0.1) | (w > 0.9)))
        wc, wu = (float(w[:n_c].mean()) if n_c else float("nan")), (float(w[n_c:].mean()) if n_u else float("nan"))
        rows = [dict(input=k, correlated=int(k < n_c), w=float(w[k])) for k in range(p.n_inputs)]
        corr = np.arange(p.n_inputs) < n_c
        fig = plot_weight_distribution(w, {"correlated inputs": corr, "uncorrelated inputs": ~corr},
                                       w_range=(0.0, 1.0), xlabel="w / w_max (dimensionless)",
                                       title="STDP competition: final weight distribution")
        summary = md_table(["quantity", "value"], [
            ["fraction of weights < 0.1 or > 0.9 (bimodality)", bimodal],
            ["mean weight, correlated inputs", wc], ["mean weight, uncorrelated inputs", wu],
            ["output rate (Hz)", rate_out]]) + "\n"
        return ExperimentResult(rows=rows, arrays={"w": w, "correlated": np.arange(p.n_inputs) < n_c},
                                summary=summary, figures={"weight_histogram": fig},
                                info={"bimodality": bimodal, "w_correlated": wc, "w_uncorrelated": wu,
                                      "output_rate_hz": rate_out, **r.timings})


# --------------------------------------------------------------------------- reward-modulated STDP

@register_experiment("reward_stdp")
class RewardStdp(Experiment):
    """Reward after the pairing of one chosen synapse: eligibility traces credit that synapse only."""

    description = "reward-modulated STDP: only the synapse whose pairing precedes reward grows"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_inputs: int = 20
        rewarded: int = 0
        pairings: int = 10
        period: Any = "1 s"
        reward_delay: Any = "300 ms"
        background_rate: Any = "2 Hz"
        reward: bool = True

        def __post_init__(self):
            set_field(self, "n_inputs", integer("params", "n_inputs", self.n_inputs, minimum=2))
            set_field(self, "rewarded", integer("params", "rewarded", self.rewarded, minimum=0))
            if self.rewarded >= self.n_inputs:
                raise ConfigError("params.rewarded", self.rewarded, f"an input index < n_inputs = {self.n_inputs}")
            set_field(self, "pairings", integer("params", "pairings", self.pairings, minimum=1))
            set_field(self, "period", quantity("params", "period", self.period, _MS, positive=True))
            set_field(self, "reward_delay", quantity("params", "reward_delay", self.reward_delay, _MS, positive=True))
            set_field(self, "background_rate", quantity("params", "background_rate", self.background_rate, _HZ,
                                                        nonnegative=True))
            if float(self.reward_delay) >= float(self.period):
                raise ConfigError("params.reward_delay", self.reward_delay, f"less than period = {self.period}")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..simulate import simulate
        from ..spec import LIF, Modulator, Monitor, NetworkSpec, Population, Projection, RewardSTDP, SpikeTrains

        rng = np.random.default_rng(ctx.seed)
        T = float(p.period)
        pair_t = 0.5 + np.arange(p.pairings) * T
        post_t = pair_t + 0.010
        # the rewarded input fires 10 ms before each post spike; the others fire at random times
        pre_i, pre_t = [np.full(p.pairings, p.rewarded)], [pair_t]
        dur = pair_t[-1] + T
        for k in range(p.n_inputs):
            n = rng.poisson(float(p.background_rate) * dur)
            t = np.sort(rng.uniform(0, dur, n))
            t = t[np.min(np.abs(t[:, None] - post_t[None, :]), axis=1) > 0.15] if n else t  # no chance pairings
            pre_i.append(np.full(t.size, k)); pre_t.append(t)
        idx = np.concatenate(pre_i)
        tt = np.round(np.concatenate(pre_t), 4)
        uniq = np.unique(np.stack([idx, np.round(tt / 1e-4)]).T, axis=0, return_index=True)[1]
        idx, tt = idx[uniq], tt[uniq]
        rewards = pair_t + float(p.reward_delay) if p.reward else np.array([])
        # the postsynaptic LIF neuron is forced to fire by a strong "teacher" input; plastic inputs are too
        # weak to make it fire on their own
        net = NetworkSpec(
            populations=[Population("pre", SpikeTrains(indices=idx, times=tt * _S, n=p.n_inputs), p.n_inputs),
                         Population("teacher", SpikeTrains(indices=np.zeros(p.pairings, int),
                                                           times=(post_t - 0.001) * _S, n=1), 1),
                         Population("post", LIF(t_ref="2 ms"), 1)],
            projections=[Projection("drive", "teacher", "post", w_init=1.0, weight_scale="100 nA"),
                         Projection("syn", "pre", "post", rule=RewardSTDP(modulator="dopamine", eta="5 Hz",
                                                                           tau_c="1 s", w_min=0, w_max=1),
                                    w_init=0.5, weight_scale="1 pA")],
            modulators=[Modulator("dopamine", times=rewards * _S, tau_d="200 ms")],
            monitors=[Monitor("post", ("spikes",))],
            duration=dur * _S, dt="0.1 ms", seed=ctx.seed, name="reward_stdp")
        r = simulate(net, ctx.backend, threads=ctx.threads)
        w = r["syn.w"][np.argsort(r["syn.i"])]
        others = np.delete(w, p.rewarded)
        rows = [dict(input=k, rewarded=int(k == p.rewarded), w=float(w[k])) for k in range(p.n_inputs)]
        fig = plot_weight_bars(w, highlight=[p.rewarded], initial=0.5, highlight_label=f"rewarded input {p.rewarded}",
                               ylabel="w (fraction of w_max)", title="Reward-modulated STDP: final weights")
        summary = md_table(["quantity", "value"], [["rewarded synapse w", float(w[p.rewarded])],
                                                    ["other synapses, mean w", float(others.mean())],
                                                    ["other synapses, max |Δw|", float(np.abs(others - 0.5).max())]])
        return ExperimentResult(rows=rows, arrays={"w": w}, summary=summary + "\n", figures={"weights": fig},
                                info={"w_rewarded": float(w[p.rewarded]), "w_others_mean": float(others.mean()),
                                      **r.timings})


from brian2 import Hz as _HZ, ms as _MS, nS as _NS, second as _S  # noqa: E402  (units for validation)
