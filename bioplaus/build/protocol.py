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
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from brian2 import NeuronGroup, TimedArray, second

from ..spec.protocol import ProtocolInput
from ..spec.rules import Static
from .registry import Code, register

__all__ = ["protocol_functions", "gated_populations", "gate_rule_code", "gate_neuron_code", "track_weight_sum",
           "GATE", "POISSON_RATE"]

#: the shared variable that gates plasticity in a population with a protocol
GATE = "plastic"

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
