r"""Credit assignment as spec vocabulary: error populations, feedback pathways, error-driven rules.

A network that learns from an error is described with the same inert objects as any
other (:class:`~bioplaus.spec.network.Population`, :class:`~bioplaus.spec.network.Projection`)
plus three kinds of declaration from this module; :mod:`bioplaus.build.feedback` wires
them into Brian2 objects from the declarations alone (no code per network).

Error population (:class:`RateError`)
    A population of ``n_out`` units that compares the network's ``output`` population
    with a ``target`` population driven from data (e.g. a
    :class:`~bioplaus.spec.neurons.SampleSequence` of one-hot labels):

    .. math:: e_k = p_k - t_k, \qquad p = y\ (\text{MSE}) \quad\text{or}\quad
              p_k = e^{y_k} / \textstyle\sum_m e^{y_m}\ (\text{softmax cross-entropy})

    with :math:`y` the rates of ``output``. The error returns one-to-one into the error
    compartment of ``output`` (:math:`\delta_L = e`). Variables: ``p``, ``error`` (:math:`e`), ``target``.

Error compartment
    Every rate population that receives an error (the ``output`` of an error population,
    or the ``post`` of a :class:`Feedback`) gets a second compartment beside its rate:

    .. math:: \delta_j = f'(u_j)\,\textstyle\sum_{\text{feedback } F \to j} I^{F}_j

    (``delta``, recordable), with :math:`f'` written through the rate
    (:math:`\tanh' = 1 - r^2`, :math:`\sigma' = r(1 - r)`, :math:`\mathrm{relu}' = [r > 0]`,
    linear: 1) times the unit's ``gain``.

Feedback (:class:`Feedback`)
    Carries the error of ``pre`` (its ``delta``, or ``error`` of an error population) into
    the error compartment of ``post``, :math:`I^F_j = \sum_k B_{kj}\,\delta^{pre}_k`,
    through a matrix chosen by ``weights``:

    * :class:`FixedFeedback` — a given matrix ``(n_pre, n_post)``, e.g. the reference's
      :math:`B_l^\top`; :class:`RandomFeedback` — drawn from the network seed.
      Layer by layer from the next layer: feedback alignment (Lillicrap et al. 2016);
      from the error population straight to a hidden layer: direct feedback alignment
      (Nøkland 2016).
    * :class:`Transposed` ``(of=projection)`` — the current forward weights of the
      projection ``post -> pre``, :math:`B = W^\top`: backpropagation as dynamics, the
      control that must equal BP.
    * :class:`SignOf` ``(of=projection)`` — :math:`B = s\,\mathrm{sign}(W)^\top`, following
      the forward weights as they learn (Liao et al. 2016).
    * Feedback weights that learn are a ``weights`` object of their own kind with a plastic
      update; the shape of :class:`Feedback` does not change. :class:`KolenPollack`
      ``(of=projection)`` — the update of the forward projection, transposed (Kolen &
      Pollack 1994); :class:`WeightMirror` ``(of=projection)`` — Hebbian learning from
      noise sent through the forward weights in the rest steps, the mirror mode of
      Akrout et al. (2019).

Error-driven rule (:class:`ErrorDriven`)
    A plastic forward projection ``pre -> post`` whose update is presynaptic activity ×
    postsynaptic error compartment (which already holds the local derivative):

    .. math:: \Delta W_{ji} = -\eta\,(\delta_j\, r_i + \lambda W_{ji})

    with momentum :math:`\mu` (:math:`v \leftarrow \mu v + \Delta`, :math:`W \leftarrow W + v`)
    and mini-batches, applied in gated learning windows (:class:`UpdateSchedule`: learn
    at the last step of a presentation, not during rest). It declares
    ``requires = {"error"}``: its ``post`` must have an error compartment, which
    :class:`~bioplaus.spec.network.NetworkSpec` checks. A bias is an ``ErrorDriven``
    projection from a unit of constant rate 1 (``RateUnit(tau=None, bias=1.0)``) with
    ``weight_decay=0``.

Example: a 2-3-2 network trained by feedback alignment on one sample (the recipe
:func:`bioplaus.networks.fa_rate.fa_rate_spec` writes the general case):

>>> from bioplaus.spec import NetworkSpec, Population, Projection, RateUnit, SampleSequence
>>> from bioplaus.spec.credit import ErrorDriven, Feedback, FixedFeedback, RateError, UpdateSchedule
>>> upd = UpdateSchedule(present="1 ms", weights=[1.0])
>>> net = NetworkSpec(
...     [Population("x", SampleSequence([[1.0, 0.5]], present="1 ms")),
...      Population("h", RateUnit(tau=None, transfer="tanh"), 3),
...      Population("y", RateUnit(tau=None), 2),
...      Population("t", SampleSequence([[1.0, 0.0]], present="1 ms")),
...      Population("err", RateError(output="y", target="t"), 2)],
...     [Projection("W1", "x", "h", rule=ErrorDriven(eta=0.1, updates=upd), w_init=0.3),
...      Projection("W2", "h", "y", rule=ErrorDriven(eta=0.1, updates=upd), w_init=0.2)],
...     feedback=[Feedback("B1", "y", "h", FixedFeedback([[0.5, -0.5, 0.1], [0.2, 0.3, -0.4]]))],
...     dt="1 ms", duration="1 ms")
>>> from bioplaus.simulation import simulate
>>> simulate(net)["W2.w"].round(4).tolist()[:2]
[0.2315, 0.1893]

A rule that needs an error where none arrives is reported before anything is built:

>>> NetworkSpec(net.populations, net.projections, dt="1 ms")   # no feedback into h
Traceback (most recent call last):
...
bioplaus.errors.ConfigError: projections.W1.post = 'h': expected a population with an error compartment (the output of a RateError population or the post of a Feedback) for rule ErrorDriven (requires={'error'})
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, did_you_mean
from .neurons import InputModel, NeuronModel
from .params import Spec, choice, integer, number, param, quantity, set_field
from .rules import Rule, register_rule

__all__ = ["LOSSES", "RateError", "UpdateSchedule", "ErrorDriven", "Feedback", "FeedbackWeights", "FixedFeedback",
           "RandomFeedback", "Transposed", "SignOf", "KolenPollack", "WeightMirror", "check_credit", "error_sources",
           "NormalizedLIF", "SpikingError", "LabelInput", "ErrorTriggered", "SampleRates"]

#: losses an error population can form (as the comparison harness names them)
LOSSES = ("mse", "cross_entropy")


def _ms():
    from brian2 import ms

    return ms


def _name(owner: str, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise ConfigError(f"{owner}.{field}", value, "the name of a population")
    return value


# --------------------------------------------------------------------------- error populations

@dataclass(frozen=True)
class RateError(NeuronModel):
    r"""Error units :math:`e = p(\text{output}) - \text{target}` of a rate network (see the module docstring).

    Parameters
    ----------
    output : str
        The population whose rates are the network's output (same size).
    target : str
        A rate population (usually a ``SampleSequence``) holding the target of each sample.
    loss : {"mse", "cross_entropy"}
        ``mse``: :math:`p = y`; ``cross_entropy``: :math:`p = \mathrm{softmax}(y)`, formed by
        all-to-all normalisation synapses from ``output``.
    tau : quantity or None
        ``None``: the error settles within the time step (data-flow order); otherwise
        :math:`\tau \dot e = p - t - e`.
    """

    kind: ClassVar[str] = "rate"
    _probeable: ClassVar[tuple[str, ...]] = ("p", "error", "target")
    output: str = "out"
    target: str = "target"
    loss: str = "mse"
    tau: Any = None

    def __post_init__(self):
        n = "RateError"
        set_field(self, "output", _name(n, "output", self.output))
        set_field(self, "target", _name(n, "target", self.target))
        set_field(self, "loss", choice(n, "loss", self.loss, LOSSES))
        set_field(self, "tau", quantity(n, "tau", self.tau, _ms(), positive=True, allow_none=True))

    def receptor_unit(self):
        return None


@dataclass(frozen=True)
class SpikingError(NeuronModel):
    r"""Signed spiking error: ``2 n`` integrate-and-fire error neurons ``E+`` (units ``0..n-1``) and ``E-``.

    ``output_k`` excites ``E+_k`` and inhibits ``E-_k`` by ``w_err``; ``target_k`` does the
    opposite. With :math:`\tau_{err} \dot v = -v`, a spike at :math:`v > 1` with subtractive
    reset (:math:`v \leftarrow v - 1`) and a floor at ``floor``, ``E+_k`` fires at about
    :math:`[\nu^{out}_k - \nu^{target}_k]_+` and ``E-_k`` at :math:`[\nu^{target}_k - \nu^{out}_k]_+`
    (Neftci et al. 2017). The error returns into the dendritic compartment ``U`` of ``output``:
    ``+u_inc`` per ``E+_k`` spike and ``-u_inc`` per ``E-_k`` spike onto output ``k``, with
    :math:`\tau_U \dot U = -U` (``tau_U``).
    """

    kind: ClassVar[str] = "spike"
    _probeable: ClassVar[tuple[str, ...]] = ("v",)
    output: str = "output"
    target: str = "label"
    w_err: Any = 0.5
    tau_err: Any = "50 ms"
    floor: Any = -1.0
    u_inc: Any = 0.5
    tau_U: Any = "20 ms"

    def __post_init__(self):
        n = "SpikingError"
        set_field(self, "output", _name(n, "output", self.output))
        set_field(self, "target", _name(n, "target", self.target))
        set_field(self, "w_err", number(n, "w_err", self.w_err, positive=True))
        set_field(self, "u_inc", number(n, "u_inc", self.u_inc, positive=True))
        set_field(self, "floor", number(n, "floor", self.floor, high=0.0))
        for f in ("tau_err", "tau_U"):
            set_field(self, f, quantity(n, f, getattr(self, f), _ms(), positive=True))

    def receptor_unit(self):
        return 1.0


@dataclass(frozen=True)
class NormalizedLIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron in units of its threshold (Neftci et al. 2017).

    .. math:: \tau_m \dot v = -v \quad (\text{not during } t_{ref}), \qquad v > 1:\ \text{spike},\ v \leftarrow 0

    An incoming spike adds ``weight_scale * w`` to :math:`v` directly (dimensionless weights).
    """

    kind: ClassVar[str] = "spike"
    _probeable: ClassVar[tuple[str, ...]] = ("v", "U")
    #: what a spike arriving at receptor ``exc``/``inh`` increments
    receptors: ClassVar[dict[str, str]] = {"exc": "v", "inh": "v"}
    tau_m: Any = "20 ms"
    t_ref: Any = "2 ms"

    def __post_init__(self):
        set_field(self, "tau_m", quantity("NormalizedLIF", "tau_m", self.tau_m, _ms(), positive=True))
        set_field(self, "t_ref", quantity("NormalizedLIF", "t_ref", self.t_ref, _ms(), nonnegative=True))

    def receptor_unit(self):
        return 1.0


@dataclass(frozen=True, eq=False)
class LabelInput(InputModel):
    r"""Target spikes of a protocol run: unit ``k`` fires Poisson spikes at ``rate`` while a sample of
    class ``k`` is presented (the network's :class:`~bioplaus.spec.protocol.Protocol` holds the labels)."""

    rate: Any = "100 Hz"
    n: int = 10

    def __post_init__(self):
        from brian2 import Hz

        set_field(self, "rate", quantity("LabelInput", "rate", self.rate, Hz, positive=True))
        set_field(self, "n", integer("LabelInput", "n", self.n, minimum=1))

    def size(self) -> int:
        return int(self.n)

    @property
    def probeable(self) -> tuple[str, ...]:
        return ("rate",)


@dataclass(frozen=True, eq=False)
class SampleRates(InputModel):
    """Rate input (or target) driven from data: window ``k`` shows ``samples[order[k]]`` for ``present``,
    then zeros for ``rest``.

    The samples are stored once and indexed per window (epochs of a large data set cost one
    index per window, not a copy of each sample), and each unit's rate ``r`` is set once per
    time step, before the groups are updated, so synapses read a stored value.
    """

    samples: Any = ((0.0,),)
    order: Any = (0,)
    present: Any = "1 ms"
    rest: Any = "0 ms"

    kind: ClassVar[str] = "rate"

    def __post_init__(self):
        n = "SampleRates"
        x = np.array(self.samples, dtype=float)
        if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
            raise ConfigError(f"{n}.samples", f"array of shape {x.shape}", "a finite 2-d array (n_samples, n_units)")
        x.setflags(write=False)
        set_field(self, "samples", x)
        o = np.asarray(self.order)
        if o.ndim != 1 or o.size == 0 or (o.dtype.kind not in "iu"):
            raise ConfigError(f"{n}.order", self.order if o.size < 8 else f"{o.size} values",
                              "a non-empty list of integer sample indices")
        if o.min() < 0 or o.max() >= len(x):
            raise ConfigError(f"{n}.order", int(o.max() if o.max() >= len(x) else o.min()),
                              f"sample indices in [0, {len(x)})")
        o = o.astype(np.int64)
        o.setflags(write=False)
        set_field(self, "order", o)
        set_field(self, "present", quantity(n, "present", self.present, _ms(), positive=True))
        set_field(self, "rest", quantity(n, "rest", self.rest, _ms(), nonnegative=True))

    def size(self) -> int:
        return int(self.samples.shape[1])

    @property
    def probeable(self) -> tuple[str, ...]:
        return ("r",)


# --------------------------------------------------------------------------- learning windows

@dataclass(frozen=True, eq=False)
class UpdateSchedule(Spec):
    r"""Gated learning windows: when an error-driven update happens and with what weight.

    Window ``k`` lasts ``present + rest``; its update happens at the last time step of
    ``present`` with weight ``weights[k]`` (0: no learning, e.g. a test phase; ``1/m`` for a
    member of a mini-batch of ``m``). With ``apply`` given, updates are accumulated per
    synapse and applied where ``apply[k] = 1`` (the batch's last window); without it,
    each update applies at once (online learning).

    >>> s = UpdateSchedule.batches([[2, 0, 1]], batch_size=2, present="2 ms")
    >>> s.weights.tolist(), s.apply.tolist()
    ([0.5, 0.5, 1.0], [0.0, 1.0, 1.0])
    """

    present: Any = "1 ms"
    rest: Any = "0 ms"
    weights: Any = (1.0,)
    apply: Any = None

    def __post_init__(self):
        n = "UpdateSchedule"
        set_field(self, "present", quantity(n, "present", self.present, _ms(), positive=True))
        set_field(self, "rest", quantity(n, "rest", self.rest, _ms(), nonnegative=True))
        w = np.array(self.weights, dtype=float).ravel()
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ConfigError(f"{n}.weights", self.weights if w.size < 8 else f"{w.size} values",
                              "one finite weight >= 0 per window")
        w.setflags(write=False)
        set_field(self, "weights", w)
        if self.apply is not None:
            a = np.array(self.apply, dtype=float).ravel()
            if a.shape != w.shape or not np.all((a == 0) | (a == 1)):
                raise ConfigError(f"{n}.apply", self.apply if a.size < 8 else f"{a.size} values",
                                  f"one 0/1 flag per window ({w.size})")
            a.setflags(write=False)
            set_field(self, "apply", a)

    @classmethod
    def batches(cls, orders, batch_size: int = 1, present: Any = "1 ms", rest: Any = "0 ms") -> "UpdateSchedule":
        r"""Mini-batches of ``batch_size`` consecutive windows within each epoch of ``orders``.

        As :class:`bioplaus.reference.credit.NumpyLearner` forms them: the last batch of an
        epoch may be shorter; each member weighs ``1/len(batch)``.
        """
        bs = integer("UpdateSchedule", "batch_size", batch_size, minimum=1)
        lw, ap = [], []
        for o in orders:
            n = len(o)
            for start in range(0, n, bs):
                m = min(bs, n - start)
                lw += [1.0 / m] * m
                ap += [0.0] * (m - 1) + [1.0]
        return cls(present=present, rest=rest, weights=lw, apply=None if bs == 1 else ap)

    @property
    def window(self):
        return self.present + self.rest

    @property
    def n_windows(self) -> int:
        return int(self.weights.size)

    @property
    def batched(self) -> bool:
        return self.apply is not None


# --------------------------------------------------------------------------- rules

@register_rule("error_driven")
@dataclass(frozen=True, eq=False)
class ErrorDriven(Rule):
    r"""Presynaptic rate × postsynaptic error compartment (see the module docstring).

    .. math:: \Delta W_{ji} = -\eta\,(\delta_j\, r_i + \lambda W_{ji})

    Parameters
    ----------
    eta : float
        Learning rate :math:`\eta` per update.
    momentum : float
        :math:`\mu` in [0, 0.999].
    weight_decay : float
        :math:`\lambda` (0 for biases, as :class:`bioplaus.reference.mlp.SGD`).
    updates : UpdateSchedule or None
        Gated learning windows; ``None``: an update with weight 1 at every time step.
    """

    kind: ClassVar[str] = "rate"
    requires: ClassVar[frozenset[str]] = frozenset({"error"})
    probeable: ClassVar[tuple[str, ...]] = ("w",)
    eta: Any = 0.05
    momentum: Any = 0.0
    weight_decay: Any = 0.0
    updates: Any = None

    def __post_init__(self):
        n = "ErrorDriven"
        set_field(self, "eta", number(n, "eta", self.eta, positive=True))
        set_field(self, "momentum", number(n, "momentum", self.momentum, low=0.0, high=0.999))
        set_field(self, "weight_decay", number(n, "weight_decay", self.weight_decay, nonnegative=True))
        if self.updates is not None and not isinstance(self.updates, UpdateSchedule):
            raise ConfigError(f"{n}.updates", self.updates, "an UpdateSchedule or None")


@register_rule("error_triggered")
@dataclass(frozen=True, eq=False)
class ErrorTriggered(Rule):
    r"""Spike-triggered error-driven update (eRBP, Neftci et al. 2017), at every presynaptic spike:

    .. math:: w \leftarrow \operatorname{clip}\big(w - \eta\, U_j\,
              \mathbb{1}[b_{low} < v_j < b_{high}],\ -w_{max}, w_{max}\big)

    :math:`U_j` is the postsynaptic dendritic (error) compartment; the boxcar on the membrane
    potential is the surrogate derivative (``lower_gate=False``: gated from above only). Under a
    :class:`~bioplaus.spec.protocol.Protocol` the step is scaled by the window's learning factor
    ``plastic``. The update reads :math:`v_j` before the spike's own transmission.
    """

    kind: ClassVar[str] = "spike"
    requires: ClassVar[frozenset[str]] = frozenset({"error"})
    probeable: ClassVar[tuple[str, ...]] = ("w",)
    eta: Any = 1e-3
    b_low: Any = -0.5
    b_high: Any = 1.0
    w_max: Any = 1.0
    lower_gate: bool = True

    def __post_init__(self):
        n = "ErrorTriggered"
        set_field(self, "eta", number(n, "eta", self.eta, nonnegative=True))
        for f in ("b_low", "b_high"):   # in the unit of the postsynaptic v: a number, or e.g. '-60 mV'
            v = getattr(self, f)
            if isinstance(v, str) or hasattr(v, "dim"):
                from brian2 import mV

                parsed = quantity(n, f, v, mV) if (isinstance(v, str) and not v.strip().lstrip("+-").replace(
                    ".", "", 1).replace("e-", "", 1).isdigit()) or hasattr(v, "dim") else number(n, f, v)
                set_field(self, f, parsed)
            else:
                set_field(self, f, number(n, f, v))
        set_field(self, "w_max", number(n, "w_max", self.w_max, positive=True))
        if hasattr(self.b_low, "dim") != hasattr(self.b_high, "dim"):
            raise ConfigError(f"{n}.b_high", str(self.b_high), f"the unit of b_low = {self.b_low}")
        if not self.b_high > self.b_low:
            raise ConfigError(f"{n}.b_high", self.b_high, f"a value above b_low = {self.b_low}")
        if not isinstance(self.lower_gate, bool):
            raise ConfigError(f"{n}.lower_gate", self.lower_gate, "true or false")


# --------------------------------------------------------------------------- feedback

class FeedbackWeights(Spec):
    r"""Base of the matrices a :class:`Feedback` carries the error through."""


@dataclass(frozen=True, eq=False)
class FixedFeedback(FeedbackWeights):
    r"""A fixed matrix ``(n_pre, n_post)`` of the feedback (``pre`` = error side)."""

    matrix: Any = ((0.0,),)
    scale: Any = 1.0

    def __post_init__(self):
        try:
            m = np.array(self.matrix, dtype=float)
        except (TypeError, ValueError):
            raise ConfigError("FixedFeedback.matrix", self.matrix, "a numeric matrix (n_pre, n_post)") from None
        if m.ndim != 2 or not np.all(np.isfinite(m)):
            raise ConfigError("FixedFeedback.matrix", f"array of shape {m.shape}", "a finite 2-d matrix (n_pre, n_post)")
        m.setflags(write=False)
        set_field(self, "matrix", m)
        set_field(self, "scale", number("FixedFeedback", "scale", self.scale))


@dataclass(frozen=True)
class RandomFeedback(FeedbackWeights):
    r"""Fixed random weights drawn once from the network seed: ``normal`` :math:`\mathcal{N}(0, s^2)`
    or ``uniform`` on :math:`[-s, s]`, with :math:`s` = ``scale`` / sqrt(n_pre) unless ``scale_by_fan_in`` is false."""

    scale: Any = 1.0
    distribution: str = "uniform"
    scale_by_fan_in: bool = True

    def __post_init__(self):
        set_field(self, "scale", number("RandomFeedback", "scale", self.scale, positive=True))
        set_field(self, "distribution", choice("RandomFeedback", "distribution", self.distribution,
                                               ("normal", "uniform")))
        if not isinstance(self.scale_by_fan_in, bool):
            raise ConfigError("RandomFeedback.scale_by_fan_in", self.scale_by_fan_in, "true or false")

    def draw(self, rng: np.random.Generator, n_pre: int, n_post: int) -> np.ndarray:
        s = self.scale / (np.sqrt(n_pre) if self.scale_by_fan_in else 1.0)
        if self.distribution == "normal":
            return rng.normal(0.0, s, size=(n_pre, n_post))
        return rng.uniform(-s, s, size=(n_pre, n_post))


@dataclass(frozen=True)
class Transposed(FeedbackWeights):
    r"""The current weights of forward projection ``of`` (``post -> pre`` of the feedback), transposed:
    exact backpropagation as dynamics."""

    of: str = ""

    def __post_init__(self):
        if not isinstance(self.of, str) or not self.of.isidentifier():
            raise ConfigError(f"{type(self).__name__}.of", self.of, "the name of a forward projection")


@dataclass(frozen=True)
class SignOf(Transposed):
    r""":math:`s\,\mathrm{sign}(W)^\top` of forward projection ``of``: sign-symmetric feedback (Liao et al. 2016)."""

    scale: Any = 1.0

    def __post_init__(self):
        super().__post_init__()
        set_field(self, "scale", number("SignOf", "scale", self.scale, positive=True))


@dataclass(frozen=True, eq=False)
class KolenPollack(FeedbackWeights):
    r"""Feedback weights that learn: the update of forward projection ``of``, transposed (Kolen & Pollack 1994).

    Starts from ``initial`` (a :class:`FixedFeedback` or :class:`RandomFeedback`) and learns by
    the :class:`ErrorDriven` rule of ``of`` (same learning rate, momentum, weight decay,
    batches and learning windows), with the activities at its own two ends: for the feedback
    synapse from unit :math:`k` of the error side to unit :math:`j`,

    .. math:: \Delta B_{kj} = -\eta\,(\delta_k\, r_j + \lambda B_{kj}),

    which is exactly :math:`\Delta W_{kj}` of the forward synapse :math:`j \to k`. The difference
    :math:`W - B` then only decays, :math:`\Delta(W - B) = -\eta\lambda(W - B)`, so with weight
    decay :math:`\lambda > 0` the feedback comes to mirror the forward weights and the error
    routing turns into backpropagation (Akrout et al. 2019 call it the Kolen–Pollack method).
    """

    of: str = ""
    initial: Any = None

    def __post_init__(self):
        if not isinstance(self.of, str) or not self.of.isidentifier():
            raise ConfigError("KolenPollack.of", self.of, "the name of a forward projection with an ErrorDriven rule")
        w = RandomFeedback() if self.initial is None else self.initial
        if not isinstance(w, (FixedFeedback, RandomFeedback)):
            raise ConfigError("KolenPollack.initial", self.initial, "FixedFeedback(...) or RandomFeedback(...)")
        set_field(self, "initial", w)


@dataclass(frozen=True, eq=False)
class WeightMirror(FeedbackWeights):
    r"""Feedback weights that learn by weight mirroring (Akrout et al. 2019) from noise sent through ``of``.

    The feedback runs from the error side ``pre`` (layer :math:`l+1`) to ``post`` (layer
    :math:`l`); ``of`` is the forward projection ``post -> pre`` with weights :math:`W`
    (:math:`W_{kj}`: unit :math:`j` of ``post`` to unit :math:`k` of ``pre``). In *mirror mode*,
    the rest steps of every window in which ``of`` applied an update, unit :math:`j` of ``post``
    fires noise :math:`\xi_j = \sigma\,\nu_j` (:math:`\nu` standard normal, from ``noise`` or
    drawn from the network seed), unit :math:`k` of ``pre`` receives
    :math:`a_k = \sum_j W_{kj}\,\xi_j` through the forward synapses (a variable of its own,
    ``mirror_<feedback>``, beside the forward pass), and every feedback synapse
    :math:`k \to j` learns Hebbianly from the activity at its two ends, with decay:

    .. math:: \Delta B_{kj} = \eta\,(a_k\, \xi_j - \lambda B_{kj}),
              \qquad \mathrm E[\Delta B] = \eta\,(\sigma^2 W - \lambda B),

    so :math:`B \to (\sigma^2/\lambda)\,W`: the feedback mirrors the forward weights up to a
    positive scale. One mirror step per rest step; with one rest step per window this is
    :meth:`bioplaus.reference.kolen_pollack.LearnedFeedbackLearner.mirror_step` with
    ``mirror_batch = 1`` after every training step.

    Parameters
    ----------
    of : str
        The forward projection ``post -> pre`` (with an :class:`ErrorDriven` rule and learning windows with rest).
    initial : FixedFeedback or RandomFeedback
        Starting matrix ``(n_pre, n_post)`` (default ``RandomFeedback()``).
    eta : float
        Learning rate :math:`\eta` of the feedback weights (> 0).
    decay : float
        Decay :math:`\lambda` (> 0).
    sigma : float
        Standard deviation :math:`\sigma` of the noise (> 0).
    noise : array or None
        Standard-normal draws :math:`\nu`, one row of ``n_post`` per mirror step in order
        (as many rows as mirror steps, or more); ``None``: drawn from the network seed.
    """

    of: str = ""
    initial: Any = param(None, types=(FixedFeedback, RandomFeedback), allow_none=True,
                         expected="FixedFeedback(...) or RandomFeedback(...)")
    eta: Any = param(0.02, positive=True)
    decay: Any = param(0.5, positive=True)
    sigma: Any = param(1.0, positive=True)
    noise: Any = param(None, ndim=2, allow_none=True)

    def __post_init__(self):
        if not isinstance(self.of, str) or not self.of.isidentifier():
            raise ConfigError("WeightMirror.of", self.of, "the name of a forward projection with an ErrorDriven rule")
        super().__post_init__()
        if self.initial is None:
            set_field(self, "initial", RandomFeedback())


@dataclass(frozen=True, eq=False)
class Feedback(Spec):
    r"""A feedback projection: the error of ``pre`` into the error compartment of ``post``.

    ``pre`` is a population with an error compartment (its ``delta``) or an error
    population (its ``error``); ``post`` a rate population, which thereby gets an error
    compartment. ``weights`` chooses the matrix (see the module docstring).

    Spiking: ``pre`` is a :class:`SpikingError` population and ``post`` a spiking population,
    which gets a dendritic compartment :math:`\tau \dot U = -U` (``tau``); each ``E+_k`` spike
    adds :math:`B_{kj}` to :math:`U_j` and each ``E-_k`` spike subtracts it (``FixedFeedback``
    matrix ``(n_out, n_post)``, signed).
    """

    name: str
    pre: str
    post: str
    weights: Any = None
    tau: Any = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError("Feedback.name", self.name, "an identifier")
        owner = f"feedback.{self.name}"
        set_field(self, "pre", _name(owner, "pre", self.pre))
        set_field(self, "post", _name(owner, "post", self.post))
        w = RandomFeedback() if self.weights is None else self.weights
        if not isinstance(w, FeedbackWeights):
            raise ConfigError(f"{owner}.weights", self.weights,
                              "FixedFeedback(...), RandomFeedback(...), Transposed(of=...), SignOf(of=...), "
                              "KolenPollack(of=...) or WeightMirror(of=...)")
        set_field(self, "weights", w)
        set_field(self, "tau", quantity(owner, "tau", self.tau, _ms(), positive=True, allow_none=True))


# --------------------------------------------------------------------------- graph checks

def error_sources(spec) -> dict[str, list[str]]:
    r"""For each population with an error compartment, what feeds it: feedback names and error populations."""
    out: dict[str, list[str]] = {}
    for pop in spec.populations:
        if isinstance(pop.model, (RateError, SpikingError)):
            out.setdefault(pop.model.output, []).append(pop.name)
    for fb in spec.feedback:
        out.setdefault(fb.post, []).append(fb.name)
    return out


def check_credit(spec) -> None:
    r"""Check the credit-assignment declarations of a NetworkSpec (called when it is created)."""
    pops = {p.name: p for p in spec.populations}
    projs = {p.name: p for p in spec.projections}

    def need_pop(owner: str, field: str, name: str):
        if name not in pops:
            raise ConfigError(f"{owner}.{field}", name, "the name of a population: " + ", ".join(pops)
                              + did_you_mean(name, pops))
        return pops[name]

    for pop in spec.populations:
        m = pop.model
        if not isinstance(m, (RateError, SpikingError)):
            continue
        owner = f"populations.{pop.name}.model"
        kind, n = ("rate", pop.size) if isinstance(m, RateError) else ("spike", pop.size // 2)
        if kind == "spike" and pop.size % 2:
            raise ConfigError(f"populations.{pop.name}.size", pop.size, "an even number (E+ and E- units per output)")
        for field in ("output", "target"):
            other = need_pop(owner, field, getattr(m, field))
            if other.kind != kind or other.size != n:
                raise ConfigError(f"{owner}.{field}", other.name, f"a {kind}-based population of {n} units "
                                  f"(population {other.name!r}: {other.kind}-based, {other.size} units)")
        if pops[m.output].is_input:
            raise ConfigError(f"{owner}.output", m.output, "a neuron population (not an input)")
    with_error = error_sources(spec)
    for fb in spec.feedback:
        owner = f"feedback.{fb.name}"
        pre, post = need_pop(owner, "pre", fb.pre), need_pop(owner, "post", fb.post)
        if post.is_input or isinstance(post.model, (RateError, SpikingError)):
            raise ConfigError(f"{owner}.post", fb.post, "a neuron population (not an input or error population)")
        w = fb.weights
        if post.kind == "spike":
            if not isinstance(pre.model, SpikingError):
                raise ConfigError(f"{owner}.pre", fb.pre, "a SpikingError population (spiking feedback carries "
                                  "error spikes)")
            if fb.tau is None:
                raise ConfigError(f"{owner}.tau", None, "the time constant of the dendritic compartment U of "
                                  f"{fb.post!r}, e.g. '20 ms'")
            if isinstance(w, (Transposed, KolenPollack, WeightMirror)):
                raise ConfigError(f"{owner}.weights", type(w).__name__, "FixedFeedback or RandomFeedback for "
                                  "spiking feedback")
            taus = {float(f.tau) for f in spec.feedback if f.post == fb.post}
            taus |= {float(p.model.tau_U) for p in spec.populations
                     if isinstance(p.model, SpikingError) and p.model.output == fb.post}
            if len(taus) > 1:
                raise ConfigError(f"{owner}.tau", str(fb.tau), f"the same time constant as every other feedback "
                                  f"into {fb.post!r} (one dendritic compartment)")
            if isinstance(w, FixedFeedback) and w.matrix.shape != (pre.size // 2, post.size):
                raise ConfigError(f"{owner}.weights.matrix", f"array of shape {w.matrix.shape}",
                                  f"shape (n_out, n_post) = ({pre.size // 2}, {post.size}): signed, "
                                  "+ from E+ and - from E- units")
            continue
        if not isinstance(pre.model, RateError) and fb.pre not in with_error:
            raise ConfigError(f"{owner}.pre", fb.pre, "an error population or a population with an error "
                              "compartment (the output of a RateError, or the post of another Feedback)")
        if isinstance(w, FixedFeedback) and w.matrix.shape != (pre.size, post.size):
            raise ConfigError(f"{owner}.weights.matrix", f"array of shape {w.matrix.shape}",
                              f"shape (n_pre, n_post) = ({pre.size}, {post.size})")
        if isinstance(w, (KolenPollack, WeightMirror)):
            if isinstance(w.initial, FixedFeedback) and w.initial.matrix.shape != (pre.size, post.size):
                raise ConfigError(f"{owner}.weights.initial.matrix", f"array of shape {w.initial.matrix.shape}",
                                  f"shape (n_pre, n_post) = ({pre.size}, {post.size})")
            if w.of not in projs:
                raise ConfigError(f"{owner}.weights.of", w.of, "the name of a projection: " + ", ".join(projs)
                                  + did_you_mean(w.of, projs))
            fwd = projs[w.of]
            if (fwd.pre, fwd.post) != (fb.post, fb.pre) or not isinstance(fwd.rule, ErrorDriven):
                raise ConfigError(f"{owner}.weights.of", w.of, f"a projection {fb.post!r} -> {fb.pre!r} with an "
                                  f"ErrorDriven rule ({w.of!r} runs {fwd.pre!r} -> {fwd.post!r} with "
                                  f"{type(fwd.rule).__name__})")
            if isinstance(w, WeightMirror):
                if fwd.rule.updates is None or float(fwd.rule.updates.rest) <= 0:
                    raise ConfigError(f"{owner}.weights.of", w.of, "a projection whose ErrorDriven rule has "
                                      "learning windows with rest (the mirror mode runs in the rest steps)")
                if w.noise is not None and w.noise.shape[1] != post.size:
                    raise ConfigError(f"{owner}.weights.noise", f"array of shape {w.noise.shape}",
                                      f"one row of n_post = {post.size} values per mirror step")
        if isinstance(w, Transposed):
            if w.of not in projs:
                raise ConfigError(f"{owner}.weights.of", w.of, "the name of a projection: " + ", ".join(projs)
                                  + did_you_mean(w.of, projs))
            fwd = projs[w.of]
            if (fwd.pre, fwd.post) != (fb.post, fb.pre):
                raise ConfigError(f"{owner}.weights.of", w.of, f"a projection {fb.post!r} -> {fb.pre!r} "
                                  f"(the feedback runs {fb.pre!r} -> {fb.post!r}; {w.of!r} runs "
                                  f"{fwd.pre!r} -> {fwd.post!r})")
    for proj in spec.projections:
        if "error" in proj.rule.requires and proj.post not in with_error:
            raise ConfigError(f"projections.{proj.name}.post", proj.post,
                              "a population with an error compartment (the output of a RateError population or "
                              f"the post of a Feedback) for rule {type(proj.rule).__name__} (requires={{'error'}})")
