r"""Plasticity rule builders: each returns the :class:`Code` a rule contributes.

Equations use the spec's field names (``tau_plus``, ``A2_plus``, ``eta``...) as
``(shared, constant)`` synaptic variables, so a compiled binary can be rerun with
new values. Variables a rule adds to the postsynaptic group carry the
projection's name as a suffix (``theta_ff``) so several projections can share a
target. The same mathematics in numpy is :mod:`bioplaus.reference.plasticity`.

Adding a rule
-------------
A rule is a frozen dataclass deriving from :class:`~bioplaus.spec.rules.Rule` that
validates its parameters (with units), registered by name for model files, plus a
builder registered for its type that returns the :class:`Code` it adds to the
synapses. Anti-Hebbian learning, :math:`\dot w = -\eta\, r^{pre} r^{post}`:

>>> from dataclasses import dataclass
>>> from typing import Any, ClassVar
>>> from brian2 import Hz
>>> from bioplaus.build.registry import Code, register
>>> from bioplaus.spec.params import quantity, set_field
>>> from bioplaus.spec.rules import Rule, register_rule, rule_class
>>> @register_rule("anti_hebb")
... @dataclass(frozen=True)
... class AntiHebb(Rule):
...     kind: ClassVar[str] = "rate"
...     eta: Any = "1 Hz"
...
...     def __post_init__(self):
...         set_field(self, "eta", quantity("AntiHebb", "eta", self.eta, Hz, positive=True))
>>> @register(AntiHebb)
... def build_anti_hebb(rule, proj, ctx):
...     code = Code(equations=["w : 1"], params={"eta": rule.eta, "h_update": ctx.spec.dt})
...     code.run_regularly.append(("w = w - h_update*eta*r_pre*r_post", ctx.spec.dt, "synapses"))
...     return code
>>> rule_class("anti_hebb") is AntiHebb
True

It runs like any built-in rule. Here the projection only learns (``weight_scale=0``),
so the output rate is the unit's bias, 1, and :math:`w` falls by :math:`\eta\, x\, t`:

>>> from bioplaus.simulation import simulate
>>> from bioplaus.spec import NetworkSpec, Population, Projection, RateUnit, SampleSequence
>>> net = NetworkSpec([Population("x", SampleSequence([[1.0, 2.0]], present="100 ms"), 2),
...                    Population("y", RateUnit(tau=None, bias=1.0), 1)],
...                   [Projection("ff", "x", "y", rule=AntiHebb(eta="1 Hz"), w_init=0.5, weight_scale=0.0)],
...                   duration="100 ms")
>>> simulate(net)["ff.w"].round(6)
array([0.4, 0.3])

Wrong parameters are reported by name before anything is built:

>>> AntiHebb(eta=1)
Traceback (most recent call last):
...
bioplaus.errors.ConfigError: AntiHebb.eta = 1: expected a quantity in Hz, e.g. '10 Hz' (got no unit)
"""
from __future__ import annotations

from brian2 import ms

from ..spec.rules import (BCM, Hebb, NearestSTDP, Oja, PairSTDP, RewardSTDP, Static, SynapticScaling, TripletSTDP,
                          WeightNormalization)
from .registry import Code, register

__all__ = ["update_interval"]


def update_interval(rule, ctx):
    """Euler step of a rate rule: its ``update_interval`` or the simulation ``dt``."""
    return rule.update_interval if getattr(rule, "update_interval", None) is not None else ctx.spec.dt


@register(Static)
def build_static(rule: Static, proj, ctx) -> Code:
    return Code(equations=["w : 1"])


# --------------------------------------------------------------------------- rate rules

def _rate_rule(rule, ctx, increment: str, clip: bool) -> Code:
    code = Code(equations=["w : 1"])
    h = update_interval(rule, ctx)
    code.params["h_update"] = h
    stmt = f"w + h_update*({increment})"
    if clip:
        code.params.update(w_min=rule.w_min, w_max=rule.w_max)
        stmt = f"clip({stmt}, w_min, w_max)"
    code.run_regularly.append((f"w = {stmt}", h, "synapses"))
    return code


@register(Hebb)
def build_hebb(rule: Hebb, proj, ctx) -> Code:
    code = _rate_rule(rule, ctx, "eta*r_pre*r_post - decay*w", clip=True)
    code.params.update(eta=rule.eta, decay=rule.decay)
    return code


@register(Oja)
def build_oja(rule: Oja, proj, ctx) -> Code:
    code = _rate_rule(rule, ctx, "eta*r_post*(r_pre - r_post*w)", clip=False)
    code.params["eta"] = rule.eta
    return code


@register(BCM)
def build_bcm(rule: BCM, proj, ctx) -> Code:
    p = proj.name
    code = _rate_rule(rule, ctx, f"eta*r_pre*r_post*(r_post - theta_{p}_post)", clip=True)
    code.params["eta"] = rule.eta
    code.post_equations = [f"dtheta_{p}/dt = (r**2/y0_{p} - theta_{p})/tau_theta_{p} : 1"]
    code.post_params = {f"y0_{p}": rule.y0, f"tau_theta_{p}": rule.tau_theta}
    code.post_init = {f"theta_{p}": rule.theta_init}
    return code


# --------------------------------------------------------------------------- spike rules

def _stdp_traces(code: Code, nearest: bool) -> tuple[str, str]:
    code.equations += [
        "dapre/dt = -apre/tau_plus : 1 (event-driven)",
        "dapost/dt = -apost/tau_minus : 1 (event-driven)",
    ]
    return ("apre = 1", "apost = 1") if nearest else ("apre += 1", "apost += 1")


@register(PairSTDP)
def build_pair_stdp(rule: PairSTDP, proj, ctx) -> Code:
    code = Code(equations=["w : 1"])
    code.params.update(A_plus=rule.A_plus, A_minus=rule.A_minus, tau_plus=rule.tau_plus,
                       tau_minus=rule.tau_minus, w_min=rule.w_min, w_max=rule.w_max)
    pre_trace, post_trace = _stdp_traces(code, nearest=isinstance(rule, NearestSTDP))
    if rule.bounds == "soft":
        dep, pot = "A_minus*apost*(w - w_min)", "A_plus*apre*(w_max - w)"
    else:
        dep, pot = "A_minus*apost", "A_plus*apre"
    code.on_pre = [f"w = clip(w - {dep}, w_min, w_max)", pre_trace]
    code.on_post = [f"w = clip(w + {pot}, w_min, w_max)", post_trace]
    return code


def _needs_r2(rule: TripletSTDP, proj, ctx) -> bool:
    """Whether the triplet depression trace ``r2`` is needed: not when ``A3_minus = 0`` is a code
    constant and no monitor records ``r2`` (Diehl & Cook's rule), which saves one exponential per
    presynaptic event and synapse."""
    if float(rule.A3_minus) != 0 or any(ctx.is_tunable(f"projections.{proj.name}.{k}") for k in ("A3_minus", "tau_x")):
        return True
    return any(m.target == proj.name and "r2" in m.variables for m in ctx.spec.monitors)


@register(TripletSTDP)
def build_triplet_stdp(rule: TripletSTDP, proj, ctx) -> Code:
    r2 = _needs_r2(rule, proj, ctx)
    code = Code(equations=[
        "w : 1",
        "dr1/dt = -r1/tau_plus : 1 (event-driven)",
        *(["dr2/dt = -r2/tau_x : 1 (event-driven)"] if r2 else []),
        "do1/dt = -o1/tau_minus : 1 (event-driven)",
        "do2/dt = -o2/tau_y : 1 (event-driven)",
    ])
    code.params.update(tau_plus=rule.tau_plus, tau_minus=rule.tau_minus, tau_y=rule.tau_y,
                       A2_plus=rule.A2_plus, A3_plus=rule.A3_plus, A2_minus=rule.A2_minus,
                       w_min=rule.w_min, w_max=rule.w_max)
    op = "=" if rule.nearest else "+="
    # r2 and o2 enter the update before their own increment (t - epsilon in the paper)
    if r2:
        code.params.update(tau_x=rule.tau_x, A3_minus=rule.A3_minus)
        code.on_pre = ["w = clip(w - o1*(A2_minus + A3_minus*r2), w_min, w_max)", f"r1 {op} 1", f"r2 {op} 1"]
    else:
        code.on_pre = ["w = clip(w - o1*A2_minus, w_min, w_max)", f"r1 {op} 1"]
    code.on_post = ["w = clip(w + r1*(A2_plus + A3_plus*o2), w_min, w_max)", f"o1 {op} 1", f"o2 {op} 1"]
    return code


def modulator_variable(name: str) -> str:
    """Name of the neuromodulator concentration a modulator adds to target groups."""
    return f"d_{name}"


@register(RewardSTDP)
def build_reward_stdp(rule: RewardSTDP, proj, ctx) -> Code:
    d = modulator_variable(rule.modulator)
    code = Code(equations=["w : 1", "dc/dt = -c/tau_c : 1 (clock-driven)"], method="exact")
    code.params.update(A_plus=rule.A_plus, A_minus=rule.A_minus, tau_plus=rule.tau_plus, tau_minus=rule.tau_minus,
                       tau_c=rule.tau_c, eta=rule.eta, w_min=rule.w_min, w_max=rule.w_max, h_update=ctx.spec.dt)
    pre_trace, post_trace = _stdp_traces(code, nearest=False)
    code.on_pre = ["c -= A_minus*apost", pre_trace]
    code.on_post = ["c += A_plus*apre", post_trace]
    code.run_regularly.append((f"w = clip(w + h_update*eta*c*{d}_post, w_min, w_max)", ctx.spec.dt, "synapses"))
    return code


# --------------------------------------------------------------------------- homeostasis

@register(WeightNormalization)
def build_weight_normalization(h: WeightNormalization, proj, ctx) -> Code:
    p = proj.name
    if h.tracked:
        # Diehl & Cook: the sum follows every weight change; rescale at the start of each interval
        code = Code(track_sum=f"w_sum_{p}_post")
        code.params["norm_total"] = h.total
        code.post_equations = [f"w_sum_{p} : 1"]
        code.post_params = {f"norm_total_{p}": h.total}
        code.run_regularly.append((f"w = w*norm_total/w_sum_{p}_post", h.interval, "start", 1))
        code.post_run_regularly.append((f"w_sum_{p} = norm_total_{p}", h.interval, "start", 2))
        return code
    code = Code(equations=[f"w_sum_{p}_post = w : 1 (summed)"])
    code.params["norm_total"] = h.total
    code.post_equations = [f"w_sum_{p} : 1"]
    # the sum must be taken after this step's plasticity, right before it is used
    code.summed_when[f"w_sum_{p}_post"] = "end"
    code.run_regularly.append((f"w = w*norm_total/(w_sum_{p}_post + 1e-12)", h.interval, "end"))
    return code


@register(SynapticScaling)
def build_synaptic_scaling(h: SynapticScaling, proj, ctx) -> Code:
    p = proj.name
    code = Code()
    code.params.update(target_rate=h.target_rate, tau_scaling=h.tau_scaling, h_scaling=h.interval)
    code.post_equations = [f"drate_{p}/dt = -rate_{p}/tau_rate_{p} : Hz"]
    code.post_params = {f"tau_rate_{p}": h.tau_rate}
    code.post_reset = [f"rate_{p} += 1/tau_rate_{p}"]
    code.run_regularly.append(
        (f"w = clip(w*(1 + h_scaling*(target_rate - rate_{p}_post)/(target_rate*tau_scaling)), 0, inf)",
         h.interval, "end"))
    return code


# --------------------------------------------------------------------------- inhibitory and short-term plasticity

from ..spec.rules import InhibitorySTDP, TsodyksMarkram  # noqa: E402


@register(InhibitorySTDP)
def build_inhibitory_stdp(rule: InhibitorySTDP, proj, ctx) -> Code:
    code = Code(equations=["w : 1", "dapre/dt = -apre/tau_stdp : 1 (event-driven)",
                           "dapost/dt = -apost/tau_stdp : 1 (event-driven)"])
    code.params.update(eta=rule.eta, tau_stdp=rule.tau_stdp, alpha=rule.alpha, w_min=rule.w_min, w_max=rule.w_max)
    code.on_pre = ["w = clip(w + eta*(apost - alpha), w_min, w_max)", "apre += 1"]
    code.on_post = ["w = clip(w + eta*apre, w_min, w_max)", "apost += 1"]
    return code


@register(TsodyksMarkram)
def build_tsodyks_markram(rule: TsodyksMarkram, proj, ctx) -> Code:
    # the transmitted factor is read before the rule's own on_pre statements (event-driven
    # variables already advanced to the spike): u+ = u + U(1 - u), release u+ x
    code = Code(equations=["w : 1", "dx/dt = (1 - x)/tau_rec : 1 (event-driven)"], init={"x": 1.0})
    code.params.update(U=rule.U, tau_rec=rule.tau_rec)
    if float(rule.tau_facil) > 0:
        code.equations.append("du/dt = -u/tau_facil : 1 (event-driven)")
        code.params["tau_facil"] = rule.tau_facil
        code.init["u"] = 0.0
        code.efficacy = "(u + U*(1 - u))*x"
        code.on_pre = ["u += U*(1 - u)", "x -= u*x"]
    else:   # no facilitation: u is U at every spike
        code.equations.append("u : 1")
        code.init["u"] = rule.U
        code.efficacy = "U*x"
        code.on_pre = ["x -= U*x"]
    return code


# --------------------------------------------------------------------------- voltage-based STDP

from ..spec.rules import ClopathSTDP  # noqa: E402


@register(ClopathSTDP)
def build_clopath_stdp(rule: ClopathSTDP, proj, ctx) -> Code:
    p, h = proj.name, ctx.spec.dt
    um, up = f"u_minus_{p}", f"u_plus_{p}"
    rest = getattr(ctx.spec.population(proj.post).model, "E_L", rule.theta_minus)
    code = Code(equations=["w : 1", "xbar : Hz"])
    code.params.update(A_LTD=rule.A_LTD, A_LTP=rule.A_LTP, theta_minus=rule.theta_minus,
                       theta_plus=rule.theta_plus, tau_x=rule.tau_x, w_min=rule.w_min, w_max=rule.w_max)
    # every step, after the membrane update and before spikes are handled (the potential at its peak):
    # the two filters of v (postsynaptic group), then the trace decay and the potentiation (synapses)
    code.post_equations = [f"{um} : volt", f"{up} : volt"]
    code.post_params = {f"tau_minus_{p}": rule.tau_minus, f"tau_plus_{p}": rule.tau_plus}
    code.post_init = {um: rest, up: rest}
    code.post_run_regularly.append((f"{um} = v + ({um} - v)*exp(-dt/tau_minus_{p})\n"
                                    f"{up} = v + ({up} - v)*exp(-dt/tau_plus_{p})", h, "after_groups", 0))
    code.run_regularly.append((
        "xbar = xbar*exp(-dt/tau_x)\n"
        f"w = clip(w + dt*A_LTP*xbar*clip((v_post - theta_plus)/mV, 0, inf)*clip(({up}_post - theta_minus)/mV, 0, inf)"
        ", w_min, w_max)", h, "after_groups", 1))
    code.on_pre = [f"w = clip(w - A_LTD*clip(({um}_post - theta_minus)/mV, 0, inf), w_min, w_max)", "xbar += 1/tau_x"]
    return code
