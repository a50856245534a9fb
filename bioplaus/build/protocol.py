r"""Build a network's :class:`~bioplaus.spec.protocol.Protocol`: inputs, learning gate, tracked sums.

The protocol becomes four ``TimedArray`` objects, so one ``Network.run`` covers every window:

``pixels(k*second, i)``
    value of input ``i`` in sample ``k``;
``order(t)``
    index of the sample shown in the window containing ``t``;
``gate(t)``
    1 while a sample is presented, 0 during the rest;
``learn(t)``
    the window's learning-rate factor (0 after the end).

A :class:`~bioplaus.spec.protocol.ProtocolInput` unit fires at
``max_rate*gate(t)*pixels(order(t)*second, i)``. Every population that receives a plastic
projection or has an adaptive threshold gets a shared variable ``plastic``, set at the start
of each window to ``learn(t)`` (times ``gate(t)``, switched at presentation boundaries, with
``learn_in_rest=False``). Gated rules multiply each weight increment by ``plastic_post``
(:func:`gate_rule_code`); an adaptive threshold grows by ``plastic*theta_plus`` and decays at
rate ``plastic/tau_theta`` (:func:`gate_neuron_code`), so it is frozen when learning is off.

With ``Protocol.batch = B > 1`` (mini-batches, :func:`batch_rule_code`) every weight increment
:math:`\Delta w` of a plastic projection goes into a synaptic accumulator instead of ``w``,

.. math:: g \leftarrow g + \Delta w \quad\text{(every update inside a batch)}, \qquad
          w \leftarrow \mathrm{clip}(w + g, w_{min}, w_{max}),\ g \leftarrow 0
          \quad\text{(once per batch)}

applied at the start of every block of ``B`` windows and after the last time step of the run
(the initial weights are left as they are), so every update of a batch is computed from the weights at the batch's start and the batch
changes ``w`` by the sum of its updates. ``B = 1`` leaves the rule's code as it is (online).
Multiplicative homeostasis (weight normalisation, synaptic scaling) still acts on ``w``.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from brian2 import NeuronGroup, TimedArray, second

from ..errors import ConfigError
from ..spec.protocol import ProtocolInput
from ..spec.rules import Static
from .registry import Code, register

__all__ = ["protocol_functions", "gated_populations", "gate_rule_code", "gate_neuron_code", "track_weight_sum",
           "batch_rule_code", "GATE", "BATCH", "POISSON_RATE"]

#: the shared variable that gates plasticity in a population with a protocol
GATE = "plastic"
#: the synaptic accumulator of a batch's weight increments (``Protocol.batch > 1``)
BATCH = "dw_batch"

POISSON_RATE = "rate = max_rate*gate(t)*pixels(order(t)*second, i) : Hz"
RATE_VALUE = "r = scale*gate(t)*pixels(order(t)*second, i) : 1"


def protocol_functions(protocol, dt) -> dict[str, Any]:
    """The four ``TimedArray`` objects of ``protocol`` (see the module docstring)."""
    dtf = float(dt)
    n_on, n_off = int(round(float(protocol.present) / dtf)), int(round(float(protocol.rest) / dtf))
    g = math.gcd(n_on, n_off) if n_off else n_on
    window = (n_on + n_off) * dtf
    period = np.concatenate([np.ones(n_on // g), np.zeros(n_off // g)])
    gate = np.append(np.tile(period, len(protocol)), 0.0)
    return {
        "pixels": TimedArray(np.clip(protocol.samples, 0, None), dt=1 * second, name="protocol_pixels"),
        "order": TimedArray(np.append(protocol.order, 0).astype(float), dt=window * second, name="protocol_order"),
        "gate": TimedArray(gate, dt=g * dtf * second, name="protocol_gate"),
        "learn": TimedArray(np.append(protocol.learn, 0.0), dt=window * second, name="protocol_learn"),
    }


def _functions(ctx) -> dict[str, Any]:
    """The protocol's arrays, created once per build."""
    fns = getattr(ctx, "_protocol_functions", None)
    if fns is None:
        fns = protocol_functions(ctx.spec.protocol, ctx.spec.dt)
        ctx._protocol_functions = fns
    return fns


@register(ProtocolInput)
def build_protocol_input(model: ProtocolInput, pop, ctx):
    fns = _functions(ctx)
    ns = {k: fns[k] for k in ("pixels", "order", "gate")}
    if model.encoding == "poisson":
        g = NeuronGroup(pop.size, POISSON_RATE + "\nmax_rate : Hz (shared, constant)", threshold="rand() < rate*dt",
                        namespace=ns, name=pop.name)
        g.max_rate = model.max_rate
    else:
        g = NeuronGroup(pop.size, RATE_VALUE, namespace={**ns, "scale": model.scale}, name=pop.name)
    return g


def gated_populations(spec) -> set[str]:
    """Populations that get the ``plastic`` gate: targets of plastic projections, adaptive thresholds."""
    if spec.protocol is None:
        return set()
    inputs = {p.name for p in spec.populations if p.is_input}
    out = {p.post for p in spec.projections if not isinstance(p.rule, Static)} - inputs
    out |= {p.name for p in spec.populations if not p.is_input and getattr(p.model, "adaptation", None) is not None}
    return out


def add_gate(group_code: Code, ctx) -> tuple[str, Any, dict[str, Any]]:
    """Declare ``plastic`` in a population's code; returns the ``run_regularly`` that sets it."""
    fns = _functions(ctx)
    group_code.equations.append(f"{GATE} : 1 (shared)")
    group_code.init[GATE] = 1.0
    if ctx.spec.protocol.learn_in_rest:
        return f"{GATE} = learn(t)", fns["learn"].dt * second, {"learn": fns["learn"]}
    return f"{GATE} = learn(t)*gate(t)", fns["gate"].dt * second, {"learn": fns["learn"], "gate": fns["gate"]}


_CLIPPED = re.compile(r"^w = clip\(w ([+-]) (.+), (\w+), (\w+)\)$")
_PLAIN = re.compile(r"^w = w ([+-]) (.+)$")


def _gate_statement(stmt: str) -> str:
    s = stmt.strip()
    m = _CLIPPED.match(s)
    if m:
        return f"w = clip(w {m.group(1)} {GATE}_post*({m.group(2)}), {m.group(3)}, {m.group(4)})"
    m = _PLAIN.match(s)
    if m:
        return f"w = w {m.group(1)} {GATE}_post*({m.group(2)})"
    return stmt


def gate_rule_code(code: Code) -> Code:
    """Multiply every weight increment of a rule's code by ``plastic_post``.

    Statements of the forms ``w = clip(w ± Δ, lo, hi)`` and ``w = w ± Δ`` (on pre- and
    postsynaptic spikes and in periodic updates) become ``w = clip(w ± plastic_post*(Δ), lo, hi)``.
    """
    code.on_pre = [_gate_statement(s) for s in code.on_pre]
    code.on_post = [_gate_statement(s) for s in code.on_post]
    code.run_regularly = [(_gate_statement(e[0]), *e[1:]) for e in code.run_regularly]
    return code


def gate_neuron_code(code: Code) -> Code:
    """Gate an adaptive threshold: :math:`\\tau_\\theta \\dot\\theta = -\\text{plastic}\\,\\theta`,
    :math:`\\theta \\leftarrow \\theta + \\text{plastic}\\,\\theta_+` at a spike."""
    code.equations = [f"dtheta/dt = -{GATE}*theta/tau_theta : volt" if e.strip() == "dtheta/dt = -theta/tau_theta : volt"
                      else e for e in code.equations]
    code.reset = [f"theta += {GATE}*theta_plus" if r.strip() == "theta += theta_plus" else r for r in code.reset]
    return code


_ASSIGN_W = re.compile(r"^w = (.+)$")


def track_weight_sum(code: Code, var: str) -> Code:
    """Keep ``var`` (a postsynaptic sum of ``w``) current at every event-driven weight change.

    ``w = E`` on a spike becomes ``dw = E - w``, ``w += dw``, ``var += dw``: the sum is then known
    at any time without summing over all synapses every step.
    """
    for attr in ("on_pre", "on_post"):
        out = []
        for s in getattr(code, attr):
            m = _ASSIGN_W.match(s.strip())
            if m:
                out += [f"dw = {m.group(1)} - w", "w += dw", f"{var} += dw"]
            else:
                out.append(s)
        setattr(code, attr, out)
    return code


_ASSIGNS_W = re.compile(r"^w\s*(?:[-+*/]?=)(?!=)")


def batch_rule_code(code: Code, proj, ctx) -> Code:
    r"""Accumulate a plastic projection's weight increments over ``protocol.batch`` windows.

    Each statement ``w = clip(w ± Δ, lo, hi)`` or ``w = w ± Δ`` (on spikes, in pathways and in
    periodic updates) becomes ``dw_batch = dw_batch ± Δ``; ``w = clip(w + dw_batch, lo, hi)``
    (or ``w = w + dw_batch``) then runs at the start of every batch of windows and at the end of
    the run's last time step, and resets ``dw_batch``. A rule that changes ``w`` any other way
    cannot be batched and raises :class:`~bioplaus.errors.ConfigError`.
    """
    protocol, owner = ctx.spec.protocol, f"projections.{proj.name}.rule"
    if getattr(proj.homeostasis, "tracked", False):
        raise ConfigError(f"projections.{proj.name}.homeostasis.tracked", True,
                          f"false with protocol.batch = {protocol.batch} (tracked sums follow each applied change)")
    bounds: set[tuple[str, str] | None] = set()

    def convert(stmt: str) -> str:
        out = []
        for line in stmt.split("\n"):
            s = line.strip()
            m = _CLIPPED.match(s)
            if m:
                bounds.add((m.group(3), m.group(4)))
                out.append(f"{BATCH} = {BATCH} {m.group(1)} ({m.group(2)})")
                continue
            m = _PLAIN.match(s)
            if m:
                bounds.add(None)
                out.append(f"{BATCH} = {BATCH} {m.group(1)} ({m.group(2)})")
                continue
            if _ASSIGNS_W.match(s):
                raise ConfigError(owner, type(proj.rule).__name__,
                                  f"a rule whose weight changes are increments (w = w + ...) for protocol.batch = "
                                  f"{protocol.batch}; this one sets {s!r}")
            out.append(line)
        return "\n".join(out)

    code.on_pre = [convert(x) for x in code.on_pre]
    code.on_post = [convert(x) for x in code.on_post]
    code.pathways = {k: [convert(x) for x in v] for k, v in code.pathways.items()}
    code.run_regularly = [(convert(e[0]), *e[1:]) for e in code.run_regularly]
    if not bounds:
        if "w" in proj.rule.modifies:
            raise ConfigError(owner, type(proj.rule).__name__, "a rule with weight increments to batch "
                              f"(protocol.batch = {protocol.batch})")
        return code
    if len(bounds) > 1:
        raise ConfigError(owner, type(proj.rule).__name__, "one pair of weight bounds in all of its updates "
                          f"(protocol.batch = {protocol.batch}): got {sorted(map(str, bounds))}")
    (clip,) = bounds
    dt, duration, window = ctx.spec.dt, ctx.spec.duration, protocol.window
    applied = f"clip(w + {BATCH}, {clip[0]}, {clip[1]})" if clip else f"(w + {BATCH})"

    def flush(after: str) -> str:
        # a clock's tick at t = 0 applies nothing (a = 0); else exactly w = applied (a = 1)
        a = f"int(t > {after})"
        return f"w = {a}*{applied} + (1 - {a})*w\n{BATCH} = (1 - {a})*{BATCH}"

    code.equations.append(f"{BATCH} : 1")
    code.namespace[f"{BATCH}_t0"] = dt / 2
    # at the start of every batch, before that step's updates
    code.run_regularly.append((flush(f"{BATCH}_t0"), protocol.batch * window, "start"))
    # after the last step's updates, on a clock ticking at t = 0 and t = duration - dt
    n_steps = int(round(float(duration / dt)))
    if n_steps > 1:
        code.namespace[f"{BATCH}_t_half"] = (n_steps - 1) * dt / 2
        code.run_regularly.append((flush(f"{BATCH}_t_half"), (n_steps - 1) * dt, "end"))
    return code
