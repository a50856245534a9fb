"""Initial values of a population's state variables: constants or random draws.

``Population(..., init={"v": ("-60 mV", "-50 mV"), "g_e": {"normal": ("40 nS", "15 nS")}})``

A value is a constant (``"-65 mV"``), ``(low, high)`` or ``{"uniform": (low, high)}`` for a
uniform draw, or ``{"normal": (mean, std)}`` for a Gaussian one. Draws come from numpy with a
generator seeded by the network seed, the population and the variable, so every backend starts
from the same state. Conductances (``g_e``, ``g_i``) cannot be negative: their draws are clipped
at zero (a Gaussian conductance with mean 4 std keeps 99.997 % of its draws unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

from ..errors import ConfigError
from .params import Spec, param, parse_quantity, set_field

__all__ = ["InitialValue", "initial_value", "NONNEGATIVE"]

#: state variables that are physically non-negative (draws clipped at 0)
NONNEGATIVE = ("g_e", "g_i")
_KINDS = ("constant", "uniform", "normal")


def _qty(key: str, v: Any):
    if isinstance(v, str):
        try:
            return parse_quantity(v)
        except ValueError as exc:
            raise ConfigError(key, v, f"a number or '<number> <unit>' ({exc})") from None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, Quantity)) or np.ndim(v):
        raise ConfigError(key, v, "a number or '<number> <unit>'")
    if not np.isfinite(float(np.asarray(v))):
        raise ConfigError(key, v, "a finite value")
    return v


@dataclass(frozen=True, eq=False)
class InitialValue(Spec):
    """How one state variable starts: ``kind`` constant (``a``), uniform in ``[a, b]``, normal ``(a, b)``."""

    kind: str = param(choices=_KINDS)
    a: Any
    b: Any = None

    def __post_init__(self):
        super().__post_init__()
        key = f"InitialValue.{self.kind}"
        set_field(self, "a", _qty(f"{key}[0]" if self.kind != "constant" else key, self.a))
        if self.kind != "constant":
            set_field(self, "b", _qty(f"{key}[1]", self.b))

    def draw(self, rng: np.random.Generator, n: int, *, nonnegative: bool = False):
        """``n`` values (a Brian2 quantity where the variable has a unit)."""
        unit = Quantity(1, dim=get_dimensions(self.a))
        a = float(np.asarray(self.a / unit))
        if self.kind == "constant":
            vals = np.full(n, a)
        else:
            b = float(np.asarray(self.b / unit))
            vals = rng.uniform(a, b, size=n) if self.kind == "uniform" else a + b * rng.standard_normal(n)
        if nonnegative:
            vals = np.maximum(vals, 0.0)
        return vals if get_dimensions(self.a) is DIMENSIONLESS else vals * unit


def initial_value(key: str, value: Any) -> InitialValue:
    """Parse one entry of ``Population.init`` (``key`` names it in errors)."""
    if isinstance(value, InitialValue):
        return value
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("uniform", "normal"):
            raise ConfigError(key, value, "{ uniform = [low, high] } or { normal = [mean, std] }")
        kind, pair = next(iter(value.items()))
        key = f"{key}.{kind}"
    elif isinstance(value, (tuple, list)):
        kind, pair = "uniform", value
    else:
        return InitialValue("constant", _qty(key, value))
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ConfigError(key, pair, "two values: [low, high] or [mean, std]")
    a, b = _qty(f"{key}[0]", pair[0]), _qty(f"{key}[1]", pair[1])
    if get_dimensions(a) != get_dimensions(b):
        raise ConfigError(f"{key}[1]", pair[1], f"the unit of {pair[0]!r}")
    if kind == "uniform" and float(np.asarray(b)) < float(np.asarray(a)):
        raise ConfigError(key, list(pair), "[low, high] with low <= high")
    if kind == "normal" and float(np.asarray(b)) < 0:
        raise ConfigError(f"{key}[1]", pair[1], "a standard deviation >= 0")
    return InitialValue(kind, a, b)
