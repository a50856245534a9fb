"""Type-dispatched builders (``@register(Oja) def build_oja(rule, ctx)``), as in Nengo."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit

from ..errors import ConfigError

__all__ = ["register", "builder_for", "Code", "unit_decl", "declare_params"]

_BUILDERS: dict[type, Callable] = {}


def register(spec_type: type):
    """Register the decorated function as the builder of ``spec_type`` (and its subclasses)."""

    def deco(fn: Callable) -> Callable:
        _BUILDERS[spec_type] = fn
        return fn

    return deco


def builder_for(obj: Any) -> Callable:
    for cls in type(obj).__mro__:
        if cls in _BUILDERS:
            return _BUILDERS[cls]
    raise ConfigError(type(obj).__name__, obj, "a spec type with a registered builder "
                      "(use bioplaus.build.registry.register to add one)")


_SI_BASE = ("metre", "kilogram", "second", "amp", "kelvin", "mole", "candle")


def unit_decl(value: Any) -> str:
    """Brian2 unit string for an equation declaration of ``value``'s dimensions.

    Named SI units where Brian2 has one (``volt``, ``siemens``); otherwise a product of
    base units with integer powers (``metre**2*kilogram*second**-4*amp**-1`` for mV/ms),
    which the equation parser accepts where a scaled name such as ``mvolt / msecond``
    is rejected.

    >>> from brian2 import mV, ms, nS
    >>> unit_decl(3 * nS), unit_decl(1 * mV / ms), unit_decl(0.5)
    ('siemens', 'metre**2*kilogram*second**-4*amp**-1', '1')
    """
    dims = get_dimensions(value)
    if dims is DIMENSIONLESS:
        return "1"
    name = repr(get_unit(dims))
    if name.isidentifier():
        return name
    parts = []
    for base, power in zip(_SI_BASE, dims._dims):
        if power == 0:
            continue
        p = int(power) if float(power).is_integer() else power
        parts.append(base if p == 1 else f"{base}**{p}")
    return "*".join(parts)


def declare_params(params: dict[str, Any], flags: str = "shared, constant") -> list[str]:
    """Declare parameters as ``(shared, constant)`` variables.

    Variables rather than namespace constants, so that a compiled standalone binary can be
    rerun with new values through ``run_args``. Neuron parameters are always declared so;
    projection parameters only when named ``tunable`` (see
    :func:`bioplaus.build.network.build_network`), otherwise they are code constants.
    """
    return [f"{name} : {unit_decl(v)} ({flags})" for name, v in params.items()]


@dataclass
class Code:
    """Equations and statements one spec contributes to a Brian2 group.

    ``params`` are declared as ``(shared, constant)`` variables and set after the
    group is created (a projection's: code constants unless tunable); ``init`` holds initial values of state variables.
    ``summed_when`` moves the update of a ``(summed)`` variable (keyed as written in
    the equation, e.g. ``w_sum_ff_post``) to another schedule slot; by default Brian2
    sums at the start of the ``groups`` slot, before the synapses change ``w``.
    """

    equations: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    init: dict[str, Any] = field(default_factory=dict)
    threshold: str | None = None
    reset: list[str] = field(default_factory=list)
    refractory: Any = False
    method: str = "euler"
    on_pre: list[str] = field(default_factory=list)
    on_post: list[str] = field(default_factory=list)
    run_regularly: list[tuple[str, Any, str]] = field(default_factory=list)  # (code, dt, when)
    post_equations: list[str] = field(default_factory=list)   # contributed to the post group
    post_params: dict[str, Any] = field(default_factory=dict)
    post_init: dict[str, Any] = field(default_factory=dict)
    post_reset: list[str] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    summed_when: dict[str, str] = field(default_factory=dict)
    pathways: dict[str, list[str]] = field(default_factory=dict)   # further on-pre pathways, by name
    post_run_regularly: list[tuple[str, Any, str, int]] = field(default_factory=list)  # on the post group
    track_sum: str | None = None   # a post variable kept equal to the sum of w at each event (see build.protocol)
    efficacy: str | None = None   # factor of w in spike transmission, read before on_pre runs (short-term plasticity)

    def model(self) -> str:
        return "\n".join(self.equations + declare_params(self.params))
