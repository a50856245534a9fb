"""The local-rule zoo: classic plasticity experiments, each a model file in ``models/``.

=====================  ============================================================
``stdp_window``        pairing protocol: measured Δw(Δt) on the analytic window
``triplet_frequency``  Sjöström et al. (2001) pairing-frequency protocol, triplet STDP
``oja``                Oja's rule finds the first principal component
``bcm``                BCM neurons become selective to one input pattern
``stdp_competition``   Song, Miller & Abbott (2000): competition, bimodal weights
``reward_stdp``        reward-modulated STDP credits the rewarded pairing
``firing_patterns``    Izhikevich (2003) and Naud et al. (2008) presets: voltage traces
=====================  ============================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Hz as _HZ, ms as _MS, nS as _NS, second as _S, volt as _VOLT

from ..errors import ConfigError
from ..plots import (plot_bcm_selectivity, plot_oja_convergence, plot_stdp_window, plot_triplet_frequency,
                     plot_weight_bars, plot_weight_distribution)
from ..spec.params import choice, number, param, quantity, set_field
from ..spec.rules import BCM, Oja, PairSTDP
from .base import (Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, param_of,
                   register_experiment)

__all__ = ["StdpWindow", "TripletFrequency", "OjaPCA", "BCMSelectivity", "StdpCompetition", "RewardStdp",
           "FiringPatterns", "correlated_gaussian", "step_responses", "firing_pattern_protocols", "SJOSTROM_2001",
           "sjostrom_nmse"]


def _ms(q) -> float:
    return float(q) * 1e3


# --------------------------------------------------------------------------- STDP window

@register_experiment("stdp_window")
class StdpWindow(Experiment):
    """Pair-STDP window measured by a pairing protocol, one synapse per Δt, against the analytic curve."""

    description = "pair-STDP learning window: measured weight change against A+ exp(-Δt/τ+), -A- exp(Δt/τ-)"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        rule: str = param("stdp", choices=("stdp", "nearest_stdp"), doc="all-to-all pair STDP or nearest-spike STDP")
        A_plus: Any = param_of(PairSTDP, "A_plus")         # declared by the rule (see stdp_rule)
        A_minus: Any = param_of(PairSTDP, "A_minus")
        tau_plus: Any = param_of(PairSTDP, "tau_plus")
        tau_minus: Any = param_of(PairSTDP, "tau_minus")
        dt_max: Any = param("100 ms", unit=_MS, positive=True, doc="largest |Δt| of the pairings")
        n_points: int = param(41, integer=True, minimum=3, doc="number of Δt values in [-dt_max, dt_max]")
        pairings: int = param(1, integer=True, minimum=1, doc="pairings per Δt")
        period: Any = param("1 s", unit=_MS, positive=True, doc="time between successive pairings")

        def __post_init__(self):
            super().__post_init__()
            if not float(self.period) > 2 * float(self.dt_max):
                raise ConfigError("params.period", self.period, f"more than 2 * dt_max = {2 * self.dt_max}")

        def stdp_rule(self):
            """The measured rule: :class:`PairSTDP` or :class:`NearestSTDP`, unbounded weights."""
            from ..spec.rules import NearestSTDP

            cls = PairSTDP if self.rule == "stdp" else NearestSTDP
            return cls(A_plus=self.A_plus, A_minus=self.A_minus, tau_plus=self.tau_plus,
                       tau_minus=self.tau_minus, w_min=-1e9, w_max=1e9)

    @staticmethod
    def _protocol(p: Params, seed: int):
        """(network, Δt values in ms, rule) of the pairing protocol."""
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
            duration=(p.pairings * T + 2 * base) * 1e-3 * _S, dt="0.1 ms", seed=seed, name="stdp_window")
        return net, dts, rule

    def network(self, p: Params, ctx: RunContext):
        return self._protocol(p, ctx.seed)[0]

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        net, dts, rule = self._protocol(p, ctx.seed)
        n = len(dts)
        r = ctx.simulate(net)
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

#: Sjöström, Turrigiano & Nelson (2001), visual cortex L5: relative weight change after 60
#: pairings at each frequency, Δt = +10 ms (pre → post) and −10 ms, with the s.e.m.; the data
#: set Pfister & Gerstner (2006) fit (their Fig. 5)
SJOSTROM_2001 = {
    "frequencies_hz": (0.1, 10.0, 20.0, 40.0, 50.0),
    "dw_plus": (-0.04, 0.14, 0.29, 0.53, 0.56),
    "sem_plus": (0.05, 0.10, 0.14, 0.11, 0.26),
    "dw_minus": (-0.29, -0.41, -0.34, 0.56, 0.75),
    "sem_minus": (0.08, 0.11, 0.10, 0.32, 0.19),
}


def sjostrom_nmse(frequencies, dw_plus, dw_minus) -> float:
    r"""Normalised mean-square error of a model against :data:`SJOSTROM_2001` (Pfister & Gerstner 2006).

    .. math:: E = \frac{1}{p} \sum_{k=1}^{p} \left(\frac{\Delta w_k^{exp} - \Delta w_k^{model}}{\sigma_k}\right)^2

    over the :math:`p = 10` data points (5 frequencies, Δt = ±10 ms), :math:`\sigma_k`
    the s.e.m. ``dw_plus``/``dw_minus`` are relative changes at ``frequencies`` (Hz),
    which must include the data's five frequencies.
    """
    f = [float(x) for x in frequencies]
    idx = []
    for fd in SJOSTROM_2001["frequencies_hz"]:
        hits = [k for k, x in enumerate(f) if abs(x - fd) < 1e-9]
        if not hits:
            raise ConfigError("params.frequencies", f, f"a list that includes the data's {fd:g} Hz")
        idx.append(hits[0])
    model = np.concatenate([np.asarray(dw_plus, float)[idx], np.asarray(dw_minus, float)[idx]])
    data = np.array(SJOSTROM_2001["dw_plus"] + SJOSTROM_2001["dw_minus"])
    sem = np.array(SJOSTROM_2001["sem_plus"] + SJOSTROM_2001["sem_minus"])
    return float(np.mean(((data - model) / sem) ** 2))


_TRIPLET_PRESETS = ("visual_cortex", "visual_cortex_nearest", "hippocampal")


@register_experiment("triplet_frequency")
class TripletFrequency(Experiment):
    """Sjöström et al. (2001) pairing-frequency protocol with triplet STDP (Pfister & Gerstner 2006).

    ``preset``: one name or a list of :class:`~bioplaus.spec.TripletSTDP` presets, all
    simulated in one network. When ``frequencies`` include the data's (0.1, 10, 20, 40,
    50 Hz) and ``w_init`` is 1, the summary prints each preset's normalised mean-square
    error against the Sjöström data (:func:`sjostrom_nmse`), and the figure overlays them.
    """

    description = "triplet STDP: weight change against pairing frequency for Δt = ±10 ms (Sjöström protocol)"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        preset: Any = "visual_cortex"
        frequencies: Any = (0.1, 10.0, 20.0, 40.0, 50.0)
        pairings: int = param(60, integer=True, minimum=1, doc="pairings at each frequency")
        delta_t: Any = param("10 ms", unit=_MS, positive=True, doc="pre/post spike interval of a pairing")
        w_init: float = param(1.0, nonnegative=True, doc="initial weight")

        def __post_init__(self):
            super().__post_init__()
            presets = self.preset if isinstance(self.preset, (list, tuple)) else (self.preset,)
            if not presets:
                raise ConfigError("params.preset", [], "at least one of " + ", ".join(_TRIPLET_PRESETS))
            chosen = tuple(choice("params", f"preset[{k}]" if len(presets) > 1 else "preset", x, _TRIPLET_PRESETS)
                           for k, x in enumerate(presets))
            set_field(self, "preset", chosen[0] if not isinstance(self.preset, (list, tuple)) else chosen)
            fr = tuple(number("params", f"frequencies[{k}]", f, positive=True) for k, f in enumerate(self.frequencies))
            if not fr:
                raise ConfigError("params.frequencies", [], "at least one frequency in Hz")
            set_field(self, "frequencies", fr)
            for f in fr:
                if 1e3 / f <= _ms(self.delta_t):
                    raise ConfigError("params.frequencies", f, "a frequency whose period exceeds delta_t")

        @property
        def presets(self) -> tuple[str, ...]:
            return self.preset if isinstance(self.preset, tuple) else (self.preset,)

    @staticmethod
    def _protocol(p: Params, seed: int):
        """(network, Δt in ms, the (frequency, sign) conditions) of the pairing protocol."""
        from ..spec import NetworkSpec, Population, Projection, SpikeTrains, TripletSTDP

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
        pops, projs = [], []
        for j, preset in enumerate(p.presets):
            sfx = "" if len(p.presets) == 1 else f"_{j}"
            rule = getattr(TripletSTDP, preset)(w_min=-1e9, w_max=1e9)
            pops += [Population(f"pre{sfx}", SpikeTrains(indices=np.concatenate(pre_i),
                                                           times=np.concatenate(pre_t) * 1e-3 * _S), n),
                     Population(f"post{sfx}", SpikeTrains(indices=np.concatenate(post_i),
                                                            times=np.concatenate(post_t) * 1e-3 * _S), n)]
            projs.append(Projection(f"syn{sfx}", f"pre{sfx}", f"post{sfx}", rule=rule, connectivity="one_to_one",
                                    w_init=p.w_init))
        net = NetworkSpec(populations=pops, projections=projs, duration=duration * 1e-3 * _S, dt="0.1 ms",
                          seed=seed, name="triplet_frequency")
        return net, d, conds

    def network(self, p: Params, ctx: RunContext):
        return self._protocol(p, ctx.seed)[0]

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        net, d, conds = self._protocol(p, ctx.seed)
        r = ctx.simulate(net)
        nf = len(p.frequencies)
        rows, arrays, curves, nmse = [], {"frequencies": np.array(p.frequencies)}, {}, {}
        table_rows = []
        has_data = all(any(abs(f - fd) < 1e-9 for f in p.frequencies) for fd in SJOSTROM_2001["frequencies_hz"])
        for j, preset in enumerate(p.presets):
            sfx = "" if len(p.presets) == 1 else f"_{j}"
            dw = r[f"syn{sfx}.w"][np.argsort(r[f"syn{sfx}.i"])] - p.w_init
            rel = dw / p.w_init if p.w_init else dw
            rows += [dict(preset=preset, frequency_hz=f, delta_t_ms=sign * d, dw=float(w),
                          dw_percent=float(100 * w / p.w_init) if p.w_init else float("nan"))
                     for (f, sign), w in zip(conds, dw)]
            curves[preset] = (rel[:nf], rel[nf:])
            arrays[f"dw_plus_{preset}"], arrays[f"dw_minus_{preset}"] = dw[:nf], dw[nf:]
            if j == 0:
                arrays["dw_plus"], arrays["dw_minus"] = dw[:nf], dw[nf:]
            if has_data and p.w_init == 1.0 and p.pairings == 60 and abs(d - 10.0) < 1e-9:
                nmse[preset] = sjostrom_nmse(p.frequencies, rel[:nf], rel[nf:])
            table_rows += [[preset, f, float(100 * a), float(100 * b)]
                           for f, a, b in zip(p.frequencies, *curves[preset])]
        from ..plots import plot_triplet_frequency, plot_triplet_vs_data

        if nmse:
            fig = plot_triplet_vs_data(p.frequencies, curves, SJOSTROM_2001, nmse=nmse, delta_t_ms=d,
                                       title=f"Triplet STDP vs Sjöström et al. (2001), {p.pairings} pairings")
        else:
            fig = plot_triplet_frequency(p.frequencies, arrays["dw_plus"], arrays["dw_minus"], w_init=p.w_init,
                                         delta_t_ms=d, title=f"Triplet STDP ({p.presets[0]}), {p.pairings} pairings")
        summary = md_table(["preset", "frequency (Hz)", f"Δw % (+{d:g} ms)", f"Δw % (−{d:g} ms)"],
                           table_rows) + "\n"
        if nmse:
            summary += "\n" + md_table(["preset", "normalised mean-square error E vs Sjöström et al. (2001)"],
                                        [[k, v] for k, v in nmse.items()]) + "\n"
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures={"triplet_frequency": fig},
                                info={"nmse": nmse, **r.timings})


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
        dims: int = param(5, integer=True, minimum=1, doc="input dimensions")
        n_samples: int = param(3000, integer=True, minimum=1, doc="input samples presented")
        eta: Any = param_of(Oja, "eta", "10 Hz", doc="learning rate of Oja's rule")
        present: Any = param("1 ms", unit=_MS, positive=True, doc="presentation time of one sample")
        spread: float = param(4.0, low=1.0, doc="ratio of the largest to the smallest input variance")
        w_init_scale: float = param(0.1, positive=True, doc="scale of the random initial weights")

        @property
        def rule(self) -> Oja:
            """The learning rule, built from ``eta``."""
            return Oja(eta=self.eta)

    @staticmethod
    def _protocol(p: Params, seed: int):
        """(network, first principal component, input covariance)."""
        from ..spec import Monitor, NetworkSpec, Population, Projection, RateUnit, SampleSequence

        rng = np.random.default_rng(seed)
        x, cov = correlated_gaussian(p.dims, p.n_samples, rng, p.spread)
        pc1 = np.linalg.eigh(cov)[1][:, -1]
        w0 = rng.uniform(-p.w_init_scale, p.w_init_scale, size=(p.dims, 1))
        n_rec = 100
        net = NetworkSpec(
            populations=[Population("x", SampleSequence(samples=x, present=p.present)),
                         Population("y", RateUnit(tau=None, transfer="linear"), 1)],
            projections=[Projection("w", "x", "y", rule=p.rule, w_init=w0)],
            monitors=[Monitor("w", ("w",), dt=p.present * max(1, p.n_samples // n_rec))],
            dt=p.present, duration=p.n_samples * p.present, seed=seed, name="oja")
        return net, pc1, cov

    def network(self, p: Params, ctx: RunContext):
        return self._protocol(p, ctx.seed)[0]

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        net, pc1, cov = self._protocol(p, ctx.seed)
        r = ctx.simulate(net)
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
    pattern and :math:`a = e^{-h/\tau_\theta}` its decay per step, the fixed point is
    :math:`y^* = y_0 (1 - a^K)/(1 - a)`, which tends to :math:`K y_0` for
    :math:`\tau_\theta \gg K h` (3.88 for the model file).
    :math:`\theta` must move faster than the weights (Dayan & Abbott 2001, ch. 8.2):
    ``tau_theta`` is 50 presentations, shorter than the ~150 over which the weights
    settle. Which pattern a neuron picks depends on its initial weights, so the preferred patterns spread over
    the neurons. Selectivity is reported as in Bienenstock et al. (1982):
    :math:`1 - \bar y / y_{max}` over the patterns (:math:`1 - 1/K` for a perfectly selective neuron).
    """

    description = "BCM rule with a sliding threshold: neurons become selective to one input pattern"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_inputs: int = param(20, integer=True, minimum=1, doc="input units")
        n_patterns: int = param(4, integer=True, minimum=2, doc="input patterns presented at random")
        n_neurons: int = param(8, integer=True, minimum=1, doc="BCM neurons")
        n_presentations: int = param(20000, integer=True, minimum=1, doc="pattern presentations")
        eta: Any = param_of(BCM, "eta", "6 Hz", doc="learning rate of the BCM rule")
        tau_theta: Any = param_of(BCM, "tau_theta", "50 ms", doc="time constant of the sliding threshold")
        present: Any = param("1 ms", unit=_MS, positive=True, doc="presentation time of one pattern")
        y0: float = param_of(BCM, "y0", 1.0, doc="target response of the sliding threshold")
        w_min: float = param_of(BCM, "w_min", -5.0, doc="lower weight bound")
        w_max: float = param_of(BCM, "w_max", 5.0, doc="upper weight bound")

        def __post_init__(self):
            super().__post_init__()
            if not self.w_max > self.w_min:
                raise ConfigError("params.w_max", self.w_max, f"a value above w_min = {self.w_min}")

        @property
        def rule(self) -> BCM:
            """The learning rule, built from ``eta``, ``tau_theta``, ``y0``, ``w_min`` and ``w_max``."""
            return BCM(eta=self.eta, tau_theta=self.tau_theta, y0=self.y0, w_min=self.w_min, w_max=self.w_max)

    @staticmethod
    def _protocol(p: Params, seed: int):
        """(network, input patterns)."""
        from ..spec import NetworkSpec, Population, Projection, RateUnit, SampleSequence

        rng = np.random.default_rng(seed)
        n_active = max(1, round(0.3 * p.n_inputs))
        patterns = np.zeros((p.n_patterns, p.n_inputs))
        for k in range(p.n_patterns):
            patterns[k, rng.choice(p.n_inputs, n_active, replace=False)] = 1.0 / np.sqrt(n_active)
        blocks = -(-p.n_presentations // p.n_patterns)
        order = np.concatenate([rng.permutation(p.n_patterns) for _ in range(blocks)])[:p.n_presentations]
        x = patterns[order]
        w0 = rng.uniform(0.0, 0.2, size=(p.n_inputs, p.n_neurons))
        rule = p.rule
        net = NetworkSpec(
            populations=[Population("x", SampleSequence(samples=x, present=p.present)),
                         Population("y", RateUnit(tau=None, transfer="relu"), p.n_neurons)],
            projections=[Projection("w", "x", "y", rule=rule, w_init=w0)],
            dt=p.present, duration=p.n_presentations * p.present, seed=seed, name="bcm")
        return net, patterns

    def network(self, p: Params, ctx: RunContext):
        return self._protocol(p, ctx.seed)[0]

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        net, patterns = self._protocol(p, ctx.seed)
        r = ctx.simulate(net)
        W = r.weight_matrix("w")
        resp = np.maximum(patterns @ W, 0)  # (patterns, neurons)
        target = p.n_patterns * p.y0
        decay = float(np.exp(-p.present / p.tau_theta))  # theta's step (exponential Euler, as the rate units)
        fixed_point = p.y0 * (1.0 - decay ** p.n_patterns) / (1.0 - decay)
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
    r"""Song, Miller & Abbott (2000): additive STDP makes inputs compete.

    One conductance-based LIF neuron per input rate (:math:`\tau_m` = 20 ms, rest -70 mV,
    threshold -54 mV, reset -60 mV, :math:`E_{ex}` = 0 mV, :math:`E_{in}` = -70 mV,
    :math:`\tau_{ex} = \tau_{in}` = 5 ms) receives ``n_exc`` plastic excitatory Poisson
    inputs at ``rates[k]`` and ``n_inh`` fixed inhibitory Poisson inputs at ``inh_rate``
    (peak conductance ``g_inh`` = 0.05 g_L). Excitatory peak conductances start at
    ``w_init`` (default 1: :math:`g_{max}`, so that the neuron fires at every input rate;
    from a uniform start in [0, 1] the 10 Hz neuron is silent and nothing is learnt), and :math:`g_a \in
    [0, g_{max}]`, :math:`g_{max}` = 0.015 g_L, change by additive all-to-all pair STDP,
    :math:`\Delta g = g_{max} A_+ e^{-\Delta t/\tau_+}` for post after pre and
    :math:`-g_{max} A_- e^{\Delta t/\tau_-}` otherwise, :math:`A_+` = 0.005,
    :math:`A_-/A_+` = 1.05, :math:`\tau_\pm` = 20 ms (:meth:`PairSTDP.song_abbott`).
    All the neurons run in one network (one compiled run on ``cpp``). The paper's results:
    the final weights are bimodal (near 0 or near :math:`g_{max}`), and the output rate
    is roughly independent of the input rate. ``correlated_fraction > 0`` makes that
    fraction of the excitatory inputs share a Poisson "mother" train (correlation
    ``correlation``): the correlated group wins the competition.
    """

    description = "Song, Miller & Abbott (2000): STDP competition, bimodal weights, rate normalisation"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_exc: int = param(1000, integer=True, minimum=2, doc="excitatory Poisson inputs")
        n_inh: int = param(200, integer=True, minimum=0, doc="inhibitory Poisson inputs")
        rates: Any = (10.0, 40.0)
        inh_rate: Any = param("10 Hz", unit=_HZ, nonnegative=True, doc="rate of the inhibitory inputs")
        duration: Any = param("1000 s", unit=_MS, positive=True, doc="simulated time")
        A_plus: float = param(0.005, positive=True, doc="potentiation per pairing, as a fraction of g_max")
        A_ratio: float = param(1.05, positive=True, doc="A_minus / A_plus")
        g_max: Any = param("0.15 nS", unit=_NS, positive=True)  # 0.015 g_L with g_L = 10 nS (Song et al. 2000)
        g_inh: Any = param("0.5 nS", unit=_NS, nonnegative=True)   # 0.05 g_L
        w_init: Any = 1.0
        correlated_fraction: float = param(0.0, low=0.0, high=1.0, doc="fraction of inputs that are correlated")
        correlation: float = param(0.2, low=0.0, high=1.0, doc="correlation within the correlated group")
        dt: Any = param("0.1 ms", unit=_MS, positive=True, doc="integration time step")
        snapshots: int = param(20, integer=True, minimum=2, doc="weight snapshots recorded")

        def __post_init__(self):
            super().__post_init__()
            rates = self.rates if isinstance(self.rates, (list, tuple)) else (self.rates,)
            if not rates:
                raise ConfigError("params.rates", [], "at least one input rate in Hz")
            set_field(self, "rates", tuple(number("params", f"rates[{k}]", r, positive=True)
                                           for k, r in enumerate(rates)))
            w = self.w_init
            if isinstance(w, (list, tuple)):
                if len(w) != 2:
                    raise ConfigError("params.w_init", list(w), "a number or [low, high] in [0, 1]")
                w = (number("params", "w_init[0]", w[0], low=0.0, high=1.0),
                     number("params", "w_init[1]", w[1], low=0.0, high=1.0))
            else:
                w = number("params", "w_init", w, low=0.0, high=1.0)
            set_field(self, "w_init", w)

    @staticmethod
    def _correlated_inputs(p, rate: float, rng) -> "SpikeTrains":
        from ..spec import SpikeTrains

        dt, T = float(p.dt), float(p.duration)
        steps = int(round(T / dt))
        n_c = int(round(p.n_exc * p.correlated_fraction))
        idx_l, t_l = [], []
        c = np.sqrt(p.correlation)
        mother = np.nonzero(rng.random(steps) < rate * dt)[0]
        for k in range(n_c):  # each copies the shared "mother" train with probability sqrt(c)
            own = np.nonzero(rng.random(steps) < rate * (1 - c) * dt)[0]
            keep = mother[rng.random(mother.size) < c]
            st = np.union1d(own, keep)
            idx_l.append(np.full(st.size, k)); t_l.append(st)
        counts = rng.poisson(rate * T, size=p.n_exc - n_c)
        for k, cnt in enumerate(counts):
            st = np.unique(rng.integers(0, steps, size=cnt))
            idx_l.append(np.full(st.size, n_c + k)); t_l.append(st)
        return SpikeTrains(indices=np.concatenate(idx_l), times=np.concatenate(t_l) * dt * _S, n=p.n_exc)

    def network(self, p: Params, ctx: RunContext):
        """The :class:`~bioplaus.spec.NetworkSpec` of the protocol (one neuron per input rate)."""
        from ..spec import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection

        seed = ctx.seed
        rng = np.random.default_rng(seed)
        rule = PairSTDP.song_abbott().replace(A_plus=p.A_plus, A_minus=p.A_plus * p.A_ratio)
        neuron = LIF(C_m="200 pF", g_L="10 nS", E_L="-70 mV", V_th="-54 mV", V_reset="-60 mV", t_ref="0 ms",
                     synapse="conductance", tau_e="5 ms", tau_i="5 ms", E_e="0 mV", E_i="-70 mV")
        pops, projs, mons = [], [], []
        every = p.duration / p.snapshots
        for k, rate in enumerate(p.rates):
            exc = (self._correlated_inputs(p, rate, rng) if p.correlated_fraction > 0
                   else PoissonInput(rates=rate * _HZ))
            pops += [Population(f"exc{k}", exc, p.n_exc), Population(f"neuron{k}", neuron, 1)]
            projs.append(Projection(f"syn{k}", f"exc{k}", f"neuron{k}", rule=rule, w_init=p.w_init,
                                    weight_scale=p.g_max))
            if p.n_inh and float(p.g_inh) > 0:
                pops.append(Population(f"inh{k}", PoissonInput(rates=p.inh_rate), p.n_inh))
                projs.append(Projection(f"inh_syn{k}", f"inh{k}", f"neuron{k}", w_init=1.0, weight_scale=p.g_inh,
                                        receptor="inh"))
            mons += [Monitor(f"neuron{k}", ("spikes",)), Monitor(f"syn{k}", ("w",), dt=every)]
        return NetworkSpec(populations=pops, projections=projs, monitors=mons, duration=p.duration, dt=p.dt,
                           seed=seed, name="stdp_competition")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        r = ctx.simulate(self.network(p, ctx))
        T = float(p.duration)
        n_c = int(round(p.n_exc * p.correlated_fraction))
        rows, arrays, table, info = [], {}, [], {}
        fig_w = {}
        for k, rate in enumerate(p.rates):
            order = np.argsort(r[f"syn{k}.i"])
            w = r[f"syn{k}.w"][order]
            wt = r[f"syn{k}.state.w"][order]            # (n_exc, snapshots)
            ts = r[f"syn{k}.state.t"]
            spikes = r[f"neuron{k}.spikes.t"]
            bins = np.linspace(0, T, p.snapshots + 1)
            out_rate = np.histogram(spikes, bins)[0] / np.diff(bins)
            near = np.mean((wt < 0.1) | (wt > 0.9), axis=0)
            for j, t in enumerate(ts):
                rows.append(dict(input_rate_hz=rate, t_s=float(t), near_bounds=float(near[j]),
                                 mean_w=float(wt[:, j].mean()),
                                 output_rate_hz=float(out_rate[min(j, len(out_rate) - 1)])))
            late = spikes[spikes >= 0.9 * T]
            final_rate = late.size / (0.1 * T)
            bim = float(np.mean((w < 0.1) | (w > 0.9)))
            info[f"{rate:g}Hz"] = dict(output_rate_hz=final_rate, first_rate_hz=float(out_rate[0]),
                                       near_bounds=bim, frac_high=float(np.mean(w > 0.9)), mean_w=float(w.mean()))
            if n_c:
                info[f"{rate:g}Hz"].update(w_correlated=float(w[:n_c].mean()), w_uncorrelated=float(w[n_c:].mean()))
            table.append([f"{rate:g}", float(out_rate[0]), final_rate, bim, float(np.mean(w > 0.9)), float(w.mean())])
            arrays.update({f"w_{k}": w, f"w_t_{k}": wt, f"t_{k}": ts, f"output_rate_{k}": out_rate})
            fig_w[f"{rate:g} Hz inputs"] = w
        from ..plots import plot_weight_distribution

        allw = np.concatenate(list(fig_w.values()))
        groups = {}
        off = 0
        for label, w in fig_w.items():
            m = np.zeros(allw.size, bool); m[off:off + w.size] = True; off += w.size
            groups[label] = m
        fig = plot_weight_distribution(allw, groups, w_range=(0.0, 1.0), xlabel="g_a / g_max (dimensionless)",
                                       title=f"STDP competition (Song et al. 2000): final weights after {T:g} s")
        summary = md_table(["input rate (Hz)", "output rate, first window (Hz)", "output rate, last 10 % (Hz)",
                            "fraction of weights < 0.1 or > 0.9", "fraction > 0.9", "mean w / g_max"], table) + "\n"
        rates_out = [info[f"{r_:g}Hz"]["output_rate_hz"] for r_ in p.rates]
        if len(p.rates) > 1:
            ratio = f"{max(rates_out) / min(rates_out):.2f}" if min(rates_out) > 0 else "n/a (a silent neuron)"
            summary += (f"\nInput rate x{max(p.rates) / min(p.rates):g} -> output rate x{ratio} "
                        f"(Song et al. 2000: roughly independent).\n")
        arrays["rates"] = np.array(p.rates)
        arrays["w"] = allw                                  # every neuron's final weights, in rate order
        arrays["correlated"] = np.tile(np.arange(p.n_exc) < n_c, len(p.rates))
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures={"weight_histogram": fig},
                                info={"rates": info, **r.timings})


# --------------------------------------------------------------------------- reward-modulated STDP

@register_experiment("reward_stdp")
class RewardStdp(Experiment):
    """Reward after the pairing of one chosen synapse: eligibility traces credit that synapse only."""

    description = "reward-modulated STDP: only the synapse whose pairing precedes reward grows"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_inputs: int = param(20, integer=True, minimum=2, doc="input synapses")
        rewarded: int = param(0, integer=True, minimum=0, doc="index of the input whose pairing is rewarded")
        pairings: int = param(10, integer=True, minimum=1, doc="pairings of the rewarded input")
        period: Any = param("1 s", unit=_MS, positive=True, doc="time between successive pairings")
        reward_delay: Any = param("300 ms", unit=_MS, positive=True, doc="delay from a pairing to its reward")
        background_rate: Any = param("2 Hz", unit=_HZ, nonnegative=True, doc="rate of the random background input")
        reward: bool = param(True, boolean=True, doc="deliver the reward (false: the control without reward)")

        def __post_init__(self):
            super().__post_init__()
            if self.rewarded >= self.n_inputs:
                raise ConfigError("params.rewarded", self.rewarded, f"an input index < n_inputs = {self.n_inputs}")
            if float(self.reward_delay) >= float(self.period):
                raise ConfigError("params.reward_delay", self.reward_delay, f"less than period = {self.period}")

    def network(self, p: Params, ctx: RunContext):
        """The pairing protocol: random background inputs, one input paired with the teacher."""
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
        return net

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        r = ctx.simulate(self.network(p, ctx))
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


# --------------------------------------------------------------------------- firing patterns

def step_responses(models: dict, segments, *, dt="0.1 ms", backend: str = "numpy", pulses=None,
                   pulse_weight=None, record=("v",)) -> dict:
    """Voltage traces of single neurons under a piecewise-constant input current.

    ``models``: ``{name: neuron spec}``, each simulated as a population of one.
    ``segments``: ``[(duration, {name: current}), ...]``; a name missing from a segment
    gets zero input. Each segment is one :func:`~bioplaus.simulation.simulate` call that
    continues the previous one's state with the new ``I_ext``. ``pulses``:
    ``{name: times}`` of input spikes delivered through a current synapse of weight
    ``pulse_weight`` (``{name: weight}``), each a brief pulse decaying with the neuron's
    ``tau_e``. Returns ``{name: {"t", "I", "spikes", var...}}`` (seconds, SI units; ``I``
    includes the pulses' synaptic input) and ``"I_unit"``, the unit to plot ``I`` in.
    """
    from brian2 import second

    from ..simulation import simulate
    from ..spec import Monitor, NetworkSpec, Population, Projection, SpikeTrains

    names = list(models)
    out = {n: {"t": [], "I": [], "spikes": [], **{v: [] for v in record}} for n in names}
    state, elapsed = None, 0.0
    for duration, currents in segments:
        dur = float(quantity("segments", "duration", duration, _MS, positive=True))
        pops, projs = [], []
        for n in names:
            m = models[n]
            unit = m.receptor_unit()
            zero = 0 * (unit if unit is not None else 1)
            pops.append(Population(n, m.replace(I_ext=currents.get(n, zero)), 1))
            if pulses and n in pulses:
                t = np.asarray(pulses[n], float) - elapsed
                t = t[(t >= 0) & (t < dur)]
                pops.append(Population(f"{n}_pulses", SpikeTrains(indices=np.zeros(t.size, int), times=t * second,
                                                                  n=1), 1))
                projs.append(Projection(f"{n}_pulse", f"{n}_pulses", n, w_init=1.0,
                                        weight_scale=pulse_weight[n]))
        mons = [Monitor(n, ("spikes", *record, *(("g_e",) if pulses and n in pulses else ()))) for n in names]
        net = NetworkSpec(populations=pops, projections=projs, monitors=mons, duration=dur * second, dt=dt,
                          name="firing_patterns")
        init = None if state is None else {k: v for k, v in state.items()
                                           if not k.endswith(".I_ext") and "_pulse" not in k}
        r = simulate(net, backend, initial_state=init, elapsed=elapsed, check_divergence=False)
        for n in names:
            o = out[n]
            t = r[f"{n}.state.t"] + elapsed
            o["t"].append(t)
            I = np.full(t.size, float(currents.get(n, 0.0)))
            if pulses and n in pulses:  # the pulses' synaptic input, in the same unit as I_ext
                I = I + r[f"{n}.state.g_e"][0]
            o["I"].append(I)
            o["spikes"].append(r[f"{n}.spikes.t"] + elapsed)
            for v in record:
                o[v].append(r[f"{n}.state.{v}"][0])
        state = r.state
        elapsed += dur
    result = {n: {k: np.concatenate(v) for k, v in o.items()} for n, o in out.items()}
    for n in names:
        result[n]["I_unit"] = "mV/ms" if models[n].receptor_unit() == _VOLT / _S else "pA"
    return result


def firing_pattern_protocols(family: str, *, step="300 ms", baseline="20 ms"):
    """The papers' protocols: ``{name: (model, segments, pulses, pulse_weight)}`` per preset.

    Izhikevich (2003), Fig. 2: a 10 mV/ms step from rest; TC and LTS: held near -90 mV,
    then released (rebound); RZ: a pair of brief input pulses 20 ms apart (half the
    41 ms period of its subthreshold oscillation: no spike), then a pair 40 ms apart
    (resonant: a spike); each pulse alone is subthreshold. Naud et al. (2008),
    Fig. 4: the step current of Table 1 (:attr:`AdEx.PAPER_STEP`) from rest.
    """
    from brian2 import mV, ms, pA

    from ..spec import AdEx, Izhikevich

    base = float(quantity("params", "baseline", baseline, _MS, nonnegative=True))
    T = float(quantity("params", "step", step, _MS, positive=True))
    out = {}
    if family == "izhikevich":
        for name in Izhikevich.PRESETS:
            m = getattr(Izhikevich, name)()
            if name in ("thalamo_cortical", "low_threshold_spiking"):
                # holding current that puts rest at -90 mV: 0.04 v^2 + (5 - b) v + 140 + I = 0
                hold = -(0.04 * 90 ** 2 - (5 - m.b) * 90 + 140)
                segs = [(T / 2 * _S, {name: hold * mV / ms}), (T / 2 * _S, {})]
                out[name] = (m, segs, None, None)
            elif name == "resonator":
                first = base + 20e-3
                pulses = [first, first + 0.020, first + 0.150, first + 0.190]
                out[name] = (m, [((base + T) * _S, {})], pulses, 0.6 * mV / ms)
            else:
                segs = ([(base * _S, {})] if base else []) + [(T * _S, {name: 10 * mV / ms})]
                out[name] = (m, segs, None, None)
    elif family == "adex":
        for name in AdEx.PRESETS:
            m = getattr(AdEx, name)()
            segs = ([(base * _S, {})] if base else []) + [(T * _S, {name: AdEx.PAPER_STEP[name]})]
            out[name] = (m, segs, None, None)
    else:
        raise ConfigError("params.family", family, "'izhikevich' or 'adex'")
    return out


def run_firing_patterns(family: str, *, dt="0.1 ms", backend="numpy", step="300 ms", baseline="20 ms") -> dict:
    """Run every preset of ``family`` under its paper protocol; ``{name: traces}`` (see :func:`step_responses`).

    Presets that share a protocol shape run together in one network per segment.
    """
    protocols = firing_pattern_protocols(family, step=step, baseline=baseline)
    groups: dict[tuple, list[str]] = {}
    for name, (m, segs, pulses, _) in protocols.items():
        key = (tuple(float(d) for d, _ in segs), pulses is not None)
        groups.setdefault(key, []).append(name)
    traces = {}
    for key, names in groups.items():
        segs0 = protocols[names[0]][1]
        segments = [(d, {n: protocols[n][1][k][1].get(n, 0.0) for n in names if n in protocols[n][1][k][1]})
                    for k, (d, _) in enumerate(segs0)]
        pulses = {n: protocols[n][2] for n in names if protocols[n][2] is not None} or None
        weights = {n: protocols[n][3] for n in names if protocols[n][3] is not None} or None
        traces.update(step_responses({n: protocols[n][0] for n in names}, segments, dt=dt, backend=backend,
                                     pulses=pulses, pulse_weight=weights))
    return {n: traces[n] for n in protocols}


@register_experiment("firing_patterns")
class FiringPatterns(Experiment):
    """Izhikevich (2003) and Naud et al. (2008) presets under the papers' protocols: a grid of traces."""

    description = ("neuron presets: Izhikevich (2003) RS/IB/CH/FS/TC/RZ/LTS and the eight AdEx patterns of "
                   "Naud et al. (2008)")
    backends = ("numpy", "cython")

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        family: str = param("izhikevich", choices=("izhikevich", "adex"), doc="neuron model whose presets are shown")
        dt: Any = param("0.1 ms", unit=_MS, positive=True, doc="integration time step")
        step: Any = param("300 ms", unit=_MS, positive=True, doc="duration of the current step")
        baseline: Any = param("20 ms", unit=_MS, nonnegative=True, doc="time before the step")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..plots import plot_firing_patterns

        traces = run_firing_patterns(p.family, dt=p.dt, backend=ctx.backend, step=p.step, baseline=p.baseline)
        rows, arrays = [], {}
        for name, tr in traces.items():
            sp = tr["spikes"]
            isi = np.diff(sp) * 1e3
            rows.append(dict(preset=name, spikes=int(sp.size), first_spike_ms=float(sp[0] * 1e3) if sp.size else None,
                             isi_first_ms=float(isi[0]) if isi.size else None,
                             isi_last_ms=float(isi[-1]) if isi.size else None))
            for k, v in tr.items():
                if k != "I_unit":
                    arrays[f"{name}.{k}"] = v
        title = ("Izhikevich (2003) presets" if p.family == "izhikevich" else "AdEx presets (Naud et al. 2008)")
        fig = plot_firing_patterns(traces, title=f"{title}, dt = {_ms(p.dt):g} ms")
        summary = md_table(["preset", "spikes", "first spike (ms)", "first ISI (ms)", "last ISI (ms)"],
                           [[r["preset"], r["spikes"], r["first_spike_ms"], r["isi_first_ms"], r["isi_last_ms"]]
                            for r in rows]) + "\n"
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures={"firing_patterns": fig})


