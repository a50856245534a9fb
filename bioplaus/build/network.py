"""Build a :class:`~bioplaus.spec.network.NetworkSpec` into Brian2 objects.

The build is device-agnostic: the same objects run on the numpy and Cython
runtimes and generate C++ or CUDA under a standalone device. Everything random
in the structure (connectivity, initial weights, frozen Poisson input) is drawn
in numpy from the network seed, so every backend builds the same network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, second
from brian2.units.fundamentalunits import DimensionMismatchError

from ..errors import ConfigError, did_you_mean
from ..spec.init import NONNEGATIVE
from ..spec.network import Explicit, FixedInDegree, FixedOutDegree, NetworkSpec, Population, Projection
from .eligibility import wire_eligibility
from .feedback import population_code, projection_code, wire_credit
from .neurons import rate_input_name
from .protocol import (add_gate, batch_rule_code, gate_neuron_code, gate_rule_code, gated_populations,
                       track_weight_sum)
from .registry import Code, builder_for, declare_params
from .rules import modulator_variable

__all__ = ["BuildContext", "BuiltNetwork", "build_network", "connectivity_indices", "bernoulli_pairs"]


class BuildContext:
    """What builders may use: the spec and named, independent random streams."""

    def __init__(self, spec: NetworkSpec, tunable: Any = None):
        self.spec = spec
        self.tunable = tunable

    def is_tunable(self, key: str) -> bool:
        """Whether parameter ``key`` (``"projections.ee.A_plus"``) is built as a variable."""
        if self.tunable is True:
            return True
        return bool(self.tunable) and key in self.tunable

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator seeded from (network seed, purpose): stable whatever else is built."""
        key = [int(b) for b in purpose.encode()]
        return np.random.default_rng(np.random.SeedSequence([self.spec.seed, *key]))


@dataclass
class BuiltNetwork:
    """Brian2 objects of a built network, keyed by spec names."""

    spec: NetworkSpec
    network: Network
    groups: dict[str, Any] = field(default_factory=dict)
    synapses: dict[str, Synapses] = field(default_factory=dict)
    monitors: dict[str, Any] = field(default_factory=dict)
    params: dict[str, tuple[Any, str]] = field(default_factory=dict)  # "populations.x.tau_e" -> (obj, var)
    constants: dict[str, Any] = field(default_factory=dict)   # "projections.ee.A_plus" -> value (code constant)

    def weights(self, projection: str) -> dict[str, np.ndarray]:
        s = self.synapses[projection]
        return {"i": np.array(s.i[:]), "j": np.array(s.j[:]), "w": np.array(s.w[:])}

    def weight_matrix(self, projection: str) -> np.ndarray:
        """Dense ``(n_pre, n_post)`` weights (NaN where there is no synapse)."""
        p = self.spec.projection(projection)
        W = np.full((self.spec.population(p.pre).size, self.spec.population(p.post).size), np.nan)
        d = self.weights(projection)
        W[d["i"], d["j"]] = d["w"]
        return W

    def collect(self) -> dict[str, np.ndarray]:
        """All recorded data and final weights as plain arrays (keys ``proj.w``, ``mon.var``...)."""
        out: dict[str, np.ndarray] = {}
        for name in self.synapses:
            for k, v in self.weights(name).items():
                out[f"{name}.{k}"] = v
        for key, mon in self.monitors.items():
            if isinstance(mon, SpikeMonitor):
                out[f"{key}.t"] = np.array(mon.t / second)
                out[f"{key}.i"] = np.array(mon.i[:])
            else:
                out[f"{key}.t"] = np.array(mon.t / second)
                for var in mon.record_variables:
                    out[f"{key}.{var}"] = np.array(getattr(mon, var)[:])
        return out


    # ------------------------------------------------------------------ state (checkpoints)
    def _stateful(self):
        from brian2.core.variables import ArrayVariable

        for name, obj in [*self.groups.items(), *self.synapses.items()]:
            for var, v in obj.variables.items():
                if (isinstance(v, ArrayVariable) and getattr(v.owner, "name", None) == obj.name and not v.read_only
                        and not v.constant
                        and not v.scalar and not var.startswith("_") and var not in ("i", "j")):
                    yield name, obj, var

    def state(self) -> dict[str, np.ndarray]:
        """Every changing per-unit/per-synapse variable (``"proj.w"``, ``"exc.theta"``, traces,
        ``lastspike``...) as plain arrays: what a checkpoint must hold to continue training."""
        return {f"{name}.{var}": np.array(getattr(obj, var)[:] if not hasattr(getattr(obj, var), "dim")
                                          else np.asarray(getattr(obj, var)[:]))
                for name, obj, var in self._stateful()}

    def set_state(self, state: dict[str, np.ndarray], elapsed: float = 0.0) -> None:
        """Load a :meth:`state` into this (freshly built) network before it runs.

        Times of last events (``lastspike``, ``lastupdate``) are shifted by ``-elapsed``
        seconds, since the new run starts its clock at zero.
        """
        from brian2.units.fundamentalunits import Quantity, get_dimensions

        for name, obj, var in self._stateful():
            key = f"{name}.{var}"
            if key not in state:
                continue
            value = np.asarray(state[key])
            if var in ("lastspike", "lastupdate"):
                value = value - elapsed
            dim = get_dimensions(obj.variables[var])
            setattr(obj, var, Quantity(value, dim=dim) if value.dtype.kind == "f" else value)


#: above this many candidate pairs, random connectivity is drawn by geometric gaps (memory and time
#: ~ number of synapses) instead of one uniform number per pair
DENSE_PAIRS_LIMIT = 1 << 26


def bernoulli_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
                    block_bytes: int = 1 << 26) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` independently with probability ``p``, in row-major order, as int32 arrays.

    Up to :data:`DENSE_PAIRS_LIMIT` pairs: one ``rng.random`` number per pair, drawn in row
    blocks of at most ``block_bytes`` (the same stream as one ``rng.random((n_pre, n_post))``
    draw, whatever the block size). Beyond it: the gaps between chosen pairs are geometric(p),
    so time and memory grow with the number of synapses (a 10^6-neuron network with 80
    synapses per neuron draws in seconds), not with ``n_pre * n_post``.

    >>> i, j = bernoulli_pairs(np.random.default_rng(0), 3, 4, 1.0)
    >>> i.tolist(), j.tolist()
    ([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
    """
    total = n_pre * n_post
    if total == 0 or p <= 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    if total <= DENSE_PAIRS_LIMIT:
        rows = max(1, block_bytes // (8 * n_post))
        ii, jj = [], []
        for start in range(0, n_pre, rows):
            r, c = np.nonzero(rng.random((min(rows, n_pre - start), n_post)) < p)
            ii.append(r + start)
            jj.append(c)
        return np.concatenate(ii).astype(np.int32), np.concatenate(jj).astype(np.int32)
    # flat pair positions: cumulative sums of geometric gaps, in batches a little above the mean count
    mean = p * total
    batch = int(min(mean + 6 * math.sqrt(mean) + 1000, 1 << 24))
    chunks, last = [], -1
    while True:
        pos = last + np.cumsum(rng.geometric(p, size=batch), dtype=np.int64)
        if pos[-1] >= total:
            chunks.append(pos[pos < total])
            break
        chunks.append(pos)
        last = int(pos[-1])
    flat = np.concatenate(chunks)
    return (flat // n_post).astype(np.int32), (flat % n_post).astype(np.int32)


def connectivity_indices(proj: Projection, n_pre: int, n_post: int, rng: np.random.Generator):
    """Pre and post indices of the synapses, drawn in numpy (identical on every backend).

    Memory stays proportional to the number of synapses for random connectivity
    (:func:`bernoulli_pairs`); ``all`` and ``all_but_self`` are dense by nature.
    """
    c = proj.connectivity
    if isinstance(c, Explicit):
        i, j = c.i, c.j
    elif isinstance(c, (FixedInDegree, FixedOutDegree)):
        # for each unit on the fixed side, k distinct partners uniformly at random (self excluded if asked)
        inward = isinstance(c, FixedInDegree)
        n_fixed, n_other = (n_post, n_pre) if inward else (n_pre, n_post)
        no_self = not c.allow_self and proj.pre == proj.post
        pick = np.empty((n_fixed, c.k), dtype=np.int64)
        for u in range(n_fixed):
            if no_self:
                d = rng.choice(n_other - 1, size=c.k, replace=False)
                pick[u] = d + (d >= u)
            else:
                pick[u] = rng.choice(n_other, size=c.k, replace=False)
        fixed = np.repeat(np.arange(n_fixed), c.k)
        i, j = (pick.ravel(), fixed) if inward else (fixed, pick.ravel())
    elif c == "one_to_one":
        i = j = np.arange(n_pre)
    elif isinstance(c, str):   # all, all_but_self
        i, j = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_post)
        if c == "all_but_self":
            keep = i != j
            i, j = i[keep], j[keep]
    else:
        i, j = bernoulli_pairs(rng, n_pre, n_post, float(c))
    return np.asarray(i).astype(np.int32, copy=False), np.asarray(j).astype(np.int32, copy=False)


def _initial_weights(proj: Projection, i, j, rng) -> np.ndarray:
    w = proj.w_init
    if isinstance(w, np.ndarray):
        return w[i, j].astype(float)
    if isinstance(w, tuple):
        return rng.uniform(w[0], w[1], size=len(i))
    return np.full(len(i), float(w))


def _merge(a: Code, b: Code) -> Code:
    for f in ("equations", "on_pre", "on_post", "run_regularly", "post_equations", "post_reset", "reset",
              "post_run_regularly"):
        getattr(a, f).extend(getattr(b, f))
    a.track_sum = a.track_sum or b.track_sum
    for f in ("params", "init", "post_params", "post_init", "namespace", "summed_when", "pathways"):
        getattr(a, f).update(getattr(b, f))
    return a


def _set_params(obj, params: dict[str, Any], prefix: str, registry: dict) -> None:
    for name, value in params.items():
        setattr(obj, name, value)
        registry[f"{prefix}.{name}"] = (obj, name)


def build_network(spec: NetworkSpec, *, tunable: Any = None) -> BuiltNetwork:
    """Create the Brian2 objects (under whatever device is active) for ``spec``.

    Parameters of neurons are ``(shared, constant)`` variables. Parameters of projections
    (rule constants such as ``A_plus``, ``tau_plus``, ``w_max`` and ``weight_scale``) are
    constants of the generated code, as in hand-written Brian2, so the compiler can fold them
    into the per-synapse updates (with equal ``tau_plus`` and ``tau_minus``, for instance, both
    trace decays become the same expression). As variables they made COBA with pair STDP run
    at 0.78-0.84x the hand-written speed on ``cpp`` (``benchmarks/RESULTS.md``, Backends). ``tunable`` names the
    projection parameters to build as variables instead, so that a compiled binary can be
    rerun with new values through ``run_args``: ``True`` for all of them, or keys as in
    :attr:`BuiltNetwork.params` (``"projections.ee.A_plus"``); ``bioplaus sweep`` passes the
    swept ones. :attr:`BuiltNetwork.params` lists the variables, :attr:`BuiltNetwork.constants`
    the rest.
    """
    if tunable is not None and tunable is not True and tunable is not False:
        if isinstance(tunable, str):
            tunable = [tunable]
        tunable = frozenset(str(k) for k in tunable)
    from brian2 import defaultclock

    defaultclock.dt = spec.dt
    ctx = BuildContext(spec, tunable)
    built = BuiltNetwork(spec=spec, network=Network(name=f"{spec.name}_net"))
    objects: list[Any] = []

    # 1. what each projection contributes (rule + homeostasis)
    syn_code: dict[str, Code] = {}
    gated = gated_populations(spec)
    for proj in spec.projections:
        code = builder_for(proj.rule)(proj.rule, proj, ctx)
        if proj.post in gated:   # a protocol's learning gate (build/protocol.py)
            code = gate_rule_code(code)
            if spec.protocol.batch > 1:   # mini-batches: increments summed, applied once per batch
                code = batch_rule_code(code, proj, ctx)
        if proj.homeostasis is not None:
            code = _merge(code, builder_for(proj.homeostasis)(proj.homeostasis, proj, ctx))
        if code.track_sum:
            code = track_weight_sum(code, code.track_sum)
        syn_code[proj.name] = _merge(code, projection_code(proj, ctx))   # feedback through these weights

    # 2. populations
    used_modulators: dict[str, set[str]] = {}
    for proj in spec.projections:
        if "modulator" in proj.rule.requires:
            used_modulators.setdefault(proj.rule.modulator, set()).add(proj.post)
    for pop in spec.populations:
        if pop.is_input:
            group = builder_for(pop.model)(pop.model, pop, ctx)
        else:
            group = _build_neuron_group(pop, spec, ctx, syn_code, used_modulators, built, gated)
        built.groups[pop.name] = group
        objects.append(group)

    # 3. modulators: one spike source per delivery, feeding d_<name> of each target group
    for mod in spec.modulators:
        targets = sorted(used_modulators.get(mod.name, ()))
        if not targets or len(mod.times) == 0:
            continue
        k = len(mod.times)
        src = SpikeGeneratorGroup(k, np.arange(k), mod.times, name=f"modulator_{mod.name}")
        objects.append(src)
        for tgt in targets:
            n = spec.population(tgt).size
            s = Synapses(src, built.groups[tgt], "amount : 1 (constant)",
                         on_pre=f"{modulator_variable(mod.name)}_post += amount", name=f"modulator_{mod.name}_{tgt}")
            s.connect(i=np.repeat(np.arange(k), n).astype(np.int32), j=np.tile(np.arange(n), k).astype(np.int32))
            s.amount = np.repeat(mod.amounts, n)
            objects.append(s)

    # 4. projections
    for proj in spec.projections:
        s = _build_synapses(proj, spec, ctx, syn_code[proj.name], built)
        built.synapses[proj.name] = s
        objects.append(s)

    # 4b. error pathways (build/feedback.py): error and feedback synapses, data-flow order of the step
    objects += wire_credit(spec, ctx, built)
    objects += wire_eligibility(spec, ctx, built)   # e-prop: trial resets, readout error (build/eligibility.py)

    # 5. monitors
    for mon in spec.monitors:
        target = built.groups.get(mon.target) or built.synapses.get(mon.target)
        state_vars = [v for v in mon.variables if v != "spikes"]
        if "spikes" in mon.variables:
            m = SpikeMonitor(target, name=f"{mon.target}_spikes")
            built.monitors[f"{mon.target}.spikes"] = m
            objects.append(m)
        if state_vars:
            for v in state_vars:
                if v not in target.variables:
                    raise ConfigError(f"monitors.{mon.target}.variables", v,
                                      "a variable of the target: " + ", ".join(
                                          sorted(k for k in target.variables if not k.startswith("_"))[:30]))
            kw = {} if mon.dt is None else {"dt": mon.dt}
            m = StateMonitor(target, state_vars, record=mon.indices, name=f"{mon.target}_state", **kw)
            built.monitors[f"{mon.target}.state"] = m
            objects.append(m)

    built.network.add(*objects)
    if isinstance(ctx.tunable, frozenset):
        unknown = sorted(ctx.tunable - set(built.params) - set(built.constants))
        if unknown:
            known = sorted(set(built.params) | set(built.constants))
            raise ConfigError("tunable", unknown[0], "a parameter key of the network: " + ", ".join(known)
                              + did_you_mean(unknown[0], known))
    return built


def _build_neuron_group(pop: Population, spec: NetworkSpec, ctx, syn_code, used_modulators, built,
                        gated=frozenset()) -> NeuronGroup:
    code = population_code(pop, ctx, builder_for(pop.model)(pop.model, pop, ctx))   # + error compartment
    post_params: dict[str, Any] = {}
    post_init: dict[str, Any] = {}
    regular: list[tuple[str, Any, str, int]] = []
    if pop.name in gated:
        gate_neuron_code(code)
        stmt, gate_dt, gate_ns = add_gate(code, ctx)
        code.namespace.update(gate_ns)
        regular.append((stmt, gate_dt, "start", 0))
    for proj in spec.incoming(pop.name):
        c = syn_code[proj.name]
        code.equations += c.post_equations
        post_params.update(c.post_params)
        post_init.update(c.post_init)
        code.reset += c.post_reset
        regular += c.post_run_regularly
    for mod in spec.modulators:
        if pop.name in used_modulators.get(mod.name, ()):
            d = modulator_variable(mod.name)
            code.equations.append(f"d{d}/dt = -{d}/tau_{d} : 1")
            post_params[f"tau_{d}"] = mod.tau_d
    model = "\n".join(code.equations + declare_params({**code.params, **post_params}))
    kw: dict[str, Any] = dict(method=code.method, name=pop.name, namespace=dict(code.namespace))
    if code.threshold:
        kw.update(threshold=code.threshold, reset="\n".join(code.reset), refractory=code.refractory)
    group = NeuronGroup(pop.size, model, **kw)
    _set_params(group, code.params, f"populations.{pop.name}", built.params)
    _set_params(group, post_params, f"populations.{pop.name}", built.params)
    for var, val in {**code.init, **post_init}.items():
        setattr(group, var, val)
    for var, iv in (pop.init or {}).items():     # Population.init: constants or draws from the network seed
        value = iv.draw(ctx.rng(f"init:{pop.name}:{var}"), pop.size, nonnegative=var in NONNEGATIVE)
        try:
            setattr(group, var, value)
        except DimensionMismatchError as exc:
            raise ConfigError(f"populations.{pop.name}.init.{var}", str(iv.a), f"a value in the unit of "
                              f"{var} ({exc.dims[0] if exc.dims else 'see the model'})") from None
    for k, (stmt, dt, when, order) in enumerate(regular):
        group.run_regularly(stmt, dt=dt, when=when, order=order, name=f"{pop.name}_regular{k}")
    return group


def _build_synapses(proj: Projection, spec: NetworkSpec, ctx, code: Code, built) -> Synapses:
    pre_pop, post_pop = spec.population(proj.pre), spec.population(proj.post)
    params = dict(code.params)
    params["weight_scale"] = proj.weight_scale
    equations = list(code.equations)
    on_pre = list(code.on_pre)
    if post_pop.is_input:
        pass  # protocol synapse onto imposed spike trains: plasticity only, no transmission
    elif post_pop.kind == "rate":
        equations.append(f"{rate_input_name(proj.name)}_post = weight_scale*w*r_pre : 1 (summed)")
    else:
        g = getattr(post_pop.model, "receptors", {}).get(proj.receptor) or ("g_e" if proj.receptor == "exc" else "g_i")
        on_pre.insert(0, f"{g}_post += weight_scale*w" + (f"*{code.efficacy}" if code.efficacy else ""))
    # subexpressions of pre/post (e.g. r = scale*stimulus(t, i)) are evaluated inside the synapses' code,
    # so their external names must resolve here too
    namespace = {**(getattr(built.groups[proj.pre], "namespace", None) or {}),
                 **(getattr(built.groups[proj.post], "namespace", None) or {}), **code.namespace}
    rule_prefix = f"projections.{proj.name}"
    # constants of the generated code, except where asked to be tunable or where the name could
    # resolve to something else (a variable of pre or post, which unsuffixed names also reach)
    taken = set(namespace) | set(built.groups[proj.pre].variables) | set(built.groups[proj.post].variables)
    constants = {n: v for n, v in params.items() if not ctx.is_tunable(f"{rule_prefix}.{n}") and n not in taken}
    params = {n: v for n, v in params.items() if n not in constants}
    namespace.update(constants)
    built.constants.update({f"{rule_prefix}.{n}": v for n, v in constants.items()})
    model = "\n".join(equations + declare_params(params))
    kw: dict[str, Any] = dict(method=code.method, name=proj.name, namespace=namespace)
    if on_pre:
        kw["on_pre"] = "\n".join(on_pre)
    if code.pathways:   # further presynaptic pathways ("pre" transmits), e.g. a learning step (build/feedback.py)
        kw["on_pre"] = {"pre": "\n".join(on_pre), **{k: "\n".join(v) for k, v in code.pathways.items()}}
    if code.on_post:
        kw["on_post"] = "\n".join(code.on_post)
    if proj.delay is not None:
        kw["delay"] = proj.delay
    s = Synapses(built.groups[proj.pre], built.groups[proj.post], model, **kw)
    i, j = connectivity_indices(proj, pre_pop.size, post_pop.size, ctx.rng(f"connect:{proj.name}"))
    s.connect(i=i, j=j)
    s.w = _initial_weights(proj, i, j, ctx.rng(f"weights:{proj.name}"))
    _set_params(s, params, rule_prefix, built.params)
    for var, val in code.init.items():
        setattr(s, var, val)
    for k, (stmt, dt, when, *order) in enumerate(code.run_regularly):
        s.run_regularly(stmt, dt=dt, when=when, order=order[0] if order else 0, name=f"{proj.name}_update{k}")
    if code.track_sum:   # the tracked postsynaptic sums start at the initial column sums
        w0 = _initial_weights(proj, i, j, ctx.rng(f"weights:{proj.name}"))   # the same draw as s.w
        if len(i) == pre_pop.size * post_pop.size and proj.connectivity == "all":
            sums = w0.reshape(pre_pop.size, post_pop.size).sum(axis=0)
        else:
            sums = np.bincount(j, weights=w0, minlength=post_pop.size)
        setattr(built.groups[proj.post], code.track_sum[:-len("_post")], sums)
    for var, when in code.summed_when.items():  # summed just before the updates that read the sum
        s.summed_updaters[var].when = when
    return s
