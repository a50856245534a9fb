"""Validated parameter values with physical units.

Spec objects are frozen dataclasses. Each parameter is declared once, with its unit,
bounds and default, by :func:`param` (in the spirit of Nengo's ``NumberParam``)::

    @dataclass(frozen=True)
    class AdaptiveThreshold(Spec):
        theta_plus: Any = param("0.05 mV", unit=mV, nonnegative=True)
        tau_theta: Any = param("1e7 ms", unit=ms, positive=True)

:meth:`Spec.__post_init__` then normalises every declared field through :func:`quantity`,
:func:`number`, :func:`integer`, :func:`choice` or a boolean check (a Brian2 quantity, or a
string such as ``"20 ms"`` from a model file) and raises
:class:`~bioplaus.errors.ConfigError` naming ``Owner.field``, the bad value and what was
expected. A class with checks across fields overrides ``__post_init__`` and calls
``super().__post_init__()`` first.

Strings are parsed, never evaluated: ``"<number> <unit>"`` where ``<unit>`` is a
name from :mod:`brian2.units` (``ms``, ``mV``, ``nS``, ``Hz``, ``pA``, ``pF``...),
optionally a product/quotient of such names (``"0.5 mV/ms"``).
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np
from brian2 import units as _units
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit

from ..errors import ConfigError

__all__ = ["quantity", "number", "integer", "choice", "parse_quantity", "unit_name", "set_field", "Spec", "param",
           "Param", "check_params"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QTY_RE = re.compile(rf"^\s*({_NUM})\s*\*?\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*[*/]\s*[A-Za-z_][A-Za-z0-9_]*(?:\*\*\d+)?)*)?\s*$")
_UNIT_TOKEN = re.compile(r"([*/]?)\s*([A-Za-z_][A-Za-z0-9_]*)(?:\*\*(\d+))?")


_ALIASES = {"s": "second", "sec": "second", "min": "minute", "h": "hour"}


def _lookup_unit(name: str) -> Quantity:
    u = getattr(_units, _ALIASES.get(name, name), None)
    if u is None or not isinstance(u, Quantity) or name.startswith("_"):
        raise KeyError(name)
    return u


def parse_quantity(text: str) -> Quantity | float:
    """Parse ``"20 ms"``, ``"20*ms"``, ``"0.5 mV/ms"`` or ``"3"`` (dimensionless float).

    >>> parse_quantity("20 ms")
    20. * msecond
    >>> parse_quantity("1.5")
    1.5
    """
    m = _QTY_RE.match(text)
    if not m:
        raise ValueError(f"cannot parse {text!r} as '<number> <unit>'")
    value = float(m.group(1))
    unit_expr = m.group(2)
    if not unit_expr:
        return value
    result: Any = 1.0
    for op, name, power in _UNIT_TOKEN.findall(unit_expr.replace(" ", "")):
        try:
            u = _lookup_unit(name)
        except KeyError:
            raise ValueError(f"unknown unit {name!r} in {text!r}") from None
        if power:
            u = u ** int(power)
        result = result / u if op == "/" else result * u
    return value * result


def unit_name(unit: Quantity) -> str:
    """Readable name of a unit for error messages (``ms``, ``mV``, ``1``)."""
    from brian2.units.fundamentalunits import Unit

    if isinstance(unit, Unit) and get_dimensions(unit) is not DIMENSIONLESS:
        return str(unit)
    if get_dimensions(unit) is DIMENSIONLESS:
        return "1 (dimensionless)"
    try:
        return str(get_unit(get_dimensions(unit)))
    except Exception:  # pragma: no cover - exotic dimensions
        return repr(get_dimensions(unit))


def quantity(owner: str, field: str, value: Any, unit: Quantity, *, positive: bool = False,
             nonnegative: bool = False, allow_none: bool = False) -> Quantity | None:
    """Return ``value`` as a Brian2 quantity with the dimensions of ``unit``.

    Plain numbers are rejected for dimensional quantities (a bare ``20`` could be
    seconds or milliseconds); strings are parsed by :func:`parse_quantity`.
    """
    key = f"{owner}.{field}"
    if value is None and allow_none:
        return None
    example = f"a quantity in {unit_name(unit)}, e.g. '{_example(unit)}'"
    original = value  # errors show what the user wrote, not its parsed form
    if isinstance(value, str):
        try:
            value = parse_quantity(value)
        except ValueError as exc:
            raise ConfigError(key, value, f"{example} ({exc})") from None
    if isinstance(value, bool) or value is None:
        raise ConfigError(key, value, example)
    if not isinstance(value, (Quantity, int, float, np.integer, np.floating)):
        raise ConfigError(key, value, example)
    if get_dimensions(value) is not get_dimensions(unit) and get_dimensions(value) != get_dimensions(unit):
        got = "no unit" if get_dimensions(value) is DIMENSIONLESS else f"unit {unit_name(get_unit(get_dimensions(value)))}"
        raise ConfigError(key, original, f"{example} (got {got})")
    if np.ndim(value) != 0:
        raise ConfigError(key, original, "a scalar")
    fval = float(np.asarray(value))
    if not math.isfinite(fval):
        raise ConfigError(key, original, "a finite value")
    if positive and not fval > 0:
        raise ConfigError(key, original, "a positive value")
    if nonnegative and fval < 0:
        raise ConfigError(key, original, "a value >= 0")
    if get_dimensions(unit) is DIMENSIONLESS:
        return fval
    return Quantity(fval, dim=get_dimensions(unit))


def _example(unit: Quantity) -> str:
    name = unit_name(unit)
    return f"10 {name}" if "dimensionless" not in name else "0.5"


def number(owner: str, field: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
           low: float | None = None, high: float | None = None, allow_none: bool = False) -> float | None:
    """Validate a dimensionless finite number (optionally bounded, inclusive)."""
    key = f"{owner}.{field}"
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(key, value, "a number") from None
    if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
        raise ConfigError(key, value, f"a dimensionless number (got unit {unit_name(value)})")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, Quantity)) \
            or np.ndim(value) != 0:
        raise ConfigError(key, value, "a number")
    f = float(value)
    if not math.isfinite(f):
        raise ConfigError(key, value, "a finite number")
    if positive and not f > 0:
        raise ConfigError(key, value, "a positive number")
    if nonnegative and f < 0:
        raise ConfigError(key, value, "a number >= 0")
    if low is not None and f < low or high is not None and f > high:
        raise ConfigError(key, value, f"a number in [{low}, {high}]")
    return f


def integer(owner: str, field: str, value: Any, *, minimum: int | None = None) -> int:
    key = f"{owner}.{field}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(key, value, "an integer" + (f" >= {minimum}" if minimum is not None else ""))
    if minimum is not None and value < minimum:
        raise ConfigError(key, value, f"an integer >= {minimum}")
    return int(value)


def choice(owner: str, field: str, value: Any, options: tuple[str, ...]) -> str:
    from ..errors import did_you_mean

    if value not in options:
        raise ConfigError(f"{owner}.{field}", value,
                          "one of " + ", ".join(repr(o) for o in options) + did_you_mean(str(value), options))
    return value


def set_field(obj: Any, name: str, value: Any) -> None:
    """Normalise a field of a frozen dataclass inside ``__post_init__``."""
    object.__setattr__(obj, name, value)


@dataclasses.dataclass(frozen=True)
class Param:
    """How one field is validated (see :func:`param`)."""

    kind: str                       # "quantity", "number", "integer", "choice", "bool"
    unit: Any = None
    positive: bool = False
    nonnegative: bool = False
    low: float | None = None
    high: float | None = None
    minimum: int | None = None
    options: tuple = ()
    allow_none: bool = False

    def check(self, owner: str, name: str, value: Any) -> Any:
        """The normalised ``value``, or :class:`~bioplaus.errors.ConfigError` naming ``owner.name``."""
        if self.kind == "quantity":
            return quantity(owner, name, value, self.unit, positive=self.positive, nonnegative=self.nonnegative,
                            allow_none=self.allow_none)
        if value is None and self.allow_none:
            return None
        if self.kind == "number":
            return number(owner, name, value, positive=self.positive, nonnegative=self.nonnegative, low=self.low,
                          high=self.high)
        if self.kind == "integer":
            return integer(owner, name, value, minimum=self.minimum)
        if self.kind == "choice":
            return choice(owner, name, value, self.options)
        if not isinstance(value, bool):
            raise ConfigError(f"{owner}.{name}", value, "true or false")
        return value


def param(default: Any = dataclasses.MISSING, *, unit: Any = None, positive: bool = False,
          nonnegative: bool = False, low: float | None = None, high: float | None = None,
          integer: bool = False, minimum: int | None = None, choices: tuple | None = None,
          boolean: bool = False, allow_none: bool = False, doc: str = "") -> Any:
    """A validated dataclass field, declared once: default, unit and bounds.

    ``unit`` (a Brian2 unit: ``ms``, ``mV``, ``Hz``...) makes a quantity field (plain numbers
    are refused, strings such as ``"20 ms"`` parsed); without it the field is a dimensionless
    number (``positive``, ``nonnegative``, inclusive ``low``/``high``), an ``integer``
    (``minimum``), one of ``choices``, or a ``boolean``. :meth:`Spec.__post_init__` applies it.

    >>> from dataclasses import dataclass
    >>> from brian2 import ms
    >>> @dataclass(frozen=True)
    ... class Decay(Spec):
    ...     tau: Any = param("20 ms", unit=ms, positive=True)
    ...     n: int = param(3, integer=True, minimum=1)
    >>> Decay(tau="5 ms").tau
    5. * msecond
    >>> Decay(tau=5)
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: Decay.tau = 5: expected a quantity in ms, e.g. '10 ms' (got no unit)
    """
    if unit is not None:
        kind = "quantity"
    elif integer:
        kind = "integer"
    elif choices is not None:
        kind = "choice"
    elif boolean:
        kind = "bool"
    else:
        kind = "number"
    spec = Param(kind, unit, positive, nonnegative, low, high, minimum, tuple(choices or ()), allow_none)
    return dataclasses.field(default=default, metadata={"param": spec, "doc": doc})


def check_params(obj: Any, owner: str | None = None) -> None:
    """Validate and normalise every :func:`param` field of the dataclass ``obj`` in place."""
    owner = owner or getattr(obj, "_owner", None) or type(obj).__name__
    for f in dataclasses.fields(obj):
        p = f.metadata.get("param")
        if p is not None:
            set_field(obj, f.name, p.check(owner, f.name, getattr(obj, f.name)))


class Spec:
    """Mixin for frozen spec dataclasses: validation of :func:`param` fields, ``replace``, plain-value export."""

    def __post_init__(self):
        check_params(self)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (quantities as strings like ``'20. ms'``) for resolved configs."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            out[f.name] = _plain(getattr(self, f.name))
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, Spec):
        return v.to_dict()
    if isinstance(v, Quantity):
        if np.ndim(v) == 0:
            return _quantity_str(v)
        return [_plain(x) for x in v]
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _quantity_str(q: Quantity) -> str:
    if get_dimensions(q) is DIMENSIONLESS:
        return repr(float(q))
    u = get_unit(get_dimensions(q))
    # prefer a readable scaled unit (ms, mV, nS, pA...) via brian2's own repr
    best = q.in_best_unit(python_code=False)
    return str(best) if best else f"{float(q / u)!r} {u}"
