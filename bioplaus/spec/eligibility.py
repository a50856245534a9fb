r"""e-prop as spec vocabulary: recurrent LIF units, a leaky readout, eligibility-trace rules.

A recurrent spiking network trained by e-prop (Bellec et al. 2020) is composed from the
ordinary :class:`~bioplaus.spec.network.Population` / :class:`~bioplaus.spec.network.Projection`
objects and the declarations of this module; :mod:`bioplaus.build.eligibility` builds
them (no code per network). Time is discrete, one step :math:`\Delta t` = the network's
``dt``; the task repeats every *trial* (the length of the readout's target).

Recurrent units (:class:`EpropLIF`)
    Potentials in the units of the weights:

    .. math:: v \leftarrow \alpha v \ (\alpha = e^{-\Delta t/\tau_m}), \qquad
              z = [v > v_{th}],\ v \leftarrow v - v_{th} z, \qquad
              \psi = \frac{\gamma}{v_{th}}\max\Bigl(0, 1 - \Bigl|\frac{v - v_{th}}{v_{th}}\Bigr|\Bigr)

    (``psi``: the pseudo-derivative); an incoming spike adds ``weight_scale * w`` to :math:`v`,
    and :math:`v = 0` at the start of every trial. With ``beta > 0`` the unit is adaptive (ALIF):
    the threshold is :math:`A = v_{th} + \beta a`, :math:`a \leftarrow \rho a`
    (:math:`\rho = e^{-\Delta t/\tau_a}`), :math:`a \leftarrow a + 1` at a spike, and :math:`\psi` is
    taken at :math:`v - A`.

Readout (:class:`LeakyReadout`)
    :math:`y \leftarrow \kappa y + \sum_j W^{out}_{kj} z_j` (:math:`\kappa = e^{-\Delta t/\tau_{out}}`),
    error :math:`err_k = y_k + b_k - y^*_k(t)` against the ``target`` (one trial, repeated),
    loss :math:`E = \frac{1}{2T}\sum_t \lVert err_t\rVert^2` per trial (variable ``loss``).

Eligibility-trace rule (:class:`Eprop`), for input and recurrent projections onto EpropLIF units
    Presynaptic trace :math:`\bar x \leftarrow \alpha \bar x + s^{pre}` (:math:`\alpha` of the
    postsynaptic unit), filtered eligibility trace
    :math:`\bar e_{ji} \leftarrow \kappa \bar e_{ji} + \psi_j \bar x_i` and gradient
    :math:`g_{ji} \mathrel{+}= L_j \bar e_{ji}`, with the learning signal :math:`L_j`. Onto ALIF
    units the eligibility vector has a second component :math:`\epsilon^a` (the threshold's
    dependence on the weight): :math:`e_{ji} = \psi_j(\bar x_i - \beta\,\epsilon^a_{ji})`, then
    :math:`\epsilon^a_{ji} \leftarrow \rho\,(\psi_j \bar x_i + (1 - \beta\psi_j)\,\epsilon^a_{ji})`
    (Bellec et al.'s :math:`\psi\epsilon^v + (\rho - \beta\psi)\epsilon^a`, with the factor
    :math:`\rho` on the spike's term because here, as for :math:`v`, a spike's increment of :math:`a`
    decays with the next step's leak).

Learning signal (:class:`EpropReadout`, the rule of the projection into the readout)
    The readout error fed back to the recurrent units,
    :math:`L_j = \sum_k B_{jk}\, err_k`, through ``feedback``: a fixed matrix
    (:class:`~bioplaus.spec.credit.FixedFeedback`, ``(n_out, n_rec)``, error side first),
    fixed random weights (:class:`~bioplaus.spec.credit.RandomFeedback`, drawn from the network
    seed), or ``"symmetric"`` (:math:`B = W^{out\top}`, following the readout as it learns).
    The readout weights get their exact gradient :math:`g_{kj} \mathrel{+}= err_k\,\bar z_j`
    (:math:`\bar z \leftarrow \kappa \bar z + z`), the bias :math:`g_k \mathrel{+}= err_k`.

Updates (:class:`Adam`, :class:`SGD`)
    At the start of every trial each rule applies its accumulated gradient divided by the
    number of steps :math:`T` (the trial's mean) and clears it, together with the traces.

Example: 3 inputs, 4 recurrent units, one readout, two trials:

>>> import numpy as np
>>> from bioplaus.spec import NetworkSpec, Population, Projection
>>> from bioplaus.spec.eligibility import Eprop, EpropLIF, EpropReadout, LeakyReadout, TrialInput
>>> x = np.zeros((20, 3)); x[::4, 0] = x[1::5, 1] = x[2::3, 2] = 1
>>> net = NetworkSpec(
...     [Population("inp", TrialInput(x)), Population("rec", EpropLIF(), 4),
...      Population("out", LeakyReadout(target=np.sin(np.arange(20) / 3)[:, None]), 1)],
...     [Projection("W_in", "inp", "rec", rule=Eprop(), w_init=0.8, weight_scale=1.0),
...      Projection("W_rec", "rec", "rec", rule=Eprop(), connectivity="all_but_self", w_init=0.1,
...                 weight_scale=1.0),
...      Projection("W_out", "rec", "out", rule=EpropReadout(feedback="symmetric"), w_init=0.3,
...                 weight_scale=1.0)], dt="1 ms", duration="40 ms")
>>> from bioplaus.simulation import simulate
>>> r = simulate(net)
>>> bool(np.all(r["W_in.w"] != 0.8))    # one Adam step after the first trial
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import ms

from ..errors import ConfigError
from .credit import FixedFeedback, RandomFeedback
from .neurons import InputModel, NeuronModel
from .params import Spec, check_params, param, set_field
from .rules import Rule, register_rule

__all__ = ["EpropLIF", "LeakyReadout", "TrialInput", "Adam", "SGD", "Eprop", "EpropReadout", "trial_steps"]


# --------------------------------------------------------------------------- populations

@dataclass(frozen=True)
class EpropLIF(NeuronModel):
    r"""Recurrent LIF unit of e-prop in units of its threshold scale (see the module docstring).

    Parameters
    ----------
    tau_m : quantity
        Membrane time constant, :math:`\alpha = e^{-\Delta t/\tau_m}`.
    v_th : float
        Threshold; the reset subtracts it.
    gamma : float
        Dampening factor of the pseudo-derivative :math:`\psi`.
    beta : float
        Threshold increase per unit of the adaptation variable :math:`a` (0: LIF; > 0: ALIF).
    tau_a : quantity
        Decay time of the adaptation variable :math:`a` (:math:`\rho = e^{-\Delta t/\tau_a}`).
    """

    kind: ClassVar[str] = "spike"
    _probeable: ClassVar[tuple[str, ...]] = ("v", "psi", "L", "a")
    receptors: ClassVar[dict[str, str]] = {"exc": "v", "inh": "v"}
    tau_m: Any = param("20 ms", unit=ms, positive=True)
    v_th: Any = param(1.0, positive=True)
    gamma: Any = param(0.3, nonnegative=True)
    beta: Any = param(0.0, nonnegative=True)
    tau_a: Any = param("200 ms", unit=ms, positive=True)

    def __post_init__(self):
        check_params(self, "EpropLIF")

    @property
    def adaptive(self) -> bool:
        return float(self.beta) > 0

    def receptor_unit(self):
        return 1.0


def _matrix(owner: str, field: str, value: Any, ndim: int) -> np.ndarray:
    try:
        a = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{owner}.{field}", value, f"a numeric {ndim}-d array") from None
    if a.ndim == 1 and ndim == 2:
        a = a[:, None]
    if a.ndim != ndim or a.shape[0] < 1 or not np.all(np.isfinite(a)):
        raise ConfigError(f"{owner}.{field}", f"array of shape {a.shape}", f"a finite {ndim}-d array (steps, units)")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class LeakyReadout(NeuronModel):
    r"""Leaky readout :math:`y \leftarrow \kappa y + W^{out} z` with bias ``b`` and error against ``target``.

    Parameters
    ----------
    target : array ``(steps, n_out)``
        The target :math:`y^*` of one trial (one row per time step); its length is the
        trial's, and it repeats every trial.
    tau_out : quantity
        Readout time constant, :math:`\kappa = e^{-\Delta t/\tau_{out}}`; also the filter of
        the eligibility traces (:class:`Eprop`).
    bias : float or array ``(n_out,)``
        Initial bias :math:`b`.
    """

    kind: ClassVar[str] = "spike"
    _probeable: ClassVar[tuple[str, ...]] = ("y", "err", "b", "loss")
    receptors: ClassVar[dict[str, str]] = {"exc": "y", "inh": "y"}
    target: Any = ((0.0,),)
    tau_out: Any = param("20 ms", unit=ms, positive=True)
    bias: Any = 0.0

    def __post_init__(self):
        check_params(self, "LeakyReadout")
        set_field(self, "target", _matrix("LeakyReadout", "target", self.target, 2))
        b = np.array(self.bias, dtype=float).ravel()
        if b.size not in (1, self.target.shape[1]) or not np.all(np.isfinite(b)):
            raise ConfigError("LeakyReadout.bias", self.bias, f"a number or {self.target.shape[1]} finite numbers "
                              "(one per readout unit)")
        b.setflags(write=False)
        set_field(self, "bias", b)

    def receptor_unit(self):
        return 1.0

    @property
    def steps(self) -> int:
        """Time steps of one trial."""
        return int(self.target.shape[0])


@dataclass(frozen=True, eq=False)
class TrialInput(InputModel):
    r"""Frozen input spikes of one trial, repeated every trial.

    Parameters
    ----------
    spikes : array ``(steps, n)`` of 0/1
        Spike (1) or not (0) of each unit at each time step of the trial.
    """

    spikes: Any = ((0.0,),)

    def __post_init__(self):
        x = _matrix("TrialInput", "spikes", self.spikes, 2)
        if not np.all((x == 0) | (x == 1)):
            raise ConfigError("TrialInput.spikes", "values other than 0 and 1", "0/1 spikes (steps, n)")
        set_field(self, "spikes", x)

    def size(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def steps(self) -> int:
        return int(self.spikes.shape[0])


# --------------------------------------------------------------------------- updates

class Optimizer(Spec):
    """Base of the per-trial updates of the e-prop rules."""


@dataclass(frozen=True)
class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015) with bias correction, once per trial on the trial's mean gradient :math:`g`:
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`s \leftarrow \beta_2 s + (1-\beta_2) g^2`,
    :math:`w \leftarrow w - \eta\, \hat m / (\sqrt{\hat s} + \epsilon)` (:math:`\hat m = m/(1-\beta_1^k)`,
    :math:`\hat s = s/(1-\beta_2^k)` at the :math:`k`-th update)."""

    lr: Any = param(0.01, nonnegative=True)
    beta1: Any = param(0.9, low=0.0, high=0.999999)
    beta2: Any = param(0.999, low=0.0, high=0.999999)
    eps: Any = param(1e-8, positive=True)


@dataclass(frozen=True)
class SGD(Optimizer):
    r"""Plain gradient descent once per trial: :math:`w \leftarrow w - \eta\, g` (:math:`g` the trial's mean gradient)."""

    lr: Any = param(0.01, nonnegative=True)


def _optimizer(owner: str, value: Any) -> Optimizer:
    if not isinstance(value, Optimizer):
        raise ConfigError(f"{owner}.optimizer", value, "Adam(...) or SGD(...)")
    return value


# --------------------------------------------------------------------------- rules

@register_rule("eprop")
@dataclass(frozen=True, eq=False)
class Eprop(Rule):
    r"""Eligibility-trace rule of e-prop for a projection onto :class:`EpropLIF` units.

    .. math:: \bar x_i \leftarrow \alpha \bar x_i + s_i, \quad
              \bar e_{ji} \leftarrow \kappa \bar e_{ji} + \psi_j \bar x_i, \quad
              \Delta W_{ji} \propto -\textstyle\sum_t L_{j,t}\,\bar e_{ji,t}

    with :math:`\alpha` of the postsynaptic units, :math:`\kappa` of the readout that sends
    the learning signal :math:`L` (the projection from ``post`` with an :class:`EpropReadout`
    rule). Bellec et al. (2020), Nat. Commun. 11, 3625, eqs. (13)-(15) for LIF neurons.

    Parameters
    ----------
    optimizer : Adam or SGD
        Update applied once per trial to the trial's mean gradient (default ``Adam()``).
    """

    kind: ClassVar[str] = "spike"
    requires: ClassVar[frozenset[str]] = frozenset({"learning_signal"})
    probeable: ClassVar[tuple[str, ...]] = ("w", "xbar", "ebar", "grad", "epsa")
    optimizer: Any = None

    def __post_init__(self):
        set_field(self, "optimizer", _optimizer("Eprop", Adam() if self.optimizer is None else self.optimizer))


FEEDBACK = ("symmetric",)


@register_rule("eprop_readout")
@dataclass(frozen=True, eq=False)
class EpropReadout(Rule):
    r"""Rule of the projection from :class:`EpropLIF` units into a :class:`LeakyReadout`: exact readout
    gradient, and the learning signal :math:`L_j = \sum_k B_{jk}\,err_k` back to the presynaptic units.

    Parameters
    ----------
    feedback : ``"symmetric"``, FixedFeedback or RandomFeedback
        :math:`B`: the current readout weights (:math:`W^{out\top}`), a fixed matrix
        ``(n_out, n_rec)`` or fixed random weights drawn from the network seed.
    optimizer : Adam or SGD
        Update of :math:`W^{out}` (and of the readout bias with ``train_bias``).
    train_bias : bool
        Whether the readout's bias :math:`b` learns.
    """

    kind: ClassVar[str] = "spike"
    probeable: ClassVar[tuple[str, ...]] = ("w", "zbar", "grad", "B")
    feedback: Any = "symmetric"
    optimizer: Any = None
    train_bias: bool = True

    def __post_init__(self):
        n = "EpropReadout"
        fb = self.feedback
        if not (fb in FEEDBACK if isinstance(fb, str) else isinstance(fb, (FixedFeedback, RandomFeedback))):
            raise ConfigError(f"{n}.feedback", fb, "'symmetric', FixedFeedback(matrix) or RandomFeedback(...)")
        set_field(self, "optimizer", _optimizer(n, Adam() if self.optimizer is None else self.optimizer))
        if not isinstance(self.train_bias, bool):
            raise ConfigError(f"{n}.train_bias", self.train_bias, "true or false")


# --------------------------------------------------------------------------- graph checks

def trial_steps(spec) -> int | None:
    r"""Time steps of one trial of ``spec`` (the readout target's length), ``None`` without a readout.

    Every :class:`LeakyReadout` and :class:`TrialInput` of the network must agree.
    """
    steps, first = None, None
    for pop in spec.populations:
        if isinstance(pop.model, (LeakyReadout, TrialInput)):
            k = pop.model.steps
            if steps is None:
                steps, first = k, pop.name
            elif k != steps:
                what = "target" if isinstance(pop.model, LeakyReadout) else "spikes"
                raise ConfigError(f"populations.{pop.name}.model.{what}", f"{k} steps",
                                  f"{steps} steps, the trial of population {first!r}")
    return steps


def trial_period(spec):
    """Duration of one trial (a quantity), ``None`` without readout or trial input."""
    k = trial_steps(spec)
    return None if k is None else k * spec.dt


def kappa_of(model: LeakyReadout, dt) -> float:
    return math.exp(-float(dt) / float(model.tau_out))

