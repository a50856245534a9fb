r"""Unsupervised STDP classifier after Diehl & Cook (2015), trained inside one simulation run.

Network
-------
``input`` (Poisson, one unit per pixel) --STDP--> ``exc`` (conductance LIF with adaptive
threshold) --one-to-one--> ``inh`` --all-but-self--> ``exc`` (lateral inhibition, a soft
winner-take-all).

The network is a recipe: :func:`classifier_spec` returns a
:class:`~bioplaus.spec.network.NetworkSpec` of ordinary pieces (a
:class:`~bioplaus.spec.protocol.ProtocolInput` population, LIF populations with an
:class:`~bioplaus.spec.neurons.AdaptiveThreshold`, a plastic projection with a tracked
:class:`~bioplaus.spec.rules.WeightNormalization`, lateral inhibition through the ``inh``
population, a :class:`~bioplaus.spec.protocol.SpikeCountReadout`), built by
:func:`bioplaus.build.network.build_network` and run by :func:`bioplaus.simulation.simulate`.
Nothing here talks to Brian2.

Every sample is shown for ``present`` at ``pixel * max_rate``, then ``rest`` of silence.
The whole schedule (training epochs, then a pass over the training samples with
plasticity off for label assignment, then the evaluation sets) is the network's
:class:`~bioplaus.spec.protocol.Protocol`: its learning factors gate plasticity and the
adaptive threshold window by window, and normalisation runs at the start of every window.
So the whole experiment is **one** run and, on ``cpp``, one compiled binary: no Python
runs between samples.

Plasticity (the rule of Diehl & Cook's published code, ``rule="triplet"``), with nearest-spike
traces (reset to 1 at a spike) :math:`x_{pre}` (:math:`\tau_{pre}`), :math:`o_1` (:math:`\tau_{post}`),
:math:`o_2` (:math:`\tau_{post2}`):

.. math::
    \text{pre spike: } w \leftarrow w - \nu_{pre}\, o_1, \qquad
    \text{post spike: } w \leftarrow w + \nu_{post}\, x_{pre}\, o_2^{-}

(:math:`o_2^{-}`: before its own reset), clipped to :math:`[0, w_{max}]`. As a
:class:`~bioplaus.spec.rules.TripletSTDP` with ``nearest=True``: ``A2_minus = nu_pre``,
``A3_plus = nu_post``, ``A2_plus = A3_minus = 0``. ``rule="nearest"`` / ``"pair"`` use the
pair rule (:class:`~bioplaus.spec.rules.NearestSTDP` / :class:`~bioplaus.spec.rules.PairSTDP`,
``A_plus = nu_post``, ``A_minus = nu_pre``). Every update is multiplied by ``plastic``.

Homeostasis: the threshold is :math:`V_{th} + \theta` with :math:`\theta \leftarrow \theta +
\theta_+` at each spike (:class:`~bioplaus.spec.neurons.AdaptiveThreshold`, frozen when
``plastic = 0``), and the incoming weights of each excitatory neuron are rescaled to sum to
``norm_total`` at the start of every window (:class:`~bioplaus.spec.rules.WeightNormalization`).
The column sums are tracked incrementally (``wsum``, updated with every weight change) so
that normalisation costs nothing between windows.

Classification: each excitatory neuron is labelled with the class for which its mean spike
count over the assignment pass is highest (:func:`assign_labels`); a sample is classified as
the class whose neurons fire most on average (:func:`predict`).

Reference: P. U. Diehl and M. Cook (2015), *Unsupervised learning of digit recognition using
spike-timing-dependent plasticity*, Front. Comput. Neurosci. 9:99.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, mV, ms, nS, pF

from ..errors import ConfigError
from ..readout import assign_labels, predict, running_accuracy, window_counts
from ..spec.network import Monitor, NetworkSpec, Population, Projection
from ..spec.neurons import AdaptiveThreshold, LIF, PoissonInput
from ..spec.params import Spec, check_params, number, param, set_field
from ..spec.protocol import Phase, Protocol, ProtocolInput, SpikeCountReadout
from ..spec.rules import NearestSTDP, PairSTDP, TripletSTDP, WeightNormalization

__all__ = [
    "DiehlCook", "diehl_cook_inhibitory", "Schedule", "classifier_schedule", "schedule_functions", "classifier_spec",
    "initial_weights", "ClassifierRun", "build_classifier", "run_classifier", "assign_labels", "predict",
    "window_counts", "running_accuracy",
]

RULES = ("triplet", "nearest", "pair")


def diehl_cook_inhibitory() -> LIF:
    """Inhibitory neuron of Diehl & Cook (2015): tau_m = 10 ms, rest -60 mV, threshold -40 mV."""
    return LIF(C_m=10 * pF, g_L=1 * nS, E_L=-60 * mV, V_th=-40 * mV, V_reset=-45 * mV, t_ref=2 * ms,
               synapse="conductance", tau_e=1 * ms, tau_i=2 * ms, E_e=0 * mV, E_i=-85 * mV)


@dataclass(frozen=True)
class DiehlCook(Spec):
    """Parameters of the classifier network (validated; quantities accept strings like ``"20 ms"``).

    Defaults are tuned for the 8x8 ``digits`` on a validation split (1078 training samples, so
    a ten times larger ``nu_post`` and several epochs); Diehl & Cook's MNIST values are
    ``max_rate = 63.75 Hz``, ``norm_total = 78``, ``nu_post = 0.01``, ``theta_plus = 0.05 mV``,
    ``tau_theta = 1e7 ms``.

    The membrane is integrated with exponential Euler (exact for the conductance equation over
    one step): with forward Euler and ``dt = 0.5 ms``, a volley of synchronous inhibitory
    spikes (a few hundred nS against ``C_m = 100 pF``) makes the update unstable and the network
    runs away for ``n_exc`` of a few hundred.
    """

    n_exc: int = param(200, integer=True, minimum=1)
    max_rate: Any = param("127.5 Hz", unit=Hz, positive=True)
    present: Any = param("350 ms", unit=ms, positive=True)
    rest: Any = param("150 ms", unit=ms, nonnegative=True)
    dt: Any = param("0.5 ms", unit=ms, positive=True)
    epochs: int = param(4, integer=True, minimum=1)
    rule: str = param("triplet", choices=RULES)
    nu_pre: Any = param(1e-4, nonnegative=True)
    nu_post: Any = param(0.1, nonnegative=True)
    tau_pre: Any = param("20 ms", unit=ms, positive=True)
    tau_post: Any = param("20 ms", unit=ms, positive=True)
    tau_post2: Any = param("40 ms", unit=ms, positive=True)
    w_max: Any = param(1.0, positive=True)
    w_init: Any = (0.003, 0.303)
    norm_total: Any = param(17.0, positive=True)
    theta_plus: Any = param("0.05 mV", unit=mV, nonnegative=True)
    tau_theta: Any = param("1e7 ms", unit=ms, positive=True)
    input_weight: Any = param("1 nS", unit=nS, nonnegative=True)
    w_ei: Any = param("10.4 nS", unit=nS, nonnegative=True)
    w_ie: Any = param("17 nS", unit=nS, nonnegative=True)

    def __post_init__(self):
        check_params(self, "DiehlCook")
        o = "DiehlCook"
        w = self.w_init
        if not (isinstance(w, (tuple, list)) and len(w) == 2):
            raise ConfigError(f"{o}.w_init", w, "[low, high] of the uniform initial weights")
        lo, hi = number(o, "w_init[0]", w[0], nonnegative=True), number(o, "w_init[1]", w[1], nonnegative=True)
        if hi < lo or hi > self.w_max:
            raise ConfigError(f"{o}.w_init", list(w), f"[low, high] with 0 <= low <= high <= w_max = {self.w_max}")
        set_field(self, "w_init", (lo, hi))
        for f in ("present", "rest"):
            ticks = float(getattr(self, f) / self.dt)
            if abs(ticks - round(ticks)) > 1e-6:
                raise ConfigError(f"{o}.{f}", str(getattr(self, f)), f"a multiple of dt = {self.dt}")

    # ------------------------------------------------------------------ spec objects
    @property
    def window(self):
        return self.present + self.rest

    def exc_model(self) -> LIF:
        """:meth:`LIF.diehl_cook_excitatory` with this network's adaptive threshold."""
        return dataclasses.replace(LIF.diehl_cook_excitatory(),
                                   adaptation=AdaptiveThreshold(theta_plus=self.theta_plus, tau_theta=self.tau_theta))

    def inh_model(self) -> LIF:
        return diehl_cook_inhibitory()

    def stdp_rule(self):
        """The plasticity rule as a spec object (see the module docstring)."""
        if self.rule == "triplet":
            return TripletSTDP(tau_plus=self.tau_pre, tau_minus=self.tau_post, tau_x=self.tau_pre,
                               tau_y=self.tau_post2, A2_plus=0.0, A3_plus=self.nu_post, A2_minus=self.nu_pre,
                               A3_minus=0.0, nearest=True, w_min=0.0, w_max=self.w_max)
        cls = NearestSTDP if self.rule == "nearest" else PairSTDP
        return cls(A_plus=self.nu_post, A_minus=self.nu_pre, tau_plus=self.tau_pre, tau_minus=self.tau_post,
                   w_min=0.0, w_max=self.w_max)


# ---------------------------------------------------------------------- schedule

@dataclass
class Schedule:
    """What one run shows, window by window (the array form of a :class:`~bioplaus.spec.protocol.Protocol`).

    ``samples`` holds each distinct sample once (``(n_samples, n_input)``, values in [0, 1]);
    window ``k`` shows ``samples[order[k]]`` with class ``labels[k]`` and learning-rate factor
    ``plastic[k]`` (0 = plasticity off). ``phases`` maps a name (``"train0"``, ``"assign"``,
    ``"test"``...) to the slice of windows it occupies. Storing indices rather than copies keeps
    MNIST-sized schedules (several epochs of 60000 images) small.
    """

    samples: np.ndarray
    sample_labels: np.ndarray
    order: np.ndarray
    plastic: np.ndarray
    phases: dict[str, slice] = field(default_factory=dict)

    @classmethod
    def build(cls, samples: np.ndarray, labels: np.ndarray,
              parts: list[tuple[str, np.ndarray, float]]) -> "Schedule":
        """``parts``: ``(phase name, sample indices, learning-rate factor)`` in the order shown."""
        samples = np.asarray(samples, dtype=float)
        labels = np.asarray(labels, dtype=int)
        if samples.ndim != 2 or len(samples) != len(labels):
            raise ValueError("samples must be (n, n_input) with one label per sample")
        orders, factors, phases, k = [], [], {}, 0
        for name, idx, factor in parts:
            idx = np.asarray(idx, dtype=np.int64)
            if name in phases:
                raise ValueError(f"duplicate phase {name!r}")
            if idx.size and (idx.min() < 0 or idx.max() >= len(samples)):
                raise ValueError(f"phase {name!r} indexes outside the {len(samples)} samples")
            phases[name] = slice(k, k + len(idx))
            k += len(idx)
            orders.append(idx)
            factors.append(np.full(len(idx), float(factor)))
        return cls(samples, labels, np.concatenate(orders), np.concatenate(factors), phases)

    def __len__(self) -> int:
        return len(self.order)

    @property
    def n_input(self) -> int:
        return self.samples.shape[1]

    @property
    def labels(self) -> np.ndarray:
        """Class of the sample shown in each window."""
        return self.sample_labels[self.order]

    def phase_labels(self, phase: str) -> np.ndarray:
        return self.labels[self.phases[phase]]

    def protocol(self, present, rest, learn_in_rest: bool = True) -> Protocol:
        """The same schedule as spec data."""
        phases = [Phase(name, self.order[sl], float(self.plastic[sl][0]) if sl.stop > sl.start else 0.0)
                  for name, sl in self.phases.items()]
        for (name, sl), ph in zip(self.phases.items(), phases):
            if sl.stop > sl.start and np.any(self.plastic[sl] != ph.learn):
                raise ConfigError(f"phases.{name}.learn", self.plastic[sl].tolist()[:5], "one factor per phase")
        return Protocol(samples=self.samples, phases=phases, labels=self.sample_labels, present=present, rest=rest,
                        learn_in_rest=learn_in_rest)


def classifier_schedule(samples: np.ndarray, labels: np.ndarray, train: np.ndarray, epochs: int,
                        evaluate: dict[str, np.ndarray], rng: np.random.Generator,
                        assign: np.ndarray | None = None) -> Schedule:
    """Training epochs (each in a fresh random order, plasticity on), then the assignment pass
    (``assign``, default the training samples, plasticity off), then each set of ``evaluate``."""
    train = np.asarray(train)
    parts = [(f"train{e}", train[rng.permutation(len(train))], 1.0) for e in range(epochs)]
    parts.append(("assign", train if assign is None else np.asarray(assign), 0.0))
    parts += [(name, np.asarray(idx), 0.0) for name, idx in evaluate.items()]
    return Schedule.build(samples, labels, parts)


def schedule_functions(schedule: Schedule, present, rest, dt) -> dict[str, Any]:
    """``TimedArray`` objects that drive a run through ``schedule`` (see
    :func:`bioplaus.build.protocol.protocol_functions`)."""
    from ..build.protocol import protocol_functions

    return protocol_functions(schedule.protocol(present, rest), dt)


INPUT_RATE = "rate = max_rate*gate(t)*pixels(order(t)*second, i) : Hz"


# ---------------------------------------------------------------------- the network as a spec

def initial_weights(cfg: DiehlCook, n_input: int, seed: int) -> np.ndarray:
    """Uniform initial weights ``(n_input, n_exc)`` in ``cfg.w_init``, drawn from ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xDC]))
    return rng.uniform(cfg.w_init[0], cfg.w_init[1], size=(n_input, cfg.n_exc))


def classifier_spec(cfg: DiehlCook, schedule: Schedule | Protocol | None = None, *, n_input: int | None = None,
                    seed: int = 0, w_init: np.ndarray | None = None, name: str = "stdp_classifier") -> NetworkSpec:
    """The Diehl & Cook network as a :class:`~bioplaus.spec.network.NetworkSpec`.

    Populations ``input`` (:class:`~bioplaus.spec.protocol.ProtocolInput`, Poisson at
    ``max_rate``), ``exc`` (:meth:`DiehlCook.exc_model`, adaptive threshold) and ``inh``;
    projections ``input_exc`` (the STDP rule, tracked :class:`~bioplaus.spec.rules.WeightNormalization`
    at every window), ``exc_inh`` (one to one) and ``inh_exc`` (all but self: lateral
    inhibition); a spike monitor on ``exc`` and, when the schedule has an ``assign`` phase, a
    :class:`~bioplaus.spec.protocol.SpikeCountReadout` named ``readout``.

    Without a schedule the input is a :class:`~bioplaus.spec.neurons.PoissonInput` of
    ``n_input`` units at 0 Hz, whose ``rates`` a caller sets between runs.
    """
    if isinstance(schedule, Schedule):
        protocol = schedule.protocol(cfg.present, cfg.rest)
    else:
        protocol = schedule
    if protocol is not None:
        n_input = protocol.n_input
    if n_input is None:
        raise ConfigError("classifier_spec.n_input", None, "the number of inputs (or a schedule)")
    W = initial_weights(cfg, n_input, seed) if w_init is None else np.asarray(w_init, float).reshape(n_input, cfg.n_exc)
    inp = ProtocolInput(encoding="poisson", max_rate=cfg.max_rate) if protocol is not None else \
        PoissonInput(rates=np.zeros(n_input) * Hz)
    pops = [Population("input", inp, n_input), Population("exc", cfg.exc_model(), cfg.n_exc),
            Population("inh", cfg.inh_model(), cfg.n_exc)]
    projs = [
        Projection("input_exc", "input", "exc", rule=cfg.stdp_rule(), w_init=W, weight_scale=cfg.input_weight,
                   homeostasis=WeightNormalization(total=cfg.norm_total, interval=cfg.window, tracked=True)),
        Projection("exc_inh", "exc", "inh", connectivity="one_to_one", w_init=1.0, weight_scale=cfg.w_ei),
        Projection("inh_exc", "inh", "exc", connectivity="all_but_self", w_init=1.0, weight_scale=cfg.w_ie,
                   receptor="inh"),
    ]
    readouts = ()
    if protocol is not None and protocol.labels is not None and "assign" in {p.name for p in protocol.phases}:
        readouts = (SpikeCountReadout("exc", assign="assign"),)
    duration = protocol.duration if protocol is not None else cfg.window
    return NetworkSpec(pops, projs, monitors=[Monitor("exc")], dt=cfg.dt, duration=duration, seed=seed, name=name,
                       protocol=protocol, readouts=readouts)


@dataclass
class BuiltClassifier:
    """The built network (:class:`~bioplaus.build.network.BuiltNetwork`) with named handles."""

    built: Any

    @property
    def net(self):
        return self.built.network

    @property
    def inp(self):
        return self.built.groups["input"]

    @property
    def exc(self):
        return self.built.groups["exc"]

    @property
    def inh(self):
        return self.built.groups["inh"]

    @property
    def syn(self):
        return self.built.synapses["input_exc"]

    @property
    def exc_spikes(self):
        return self.built.monitors["exc.spikes"]


def build_classifier(cfg: DiehlCook, n_input: int, *, schedule: Schedule | None = None, seed: int = 0,
                     w_init: np.ndarray | None = None) -> BuiltClassifier:
    """Build :func:`classifier_spec` with :func:`bioplaus.build.network.build_network` under the active
    device (inside :func:`bioplaus.backends.session`), for callers that drive the run themselves."""
    from ..build.network import build_network

    return BuiltClassifier(build_network(classifier_spec(cfg, schedule, n_input=n_input, seed=seed, w_init=w_init)))


# ---------------------------------------------------------------------- runs

@dataclass
class ClassifierRun:
    """Outcome of :func:`run_classifier`: final state, spike counts per phase and timings."""

    cfg: DiehlCook
    schedule: Schedule
    weights: np.ndarray          # (n_input, n_exc)
    theta: np.ndarray            # (n_exc,), volts
    spike_t: np.ndarray
    spike_i: np.ndarray
    counts: dict[str, np.ndarray]
    timings: dict[str, float]
    n_runs: int = 1
    readout: dict[str, Any] | None = None

    def phase_labels(self, phase: str) -> np.ndarray:
        return self.schedule.phase_labels(phase)


def run_classifier(cfg: DiehlCook, schedule: Schedule, backend: str = "cpp", *, seed: int = 0,
                   threads: int | None = None, directory=None, report: str | None = None,
                   duration=None) -> ClassifierRun:
    """Simulate :func:`classifier_spec` for the whole ``schedule`` as one run
    (:func:`bioplaus.simulation.simulate`).

    ``duration`` (default: the whole schedule) runs only the beginning, e.g. to compile the
    Cython code before a timed run.
    """
    from ..simulation import simulate

    spec = classifier_spec(cfg, schedule, seed=seed)
    res = simulate(spec, backend, duration=duration, directory=directory, threads=threads, report=report,
                   check_divergence=False)
    timings = dict(res.timings)
    if "run_binary_s" in timings:
        timings["compile_s"] = timings.get("compile.make_s", 0.0)
        timings["run_s"] = timings["run_binary_s"]
    W = res.weight_matrix("input_exc")
    theta = np.asarray(res.state["exc.theta"], dtype=float)
    st, si = res["exc.spikes.t"], res["exc.spikes.i"]
    window = float(cfg.window)
    counts = {name: window_counts(st, si, window, sl.stop - sl.start, cfg.n_exc, start=sl.start)
              for name, sl in schedule.phases.items()}
    return ClassifierRun(cfg, schedule, W, theta, st, si, counts, timings,
                         readout=res.readouts.get("readout"))


from ..simulation import quiet_order_warnings  # noqa: E402,F401  (kept importable for bioplaus.networks.fa_spiking)
