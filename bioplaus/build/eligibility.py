r"""e-prop built from the declarations of :mod:`bioplaus.spec.eligibility`.

The builders return the :class:`~bioplaus.build.registry.Code` each spec contributes to
its group or synapses; :func:`wire_eligibility` then adds what spans objects: trial
resets, the readout's error, the order of the learning signal within the step and the
feedback matrix. One time step, in Brian2's schedule:

===================  ====================================================================
slot                 what happens
===================  ====================================================================
``start``            order 0: monitors (the loss of the trial that just ended);
                     at trial boundaries (``run_regularly`` every trial): order 1, each rule
                     applies its accumulated gradient (Adam or SGD; a no-op at ``t = 0``) and
                     clears it and its traces; order 2, :math:`v = 0`, :math:`y = 0`, loss = 0
``groups``           leaks: :math:`v \leftarrow \alpha v`, :math:`\bar x \leftarrow \alpha \bar x`,
                     :math:`y \leftarrow \kappa y`, :math:`\bar z \leftarrow \kappa \bar z` (exact integration)
``thresholds``       :math:`z = [v > v_{th}]`; input spikes of this step
``before_synapses``  :math:`\bar e \leftarrow \kappa \bar e + \psi\,\bar x` (eligibility trace)
``synapses``         on a presynaptic spike: :math:`v_{post} \mathrel{+}= w`, :math:`\bar x \mathrel{+}= 1`;
                     readout: :math:`y \mathrel{+}= w`, :math:`\bar z \mathrel{+}= 1`
``resets``           :math:`v \leftarrow v - v_{th}` after a spike
``end``              order 0: :math:`err = y + b - y^*(t)`, loss accumulates;
                     order 1: learning signal :math:`L_j = \sum_k B_{jk}\, err_k` (summed variable);
                     order 2: :math:`g \mathrel{+}= L_{post}\,\bar e` (input, recurrent),
                     :math:`g \mathrel{+}= err_{post}\,\bar z` (readout), :math:`g_b \mathrel{+}= err`
===================  ====================================================================

which is step for step the recursion of the numpy reference :mod:`bioplaus.reference.eprop`.
Adaptive (ALIF) units add :math:`a \leftarrow \rho a` in ``groups``, :math:`a \mathrel{+}= 1` in
``resets`` and, before the eligibility trace in ``before_synapses``, use the second component
:math:`\epsilon^a` (:class:`~bioplaus.spec.eligibility.Eprop`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..spec.credit import FixedFeedback, RandomFeedback
from ..spec.eligibility import (SGD, Adam, Eprop, EpropLIF, EpropReadout, LeakyReadout, TrialInput, trial_steps)
from .registry import Code, register

__all__ = ["update_code", "wire_eligibility", "readout_of"]


def _trial(ctx, owner: str) -> tuple[int, Any]:
    steps = trial_steps(ctx.spec)
    if steps is None:
        raise ConfigError(owner, None, "a network with a LeakyReadout population (its target sets the trial)")
    return steps, steps * ctx.spec.dt


def _trials(ctx, steps: int) -> int:
    """Trials the run spans (the last one may be partial)."""
    return max(1, math.ceil(round(float(ctx.spec.duration) / float(ctx.spec.dt), 6) / steps))


def update_code(opt, w: str = "w", grad: str = "grad", m: str = "m_adam", s: str = "s_adam",
                suffix: str = "") -> str:
    r"""Abstract code of one per-trial update of ``w`` by its accumulated ``grad`` (then cleared).

    Adam as :class:`bioplaus.reference.eprop.Adam`; the update counter
    :math:`k = \mathrm{round}(t/T)` (at least 1; at :math:`t = 0` the gradient is 0 and so is the step).
    Constants carry ``suffix`` (``lr_b`` for a readout bias).
    """
    c = {k: f"{k}{suffix}" for k in ("lr", "beta1", "beta2", "eps_adam", "T_trial", "n_steps")}
    if isinstance(opt, SGD):
        return f"{w} = {w} - {c['lr']}*{grad}/{c['n_steps']}\n{grad} = 0"
    return (f"k_adam = clip(floor(t/{c['T_trial']} + 0.5), 1, 1e9)\n"
            f"g_adam = {grad}/{c['n_steps']}\n"
            f"{m} = {c['beta1']}*{m} + (1 - {c['beta1']})*g_adam\n"
            f"{s} = {c['beta2']}*{s} + (1 - {c['beta2']})*g_adam**2\n"
            f"{w} = {w} - {c['lr']}*({m}/(1 - {c['beta1']}**k_adam))/(sqrt({s}/(1 - {c['beta2']}**k_adam)) + "
            f"{c['eps_adam']})\n"
            f"{grad} = 0")


def _optimizer_params(opt, steps: int, T, suffix: str = "") -> dict[str, Any]:
    p: dict[str, Any] = {"lr": opt.lr, "n_steps": float(steps)}
    if isinstance(opt, Adam):
        p.update(beta1=opt.beta1, beta2=opt.beta2, eps_adam=opt.eps, T_trial=T)
    return {f"{k}{suffix}": v for k, v in p.items()}


def _optimizer_state(opt, m: str = "m_adam", s: str = "s_adam") -> list[str]:
    return [f"{m} : 1", f"{s} : 1"] if isinstance(opt, Adam) else []


def readout_of(spec, population: str):
    """The projections from ``population`` with an :class:`EpropReadout` rule (its learning signal)."""
    return [p for p in spec.projections if p.pre == population and isinstance(p.rule, EpropReadout)]


# --------------------------------------------------------------------------- populations

@register(EpropLIF)
def build_eprop_lif(model: EpropLIF, pop, ctx) -> Code:
    r""":math:`v \leftarrow \alpha v`, spike at :math:`v > v_{th}`, :math:`v \leftarrow v - v_{th}`; ``psi``, learning signal ``L``."""
    code = Code(method="exact")
    if not model.adaptive:
        code.equations = ["dv/dt = -v/tau_m : 1",
                          "psi = gamma/v_th*clip(1 - abs((v - v_th)/v_th), 0, inf) : 1",
                          "L : 1"]
        code.threshold = "v > v_th"
        code.reset = ["v -= v_th"]
    else:   # ALIF: threshold A = v_th + beta*a, a decays with tau_a and jumps by 1 at a spike
        code.equations = ["dv/dt = -v/tau_m : 1", "da/dt = -a/tau_a : 1",
                          "psi = gamma/v_th*clip(1 - abs((v - v_th - beta*a)/v_th), 0, inf) : 1",
                          "L : 1"]
        code.params.update(beta=model.beta, tau_a=model.tau_a)
        code.threshold = "v > v_th + beta*a"
        code.reset = ["v -= v_th", "a += 1"]
    code.params.update(tau_m=model.tau_m, v_th=model.v_th, gamma=model.gamma)
    return code


@register(LeakyReadout)
def build_leaky_readout(model: LeakyReadout, pop, ctx) -> Code:
    r""":math:`y \leftarrow \kappa y`; bias ``b``, error ``err`` and ``loss`` (set by :func:`wire_eligibility`)."""
    from brian2 import TimedArray

    owner = f"populations.{pop.name}.model"
    if model.target.shape[1] != pop.size:
        raise ConfigError(f"{owner}.target", f"array of shape {model.target.shape}",
                          f"one column per readout unit ({pop.size})")
    if model.bias.size not in (1, pop.size):
        raise ConfigError(f"{owner}.bias", model.bias.tolist(), f"a number or {pop.size} numbers")
    steps, T = _trial(ctx, owner)
    target = TimedArray(np.tile(model.target, (_trials(ctx, steps), 1)), dt=ctx.spec.dt, name=f"{pop.name}_target")
    code = Code(method="exact")
    code.equations = ["dy/dt = -y/tau_out : 1", "b : 1", "err : 1", "loss : 1", "grad_b : 1"]
    code.params.update(tau_out=model.tau_out, n_trial_steps=float(steps))
    code.init = {"b": np.broadcast_to(model.bias, (pop.size,)).copy()}
    code.namespace[target.name] = target
    return code


@register(TrialInput)
def build_trial_input(model: TrialInput, pop, ctx):
    """The trial's input spikes, replayed every trial (``SpikeGeneratorGroup`` with a period)."""
    from brian2 import SpikeGeneratorGroup

    steps, T = _trial(ctx, f"populations.{pop.name}.model")
    si, ss = np.nonzero(model.spikes > 0)          # (step, unit)
    return SpikeGeneratorGroup(pop.size, ss.astype(np.int32), si * ctx.spec.dt, period=T, dt=ctx.spec.dt,
                               name=pop.name)


# --------------------------------------------------------------------------- rules

@register(Eprop)
def build_eprop(rule: Eprop, proj, ctx) -> Code:
    r"""Presynaptic trace, filtered eligibility trace, gradient :math:`\sum_t L\,\bar e`, update per trial."""
    spec = ctx.spec
    owner = f"projections.{proj.name}"
    post = spec.population(proj.post)
    if not isinstance(post.model, EpropLIF):
        raise ConfigError(f"{owner}.post", proj.post, f"a population of EpropLIF units for rule Eprop "
                          f"(population {proj.post!r} is {type(post.model).__name__})")
    readouts = readout_of(spec, proj.post)
    if len(readouts) != 1:
        raise ConfigError(f"{owner}.rule", "Eprop", f"exactly one projection from {proj.post!r} into a "
                          f"LeakyReadout with rule EpropReadout (the learning signal; found {len(readouts)})")
    readout = spec.population(readouts[0].post).model
    steps, T = _trial(ctx, f"{owner}.rule")
    opt = rule.optimizer
    code = Code(method="exact")
    code.equations = ["w : 1", "dxbar/dt = -xbar/tau_m_post : 1 (clock-driven)", "ebar : 1", "grad : 1",
                      *_optimizer_state(opt)]
    code.on_pre = ["xbar += 1"]
    code.params.update(kappa=math.exp(-float(spec.dt) / float(readout.tau_out)), **_optimizer_params(opt, steps, T))
    eligibility, clear = "ebar = kappa*ebar + psi_post*xbar", "\nebar = 0\nxbar = 0"
    if post.model.adaptive:   # second component of the eligibility vector: the adaptive threshold's
        code.equations.append("epsa : 1")
        code.params["rho"] = math.exp(-float(spec.dt) / float(post.model.tau_a))
        eligibility = ("ebar = kappa*ebar + psi_post*(xbar - beta_post*epsa)\n"
                       "epsa = rho*(psi_post*xbar + (1 - beta_post*psi_post)*epsa)")
        clear += "\nepsa = 0"
    code.run_regularly += [(eligibility, None, "before_synapses", 0),
                           ("grad += L_post*ebar", None, "end", 2),
                           (update_code(opt) + clear, T, "start", 1)]
    return code


@register(EpropReadout)
def build_eprop_readout(rule: EpropReadout, proj, ctx) -> Code:
    r"""Readout trace :math:`\bar z`, gradient :math:`\sum_t err\,\bar z`, learning signal onto ``pre``."""
    spec = ctx.spec
    owner = f"projections.{proj.name}"
    pre, post = spec.population(proj.pre), spec.population(proj.post)
    if not isinstance(post.model, LeakyReadout):
        raise ConfigError(f"{owner}.post", proj.post, "a LeakyReadout population for rule EpropReadout")
    if not isinstance(pre.model, EpropLIF):
        raise ConfigError(f"{owner}.pre", proj.pre, "a population of EpropLIF units for rule EpropReadout")
    steps, T = _trial(ctx, f"{owner}.rule")
    opt = rule.optimizer
    symmetric = rule.feedback == "symmetric"
    code = Code(method="exact")
    code.equations = ["w : 1", "dzbar/dt = -zbar/tau_out_post : 1 (clock-driven)", "grad : 1",
                      *_optimizer_state(opt)]
    if not symmetric:
        code.equations.append("B : 1 (constant)")
    code.equations.append(f"L_pre = {'w' if symmetric else 'B'}*err_post : 1 (summed)")
    code.on_pre = ["zbar += 1"]
    code.params.update(_optimizer_params(opt, steps, T))
    code.run_regularly += [("grad += err_post*zbar", None, "end", 2),
                           (update_code(opt) + "\nzbar = 0", T, "start", 1)]
    code.summed_when["L_pre"] = "end"
    if rule.train_bias:
        trained = [p.name for p in spec.incoming(proj.post) if isinstance(p.rule, EpropReadout) and p.rule.train_bias]
        if len(trained) > 1:
            raise ConfigError(f"{owner}.rule.train_bias", True, f"false on all but one projection into {proj.post!r} "
                              f"(one bias per readout unit; trained by {', '.join(trained)})")
        code.post_equations += _optimizer_state(opt, "m_b", "s_b")
        code.post_params.update(_optimizer_params(opt, steps, T, suffix="_b"))
        code.post_run_regularly += [("grad_b += err", None, "end", 2),
                                    (update_code(opt, "b", "grad_b", "m_b", "s_b", suffix="_b"), T, "start", 1)]
    return code


def _feedback_matrix(rule: EpropReadout, proj, ctx, n_pre: int, n_post: int) -> np.ndarray:
    """``B`` as ``(n_out, n_rec)`` (error side first, as :class:`~bioplaus.spec.credit.FixedFeedback`)."""
    w = rule.feedback
    if isinstance(w, FixedFeedback):
        if w.matrix.shape != (n_post, n_pre):
            raise ConfigError(f"projections.{proj.name}.rule.feedback.matrix", f"array of shape {w.matrix.shape}",
                              f"shape (n_out, n_rec) = ({n_post}, {n_pre})")
        return w.matrix * w.scale
    assert isinstance(w, RandomFeedback)
    return w.draw(ctx.rng(f"feedback:{proj.name}"), n_post, n_pre)


# --------------------------------------------------------------------------- across objects

def wire_eligibility(spec, ctx, built) -> list:
    r"""Trial resets, the readout error, the learning signal's place in the step and ``B`` (no-op without e-prop).

    Called by :func:`bioplaus.build.network.build_network` after the synapses exist; the
    operations are added to the groups (which the network holds), so nothing is returned.
    """
    recurrent = [p for p in spec.populations if isinstance(p.model, EpropLIF)]
    readouts = [p for p in spec.populations if isinstance(p.model, LeakyReadout)]
    if not recurrent and not readouts:
        return []
    steps = trial_steps(spec)
    T = None if steps is None else steps * spec.dt
    G = built.groups
    for pop in recurrent:
        if T is not None:
            G[pop.name].run_regularly("v = 0" + ("\na = 0" if pop.model.adaptive else ""), dt=T, when="start",
                                      order=2, name=f"{pop.name}_trial_reset")
    for pop in readouts:
        g = G[pop.name]
        g.run_regularly(f"err = y + b - {pop.name}_target(t, i)\nloss += 0.5*err**2/n_trial_steps", when="end", order=0,
                        name=f"{pop.name}_error")
        g.run_regularly("y = 0\nloss = 0", dt=T, when="start", order=2, name=f"{pop.name}_trial_reset")
    for proj in spec.projections:
        if not isinstance(proj.rule, EpropReadout):
            continue
        s = built.synapses[proj.name]
        s.summed_updaters["L_pre"].order = 1
        if proj.rule.feedback != "symmetric":
            n_pre, n_post = spec.population(proj.pre).size, spec.population(proj.post).size
            B = _feedback_matrix(proj.rule, proj, ctx, n_pre, n_post)
            s.B = B[np.asarray(s.j[:]), np.asarray(s.i[:])]
    return []
