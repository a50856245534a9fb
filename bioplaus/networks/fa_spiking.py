r"""Spiking feedback alignment: event-driven random backpropagation (Neftci et al. 2017).

Network
-------
``input`` (Poisson, one unit per pixel) --W1--> ``hidden`` (LIF) --W2--> ``output`` (LIF),
``label`` (Poisson at ``target_rate`` for the sample's class, silent otherwise) and two error
populations ``err`` = (``E+``, ``E-``), one unit per class each:

* ``output_k`` excites ``E+_k`` and inhibits ``E-_k``; ``label_k`` does the opposite. The error
  units are integrate-and-fire neurons with subtractive reset and a floor, so ``E+_k`` fires
  at about :math:`[\nu^{out}_k - \nu^{label}_k]_+` and ``E-_k`` at :math:`[\nu^{label}_k - \nu^{out}_k]_+`.
* The error spikes reach a dendritic compartment :math:`U` (not the membrane) of every
  learning neuron, :math:`\tau_U \dot U = -U`: output ``k`` gets ``+u_inc`` from ``E+_k`` and
  ``-u_inc`` from ``E-_k`` (its own error); hidden ``j`` gets ``+G_jk`` from ``E+_k`` and
  ``-G_jk`` from ``E-_k``, with ``G`` a **fixed random** matrix (direct feedback alignment;
  nothing is ever transported from ``W2``).
* Learning is event-driven: at every presynaptic spike

  .. math:: w_{ij} \leftarrow \operatorname{clip}\big(w_{ij} - \eta\, U_j\,
            \mathbb{1}[b_{low} < v_j < b_{high}],\ -w_{max}, w_{max}\big)

  (the boxcar on the membrane potential is the surrogate derivative of eRBP), multiplied by a
  shared ``plastic`` flag. The output layer, which sees its own error, is gated only from above
  unless ``gate_output``: with the lower gate an output neuron pushed below ``b_low`` stops
  learning for good (a dead class; measured on the validation split for 1 of 3 seeds). Averaged over spikes this is
  :math:`\Delta W \propto -\nu_{pre}\, (G e)\, f'` (DFA) for the hidden layer and
  :math:`-\nu_{pre}\, e\, f'` for the output layer, with :math:`e = \nu^{out} - \nu^{label}`.

The samples, labels and learning factors are a :class:`~bioplaus.spec.protocol.Protocol`, so
training epochs and the evaluation passes between them form one run (one compiled binary on ``cpp``). A sample is classified by the output that
fires most during its window.

:func:`fa_spiking_spec` describes this network as a :class:`~bioplaus.spec.network.NetworkSpec`
(:mod:`bioplaus.spec.credit`: SpikingError, Feedback into dendrites, ErrorTriggered; the
:class:`~bioplaus.spec.protocol.Protocol` presents the samples), of any depth and with LIF or AdEx
hidden units; :func:`run_fa_spec` builds and runs it with :func:`bioplaus.simulation.simulate`
(it reproduces the earlier hand-wired Brian2 network spike for spike; the tests compare against a
recorded fingerprint of that network's spikes and weights). The ``fa_spiking`` experiment uses it.
Nothing in this module creates Brian2 objects.

Reference: E. O. Neftci, C. Augustine, S. Paul and G. Detorakis (2017), *Event-driven random
back-propagation: enabling neuromorphic deep learning machines*, Front. Neurosci. 11:324.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Hz, ms

from ..errors import ConfigError
from ..spec.params import Spec, choice, integer, number, quantity, set_field
from .stdp_classifier import Schedule, quiet_order_warnings, window_counts

__all__ = ["fa_spiking_spec", "run_fa_spec", "schedule_protocol", "initial_weights", "SpikingFA", "FARun",
           "fa_schedule", "predict_counts", "Schedule"]


@dataclass(frozen=True)
class SpikingFA(Spec):
    """Parameters of the spiking feedback-alignment network (validated; quantities accept strings)."""

    n_hidden: int = 200
    max_rate: Any = "200 Hz"
    target_rate: Any = "100 Hz"
    present: Any = "100 ms"
    rest: Any = "20 ms"
    dt: Any = "0.5 ms"
    epochs: int = 10
    tau_m: Any = "20 ms"
    t_ref: Any = "2 ms"
    tau_err: Any = "50 ms"
    w_err: Any = 0.5
    err_floor: Any = -1.0
    tau_U: Any = "20 ms"
    u_inc: Any = 0.5
    feedback_scale: Any = 0.5
    eta: Any = 1e-3
    b_low: Any = -0.5
    b_high: Any = 1.0
    gate_output: bool = False
    w_max: Any = 1.0
    w1_init: Any = 0.05
    w2_init: Any = 0.05
    lr_decay: Any = 0.5
    n_hidden2: int = 0
    neuron: str = "lif"
    adex_weight: Any = "100 pA"

    def __post_init__(self):
        o = "SpikingFA"
        set_field(self, "n_hidden", integer(o, "n_hidden", self.n_hidden, minimum=1))
        set_field(self, "n_hidden2", integer(o, "n_hidden2", self.n_hidden2, minimum=0))
        set_field(self, "neuron", choice(o, "neuron", self.neuron, ("lif", "adex")))
        from brian2 import pA

        set_field(self, "adex_weight", quantity(o, "adex_weight", self.adex_weight, pA, positive=True))
        set_field(self, "epochs", integer(o, "epochs", self.epochs, minimum=1))
        for f in ("max_rate", "target_rate"):
            set_field(self, f, quantity(o, f, getattr(self, f), Hz, positive=True))
        set_field(self, "lr_decay", number(o, "lr_decay", self.lr_decay, nonnegative=True))
        set_field(self, "present", quantity(o, "present", self.present, ms, positive=True))
        set_field(self, "rest", quantity(o, "rest", self.rest, ms, nonnegative=True))
        set_field(self, "dt", quantity(o, "dt", self.dt, ms, positive=True))
        set_field(self, "t_ref", quantity(o, "t_ref", self.t_ref, ms, nonnegative=True))
        for f in ("tau_m", "tau_err", "tau_U"):
            set_field(self, f, quantity(o, f, getattr(self, f), ms, positive=True))
        for f in ("w_err", "u_inc", "w_max"):
            set_field(self, f, number(o, f, getattr(self, f), positive=True))
        for f in ("feedback_scale", "eta", "w1_init", "w2_init"):
            set_field(self, f, number(o, f, getattr(self, f), nonnegative=True))
        set_field(self, "err_floor", number(o, "err_floor", self.err_floor, high=0.0))
        set_field(self, "b_low", number(o, "b_low", self.b_low))
        set_field(self, "b_high", number(o, "b_high", self.b_high))
        if not isinstance(self.gate_output, bool):
            raise ConfigError(f"{o}.gate_output", self.gate_output, "true or false")
        if not self.b_high > self.b_low:
            raise ConfigError(f"{o}.b_high", self.b_high, f"a value above b_low = {self.b_low}")
        for f in ("present", "rest"):
            ticks = float(getattr(self, f) / self.dt)
            if abs(ticks - round(ticks)) > 1e-6:
                raise ConfigError(f"{o}.{f}", str(getattr(self, f)), f"a multiple of dt = {self.dt}")

    @property
    def window(self):
        return self.present + self.rest


def schedule_protocol(schedule: Schedule, cfg: SpikingFA):
    """The :class:`~bioplaus.spec.protocol.Protocol` of a :class:`Schedule` (phases in order, their factors)."""
    from ..spec.protocol import Phase, Protocol

    phases = [Phase(name, schedule.order[sl], float(schedule.plastic[sl.start]) if sl.stop > sl.start else 0.0)
              for name, sl in schedule.phases.items()]
    return Protocol(samples=schedule.samples, phases=phases, labels=schedule.sample_labels, present=cfg.present,
                    rest=cfg.rest, learn_in_rest=True)


def initial_weights(cfg: SpikingFA, n_in: int, n_classes: int, seed: int):
    """``W1 (n_in, n_hidden)``, ``W2 (n_hidden, n_classes)`` and feedback ``G (n_hidden, n_classes)`` as drawn
    from the seed (in this order)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xFA]))
    w1 = rng.normal(0.0, cfg.w1_init, size=(n_in, cfg.n_hidden))
    w2 = rng.normal(0.0, cfg.w2_init, size=(cfg.n_hidden, n_classes))
    G = rng.normal(0.0, 1.0, size=(cfg.n_hidden, n_classes)) * cfg.feedback_scale
    return w1, w2, G


def fa_spiking_spec(cfg: SpikingFA, schedule: Schedule, n_classes: int, *, seed: int = 0,
                    w1: np.ndarray | None = None, w2: np.ndarray | None = None, feedback: np.ndarray | None = None):
    """The spiking FA network as a :class:`~bioplaus.spec.network.NetworkSpec` (a recipe; no Brian2 here).

    ``input`` (:class:`~bioplaus.spec.protocol.ProtocolInput`), ``label``
    (:class:`~bioplaus.spec.credit.LabelInput`), ``hidden`` (and ``hidden2`` when
    ``cfg.n_hidden2 > 0``), ``output``, ``err`` (:class:`~bioplaus.spec.credit.SpikingError`,
    E+/E- units). Hidden units are :class:`~bioplaus.spec.credit.NormalizedLIF` (``neuron="lif"``)
    or :class:`~bioplaus.spec.neurons.AdEx` ``tonic()`` (``neuron="adex"``, current synapses: a spike
    adds ``w * adex_weight`` to ``g_e``); the output is NormalizedLIF. Every forward projection learns by
    :class:`~bioplaus.spec.credit.ErrorTriggered` from its postsynaptic dendrite ``U``; a fixed
    random :class:`~bioplaus.spec.credit.Feedback` (``err_hidden``, ``err_hidden2``) carries the
    error spikes straight into each hidden layer's dendrite (direct random feedback, eRBP).

    With one hidden layer the weights are drawn as :func:`initial_weights`; a second layer's
    ``W (n_hidden, n_hidden2)`` and feedback are drawn after them from the same stream.
    """
    from ..spec.credit import ErrorTriggered, Feedback, FixedFeedback, LabelInput, NormalizedLIF, SpikingError
    from ..spec.network import Monitor, NetworkSpec, Population, Projection
    from ..spec.neurons import AdEx
    from ..spec.protocol import ProtocolInput

    n_in = schedule.n_input
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xFA]))
    sizes = [n_in, cfg.n_hidden] + ([cfg.n_hidden2] if cfg.n_hidden2 else [])
    d1 = rng.normal(0.0, cfg.w1_init, size=(n_in, cfg.n_hidden))
    dout = rng.normal(0.0, cfg.w2_init, size=(sizes[-1], n_classes))
    dG = [rng.normal(0.0, 1.0, size=(sizes[-1] if cfg.n_hidden2 else cfg.n_hidden, n_classes)) * cfg.feedback_scale]
    mids = []
    if cfg.n_hidden2:
        mids.append(rng.normal(0.0, cfg.w1_init, size=(cfg.n_hidden, cfg.n_hidden2)))
        dG.insert(0, rng.normal(0.0, 1.0, size=(cfg.n_hidden, n_classes)) * cfg.feedback_scale)
    ws = [d1 if w1 is None else np.asarray(w1, dtype=float), *mids, dout if w2 is None else np.asarray(w2, dtype=float)]
    Gs = dG if feedback is None else [np.asarray(feedback, dtype=float)] + dG[1:]   # feedback: the first layer's
    lif = NormalizedLIF(tau_m=cfg.tau_m, t_ref=cfg.t_ref)
    hidden_model = lif if cfg.neuron == "lif" else AdEx.tonic()
    names = ["input"] + ["hidden", "hidden2"][:len(sizes) - 1] + ["output"]
    pops = [Population("input", ProtocolInput(encoding="poisson", max_rate=cfg.max_rate), n_in),
            Population("label", LabelInput(rate=cfg.target_rate, n=n_classes))]
    pops += [Population(nm, hidden_model, n) for nm, n in zip(names[1:-1], sizes[1:])]
    pops += [Population("output", lif, n_classes),
             Population("err", SpikingError(output="output", target="label", w_err=cfg.w_err, tau_err=cfg.tau_err,
                                            floor=cfg.err_floor, u_inc=cfg.u_inc, tau_U=cfg.tau_U), 2 * n_classes)]
    if cfg.neuron == "lif":
        gate = dict(b_low=cfg.b_low, b_high=cfg.b_high)
    else:   # the boxcar of the hidden AdEx units: from rest minus (V_T - V_reset) to the spike-initiation threshold
        m = hidden_model
        gate = dict(b_low=m.E_L - (m.V_T - m.V_reset), b_high=m.V_T)
    rule = dict(eta=cfg.eta, w_max=cfg.w_max)
    projs = []
    for l, (pre, post) in enumerate(zip(names[:-1], names[1:]), start=1):
        is_out = post == "output"
        adex_post = cfg.neuron == "adex" and not is_out
        r = ErrorTriggered(**rule, **(dict(b_low=cfg.b_low, b_high=cfg.b_high) if is_out else gate),
                           lower_gate=cfg.gate_output if is_out else True)
        projs.append(Projection(f"w{l}", pre, post, rule=r, w_init=ws[l - 1],
                                weight_scale=cfg.adex_weight if adex_post else 1.0))
    fbs = [Feedback(f"err_{nm}", "err", nm, FixedFeedback(G.T), tau=cfg.tau_U) for nm, G in zip(names[1:-1], Gs)]
    mons = [Monitor("output"), Monitor("err"), Monitor("hidden")]
    protocol = schedule_protocol(schedule, cfg)
    return NetworkSpec(pops, projs, monitors=mons, feedback=fbs, protocol=protocol, dt=cfg.dt,
                       duration=len(schedule) * cfg.window, seed=seed, name="fa_spiking")


def run_fa_spec(cfg: SpikingFA, schedule: Schedule, n_classes: int, backend: str = "cpp", *, seed: int = 0,
                threads: int | None = None, directory=None, report: str | None = None,
                w1: np.ndarray | None = None, w2: np.ndarray | None = None, feedback: np.ndarray | None = None,
                duration=None) -> "FARun":
    """Build :func:`fa_spiking_spec` on ``backend`` and run the whole ``schedule`` (training epochs and evaluations)
    as one :func:`bioplaus.simulation.simulate` run.

    ``w1`` (``(n_input, n_hidden)``), ``w2`` (``(n_hidden, n_classes)``) and ``feedback`` (``G``,
    ``(n_hidden, n_classes)``) default to seeded random draws (:func:`initial_weights`). ``duration``
    (default: the whole schedule) runs only the beginning, e.g. to compile the Cython code before a timed run.
    """
    from ..simulation import simulate

    spec = fa_spiking_spec(cfg, schedule, n_classes, seed=seed, w1=w1, w2=w2, feedback=feedback)
    last = f"w{len(spec.projections)}"    # into the output layer
    w1_0 = spec.projection("w1").w_init.copy()
    w2_0 = spec.projection(last).w_init.copy()
    G0 = spec.feedback[0].weights.matrix.T.copy()
    with quiet_order_warnings():
        r = simulate(spec, backend, duration=duration, directory=directory, threads=threads, report=report)
    w1f = r.weight_matrix("w1")
    w2f = r.weight_matrix(last)
    g = np.zeros((2 * n_classes, cfg.n_hidden))
    g[r["err_hidden.i"], r["err_hidden.j"]] = r["err_hidden.w"]
    spikes = {k: (np.asarray(r[f"{k}.spikes.t"]), np.asarray(r[f"{k}.spikes.i"])) for k in ("output", "err")}
    keep = r["hidden.spikes.i"] < 20   # a raster's worth of hidden units
    spikes["hidden"] = (np.asarray(r["hidden.spikes.t"])[keep], np.asarray(r["hidden.spikes.i"])[keep])
    window = float(cfg.window)
    counts, err_counts = {}, {}
    for name, sl in schedule.phases.items():
        n = sl.stop - sl.start
        counts[name] = window_counts(*spikes["output"], window, n, n_classes, start=sl.start)
        err_counts[name] = window_counts(*spikes["err"], window, n, 2 * n_classes, start=sl.start)
    t = dict(r.timings)
    t.setdefault("run_s", t.get("run_binary_s", t.get("codegen_compile_run_s", 0.0)))
    return FARun(cfg, schedule, w1f, w2f, w1_0, w2_0, G0, g[:n_classes].T, counts, err_counts, spikes, t)


def fa_schedule(samples: np.ndarray, labels: np.ndarray, train: np.ndarray, epochs: int,
                evaluate: dict[str, np.ndarray], rng: np.random.Generator, lr_decay: float = 0.0) -> Schedule:
    """Per epoch ``e``: the training samples in a fresh random order with learning-rate factor
    ``1/(1 + lr_decay*e)`` (phase ``train{e}``), then every set of ``evaluate`` with plasticity off
    (phases ``<name>{e}``), so a learning curve comes out of the same run."""
    train = np.asarray(train)
    parts = []
    for e in range(epochs):
        parts.append((f"train{e}", train[rng.permutation(len(train))], 1.0 / (1.0 + lr_decay * e)))
        parts += [(f"{name}{e}", np.asarray(idx), 0.0) for name, idx in evaluate.items()]
    return Schedule.build(samples, labels, parts)


def predict_counts(counts: np.ndarray) -> np.ndarray:
    """The output with most spikes per window; ``-1`` where no output fired.

    >>> predict_counts(np.array([[0, 3, 1], [0, 0, 0]])).tolist()
    [1, -1]
    """
    counts = np.asarray(counts)
    pred = np.argmax(counts, axis=1)
    pred[counts.sum(axis=1) == 0] = -1
    return pred


@dataclass
class FARun:
    cfg: SpikingFA
    schedule: Schedule
    w1: np.ndarray
    w2: np.ndarray
    w1_init: np.ndarray
    w2_init: np.ndarray
    feedback: np.ndarray
    feedback_after: np.ndarray
    counts: dict[str, np.ndarray]       # output spike counts per phase
    err_counts: dict[str, np.ndarray]   # error-unit spike counts per phase, (n, 2*n_out)
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    timings: dict[str, float]

    def accuracy(self, phase: str) -> float:
        y = self.schedule.labels[self.schedule.phases[phase]]
        return float(np.mean(predict_counts(self.counts[phase]) == y))
