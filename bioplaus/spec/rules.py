"""Local plasticity rules as inert parameter objects.

A rule only holds validated parameters and declares what it needs:

``kind``       ``"spike"`` (needs spiking pre and post populations) or ``"rate"``
``modifies``   the synaptic variables it changes (always ``w`` here)
``requires``   extra pathways, e.g. ``{"modulator"}`` for reward-modulated STDP
``probeable``  synaptic variables worth recording

The Brian2 equations are in :mod:`bioplaus.build.rules`; the same mathematics as
pure numpy functions is in :mod:`bioplaus.reference.plasticity` (the test oracle).
Rules are registered by name (:data:`RULES`) so model files can refer to them.

Adding a rule takes a spec class here (or in user code) and one builder function
registered with :func:`bioplaus.build.registry.register`; the module docstring of
:mod:`bioplaus.build.rules` walks through an example.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from brian2 import Hz, ms

from ..errors import ConfigError, did_you_mean
from .params import Spec, check_params, param

__all__ = [
    "Rule", "Static", "Hebb", "Oja", "BCM", "PairSTDP", "NearestSTDP", "TripletSTDP", "RewardSTDP",
    "WeightNormalization", "SynapticScaling", "RULES", "register_rule", "rule_class", "make_rule",
]

RULES: dict[str, type] = {}


def register_rule(name: str):
    """Class decorator: make a rule spec available to model files under ``name``."""

    def deco(cls):
        old = RULES.get(name)
        # a class defined again under the same name (a re-run notebook cell or doctest) replaces itself
        if old is not None and old is not cls and (old.__module__, old.__qualname__) != (cls.__module__,
                                                                                          cls.__qualname__):
            raise ValueError(f"rule name {name!r} is already registered to {old.__module__}.{old.__qualname__}")
        RULES[name] = cls
        cls.rule_name = name
        return cls

    return deco


def rule_class(name: str) -> type:
    """The rule spec registered under ``name`` (``"stdp"``, ``"oja"``...); unknown names raise ConfigError."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise ConfigError("rule", name, "one of " + ", ".join(sorted(RULES)) + did_you_mean(str(name), RULES)) from None


def make_rule(name: str, **params: Any) -> "Rule":
    """Create the rule registered under ``name`` from plain parameters (as read from a model file).

    Unknown parameter names raise :class:`ConfigError` naming ``Class.param``:

    >>> make_rule("stdp", tau_plus="16.8 ms").tau_plus
    16.8 * msecond
    >>> make_rule("stdp", tau_pluss="16.8 ms")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: PairSTDP.tau_pluss = '16.8 ms': expected a parameter of PairSTDP: ... (did you mean 'tau_plus'?)
    """
    cls = rule_class(name)
    fields = [f.name for f in dataclasses.fields(cls)]
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(f"{cls.__name__}.{key}", value, f"a parameter of {cls.__name__}: " + ", ".join(fields)
                              + did_you_mean(key, fields))
    return cls(**params)


class Rule(Spec):
    kind: ClassVar[str] = "any"
    modifies: ClassVar[tuple[str, ...]] = ("w",)
    requires: ClassVar[frozenset[str]] = frozenset()
    probeable: ClassVar[tuple[str, ...]] = ("w",)
    rule_name: ClassVar[str] = ""


def _bounds(obj, owner: str) -> None:
    """Declared fields validated (:func:`~bioplaus.spec.params.param`), then ``w_min < w_max``."""
    check_params(obj, owner)
    if not obj.w_max > obj.w_min:
        raise ConfigError(f"{owner}.w_max", obj.w_max, f"a value above w_min = {obj.w_min}")


@register_rule("static")
@dataclass(frozen=True)
class Static(Rule):
    """No plasticity: the weights keep their initial values."""

    probeable: ClassVar[tuple[str, ...]] = ()


# --------------------------------------------------------------------------- rate rules

@register_rule("hebb")
@dataclass(frozen=True)
class Hebb(Rule):
    r"""Plain Hebbian learning with passive decay.

    .. math:: \Delta w_{ij} = \Delta t\,(\eta\, r_i^{post} r_j^{pre} - \gamma\, w_{ij}),
              \quad w \in [w_{min}, w_{max}]

    ``eta`` and ``decay`` (:math:`\gamma`) are rates (Hz); Euler step every ``update_interval``.
    """

    kind: ClassVar[str] = "rate"
    eta: Any = param("1 Hz", unit=Hz, nonnegative=True)
    decay: Any = param("0 Hz", unit=Hz, nonnegative=True)
    w_min: Any = param(-1e9)
    w_max: Any = param(1e9)
    update_interval: Any = param(None, unit=ms, positive=True, allow_none=True)

    def __post_init__(self):
        _bounds(self, "Hebb")


@register_rule("oja")
@dataclass(frozen=True)
class Oja(Rule):
    r"""Oja's rule (Oja 1982): Hebbian growth with a normalising decay.

    .. math:: \Delta w_{ij} = \Delta t\,\eta\, r_i^{post} (r_j^{pre} - r_i^{post} w_{ij})

    For a linear unit the weight vector converges to the unit-norm leading
    eigenvector of the input covariance.
    """

    kind: ClassVar[str] = "rate"
    eta: Any = param("1 Hz", unit=Hz, positive=True)
    update_interval: Any = param(None, unit=ms, positive=True, allow_none=True)


@register_rule("bcm")
@dataclass(frozen=True)
class BCM(Rule):
    r"""Bienenstock-Cooper-Munro rule with a sliding threshold (Intrator & Cooper 1992).

    .. math::
        \Delta w_{ij} = \Delta t\,\eta\, r_j^{pre}\, r_i^{post} (r_i^{post} - \theta_i), \qquad
        \tau_\theta \dot\theta_i = (r_i^{post})^2 / y_0 - \theta_i

    weights clipped to :math:`[w_{min}, w_{max}]`. :math:`\theta` lives in the
    postsynaptic population (one per neuron and projection).
    """

    kind: ClassVar[str] = "rate"
    probeable: ClassVar[tuple[str, ...]] = ("w",)
    eta: Any = param("1 Hz", unit=Hz, positive=True)
    tau_theta: Any = param("100 ms", unit=ms, positive=True)
    y0: Any = param(1.0, positive=True)
    theta_init: Any = param(0.0, nonnegative=True)
    w_min: Any = param(0.0)
    w_max: Any = param(1e9)
    update_interval: Any = param(None, unit=ms, positive=True, allow_none=True)

    def __post_init__(self):
        _bounds(self, "BCM")


# --------------------------------------------------------------------------- spike rules

def _stdp_common(obj, owner: str) -> None:
    _bounds(obj, owner)


@register_rule("stdp")
@dataclass(frozen=True)
class PairSTDP(Rule):
    r"""Pair-based STDP with all-to-all spike interactions (Song, Miller & Abbott 2000).

    For a pair with :math:`\Delta t = t_{post} - t_{pre}`:

    .. math::
        \Delta w = A_+ e^{-\Delta t/\tau_+} \ (\Delta t > 0), \qquad
        \Delta w = -A_- e^{\Delta t/\tau_-} \ (\Delta t < 0)

    ``bounds="hard"``: additive, clipped to :math:`[w_{min}, w_{max}]`.
    ``bounds="soft"`` (multiplicative): potentiation scaled by :math:`(w_{max}-w)`,
    depression by :math:`(w - w_{min})` (van Rossum et al. 2000).
    """

    kind: ClassVar[str] = "spike"
    probeable: ClassVar[tuple[str, ...]] = ("w", "apre", "apost")
    A_plus: Any = param(0.01, nonnegative=True)
    A_minus: Any = param(0.0105, nonnegative=True)
    tau_plus: Any = param("20 ms", unit=ms, positive=True)
    tau_minus: Any = param("20 ms", unit=ms, positive=True)
    bounds: str = param("hard", choices=("hard", "soft"))
    w_min: Any = param(0.0)
    w_max: Any = param(1.0)

    def __post_init__(self):
        _stdp_common(self, type(self).__name__)

    @classmethod
    def song_abbott(cls) -> "PairSTDP":
        """Song, Miller & Abbott (2000): A+ = 0.005, A-/A+ = 1.05, tau = 20 ms."""
        return cls(A_plus=0.005, A_minus=0.005 * 1.05, tau_plus="20 ms", tau_minus="20 ms")

    @classmethod
    def bi_poo(cls) -> "PairSTDP":
        """Time constants of the exponential fits to Bi & Poo's (1998) data, Bi & Poo (2001), Annu. Rev.
        Neurosci. 24:139: tau+ = 16.8 ms, tau- = 33.7 ms; amplitudes a per-pairing scale, depression-dominated
        (A- tau- > A+ tau+)."""
        return cls(A_plus=0.0096, A_minus=0.0053, tau_plus="16.8 ms", tau_minus="33.7 ms")


@register_rule("nearest_stdp")
@dataclass(frozen=True)
class NearestSTDP(PairSTDP):
    r"""Nearest-neighbour pair STDP (symmetric nearest-spike interaction, Morrison et al. 2008).

    Same window as :class:`PairSTDP`, but each spike interacts only with the
    nearest spike of the other neuron: the traces are reset to 1 instead of
    incremented.
    """


@register_rule("triplet_stdp")
@dataclass(frozen=True)
class TripletSTDP(Rule):
    r"""Triplet STDP (Pfister & Gerstner 2006).

    Presynaptic traces :math:`r_1` (:math:`\tau_+`), :math:`r_2` (:math:`\tau_x`);
    postsynaptic traces :math:`o_1` (:math:`\tau_-`), :math:`o_2` (:math:`\tau_y`).

    .. math::
        \text{pre spike: } w \leftarrow w - o_1 (A_2^- + A_3^- r_2), \qquad
        \text{post spike: } w \leftarrow w + r_1 (A_2^+ + A_3^+ o_2)

    with :math:`r_2`, :math:`o_2` taken just before their own increment. With
    ``nearest=True`` traces saturate at 1 (nearest-spike interaction).
    """

    kind: ClassVar[str] = "spike"
    probeable: ClassVar[tuple[str, ...]] = ("w", "r1", "r2", "o1", "o2")
    tau_plus: Any = param("16.8 ms", unit=ms, positive=True)
    tau_minus: Any = param("33.7 ms", unit=ms, positive=True)
    tau_x: Any = param("101 ms", unit=ms, positive=True)
    tau_y: Any = param("125 ms", unit=ms, positive=True)
    A2_plus: Any = param(5e-10, nonnegative=True)
    A3_plus: Any = param(6.2e-3, nonnegative=True)
    A2_minus: Any = param(7e-3, nonnegative=True)
    A3_minus: Any = param(2.3e-4, nonnegative=True)
    nearest: bool = param(False, boolean=True)
    w_min: Any = param(0.0)
    w_max: Any = param(1e9)

    def __post_init__(self):
        _bounds(self, "TripletSTDP")

    @classmethod
    def visual_cortex(cls, **kw) -> "TripletSTDP":
        """Visual cortex data (Sjöström et al. 2001), all-to-all fit, Pfister & Gerstner (2006) Table 4."""
        return cls(tau_plus="16.8 ms", tau_minus="33.7 ms", tau_x="101 ms", tau_y="125 ms",
                   A2_plus=5e-10, A3_plus=6.2e-3, A2_minus=7e-3, A3_minus=2.3e-4, nearest=False, **kw)

    @classmethod
    def visual_cortex_nearest(cls, **kw) -> "TripletSTDP":
        """Visual cortex data, nearest-spike fit, Pfister & Gerstner (2006) Table 4."""
        return cls(tau_plus="16.8 ms", tau_minus="33.7 ms", tau_x="714 ms", tau_y="40 ms",
                   A2_plus=8.8e-11, A3_plus=5.3e-2, A2_minus=6.6e-3, A3_minus=3.1e-3, nearest=True, **kw)

    @classmethod
    def hippocampal(cls, **kw) -> "TripletSTDP":
        """Hippocampal culture data (Wang et al. 2005), all-to-all fit, Pfister & Gerstner (2006) Table 4."""
        return cls(tau_plus="16.8 ms", tau_minus="33.7 ms", tau_x="946 ms", tau_y="27 ms",
                   A2_plus=6.1e-3, A3_plus=6.7e-3, A2_minus=1.6e-3, A3_minus=1.4e-3, nearest=False, **kw)


@register_rule("reward_stdp")
@dataclass(frozen=True)
class RewardSTDP(Rule):
    r"""Reward-modulated STDP (Izhikevich 2007; Frémaux & Gerstner 2016).

    Pair-STDP events do not change the weight directly; they feed an eligibility
    trace :math:`c`, and a neuromodulator concentration :math:`d` (driven by the
    network's named ``modulator``) gates its conversion into weight change:

    .. math::
        \tau_c \dot c = -c + \text{STDP}(\Delta t)\,\delta(t - t_{spike}), \qquad
        \dot w = \eta\, c\, d, \qquad \tau_d \dot d = -d + \textstyle\sum_k a_k \delta(t - t^{reward}_k)
    """

    kind: ClassVar[str] = "spike"
    requires: ClassVar[frozenset[str]] = frozenset({"modulator"})
    probeable: ClassVar[tuple[str, ...]] = ("w", "c", "apre", "apost")
    modulator: str = "reward"
    A_plus: Any = param(1.0, nonnegative=True)
    A_minus: Any = param(1.05, nonnegative=True)
    tau_plus: Any = param("20 ms", unit=ms, positive=True)
    tau_minus: Any = param("20 ms", unit=ms, positive=True)
    tau_c: Any = param("1 s", unit=ms, positive=True)
    eta: Any = param("1 Hz", unit=Hz, positive=True)
    w_min: Any = param(0.0)
    w_max: Any = param(1.0)

    def __post_init__(self):
        o = "RewardSTDP"
        if not isinstance(self.modulator, str) or not self.modulator:
            raise ConfigError(f"{o}.modulator", self.modulator, "the name of a modulator of the network")
        _bounds(self, o)


# --------------------------------------------------------------------------- homeostasis

class Homeostasis(Spec):
    """Base of homeostatic helpers attached to a projection (``Projection.homeostasis``)."""


@dataclass(frozen=True)
class WeightNormalization(Homeostasis):
    r"""Divisive normalisation of each neuron's incoming weights (Diehl & Cook 2015).

    Every ``interval``: :math:`w_{ij} \leftarrow w_{ij}\, \text{total} / \sum_j w_{ij}`, at the end of
    the time step, after that step's plasticity, so the sums are exactly ``total`` afterwards.

    ``tracked=True`` (Diehl & Cook's implementation): each neuron's sum is updated at every
    spike-triggered weight change instead of being summed over all synapses every step, the
    weights are rescaled at the *start* of every interval, and the sum is then reset to
    ``total``. Costs nothing between intervals; for rules that change ``w`` only on spikes.
    """

    total: Any = param(78.0, positive=True)
    interval: Any = param("100 ms", unit=ms, positive=True)
    tracked: bool = param(False, boolean=True)


@dataclass(frozen=True)
class SynapticScaling(Homeostasis):
    r"""Multiplicative synaptic scaling towards a target firing rate (Turrigiano 2008; van Rossum 2000).

    A postsynaptic rate estimate :math:`a` (:math:`\tau_a \dot a = -a`, :math:`a \leftarrow a + 1/\tau_a` at a
    spike) drives :math:`\dot w = w\,(\nu_{target} - a) / (\nu_{target}\,\tau_s)`, applied every ``interval``.
    """

    target_rate: Any = param("5 Hz", unit=Hz, positive=True)
    tau_rate: Any = param("1 s", unit=ms, positive=True)
    tau_scaling: Any = param("10 s", unit=ms, positive=True)
    interval: Any = param("10 ms", unit=ms, positive=True)


# --------------------------------------------------------------------------- inhibitory and short-term plasticity

__all__ += ["InhibitorySTDP", "TsodyksMarkram"]


@register_rule("istdp")
@dataclass(frozen=True)
class InhibitorySTDP(Rule):
    r"""Inhibitory STDP that balances excitation and inhibition (Vogels, Sprekeler, Zenke, Clopath &
    Gerstner 2011, Science 334:1569).

    Meant for inhibitory projections (``receptor = "inh"``). Presynaptic trace :math:`x_j` and
    postsynaptic trace :math:`x_i`, both :math:`\tau_{STDP} \dot x = -x` and :math:`x \leftarrow x + 1`
    at their neuron's spikes (``apre``, ``apost`` in the synapses):

    .. math::
        \text{pre spike: } w \leftarrow w + \eta\,(x_i - \alpha), \qquad
        \text{post spike: } w \leftarrow w + \eta\, x_j, \qquad \alpha = 2 \rho_0 \tau_{STDP}

    clipped to :math:`[w_{min}, w_{max}]`. The window is symmetric; each presynaptic spike also depresses
    by :math:`\eta\alpha`. For uncorrelated spiking the mean drift is
    :math:`\eta\,\rho_j \tau_{STDP}\,2(\rho_i - \rho_0)`, so inhibition grows until the postsynaptic
    rate :math:`\rho_i` equals the target :math:`\rho_0`.
    """

    kind: ClassVar[str] = "spike"
    probeable: ClassVar[tuple[str, ...]] = ("w", "apre", "apost")
    eta: Any = param(1e-4, positive=True)
    tau_stdp: Any = param("20 ms", unit=ms, positive=True)
    rho0: Any = param("5 Hz", unit=Hz, positive=True)
    w_min: Any = param(0.0)
    w_max: Any = param(1e9)

    def __post_init__(self):
        _bounds(self, "InhibitorySTDP")

    @property
    def alpha(self) -> float:
        r"""The depression offset :math:`\alpha = 2 \rho_0 \tau_{STDP}` (dimensionless)."""
        return float(2 * self.rho0 * self.tau_stdp)

    @classmethod
    def vogels2011(cls, **kw) -> "InhibitorySTDP":
        """Vogels et al. (2011), single-neuron simulations (Fig. 1): tau_STDP = 20 ms, rho0 = 5 Hz,
        eta = 1e-4 (weights in units of the inhibitory conductance scale)."""
        return cls(**{"eta": 1e-4, "tau_stdp": "20 ms", "rho0": "5 Hz", **kw})

    @classmethod
    def vogels2011_network(cls, **kw) -> "InhibitorySTDP":
        """Vogels et al. (2011), recurrent network (Fig. 4): tau_STDP = 20 ms, rho0 = 3 Hz, eta = 1e-4."""
        return cls(**{"eta": 1e-4, "tau_stdp": "20 ms", "rho0": "3 Hz", **kw})


@register_rule("tsodyks_markram")
@dataclass(frozen=True)
class TsodyksMarkram(Rule):
    r"""Short-term depression and facilitation (Tsodyks & Markram 1997; Markram, Wang & Tsodyks 1998;
    Tsodyks, Pawelzik & Markram 1998).

    The synapse keeps a fraction :math:`x` of available resources and a utilisation :math:`u`:

    .. math::
        \tau_{rec} \dot x = 1 - x, \qquad \tau_{facil} \dot u = -u

    and at a presynaptic spike, in this order,

    .. math::
        u \leftarrow u + U (1 - u), \qquad \text{transmitted: } w\, u\, x, \qquad x \leftarrow x - u x

    so the first spike of a rested synapse transmits :math:`U w`. ``tau_facil = 0`` switches
    facilitation off (:math:`u \equiv U`, pure depression, Tsodyks & Markram 1997). The rule
    modulates transmission only; :math:`w` does not change. For a regular train with interval
    :math:`\Delta` the steady state (values at a spike, after the jump of :math:`u`) is

    .. math::
        u^* = \frac{U}{1 - (1 - U) e^{-\Delta/\tau_{facil}}}, \qquad
        x^* = \frac{1 - e^{-\Delta/\tau_{rec}}}{1 - (1 - u^*) e^{-\Delta/\tau_{rec}}}

    (Tsodyks, Pawelzik & Markram 1998, Neural Comput. 10:821).
    """

    kind: ClassVar[str] = "spike"
    modifies: ClassVar[tuple[str, ...]] = ()
    probeable: ClassVar[tuple[str, ...]] = ("u", "x")
    U: Any = param(0.5, positive=True)
    tau_rec: Any = param("800 ms", unit=ms, positive=True)
    tau_facil: Any = param("0 ms", unit=ms, nonnegative=True)

    def __post_init__(self):
        check_params(self, "TsodyksMarkram")
        if not self.U <= 1:
            raise ConfigError("TsodyksMarkram.U", self.U, "a release fraction in (0, 1]")

    @classmethod
    def depressing(cls) -> "TsodyksMarkram":
        """Depressing pyramidal synapse, Tsodyks, Pawelzik & Markram (1998), Fig. 1:
        U = 0.5, tau_rec = 800 ms, no facilitation."""
        return cls(U=0.5, tau_rec="800 ms", tau_facil="0 ms")

    @classmethod
    def facilitating(cls) -> "TsodyksMarkram":
        """Facilitating synapse, Tsodyks, Pawelzik & Markram (1998), Fig. 1:
        U = 0.03, tau_rec = 130 ms, tau_facil = 530 ms."""
        return cls(U=0.03, tau_rec="130 ms", tau_facil="530 ms")


# --------------------------------------------------------------------------- voltage-based STDP

__all__ += ["ClopathSTDP"]

from brian2 import mV  # noqa: E402


@register_rule("clopath")
@dataclass(frozen=True)
class ClopathSTDP(Rule):
    r"""Voltage-based STDP (Clopath, Büsing, Vasilaki & Gerstner 2010, Nat. Neurosci. 13:344), without
    the homeostatic scaling of :math:`A_{LTD}`.

    The postsynaptic membrane potential :math:`u` (the neuron's ``v``) is low-pass filtered twice,
    :math:`\tau_- \dot{\bar u}_- = u - \bar u_-` and :math:`\tau_+ \dot{\bar u}_+ = u - \bar u_+`
    (in the postsynaptic group, suffixed with the projection's name); the presynaptic trace is
    :math:`\tau_x \dot{\bar x} = -\bar x`, :math:`\bar x \leftarrow \bar x + 1` at a presynaptic spike.

    .. math::
        \text{pre spike: } w \leftarrow w - A_{LTD} [\bar u_- - \theta_-]_+, \qquad
        \dot w = A_{LTP}\, \bar x\, [u - \theta_+]_+ [\bar u_+ - \theta_-]_+

    clipped to :math:`[w_{min}, w_{max}]`; the potentiation is an Euler step every ``dt``. ``A_LTD`` is
    per mV and ``A_LTP`` per mV², as in the paper's table. The paper's
    neuron is an AdEx with a spike afterdepolarisation, an adaptive threshold and a 2 ms spike at
    29.4 mV; LTP needs :math:`u > \theta_+`, so the size of potentiation depends on the spike shape
    of the postsynaptic model used.
    """

    kind: ClassVar[str] = "spike"
    probeable: ClassVar[tuple[str, ...]] = ("w", "xbar")
    A_LTD: Any = param(14e-5, nonnegative=True)    # per mV
    A_LTP: Any = param(8e-5, nonnegative=True)     # per mV**2
    theta_minus: Any = param("-70.6 mV", unit=mV)
    theta_plus: Any = param("-45.3 mV", unit=mV)
    tau_x: Any = param("15 ms", unit=ms, positive=True)
    tau_minus: Any = param("10 ms", unit=ms, positive=True)
    tau_plus: Any = param("7 ms", unit=ms, positive=True)
    w_min: Any = param(0.0)
    w_max: Any = param(1e9)

    def __post_init__(self):
        _bounds(self, "ClopathSTDP")

    @classmethod
    def visual_cortex(cls, **kw) -> "ClopathSTDP":
        """Fit to visual cortex data (Sjöström et al. 2001), Clopath et al. (2010), Table 1b."""
        return cls(**{"A_LTD": 14e-5, "A_LTP": 8e-5, "theta_minus": "-70.6 mV",
                      "theta_plus": "-45.3 mV", "tau_x": "15 ms", "tau_minus": "10 ms", "tau_plus": "7 ms", **kw})
