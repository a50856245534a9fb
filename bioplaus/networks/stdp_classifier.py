r"""Unsupervised STDP classifier after Diehl & Cook (2015), trained inside one simulation run.

Network
-------
``input`` (Poisson, one unit per pixel) --STDP--> ``exc`` (conductance LIF with adaptive
threshold) --one-to-one--> ``inh`` --all-but-self--> ``exc`` (lateral inhibition, a soft
winner-take-all).

Every sample is shown for ``present`` at ``pixel * max_rate``, then ``rest`` of silence.
The whole schedule (training epochs, then a pass over the training samples with
plasticity off for label assignment, then the evaluation sets) is one
:class:`~brian2.TimedArray`; a second ``TimedArray`` switches a shared ``plastic`` flag
of ``exc`` at window boundaries. Normalisation runs as a ``run_regularly`` at the start
of every window. So the whole experiment is **one** ``Network.run`` and, on ``cpp``,
one compiled binary: no Python runs between samples.

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

import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, mV, ms, nS, pF, second, volt

from ..errors import ConfigError
from ..spec.neurons import AdaptiveThreshold, LIF
from ..spec.params import Spec, choice, integer, number, quantity, set_field
from ..spec.rules import NearestSTDP, PairSTDP, TripletSTDP

__all__ = [
    "DiehlCook", "diehl_cook_inhibitory", "Schedule", "classifier_schedule", "schedule_functions", "ClassifierRun", "build_classifier", "run_classifier",
    "train_loop", "assign_labels", "predict", "window_counts", "running_accuracy",
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

    n_exc: int = 200
    max_rate: Any = "127.5 Hz"
    present: Any = "350 ms"
    rest: Any = "150 ms"
    dt: Any = "0.5 ms"
    epochs: int = 4
    rule: str = "triplet"
    nu_pre: Any = 1e-4
    nu_post: Any = 0.1
    tau_pre: Any = "20 ms"
    tau_post: Any = "20 ms"
    tau_post2: Any = "40 ms"
    w_max: Any = 1.0
    w_init: Any = (0.003, 0.303)
    norm_total: Any = 17.0
    theta_plus: Any = "0.05 mV"
    tau_theta: Any = "1e7 ms"
    input_weight: Any = "1 nS"
    w_ei: Any = "10.4 nS"
    w_ie: Any = "17 nS"

    def __post_init__(self):
        o = "DiehlCook"
        set_field(self, "n_exc", integer(o, "n_exc", self.n_exc, minimum=1))
        set_field(self, "epochs", integer(o, "epochs", self.epochs, minimum=1))
        set_field(self, "max_rate", quantity(o, "max_rate", self.max_rate, Hz, positive=True))
        set_field(self, "present", quantity(o, "present", self.present, ms, positive=True))
        set_field(self, "rest", quantity(o, "rest", self.rest, ms, nonnegative=True))
        set_field(self, "dt", quantity(o, "dt", self.dt, ms, positive=True))
        set_field(self, "rule", choice(o, "rule", self.rule, RULES))
        for f in ("nu_pre", "nu_post"):
            set_field(self, f, number(o, f, getattr(self, f), nonnegative=True))
        for f in ("tau_pre", "tau_post", "tau_post2", "tau_theta"):
            set_field(self, f, quantity(o, f, getattr(self, f), ms, positive=True))
        set_field(self, "w_max", number(o, "w_max", self.w_max, positive=True))
        w = self.w_init
        if not (isinstance(w, (tuple, list)) and len(w) == 2):
            raise ConfigError(f"{o}.w_init", w, "[low, high] of the uniform initial weights")
        lo, hi = number(o, "w_init[0]", w[0], nonnegative=True), number(o, "w_init[1]", w[1], nonnegative=True)
        if hi < lo or hi > self.w_max:
            raise ConfigError(f"{o}.w_init", list(w), f"[low, high] with 0 <= low <= high <= w_max = {self.w_max}")
        set_field(self, "w_init", (lo, hi))
        set_field(self, "norm_total", number(o, "norm_total", self.norm_total, positive=True))
        set_field(self, "theta_plus", quantity(o, "theta_plus", self.theta_plus, mV, nonnegative=True))
        for f in ("input_weight", "w_ei", "w_ie"):
            set_field(self, f, quantity(o, f, getattr(self, f), nS, nonnegative=True))
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
    """What one run shows, window by window.

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
    """``TimedArray`` objects that drive a run through ``schedule``.

    ``pixels(k*second, i)``: value of input ``i`` in sample ``k``; ``order(t)``: index of the
    sample shown in the window containing ``t``; ``gate(t)``: 1 while a sample is presented,
    0 during the rest; ``learn(t)``: the window's learning-rate factor (0 after the end).
    An input unit's rate is then ``max_rate*gate(t)*pixels(order(t)*second, i)``.
    """
    from brian2 import TimedArray

    dtf = float(dt)
    n_on, n_off = int(round(float(present) / dtf)), int(round(float(rest) / dtf))
    g = math.gcd(n_on, n_off) if n_off else n_on
    window = (n_on + n_off) * dtf
    period = np.concatenate([np.ones(n_on // g), np.zeros(n_off // g)])
    gate = np.append(np.tile(period, len(schedule)), 0.0)
    return {
        "pixels": TimedArray(np.clip(schedule.samples, 0, None), dt=1 * second, name="pixels"),
        "order": TimedArray(np.append(schedule.order, 0).astype(float), dt=window * second, name="order"),
        "gate": TimedArray(gate, dt=g * dtf * second, name="gate"),
        "learn": TimedArray(np.append(schedule.plastic, 0.0), dt=window * second, name="learn"),
    }


INPUT_RATE = "rate = max_rate*gate(t)*pixels(order(t)*second, i) : Hz"


# ---------------------------------------------------------------------- equations

@contextlib.contextmanager
def quiet_order_warnings():
    """Drop Brian2's warning that synaptic code may depend on the order of execution (intended
    here: spikes arriving in the same step add up); other warnings are passed on, once each."""
    from brian2.utils.logger import catch_logs

    with catch_logs(log_level=logging.WARNING) as logs:
        yield
    seen = set()
    for level, name, msg in logs:
        if "may not be well-defined" not in msg and (name, msg) not in seen:
            seen.add((name, msg))
            logging.getLogger(name).log(getattr(logging, level, logging.WARNING), msg)


def _declare(params: dict[str, Any]) -> list[str]:
    from ..build.registry import declare_params

    return declare_params(params)


def _set(obj, params: dict[str, Any]) -> None:
    for k, v in params.items():
        setattr(obj, k, v)


def _lif_group(n: int, model: LIF, name: str, *, adaptive: bool, extra: list[str] = (),
               extra_params: dict[str, Any] | None = None, namespace: dict[str, Any] | None = None):
    from brian2 import NeuronGroup

    params = dict(**(extra_params or {}), C_m=model.C_m, g_L=model.g_L, E_L=model.E_L, V_th=model.V_th, V_reset=model.V_reset,
                  tau_e=model.tau_e, tau_i=model.tau_i, E_e=model.E_e, E_i=model.E_i)
    eqs = [
        "dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v))/C_m : volt (unless refractory)",
        "dg_e/dt = -g_e/tau_e : siemens",
        "dg_i/dt = -g_i/tau_i : siemens",
        *extra,
    ]
    threshold, reset = "v > V_th", ["v = V_reset"]
    if adaptive:
        a = model.adaptation
        params.update(theta_plus=a.theta_plus, tau_theta=a.tau_theta)
        eqs += ["dtheta/dt = -plastic*theta/tau_theta : volt", "plastic : 1 (shared)"]
        threshold = "v > V_th + theta"
        reset.append("theta += plastic*theta_plus")
    g = NeuronGroup(n, "\n".join(eqs + _declare(params)), threshold=threshold, reset="\n".join(reset),
                    refractory=model.t_ref, method="exponential_euler", name=name, namespace=dict(namespace or {}))
    _set(g, params)
    g.v = model.E_L
    return g


def _stdp_code(rule) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Equations, on_pre and on_post statements of the gated rule, tracking ``wsum_post``."""
    if isinstance(rule, TripletSTDP):
        eqs = ["dr1/dt = -r1/tau_plus : 1 (event-driven)", "do1/dt = -o1/tau_minus : 1 (event-driven)",
               "do2/dt = -o2/tau_y : 1 (event-driven)"]
        params = dict(tau_plus=rule.tau_plus, tau_minus=rule.tau_minus, tau_y=rule.tau_y, A2_plus=rule.A2_plus,
                      A3_plus=rule.A3_plus, A2_minus=rule.A2_minus, w_min=rule.w_min, w_max=rule.w_max)
        dep, pot = "o1*A2_minus", "r1*(A2_plus + A3_plus*o2)"
        pre_trace, post_trace = ["r1 = 1"], ["o1 = 1", "o2 = 1"]
    else:
        eqs = ["dapre/dt = -apre/tau_plus : 1 (event-driven)", "dapost/dt = -apost/tau_minus : 1 (event-driven)"]
        params = dict(tau_plus=rule.tau_plus, tau_minus=rule.tau_minus, A_plus=rule.A_plus, A_minus=rule.A_minus,
                      w_min=rule.w_min, w_max=rule.w_max)
        op = "=" if isinstance(rule, NearestSTDP) else "+="
        dep, pot = "A_minus*apost", "A_plus*apre"
        pre_trace, post_trace = [f"apre {op} 1"], [f"apost {op} 1"]
    on_pre = [f"dw = clip(w - plastic_post*{dep}, w_min, w_max) - w", "w += dw", "wsum_post += dw", *pre_trace]
    on_post = [f"dw = clip(w + plastic_post*{pot}, w_min, w_max) - w", "w += dw", "wsum_post += dw", *post_trace]
    return eqs, on_pre, on_post, params


@dataclass
class BuiltClassifier:
    net: Any
    inp: Any
    exc: Any
    inh: Any
    syn: Any
    exc_spikes: Any
    objects: dict[str, Any]


def build_classifier(cfg: DiehlCook, n_input: int, *, schedule: Schedule | None = None, seed: int = 0,
                     w_init: np.ndarray | None = None, theta_init: np.ndarray | None = None) -> BuiltClassifier:
    """Create the Brian2 objects under the active device (inside :func:`bioplaus.backends.session`).

    With a ``schedule`` the input and the ``plastic`` flag follow it (one run covers it all);
    without one the input rates are a variable ``inp.rate`` set from Python (:func:`train_loop`)
    and ``plastic`` stays 1.
    """
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock

    defaultclock.dt = cfg.dt
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xDC]))
    objects: dict[str, Any] = {}
    learn = None
    if schedule is not None:
        fns = schedule_functions(schedule, cfg.present, cfg.rest, cfg.dt)
        learn = fns["learn"]
        objects.update(fns)
        inp = NeuronGroup(n_input, INPUT_RATE + "\nmax_rate : Hz (shared, constant)", threshold="rand() < rate*dt",
                          namespace={k: fns[k] for k in ("pixels", "order", "gate")}, name="input")
        inp.max_rate = cfg.max_rate
    else:
        inp = NeuronGroup(n_input, "rate : Hz", threshold="rand() < rate*dt", name="input")
    exc = _lif_group(cfg.n_exc, cfg.exc_model(), "exc", adaptive=True, extra=["wsum : 1"],
                     extra_params={"norm_total": cfg.norm_total}, namespace={"learn": learn} if learn is not None else None)
    inh = _lif_group(cfg.n_exc, cfg.inh_model(), "inh", adaptive=False)
    exc.plastic = 1.0

    rule = cfg.stdp_rule()
    eqs, on_pre, on_post, params = _stdp_code(rule)
    params["input_weight"] = cfg.input_weight
    syn = Synapses(inp, exc, "\n".join(["w : 1", *eqs, *_declare(params)]),
                   on_pre="\n".join(["g_e_post += input_weight*w", *on_pre]), on_post="\n".join(on_post),
                   method="exact", name="input_exc")
    ii, jj = np.meshgrid(np.arange(n_input), np.arange(cfg.n_exc), indexing="ij")
    syn.connect(i=ii.ravel().astype(np.int32), j=jj.ravel().astype(np.int32))
    _set(syn, params)
    if w_init is None:
        W = rng.uniform(cfg.w_init[0], cfg.w_init[1], size=(n_input, cfg.n_exc))
    else:
        W = np.asarray(w_init, dtype=float).reshape(n_input, cfg.n_exc)
    syn.w = W.ravel()
    exc.wsum = W.sum(axis=0)
    if theta_init is not None:
        exc.theta = np.asarray(theta_init, dtype=float) * volt

    ei = Synapses(exc, inh, "w_ei : siemens (shared, constant)", on_pre="g_e_post += w_ei", name="exc_inh")
    ei.connect(j="i")
    ei.w_ei = cfg.w_ei
    ie = Synapses(inh, exc, "w_ie : siemens (shared, constant)", on_pre="g_i_post += w_ie", name="inh_exc")
    ie.connect(condition="i != j")
    ie.w_ie = cfg.w_ie

    # normalisation at the start of every window, then the tracked sums are reset exactly
    syn.run_regularly("w = w*norm_total_post/wsum_post", dt=cfg.window, when="start", order=1, name="normalise")
    exc.run_regularly("wsum = norm_total", dt=cfg.window, when="start", order=2, name="normalise_sum")
    if learn is not None:
        exc.run_regularly("plastic = learn(t)", dt=learn.dt * second, when="start", order=0,
                          name="plasticity_switch")

    mon = SpikeMonitor(exc, name="exc_spikes")
    objects.update(ei=ei, ie=ie, mon=mon)
    net = Network(inp, exc, inh, syn, ei, ie, mon, name="stdp_classifier")
    return BuiltClassifier(net=net, inp=inp, exc=exc, inh=inh, syn=syn, exc_spikes=mon, objects=objects)


# ---------------------------------------------------------------------- read-out

def window_counts(spike_t: np.ndarray, spike_i: np.ndarray, window: float, n_windows: int, n: int,
                  start: int = 0) -> np.ndarray:
    """Spike counts ``(n_windows, n)`` per window of length ``window`` (seconds), from window ``start``."""
    k = np.floor(np.asarray(spike_t) / window + 1e-9).astype(np.int64) - start
    keep = (k >= 0) & (k < n_windows)
    out = np.zeros((n_windows, n), dtype=np.int64)
    np.add.at(out, (k[keep], np.asarray(spike_i)[keep]), 1)
    return out


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Label each neuron with the class of highest mean response (Diehl & Cook 2015).

    ``counts``: ``(n_samples, n_neurons)`` spike counts; ``labels``: ``(n_samples,)``.
    Returns ``(n_neurons,)`` class indices, ``-1`` for neurons that never fired.

    >>> assign_labels(np.array([[3, 0], [0, 1], [2, 0]]), np.array([0, 1, 0]), 2).tolist()
    [0, 1]
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels, dtype=int)
    rates = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        sel = labels == c
        if sel.any():
            rates[c] = counts[sel].mean(axis=0)
    out = np.argmax(rates, axis=0)
    out[rates.max(axis=0) <= 0] = -1
    return out


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int) -> np.ndarray:
    """Class whose assigned neurons fire most on average; ``-1`` for a sample without spikes.

    >>> predict(np.array([[0, 4, 1], [5, 0, 0], [0, 0, 0]]), np.array([0, 1, 1]), 2).tolist()
    [1, 0, -1]
    """
    counts = np.asarray(counts, dtype=float)
    assignments = np.asarray(assignments)
    scores = np.full((counts.shape[0], n_classes), -np.inf)
    for c in range(n_classes):
        sel = assignments == c
        if sel.any():
            scores[:, c] = counts[:, sel].mean(axis=1)
    pred = np.argmax(scores, axis=1)
    pred[counts.sum(axis=1) == 0] = -1
    return pred


def running_accuracy(counts: np.ndarray, labels: np.ndarray, n_classes: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy during training: block ``b`` is classified with labels assigned on block ``b-1``.

    Returns ``(samples_seen, accuracy)`` per block (from the second block on), as the
    performance curve of Diehl & Cook's code.
    """
    n = len(labels)
    seen, acc = [], []
    for start in range(block, n - block + 1, block):
        a = assign_labels(counts[start - block:start], labels[start - block:start], n_classes)
        p = predict(counts[start:start + block], a, n_classes)
        seen.append(start + block)
        acc.append(float(np.mean(p == labels[start:start + block])))
    return np.array(seen), np.array(acc)


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

    def phase_labels(self, phase: str) -> np.ndarray:
        return self.schedule.phase_labels(phase)


def run_classifier(cfg: DiehlCook, schedule: Schedule, backend: str = "cpp", *, seed: int = 0,
                   threads: int | None = None, directory=None, report: str | None = None,
                   duration=None) -> ClassifierRun:
    """Build the network for ``schedule`` on ``backend`` and run the whole schedule as one run.

    ``duration`` (default: the whole schedule) runs only the beginning, e.g. to compile the
    Cython code before a timed run.
    """
    import brian2

    from ..backends import session

    n_input = schedule.n_input
    with session(backend, directory=directory, threads=threads, seed=seed) as s, quiet_order_warnings():
        t0 = time.perf_counter()
        b = build_classifier(cfg, n_input, schedule=schedule, seed=seed)
        t1 = time.perf_counter()
        b.net.run(len(schedule) * cfg.window if duration is None else duration, report=report)
        t2 = time.perf_counter()
        s.finish()
        t3 = time.perf_counter()
        timings = {"build_objects_s": t1 - t0, "total_s": t3 - t0}
        if s.standalone:
            timers = brian2.device.timers
            timings["compile_s"] = float(timers["compile"].get("make") or 0.0)
            timings["run_s"] = float(timers.get("run_binary") or 0.0)
            timings["codegen_compile_run_s"] = t3 - t2
        else:
            timings["run_s"] = t2 - t1
        W = np.array(b.syn.w[:]).reshape(n_input, cfg.n_exc)
        theta = np.array(b.exc.theta[:])
        st, si = np.array(b.exc_spikes.t[:] / second), np.array(b.exc_spikes.i[:])
    window = float(cfg.window)
    counts = {name: window_counts(st, si, window, sl.stop - sl.start, cfg.n_exc, start=sl.start)
              for name, sl in schedule.phases.items()}
    return ClassifierRun(cfg, schedule, W, theta, st, si, counts, timings)


def train_loop(cfg: DiehlCook, x: np.ndarray, backend: str = "cython", *, seed: int = 0,
               warmup: int = 1) -> dict[str, Any]:
    """Train on ``x`` the way Brian2's port of Diehl & Cook's code does: a Python loop of runs.

    Per sample: set the input rates, ``run(present)``, set them to zero, ``run(rest)``. Same
    equations and objects as :func:`build_classifier` (normalisation included); the first
    ``warmup`` samples (code generation and compilation) are timed separately.
    """
    from ..backends import session

    if backend in ("cpp", "cuda"):
        raise ConfigError("backend", backend, "a runtime backend (numpy or cython) for the Python loop")
    x = np.asarray(x, dtype=float)
    with session(backend, seed=seed) as s, quiet_order_warnings():
        b = build_classifier(cfg, x.shape[1], schedule=None, seed=seed)
        times = []
        for k, row in enumerate(x):
            t0 = time.perf_counter()
            b.inp.rate = np.clip(row, 0, None) * cfg.max_rate
            b.net.run(cfg.present)
            b.inp.rate = 0 * Hz
            if float(cfg.rest) > 0:
                b.net.run(cfg.rest)
            times.append(time.perf_counter() - t0)
        W = np.array(b.syn.w[:]).reshape(x.shape[1], cfg.n_exc)
        theta = np.array(b.exc.theta[:])
        n_spikes = int(b.exc_spikes.num_spikes)
    steady = times[warmup:] if len(times) > warmup else times
    return {"weights": W, "theta": theta, "warmup_s": float(sum(times[:warmup])), "run_s": float(sum(steady)),
            "n_timed": len(steady), "samples_per_s": len(steady) / max(sum(steady), 1e-12), "n_spikes": n_spikes}
