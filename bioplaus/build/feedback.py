r"""Error pathways built from the declarations of :mod:`bioplaus.spec.credit`.

Nothing here knows a particular network: the builder reads which populations have an
error compartment (the ``output`` of a :class:`~bioplaus.spec.credit.RateError`, the
``post`` of a :class:`~bioplaus.spec.credit.Feedback`), which rules require one
(``requires={"error"}``) and which feedback follows which forward weights, and adds:

* to each population with an error compartment, one summed input ``I_fb_<source>`` per
  incoming error and ``delta = (sum of them) * gain * f'(r)``;
* to the units of an error pathway, a *stored* rate ``r`` that settles once per step
  (``r = f(u_in)`` as a ``run_regularly`` operation) instead of a subexpression that
  every synapse would recompute;
* the synapses of each error population (output copy, softmax normalisation, target) and
  of its error back into ``output``; one synapse object per fixed or random
  :class:`~bioplaus.spec.credit.Feedback`; for :class:`~bioplaus.spec.credit.Transposed`
  and :class:`~bioplaus.spec.credit.SignOf` feedback, a summed variable onto the
  presynaptic side of the forward projection itself (:math:`I^F_i = \sum_j W_{ji}\delta_j`),
  so the feedback reads the forward weights as they learn;
* the order of every operation within the time step, from the graph: in the ``groups``
  slot, for each population in data-flow (topological) order, the sums of its incoming
  projections then its settling; then, in reverse order, the sums of the errors coming
  back. Each step therefore computes the settled forward pass and the error pass
  exactly, and an :class:`~bioplaus.spec.credit.ErrorDriven` update (``end`` slot) reads
  settled values.

As in Nengo's generic ``build_learning_rule``, the rule's builder only says what it
updates and what it reads (``delta_post``, ``r_pre``); the pathway that fills
``delta`` is wired here from the declarations.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..spec.credit import (ErrorDriven, ErrorTriggered, FixedFeedback, KolenPollack, LabelInput, NormalizedLIF,
                           RandomFeedback,
                           RateError, SampleRates, SignOf, SpikingError, Transposed, WeightMirror, error_sources)
from ..spec.neurons import RateUnit
from .neurons import TRANSFER_EXPR, rate_input_name
from .registry import Code, register

__all__ = ["DERIVATIVE_EXPR", "credit_populations", "sample_rates_arrays", "input_run_args", "population_code", "projection_code", "wire_credit",
           "update_code"]

#: f'(u) written through the stored rate r = f(u)
DERIVATIVE_EXPR = {"linear": "1", "tanh": "(1 - r*r)", "sigmoid": "r*(1 - r)", "relu": "int(r > 0)"}


class _CreditState:
    r"""Per-build bookkeeping: settle statements of populations (filled while groups are built)."""

    def __init__(self):
        self.settle: dict[str, str] = {}
        self.mirror: dict[str, dict[str, Any]] = {}


def _window_steps(obj, dt: float, key: str, dt_text: str) -> tuple[int, int]:
    """``obj.present`` and ``obj.rest`` as whole numbers of time steps ``dt`` (seconds); a
    :class:`ConfigError` at ``key.present``/``key.rest`` for a window that is not one."""
    steps = []
    for f in ("present", "rest"):
        k = float(getattr(obj, f)) / dt
        if abs(k - round(k)) > 1e-6:
            raise ConfigError(f"{key}.{f}", str(getattr(obj, f)), f"a whole number of time steps dt = {dt_text}")
        steps.append(int(round(k)))
    return steps[0], steps[1]


def _state(ctx) -> _CreditState:
    st = getattr(ctx, "_credit_state", None)
    if st is None:
        st = _CreditState()
        ctx._credit_state = st
    return st


def credit_populations(spec) -> set[str]:
    r"""Populations taking part in an error pathway (their rates are stored and ordered)."""
    names = set(error_sources(spec))
    for pop in spec.populations:
        if isinstance(pop.model, RateError):
            names |= {pop.name, pop.model.output}
    for proj in spec.projections:
        if "error" in proj.rule.requires:
            names |= {proj.pre, proj.post}
    for fb in spec.feedback:
        names |= {fb.pre, fb.post}
    return {n for n in names if not spec.population(n).is_input}


def _fb_var(source: str) -> str:
    return f"I_fb_{source}"


def _mirror_var(feedback: str) -> str:
    return f"mirror_{feedback}"


def _mirror_arrays(fb, ctx) -> dict[str, Any]:
    r"""TimedArrays of the mirror mode of a :class:`~bioplaus.spec.credit.WeightMirror` feedback ``fb``:
    ``<fb>_mirror(t)`` is 1 at the rest steps of every window in which the forward projection applied
    an update (0 elsewhere), ``<fb>_noise(t, j)`` the noise :math:`\xi_j = \sigma\nu_j` of unit
    :math:`j` of ``fb.post`` at those steps (made once per build, shared by both synapse objects)."""
    from brian2 import TimedArray

    st = _state(ctx)
    if fb.name in st.mirror:
        return st.mirror[fb.name]
    spec, w = ctx.spec, fb.weights
    sched = spec.projection(w.of).rule.updates
    dt = float(spec.dt)
    P, R = _window_steps(sched, dt, f"projections.{w.of}.rule.updates", f"{spec.dt}")
    applied = (sched.apply > 0) if sched.batched else (sched.weights > 0)
    windows = np.flatnonzero(applied)
    at = (windows[:, None] * (P + R) + P + np.arange(R)[None, :]).ravel()
    total = int(round(float(spec.duration) / dt))
    gate = np.zeros(max(total, sched.n_windows * (P + R)) + 1)
    at = at[at < total]
    gate[at] = 1.0
    n_post = spec.population(fb.post).size
    if w.noise is None:
        nu = ctx.rng(f"feedback:{fb.name}:mirror").standard_normal((len(at), n_post))
    elif len(w.noise) < len(at):
        raise ConfigError(f"feedback.{fb.name}.weights.noise", f"array of shape {w.noise.shape}",
                          f"at least one row per mirror step ({len(at)})")
    else:
        nu = w.noise[:len(at)]
    xi = np.zeros((len(gate), n_post))
    xi[at] = float(w.sigma) * nu
    st.mirror[fb.name] = {f"{fb.name}_mirror": TimedArray(gate, dt=spec.dt, name=f"{fb.name}_mirror"),
                          f"{fb.name}_noise": TimedArray(xi, dt=spec.dt, name=f"{fb.name}_noise")}
    return st.mirror[fb.name]


# --------------------------------------------------------------------------- populations

def _compartment_tau(spec, name: str):
    for fb in spec.feedback:
        if fb.post == name:
            return fb.tau
    for p in spec.populations:
        if isinstance(p.model, SpikingError) and p.model.output == name:
            return p.model.tau_U
    return None


def population_code(pop, ctx, code: Code) -> Code:
    r"""Add the error compartment (rate: ``delta``, spiking: dendrite ``U``) and the stored rate to the
    code of ``pop`` (no-op outside error pathways)."""
    spec = ctx.spec
    errors = (RateError, SpikingError)
    if not getattr(spec, "feedback", ()) and not any(isinstance(p.model, errors) for p in spec.populations):
        return code
    if isinstance(pop.model, errors):
        return code
    if pop.kind == "spike":
        if pop.name in error_sources(spec):   # tau_U dU/dt = -U; error spikes jump U (wire_credit)
            code.equations.append("dU/dt = -U/tau_U : 1")
            code.params["tau_U"] = _compartment_tau(spec, pop.name)
        return code
    if pop.name not in credit_populations(spec):
        return code
    model = pop.model
    if not isinstance(model, RateUnit):
        raise ConfigError(f"populations.{pop.name}.model", type(model).__name__,
                          "a RateUnit (rate error pathways need rate units)")
    for fb in spec.feedback:   # what the layer above receives from the noise of a mirror mode
        if fb.pre == pop.name and isinstance(fb.weights, WeightMirror):
            code.equations.append(f"{_mirror_var(fb.name)} : 1")
    sources = error_sources(spec).get(pop.name, [])
    if sources:
        inputs = [_fb_var(s) for s in sources]
        code.equations += [f"{v} : 1" for v in inputs]
        gain = "gain*" if float(model.gain) != 1.0 else ""   # a unit gain is folded out (one multiply per synapse)
        code.equations.append(f"delta = ({' + '.join(inputs)})*{gain}{DERIVATIVE_EXPR[model.transfer]} : 1")
    if model.tau is None:   # stored rate, settled once per step in data-flow order
        f = TRANSFER_EXPR[model.transfer]
        k = [n for n, eq in enumerate(code.equations) if eq.replace(" ", "").startswith("r=")]
        if len(k) != 1:
            raise ConfigError(f"populations.{pop.name}.model", type(model).__name__,
                              "a rate unit whose rate is one subexpression 'r = f(u_in)'")
        code.equations[k[0]] = "r : 1"
        _state(ctx).settle[pop.name] = f"r = {f}"
    return code


@register(RateError)
def build_rate_error(model: RateError, pop, ctx) -> Code:
    r"""Error units: :math:`e = p - t` (variable ``error``) with :math:`p = y` or :math:`\mathrm{softmax}(y)` (see :mod:`bioplaus.spec.credit`)."""
    p_expr = "I_y" if model.loss == "mse" else "exp(I_y)/Z"
    code = Code(method="exponential_euler")
    code.equations = ["I_y : 1", "target : 1"] + (["Z : 1"] if model.loss == "cross_entropy" else [])
    if model.tau is None:
        code.equations += ["p : 1", "error : 1"]
        _state(ctx).settle[pop.name] = f"p = {p_expr}\nerror = p - target"
    else:
        code.equations += [f"p = {p_expr} : 1", "derror/dt = (p - target - error)/tau : 1"]
        code.params["tau"] = model.tau
    return code


@register(SpikingError)
def build_spiking_error(model: SpikingError, pop, ctx) -> Code:
    r"""E+/E- units: :math:`\tau_{err}\dot v = -v`, spike at 1 with subtractive reset, floor at ``floor``.

    The floor is applied as a Brian2 custom event would: the condition ``v < err_floor`` is
    taken in the ``thresholds`` slot and ``v = err_floor`` set in the ``resets`` slot
    (:func:`wire_credit`), after the step's synaptic input.
    """
    code = Code(method="exact")
    code.equations = ["dv/dt = -v/tau_err : 1", "below_floor : 1"]
    code.params.update(tau_err=model.tau_err, err_floor=model.floor)
    code.threshold = "v > 1"
    code.reset = ["v -= 1"]
    return code


@register(NormalizedLIF)
def build_normalized_lif(model: NormalizedLIF, pop, ctx) -> Code:
    r""":math:`\tau_m \dot v = -v`, spike at :math:`v > 1`, :math:`v \leftarrow 0`, refractory ``t_ref``."""
    code = Code(method="exact")
    refractory = float(model.t_ref) > 0
    code.equations = ["dv/dt = -v/tau_m : 1" + (" (unless refractory)" if refractory else "")]
    code.params["tau_m"] = model.tau_m
    code.threshold = "v > 1"
    code.reset = ["v = 0"]
    code.refractory = model.t_ref if refractory else False
    return code


@register(LabelInput)
def build_label_input(model: LabelInput, pop, ctx):
    r"""Poisson units at ``rate`` for the class of the sample presented (needs the network's protocol)."""
    from brian2 import NeuronGroup, TimedArray, second

    from .protocol import _functions

    protocol = getattr(ctx.spec, "protocol", None)
    if protocol is None or protocol.labels is None:
        raise ConfigError(f"populations.{pop.name}.model", "LabelInput", "a network with a protocol with labels")
    fns = _functions(ctx)
    label_of = TimedArray(np.append(protocol.window_labels(), -1).astype(float), dt=fns["order"].dt * second,
                          name="label_of")
    g = NeuronGroup(pop.size, "rate = target_rate*gate(t)*int(abs(label_of(t) - i) < 0.5) : Hz\n"
                              "target_rate : Hz (shared, constant)", threshold="rand() < rate*dt",
                    namespace={"gate": fns["gate"], "label_of": label_of}, name=pop.name)
    g.target_rate = model.rate
    return g


def sample_rates_arrays(model: SampleRates, pop_name: str, dt: float) -> tuple[np.ndarray, np.ndarray, float]:
    r"""``(data, index, index_dt)`` of a :class:`SampleRates` population: the samples with one all-zero
    row appended, and per ``gcd(present, rest)`` interval the row shown (the zero row during rest)."""
    import math

    P, R = _window_steps(model, dt, f"populations.{pop_name}.model", f"{dt} s")
    g = math.gcd(P, R) if R else P
    n_on, per = P // g, (P + R) // g
    n = len(model.samples)
    idx = np.full((len(model.order) + 1, per), float(n))     # one silent window after the last
    idx[:-1, :n_on] = model.order[:, None]
    data = np.vstack([model.samples, np.zeros((1, model.samples.shape[1]))])
    return data, idx.ravel(), g * dt


@register(SampleRates)
def build_sample_rates(model: SampleRates, pop, ctx):
    """``r = x(index(t), i)`` stored once per step (``before_groups``); ``index`` has one entry per
    ``gcd(present, rest)`` and points at an all-zero row during rest."""
    from brian2 import NeuronGroup, TimedArray, second

    data_v, index_v, index_dt = sample_rates_arrays(model, pop.name, float(ctx.spec.dt))
    data = TimedArray(data_v, dt=1 * second, name=f"{pop.name}_samples")
    index = TimedArray(index_v, dt=index_dt * second, name=f"{pop.name}_index")
    grp = NeuronGroup(pop.size, "r : 1", name=pop.name, namespace={data.name: data, index.name: index})
    grp.run_regularly(f"r = {data.name}({index.name}(t)*second, i)", when="before_groups", name=f"{pop.name}_present")
    return grp


def input_run_args(model, group, spec) -> dict[Any, np.ndarray]:
    r"""``run_args`` that make the compiled ``group`` (built from an input model of the same shape)
    present ``model`` instead: ``{TimedArray: values}``."""
    if not isinstance(model, SampleRates):
        raise ConfigError(f"populations.{group.name}.model", type(model).__name__,
                          "a SampleRates input (the input models a compiled network can rerun with)")
    data, index, _ = sample_rates_arrays(model, group.name, float(spec.dt))
    ns = group.namespace
    return {ns[f"{group.name}_samples"]: data, ns[f"{group.name}_index"]: index}


# --------------------------------------------------------------------------- projections

def projection_code(proj, ctx) -> Code:
    r"""What feedback through the weights of ``proj`` adds to its synapses (Transposed / SignOf)."""
    code = Code()
    for fb in getattr(ctx.spec, "feedback", ()):
        w = fb.weights
        if isinstance(w, Transposed) and w.of == proj.name:
            sig = "error" if isinstance(ctx.spec.population(fb.pre).model, RateError) else "delta"
            factor = "w"
            if isinstance(w, SignOf):
                factor = f"scale_{fb.name}*sign(w)"
                code.params[f"scale_{fb.name}"] = w.scale
            code.equations.append(f"{_fb_var(fb.name)}_pre = {factor}*{sig}_post : 1 (summed)")
        elif isinstance(w, WeightMirror) and w.of == proj.name:   # the noise of post's side, sent forward
            code.namespace.update(_mirror_arrays(fb, ctx))
            code.equations.append(f"{_mirror_var(fb.name)}_post = w*{fb.name}_noise(t, i) : 1 (summed)")
    return code


def update_code(rule: ErrorDriven, proj_name: str, var: str = "w", grad: str = "delta_post*r_pre") -> str:
    r"""Abstract code of one SGD step on ``var``, as :class:`bioplaus.reference.mlp.SGD` computes it.

    ``<proj>_learn(t)`` is the window's weight in its batch (0 outside updates), ``<proj>_apply(t)``
    1 at a batch's last window. With momentum and a gate of 0 the state is unchanged exactly.
    """
    sched = rule.updates
    batched = sched is not None and sched.batched
    lw = f"{proj_name}_learn(t)" if sched is not None else "1"
    ap = f"{proj_name}_apply(t)"
    lines = []
    if batched:
        lines.append(f"g_{var} = g_{var} + {lw}*{grad}")
        g, gate = f"g_{var}", ap
    else:
        g, gate = (f"{lw}*{grad}" if sched is not None else grad), lw
    if rule.weight_decay > 0:
        g = f"({g} + wd*{var})"
    if rule.momentum > 0:
        if gate == "1":
            lines.append(f"v_{var} = mu*v_{var} - eta*{g}")
            lines.append(f"{var} = {var} + v_{var}")
        else:
            lines.append(f"v_{var} = {gate}*(mu*v_{var} - eta*{g}) + (1 - {gate})*v_{var}")
            lines.append(f"{var} = {gate}*({var} + v_{var}) + (1 - {gate})*{var}")
    elif batched:
        lines.append(f"{var} = {gate}*({var} - eta*{g}) + (1 - {gate})*{var}")
    else:
        lines.append(f"{var} = {var} - eta*{g}")
    if batched:
        lines.append(f"g_{var} = (1 - {ap})*g_{var}")
    return "\n".join(lines)


def _gate_arrays(rule: ErrorDriven, proj, ctx) -> dict[str, Any]:
    r"""Per-step TimedArrays of the learning windows (weight at the last step of each presentation)."""
    from brian2 import TimedArray

    sched = rule.updates
    dt = float(ctx.spec.dt)
    steps = {}
    for f in ("present", "rest"):
        s = float(getattr(sched, f)) / dt
        if abs(s - round(s)) > 1e-6:
            raise ConfigError(f"projections.{proj.name}.rule.updates.{f}", str(getattr(sched, f)),
                              f"a whole number of time steps dt = {ctx.spec.dt}")
        steps[f] = int(round(s))
    P, W = steps["present"], steps["present"] + steps["rest"]
    n = sched.n_windows
    total = int(round(float(ctx.spec.duration) / dt))
    learn = np.zeros(max(total, n * W) + 1)
    learn[np.arange(n) * W + P - 1] = sched.weights
    out = {f"{proj.name}_learn": TimedArray(learn, dt=ctx.spec.dt, name=f"{proj.name}_learn")}
    if sched.batched:
        apply = np.zeros_like(learn)
        apply[np.arange(n) * W + P - 1] = sched.apply
        out[f"{proj.name}_apply"] = TimedArray(apply, dt=ctx.spec.dt, name=f"{proj.name}_apply")
    return out


@register(ErrorDriven)
def build_error_driven(rule: ErrorDriven, proj, ctx) -> Code:
    r""":math:`\Delta W = -\eta(\delta^{post} r^{pre} + \lambda W)` with momentum and batches, in gated windows."""
    code = Code(equations=["w : 1"])
    sched = rule.updates
    if sched is not None and sched.batched:
        code.equations.append("g_w : 1")
    if rule.momentum > 0:
        code.equations.append("v_w : 1")
        code.params["mu"] = rule.momentum
    code.params["eta"] = rule.eta
    if rule.weight_decay > 0:
        code.params["wd"] = rule.weight_decay
    if sched is not None:
        code.namespace.update(_gate_arrays(rule, proj, ctx))
    code.run_regularly.append((update_code(rule, proj.name), None, "end"))   # every step, on the network's clock
    return code


@register(ErrorTriggered)
def build_error_triggered(rule: ErrorTriggered, proj, ctx) -> Code:
    r"""At a presynaptic spike, before its transmission:
    :math:`w \leftarrow \mathrm{clip}(w - [\text{plastic}]\,\eta\,U\,\mathbb{1}[b_{low} < v < b_{high}], \pm w_{max})`."""
    code = Code(equations=["w : 1"])
    code.params.update(eta=rule.eta, b_low=rule.b_low, b_high=rule.b_high, w_max=rule.w_max)
    box = "int(v_post > b_low)*int(v_post < b_high)" if rule.lower_gate else "int(v_post < b_high)"
    plastic = "plastic_post*" if getattr(ctx.spec, "protocol", None) is not None else ""
    # its own pathway, run before transmission (Brian2 orders pathways by name: "<proj>_learn" < "<proj>_pre"),
    # so that each code block stays vectorisable on the numpy target
    code.pathways["learn"] = [f"w = clip(w - {plastic}eta*U_post*{box}, -w_max, w_max)"]
    return code


# --------------------------------------------------------------------------- wiring

def _all_to_all(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_post)
    return i.astype(np.int32), j.astype(np.int32)


def _topological(spec, names: list[str]) -> list[str]:
    r"""Populations in data-flow order (inputs excluded); order of declaration breaks ties and cycles."""
    pos = {n: k for k, n in enumerate(names)}
    deps = {n: set() for n in names}
    for proj in spec.projections:
        if proj.pre in deps and proj.post in deps and proj.pre != proj.post:
            deps[proj.post].add(proj.pre)
    for pop in spec.populations:
        if isinstance(pop.model, RateError) and pop.name in deps and pop.model.output in deps:
            deps[pop.name].add(pop.model.output)
    out, done = [], set()
    while len(out) < len(names):
        ready = [n for n in names if n not in done and deps[n] <= done]
        if not ready:   # a cycle: take the first remaining population
            ready = [min((n for n in names if n not in done), key=pos.__getitem__)]
        n = ready[0]
        out.append(n)
        done.add(n)
    return out


def wire_credit(spec, ctx, built) -> list[Any]:
    r"""Create the error and feedback synapses and order the step; returns the new Brian2 objects."""
    from brian2 import Synapses

    errors = [p for p in spec.populations if isinstance(p.model, RateError)]
    spiking = [p for p in spec.populations if isinstance(p.model, SpikingError)]
    if not errors and not spiking and not getattr(spec, "feedback", ()):
        return []
    G = built.groups
    objects: list[Any] = []
    summed_in: dict[str, list[Any]] = {}    # population -> summed updaters filling its forward-pass inputs
    back_in: dict[str, list[Any]] = {}      # population -> summed updaters filling its error inputs

    def ns(*names):
        out = {}
        for n in names:
            out.update(getattr(G[n], "namespace", None) or {})
        return out

    for pop in errors:
        m, n = pop.model, pop.size
        one = np.arange(n, dtype=np.int32)
        out_g, err_g, tgt_g = G[m.output], G[pop.name], G[m.target]
        copy = Synapses(out_g, err_g, "I_y_post = r_pre : 1 (summed)", name=f"{pop.name}_output",
                        namespace=ns(m.output))
        copy.connect(i=one, j=one)
        tgt = Synapses(tgt_g, err_g, "target_post = r_pre : 1 (summed)", name=f"{pop.name}_target",
                       namespace=ns(m.target))
        tgt.connect(i=one, j=one)
        objects += [copy, tgt]
        summed_in.setdefault(pop.name, []).extend([copy.summed_updaters["I_y_post"],
                                                   tgt.summed_updaters["target_post"]])
        if m.loss == "cross_entropy":
            norm = Synapses(out_g, err_g, "Z_post = exp(r_pre) : 1 (summed)", name=f"{pop.name}_norm",
                            namespace=ns(m.output))
            ii, jj = _all_to_all(n, n)
            norm.connect(i=ii, j=jj)
            objects.append(norm)
            summed_in[pop.name].append(norm.summed_updaters["Z_post"])
        back = Synapses(err_g, out_g, f"{_fb_var(pop.name)}_post = error_pre : 1 (summed)",
                        name=f"{pop.name}_to_{m.output}")
        back.connect(i=one, j=one)
        objects.append(back)
        back_in.setdefault(m.output, []).append(back.summed_updaters[f"{_fb_var(pop.name)}_post"])

    for pop in spiking:   # E+ = units 0..n-1, E- = n..2n-1
        m, n = pop.model, pop.size // 2
        k = np.arange(n, dtype=np.int32)
        err_g = G[pop.name]
        for src, sign in ((m.output, 1.0), (m.target, -1.0)):
            s = Synapses(G[src], err_g, "c : 1 (constant)", on_pre="v_post += c", name=f"{src}_{pop.name}")
            s.connect(i=np.concatenate([k, k]), j=np.concatenate([k, k + n]))
            s.c = np.concatenate([np.full(n, sign * m.w_err), np.full(n, -sign * m.w_err)])
            objects.append(s)
        s = Synapses(err_g, G[m.output], "c : 1 (constant)", on_pre="U_post += c", name=f"{pop.name}_{m.output}")
        s.connect(i=np.concatenate([k, k + n]), j=np.concatenate([k, k]))
        s.c = np.concatenate([np.full(n, m.u_inc), np.full(n, -m.u_inc)])
        objects.append(s)
        err_g.run_regularly("below_floor = int(v < err_floor)", when="thresholds", order=1,
                            name=f"{pop.name}_floor_event")
        err_g.run_regularly("v = below_floor*err_floor + (1 - below_floor)*v", when="resets", order=1,
                            name=f"{pop.name}_floor_reset")

    for fb in spec.feedback:
        pre = spec.population(fb.pre)
        if isinstance(pre.model, SpikingError):   # error spikes into the dendrite: +B from E+, -B from E-
            n, n_post = pre.size // 2, spec.population(fb.post).size
            w = fb.weights
            M = w.matrix * w.scale if isinstance(w, FixedFeedback) else w.draw(ctx.rng(f"feedback:{fb.name}"), n,
                                                                                n_post)
            s = Synapses(G[fb.pre], G[fb.post], "w : 1 (constant)", on_pre="U_post += w", name=fb.name)
            i, j = _all_to_all(2 * n, n_post)
            s.connect(i=i, j=j)
            s.w = np.concatenate([M, -M]).ravel()
            built.synapses[fb.name] = s
            objects.append(s)
            continue
        sig = "error" if isinstance(pre.model, RateError) else "delta"
        var = _fb_var(fb.name)
        w = fb.weights
        if isinstance(w, Transposed):
            back_in.setdefault(fb.post, []).append(built.synapses[w.of].summed_updaters[f"{var}_pre"])
            continue
        n_pre, n_post = pre.size, spec.population(fb.post).size
        learned = w if isinstance(w, (KolenPollack, WeightMirror)) else None
        if learned is not None:
            w = learned.initial
        if isinstance(w, FixedFeedback):
            matrix = w.matrix * w.scale
        elif isinstance(w, RandomFeedback):
            matrix = w.draw(ctx.rng(f"feedback:{fb.name}"), n_pre, n_post)
        else:
            raise ConfigError(f"feedback.{fb.name}.weights", type(w).__name__, "a feedback kind with a builder")
        if isinstance(learned, WeightMirror):   # Hebbian in the mirror mode: noise at post x what pre receives
            ns = dict(_mirror_arrays(fb, ctx), eta_mirror=float(learned.eta), decay_mirror=float(learned.decay))
            s = Synapses(G[fb.pre], G[fb.post], f"w : 1\n{var}_post = w*{sig}_pre : 1 (summed)", name=fb.name,
                         namespace=ns)
            s.run_regularly(f"w = w + {fb.name}_mirror(t)*eta_mirror*({fb.name}_noise(t, j)*"
                            f"{_mirror_var(fb.name)}_pre - decay_mirror*w)", when="end", name=f"{fb.name}_update")
        elif learned is None:
            s = Synapses(G[fb.pre], G[fb.post], f"w : 1 (constant)\n{var}_post = w*{sig}_pre : 1 (summed)",
                         name=fb.name)
        else:   # the forward projection's ErrorDriven update, with the activities at this synapse's ends
            rule = spec.projection(learned.of).rule
            code = build_error_driven(rule, fb, ctx)
            code.run_regularly = [(update_code(rule, fb.name, grad=f"{sig}_pre*r_post"), None, "end")]
            ns = dict(code.namespace)
            ns.update(code.params)
            s = Synapses(G[fb.pre], G[fb.post], "\n".join(code.equations + [f"{var}_post = w*{sig}_pre : 1 (summed)"]),
                         name=fb.name, namespace=ns)
            for stmt, dt_, when in code.run_regularly:
                s.run_regularly(stmt, when=when, name=f"{fb.name}_update")
        i, j = _all_to_all(n_pre, n_post)
        s.connect(i=i, j=j)
        s.w = matrix[i, j]
        built.synapses[fb.name] = s
        objects.append(s)
        back_in.setdefault(fb.post, []).append(s.summed_updaters[f"{var}_post"])

    # ---- one step in data-flow order (groups slot)
    rate_pops = [p.name for p in spec.populations if not p.is_input and p.kind == "rate"]
    order = _topological(spec, rate_pops)
    seq = iter(range(1, 1_000_000))
    settle = _state(ctx).settle
    for name in order:
        for proj in spec.incoming(name):
            key = f"{rate_input_name(proj.name)}_post"
            upd = built.synapses[proj.name].summed_updaters.get(key)
            if upd is not None:
                upd.order = next(seq)
        for upd in summed_in.get(name, ()):
            upd.order = next(seq)
        if name in settle:
            G[name].run_regularly(settle[name], when="groups", order=next(seq), name=f"{name}_settle")
        elif getattr(G[name], "state_updater", None) is not None:
            G[name].state_updater.order = next(seq)
    for name in reversed(order):
        for upd in back_in.get(name, ()):
            upd.order = next(seq)
    return objects
