"""Populations, projections, modulators and monitors assembled into a network.

:class:`NetworkSpec` checks the whole graph when it is created (names unique and
valid, projections between existing populations, rule kind matching the
populations, weight units matching the receptor), so every mistake is reported
before any Brian2 object is built or any code is compiled.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import ms

from ..errors import ConfigError, did_you_mean
from .neurons import InputModel, NeuronModel, SpikeTrains
from .params import Spec, choice, integer, number, param, quantity, set_field, unit_name
from .init import initial_value
from .rules import Homeostasis, Rule, Static

__all__ = ["Population", "Projection", "Modulator", "Monitor", "NetworkSpec", "FixedInDegree", "FixedOutDegree",
           "Explicit"]


def _check_one_spike_per_step(pop: "Population", dt) -> None:
    """Brian2 replays at most one spike per unit and time step: report clashes by name."""
    model = pop.model
    if model.indices.size < 2:
        return
    steps = np.round(np.asarray(model.times, dtype=float) / float(dt)).astype(np.int64)
    order = np.lexsort((steps, model.indices))
    idx, st = model.indices[order], steps[order]
    dup = np.nonzero((idx[1:] == idx[:-1]) & (st[1:] == st[:-1]))[0]
    if dup.size:
        k = dup[0]
        t1, t2 = (float(model.times[order[k]]) * 1e3, float(model.times[order[k + 1]]) * 1e3)
        raise ConfigError(f"populations.{pop.name}.model.times", f"{t1:g} ms and {t2:g} ms",
                          f"at most one spike of unit {int(idx[k])} per time step (dt = {float(dt) * 1e3:g} ms)")


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _check_name(owner: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"{owner}.name", value, "an identifier (letters, digits, '_', starting with a letter)")
    return value


@dataclass(frozen=True, eq=False)
class Population(Spec):
    """A named group of ``size`` units of one neuron or input ``model``.

    ``init`` maps state variables to initial values (:mod:`bioplaus.spec.init`): a constant,
    ``(low, high)`` drawn uniformly, or ``{"normal": (mean, std)}``, e.g.
    ``init={"v": ("-60 mV", "-50 mV")}``; unset variables start at the model's own values.
    """

    name: str
    model: Any
    size: int | None = None
    init: Any = None

    def __post_init__(self):
        _check_name("Population", self.name)
        owner = f"populations.{self.name}"
        if not isinstance(self.model, (NeuronModel, InputModel)):
            raise ConfigError(f"{owner}.model", self.model, "a neuron model (LIF, AdEx, Izhikevich, RateUnit) "
                                                            "or an input (PoissonInput, SpikeTrains, SampleSequence)")
        implied = self.model.size() if isinstance(self.model, InputModel) else None
        size = self.size if self.size is not None else implied
        if size is None:
            raise ConfigError(f"{owner}.size", None, "a positive number of units")
        size = integer(owner, "size", size, minimum=1)
        # spike trains without an explicit n only bound the size from below
        lower_bound_only = isinstance(self.model, SpikeTrains) and self.model.n is None
        if implied is not None and (size < implied if lower_bound_only else size != implied):
            raise ConfigError(f"{owner}.size", self.size, f"{implied} (the size implied by its input data)")
        set_field(self, "size", size)
        if self.init is not None:
            if not isinstance(self.init, dict):
                raise ConfigError(f"{owner}.init", self.init, "a table of state variables, e.g. "
                                                              "{ v = [\"-60 mV\", \"-50 mV\"] }")
            known = list(self.model.probeable) if isinstance(self.model, NeuronModel) else []
            for var in self.init:
                if var not in known:
                    raise ConfigError(f"{owner}.init.{var}", self.init[var], f"a state variable of "
                                      f"{type(self.model).__name__}: " + (", ".join(known) or "(none: inputs have no "
                                                                         "state to set)") + did_you_mean(var, known))
            set_field(self, "init", {var: initial_value(f"{owner}.init.{var}", v) for var, v in self.init.items()})

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def is_input(self) -> bool:
        return isinstance(self.model, InputModel)


CONNECTIVITY = ("all", "one_to_one", "all_but_self")


@dataclass(frozen=True, eq=False)
class FixedInDegree(Spec):
    """Every postsynaptic unit receives exactly ``k`` synapses from distinct presynaptic units,
    chosen uniformly at random (``allow_self=False``: never from the unit with its own index)."""

    k: int   # checked by the projection that uses it, so that errors carry its name
    allow_self: bool = True


@dataclass(frozen=True, eq=False)
class FixedOutDegree(Spec):
    """Every presynaptic unit makes exactly ``k`` synapses onto distinct postsynaptic units."""

    k: int   # checked by the projection that uses it, so that errors carry its name
    allow_self: bool = True


@dataclass(frozen=True, eq=False)
class Explicit(Spec):
    """Synapses listed one by one: presynaptic ``i[s]`` to postsynaptic ``j[s]`` (e.g. read from a file)."""

    i: Any = param(integer=True, ndim=1)
    j: Any = param(integer=True, ndim=1)
    _owner: ClassVar[str] = "connectivity"

    def __post_init__(self):
        super().__post_init__()
        if self.i.shape != self.j.shape:
            raise ConfigError("connectivity.j", f"{self.j.size} indices", f"one per presynaptic index ({self.i.size})")


def _connectivity(owner: str, c: Any) -> Any:
    """Validate ``Projection.connectivity`` (tables from model files become the objects above)."""
    if isinstance(c, str):
        return choice(owner, "connectivity", c, CONNECTIVITY)
    if isinstance(c, dict):
        keys = set(c)
        if keys in ({"in_degree"}, {"in_degree", "allow_self"}, {"out_degree"}, {"out_degree", "allow_self"}):
            kind = "in_degree" if "in_degree" in keys else "out_degree"
            c = (FixedInDegree if kind == "in_degree" else FixedOutDegree)(c[kind], c.get("allow_self", True))
        elif keys == {"i", "j"}:
            c = Explicit(c["i"], c["j"])
        else:
            raise ConfigError(f"{owner}.connectivity", c, "{ in_degree = k }, { out_degree = k }, { i = [...], j = [...] }"
                              ", a probability, or one of " + ", ".join(CONNECTIVITY))
    if isinstance(c, (FixedInDegree, FixedOutDegree)):
        k = integer(f"{owner}.connectivity", "in_degree" if isinstance(c, FixedInDegree) else "out_degree", c.k,
                    minimum=0)
        if not isinstance(c.allow_self, bool):
            raise ConfigError(f"{owner}.connectivity.allow_self", c.allow_self, "true or false")
        return type(c)(k, c.allow_self)
    if isinstance(c, Explicit):
        if c.i.size and (c.i.min() < 0 or c.j.min() < 0):
            raise ConfigError(f"{owner}.connectivity.i", int(min(c.i.min(), c.j.min())), "indices >= 0")
        return c
    return number(owner, "connectivity", c, low=0.0, high=1.0)


@dataclass(frozen=True, eq=False)
class Projection(Spec):
    """Synapses from ``pre`` to ``post`` with a plasticity ``rule``.

    Parameters
    ----------
    connectivity : ``"all"``, ``"one_to_one"``, ``"all_but_self"``, a probability in [0, 1],
        :class:`FixedInDegree`, :class:`FixedOutDegree` or :class:`Explicit` synapse lists
        (model files: ``{ in_degree = 80 }``, ``{ out_degree = 80 }``, ``{ i = [...], j = [...] }``
        or ``{ file = "synapses.npz" }``). Drawn in numpy from the network seed, so every
        backend gets the same synapses.
    w_init : float, ``(low, high)`` for uniform, or an array ``(n_pre, n_post)``
    weight_scale : quantity
        What an incoming spike adds to the post-synaptic ``g_e``/``g_i``, multiplied by
        ``w`` (siemens for conductance synapses, amperes for current synapses, mV/ms for
        Izhikevich). Rate projections are dimensionless: input ``sum_j w_ij r_j``.
    receptor : ``"exc"`` or ``"inh"`` (spiking targets)
    """

    name: str
    pre: str
    post: str
    rule: Rule = param(types=Rule, default_factory=Static, expected="a plasticity rule (e.g. PairSTDP(), Oja())")
    connectivity: Any = "all"
    w_init: Any = 0.5
    weight_scale: Any = None
    receptor: str = param("exc", choices=("exc", "inh"))
    delay: Any = param(None, unit=ms, nonnegative=True, allow_none=True)
    homeostasis: Homeostasis | None = param(None, types=Homeostasis, allow_none=True,
                                            expected="WeightNormalization(...), SynapticScaling(...) or None")

    @property
    def _owner(self) -> str:
        return f"projections.{self.name}"

    def __post_init__(self):
        _check_name("Projection", self.name)
        super().__post_init__()
        owner = self._owner
        set_field(self, "connectivity", _connectivity(owner, self.connectivity))
        w = self.w_init
        if isinstance(w, (tuple, list)) and len(w) == 2 and np.ndim(w) == 1:
            lo = number(owner, "w_init[0]", w[0])
            hi = number(owner, "w_init[1]", w[1])
            if hi < lo:
                raise ConfigError(f"{owner}.w_init", list(w), "(low, high) with low <= high")
            set_field(self, "w_init", (lo, hi))
        elif np.ndim(w) == 2:
            arr = np.array(w, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise ConfigError(f"{owner}.w_init", "array with non-finite values", "finite weights")
            arr.setflags(write=False)
            set_field(self, "w_init", arr)
        else:
            set_field(self, "w_init", number(owner, "w_init", w))


@dataclass(frozen=True, eq=False)
class Modulator(Spec):
    r"""A global neuromodulatory signal (e.g. dopamine) delivered at given times.

    :math:`\tau_d \dot d = -d`, and :math:`d \leftarrow d + a_k` at ``times[k]``
    (``amounts`` default to 1). Rules that ``require`` a modulator name it.
    """

    name: str
    times: Any = param((), unit=ms, nonnegative=True, ndim=1, doc="delivery times of the signal")
    amounts: Any = param(None, ndim=1, allow_none=True, doc="amount delivered at each time (default 1 each)")
    tau_d: Any = param("200 ms", unit=ms, positive=True, doc="decay time of the signal's concentration d")

    @property
    def _owner(self) -> str:
        return f"modulators.{self.name}"

    def __post_init__(self):
        _check_name("Modulator", self.name)
        super().__post_init__()
        if self.amounts is None:
            amounts = np.ones(len(self.times))
            amounts.setflags(write=False)
            set_field(self, "amounts", amounts)
        if self.amounts.shape != self.times.shape:
            raise ConfigError(f"{self._owner}.amounts", f"{self.amounts.size} amounts",
                              f"one amount per time ({self.times.size})")


@dataclass(frozen=True, eq=False)
class Monitor(Spec):
    """Record ``variables`` of a population or projection (``"spikes"`` for spike times).

    ``indices``: ``True`` for all units/synapses, or a list. ``dt``: recording interval
    (default: every time step).
    """

    target: str
    variables: tuple[str, ...] = ("spikes",)
    indices: Any = True
    dt: Any = param(None, unit=ms, positive=True, allow_none=True)

    @property
    def _owner(self) -> str:
        return f"monitors.{self.target}"

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.variables, str):
            set_field(self, "variables", (self.variables,))
        set_field(self, "variables", tuple(self.variables))
        if not self.variables:
            raise ConfigError(f"monitors.{self.target}.variables", [], "at least one variable")
        if self.indices is not True:
            idx = np.asarray(self.indices)
            if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
                raise ConfigError(f"monitors.{self.target}.indices", self.indices, "true or a list of integer indices")
            set_field(self, "indices", tuple(int(i) for i in idx))

    @property
    def name(self) -> str:
        return self.target


@dataclass(frozen=True, eq=False)
class NetworkSpec(Spec):
    """A whole network: the unit that is built and run on a backend.

    ``protocol`` (a :class:`~bioplaus.spec.protocol.Protocol`) presents samples window by
    window, in phases with learning-rate factors, and gates plasticity; ``readouts``
    (:class:`~bioplaus.spec.protocol.SpikeCountReadout`) turn spike counts per window into
    class predictions (results in :attr:`bioplaus.simulation.SimResult.readouts`).
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    modulators: tuple[Modulator, ...] = ()
    monitors: tuple[Monitor, ...] = ()
    dt: Any = param("0.1 ms", unit=ms, positive=True)
    duration: Any = param("1 s", unit=ms, positive=True)
    seed: int = param(0, integer=True, minimum=0)
    name: str = "network"
    protocol: Any = None
    readouts: tuple = ()
    feedback: tuple = ()   # Feedback pathways (bioplaus.spec.credit)
    _owner: ClassVar[str] = "network"

    def __post_init__(self):
        for f in ("populations", "projections", "modulators", "monitors", "readouts", "feedback"):
            set_field(self, f, tuple(getattr(self, f)))
        super().__post_init__()
        if not self.populations:
            raise ConfigError("network.populations", [], "at least one population")
        pops = self._unique("populations", self.populations)
        projs = self._unique("projections", self.projections)
        mods = self._unique("modulators", self.modulators)
        clash = set(pops) & set(projs)
        if clash:
            n = sorted(clash)[0]
            raise ConfigError(f"projections.{n}.name", n, "a name not used by a population")
        for pop in self.populations:
            if isinstance(pop.model, SpikeTrains):
                _check_one_spike_per_step(pop, self.dt)
        for p in self.projections:
            self._check_projection(p, pops, mods)
        seen: set[str] = set()
        for m in self.monitors:
            if m.target in seen:
                raise ConfigError(f"monitors.{m.target}.target", m.target,
                                  "one monitor per population or projection (list all its variables in one)")
            seen.add(m.target)
            self._check_monitor(m, pops, projs, mods)
        from .protocol import check_protocol

        check_protocol(self, pops)
        from .credit import check_credit

        fbs = self._unique("feedback", self.feedback)
        for n in sorted((set(pops) | set(projs)) & set(fbs)):
            raise ConfigError(f"feedback.{n}.name", n, "a name not used by a population or projection")
        check_credit(self)

    @staticmethod
    def _unique(kind: str, items) -> dict:
        out = {}
        for it in items:
            if it.name in out:
                raise ConfigError(f"{kind}.{it.name}.name", it.name, "a unique name")
            out[it.name] = it
        return out

    @staticmethod
    def _check_conductance_weights(p: Projection) -> None:
        """Onto conductance synapses ``w * weight_scale`` is a conductance: no negative weights."""
        owner = f"projections.{p.name}"
        w = p.w_init
        low = float(np.min(w)) if isinstance(w, np.ndarray) else (w[0] if isinstance(w, tuple) else float(w))
        why = (f"onto the conductance synapses of {p.post!r} a negative weight is a negative conductance "
               f"(inhibition is receptor = 'inh', with E_i below rest)")
        if low < 0:
            raise ConfigError(f"{owner}.w_init", low if not isinstance(w, (np.ndarray, tuple)) else f"min {low:g}",
                              "weights >= 0: " + why)
        w_min = getattr(p.rule, "w_min", None)
        if w_min is not None and np.ndim(w_min) == 0 and float(w_min) < 0:
            raise ConfigError(f"{owner}.rule.w_min", float(w_min), "a lower weight bound >= 0: " + why)

    def _check_projection(self, p: Projection, pops: dict, mods: dict) -> None:
        owner = f"projections.{p.name}"
        for end in ("pre", "post"):
            n = getattr(p, end)
            if n not in pops:
                raise ConfigError(f"{owner}.{end}", n, "the name of a population: " + ", ".join(pops)
                                  + did_you_mean(n, pops))
        pre, post = pops[p.pre], pops[p.post]
        if post.is_input and not (isinstance(post.model, SpikeTrains) and p.rule.kind == "spike"):
            raise ConfigError(f"{owner}.post", p.post, "a neuron population (inputs cannot receive projections; "
                              "only a spike-rule projection onto SpikeTrains, a plasticity protocol, can)")
        if p.rule.kind != "any":
            for end, pop in (("pre", pre), ("post", post)):
                if pop.kind != p.rule.kind:
                    raise ConfigError(f"{owner}.{end}", p.__getattribute__(end),
                                      f"a {p.rule.kind}-based population for rule {type(p.rule).__name__} "
                                      f"(population {pop.name!r} is {pop.kind}-based)")
        if pre.kind != post.kind:
            raise ConfigError(f"{owner}.pre", p.pre, f"a {post.kind}-based population to match post "
                                                     f"{p.post!r} (got {pre.kind}-based)")
        if post.is_input:
            # plasticity protocol: post spikes are imposed, nothing is transmitted
            set_field(p, "weight_scale", 0.0)
        elif post.kind == "spike":
            unit = post.model.receptor_unit()
            if p.weight_scale is None:
                raise ConfigError(f"{owner}.weight_scale", None, f"a quantity in {unit_name(unit)} "
                                  f"(what one spike adds to the target, times w)")
            set_field(p, "weight_scale", quantity(owner, "weight_scale", p.weight_scale, unit, nonnegative=True))
            if getattr(post.model, "synapse", None) == "conductance":
                self._check_conductance_weights(p)
        else:
            ws = 1.0 if p.weight_scale is None else p.weight_scale
            set_field(p, "weight_scale", number(owner, "weight_scale", ws))
        c = p.connectivity
        for cls_, n_from, n_to, what in ((FixedInDegree, pre.size, post.size, "in_degree"),
                                         (FixedOutDegree, post.size, pre.size, "out_degree")):
            if isinstance(c, cls_):
                avail = n_from - (0 if c.allow_self or p.pre != p.post else 1)
                if c.k > avail:
                    raise ConfigError(f"{owner}.connectivity.{what}", c.k, f"at most {avail} (distinct units of "
                                      f"{p.pre if what == 'in_degree' else p.post!r})")
        if isinstance(c, Explicit) and c.i.size and (c.i.max() >= pre.size or c.j.max() >= post.size):
            bad, n, end = ((int(c.i.max()), pre.size, "i") if c.i.max() >= pre.size else (int(c.j.max()), post.size, "j"))
            raise ConfigError(f"{owner}.connectivity.{end}", bad, f"indices < {n} (the size of "
                              f"{p.pre if end == 'i' else p.post!r})")
        if p.connectivity == "one_to_one" and pre.size != post.size:
            raise ConfigError(f"{owner}.connectivity", "one_to_one",
                              f"equal sizes (pre {p.pre!r} has {pre.size}, post {p.post!r} has {post.size})")
        if isinstance(p.w_init, np.ndarray) and p.w_init.shape != (pre.size, post.size):
            raise ConfigError(f"{owner}.w_init", f"array of shape {p.w_init.shape}",
                              f"shape (n_pre, n_post) = ({pre.size}, {post.size})")
        if "modulator" in p.rule.requires:
            m = getattr(p.rule, "modulator", None)
            if m not in mods:
                raise ConfigError(f"{owner}.rule.modulator", m, "the name of a modulator of the network: "
                                  + (", ".join(mods) or "(none defined)") + did_you_mean(str(m), mods))
        if p.homeostasis is not None and type(p.homeostasis).__name__ == "SynapticScaling" and post.kind != "spike":
            raise ConfigError(f"{owner}.homeostasis", "SynapticScaling", "a spiking post population")
        if p.delay is not None and post.kind == "rate":
            raise ConfigError(f"{owner}.delay", p.delay, "None for a rate projection (its input is summed "
                              "continuously and cannot be delayed)")

    def _check_monitor(self, m: Monitor, pops: dict, projs: dict, mods: dict) -> None:
        owner = f"monitors.{m.target}"
        if m.target not in pops and m.target not in projs:
            names = list(pops) + list(projs)
            raise ConfigError(f"{owner}.target", m.target, "a population or projection name" + did_you_mean(m.target, names))
        if m.target in pops and "spikes" in m.variables and pops[m.target].kind != "spike":
            raise ConfigError(f"{owner}.variables", "spikes", f"variables of rate population {m.target!r} (e.g. 'r')")
        if m.target in pops:
            pop = pops[m.target]
            size = pop.size
            known = list(pop.model.probeable)
            incoming = [p.name for p in self.incoming(pop.name)]
            known += [f"I_{p}" for p in incoming if pop.kind == "rate"]
            known += [f"d_{name}" for name in mods]
            # variables a rule adds to its target carry the projection's name as a suffix (theta_ff)
            ok = lambda v: v in known or any(v.endswith(f"_{p}") for p in incoming)  # noqa: E731
            what = f"population {pop.name!r} ({type(pop.model).__name__})"
        else:
            proj = projs[m.target]
            pre, post = pops[proj.pre], pops[proj.post]
            c = proj.connectivity
            size = None if isinstance(c, float) else (
                post.size * c.k if isinstance(c, FixedInDegree) else pre.size * c.k if isinstance(c, FixedOutDegree)
                else c.i.size if isinstance(c, Explicit) else
                pre.size if proj.connectivity == "one_to_one" else
                pre.size * post.size - (min(pre.size, post.size) if proj.connectivity == "all_but_self" else 0))
            known = list(dict.fromkeys(("w", *proj.rule.modifies, *proj.rule.probeable)))
            ok = known.__contains__
            what = f"projection {proj.name!r} (rule {type(proj.rule).__name__})"
        for v in m.variables:
            if v != "spikes" and not ok(v):
                raise ConfigError(f"{owner}.variables", v, f"a variable of {what}: "
                                  + ", ".join(known + (["spikes"] if m.target in pops and pops[m.target].kind == "spike"
                                                       else [])) + did_you_mean(v, known))
        if m.indices is not True and size is not None:
            bad = [i for i in m.indices if not 0 <= i < size]
            if bad:
                raise ConfigError(f"{owner}.indices", bad[0], f"an index in [0, {size - 1}] ({size} units"
                                  f"{' or synapses' if m.target in projs else ''})")

    # convenient lookups
    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        raise KeyError(name)

    def incoming(self, post: str) -> list[Projection]:
        return [p for p in self.projections if p.post == post]
