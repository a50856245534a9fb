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
``super().__post_init__()`` first. Arrays (``ndim``: spike times, rates per unit, sample
tables), spec-typed fields (``types``: a rule, an adaptive threshold) and optional values
(``allow_none``) are declared the same way. An object that lives under a name in a network
says where in its errors through an ``_owner`` property (``projections.ff``, ``network``).

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

    kind: str                       # "quantity", "number", "integer", "choice", "bool", "spec"
    unit: Any = None
    positive: bool = False
    nonnegative: bool = False
    low: float | None = None
    high: float | None = None
    minimum: int | None = None
    options: tuple = ()
    allow_none: bool = False
    ndim: tuple[int, ...] = (0,)    # allowed numbers of array dimensions (0: a scalar)
    types: tuple = ()               # kind "spec": the accepted classes
    expected: str = ""              # kind "spec": what the error message asks for

    def check(self, owner: str, name: str, value: Any) -> Any:
        """The normalised ``value``, or :class:`~bioplaus.errors.ConfigError` naming ``owner.name``."""
        if value is None and self.allow_none:
            return None
        if self.ndim != (0,) and _is_array(value):
            return self._check_array(owner, name, value)
        if 0 not in self.ndim:
            raise ConfigError(f"{owner}.{name}", _short(value), self._array_words())
        if self.kind == "quantity":
            return quantity(owner, name, value, self.unit, positive=self.positive, nonnegative=self.nonnegative)
        if self.kind == "number":
            return number(owner, name, value, positive=self.positive, nonnegative=self.nonnegative, low=self.low,
                          high=self.high)
        if self.kind == "integer":
            return integer(owner, name, value, minimum=self.minimum)
        if self.kind == "choice":
            return choice(owner, name, value, self.options)
        if self.kind == "spec":
            if not isinstance(value, self.types):
                raise ConfigError(f"{owner}.{name}", _short(value), self.expected or
                                  " or ".join(t.__name__ for t in self.types) + (" or None" if self.allow_none else ""))
            return value
        if not isinstance(value, bool):
            raise ConfigError(f"{owner}.{name}", value, "true or false")
        return value

    def _array_words(self) -> str:
        what = {"quantity": f"quantities in {unit_name(self.unit)}" if self.unit is not None else "quantities",
                "integer": "integers"}.get(self.kind, "numbers")
        dims = " or ".join("a scalar" if d == 0 else "a list" if d == 1 else f"an array with {d} dimensions"
                           for d in self.ndim)
        return f"{dims} of {what}"

    def _check_array(self, owner: str, name: str, value: Any) -> np.ndarray | Quantity:
        """An array field: every element checked, errors name the element (``rates[3]``)."""
        key = f"{owner}.{name}"
        if self.kind == "quantity":
            if isinstance(value, Quantity):
                if get_dimensions(value) != get_dimensions(self.unit):
                    got = unit_name(get_unit(get_dimensions(value)))
                    raise ConfigError(key, _short(value), f"{self._array_words()} (got unit {got})")
                arr = np.array(np.asarray(value), dtype=float)
            else:   # a list from a model file: each element parsed and checked on its own
                items = np.asarray(value, dtype=object)
                if items.ndim != 1:
                    raise ConfigError(key, f"array of shape {items.shape}", self._array_words())
                arr = np.array([float(np.asarray(quantity(owner, f"{name}[{k}]", x, self.unit, positive=self.positive,
                                                               nonnegative=self.nonnegative)))
                                for k, x in enumerate(items)], dtype=float)
        else:
            try:
                arr = np.array(value, dtype=float)
            except (TypeError, ValueError):
                raise ConfigError(key, _short(value), self._array_words()) from None
        if arr.ndim not in self.ndim:
            raise ConfigError(key, f"array of shape {arr.shape}", self._array_words())
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            raise ConfigError(_element(key, bad[0]), float(arr[tuple(bad[0])]), "a finite value")
        if self.kind == "integer":
            frac = np.argwhere(arr != np.round(arr))
            if frac.size:
                raise ConfigError(_element(key, frac[0]), float(arr[tuple(frac[0])]), "an integer")
        low = 0.0 if self.nonnegative else self.minimum if self.minimum is not None else self.low
        for bound, test, words in ((low, np.less, ">="), (self.high, np.greater, "<="),
                                   (0.0 if self.positive else None, np.less_equal, ">")):
            if bound is not None and arr.size:
                out = np.argwhere(test(arr, bound))
                if out.size:
                    bad_value: Any = float(arr[tuple(out[0])])
                    if self.kind == "quantity" and get_dimensions(self.unit) is not DIMENSIONLESS:
                        bad_value = str(Quantity(bad_value, dim=get_dimensions(self.unit)))
                    raise ConfigError(_element(key, out[0]), bad_value, f"a value {words} {bound:g}")
        if self.kind == "integer":
            arr = arr.astype(np.int64)
        arr.setflags(write=False)
        if self.kind == "quantity" and get_dimensions(self.unit) is not DIMENSIONLESS:
            return Quantity(arr, dim=get_dimensions(self.unit))
        return arr


def _is_array(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) or (isinstance(value, Quantity) and np.ndim(value) > 0)


def _element(key: str, index) -> str:
    return f"{key}[{', '.join(str(int(i)) for i in index)}]"


def _short(v: Any) -> Any:
    s = repr(v)
    return v if len(s) < 60 else s[:57] + "..."


def param(default: Any = dataclasses.MISSING, *, unit: Any = None, positive: bool = False,
          nonnegative: bool = False, low: float | None = None, high: float | None = None,
          integer: bool = False, minimum: int | None = None, choices: tuple | None = None,
          boolean: bool = False, allow_none: bool = False, ndim: int | tuple[int, ...] = 0,
          types: type | tuple[type, ...] | None = None, expected: str = "", default_factory: Any = dataclasses.MISSING,
          doc: str = "") -> Any:
    """A validated dataclass field, declared once: default, unit and bounds.

    ``unit`` (a Brian2 unit: ``ms``, ``mV``, ``Hz``...) makes a quantity field (plain numbers
    are refused, strings such as ``"20 ms"`` parsed); without it the field is a dimensionless
    number (``positive``, ``nonnegative``, inclusive ``low``/``high``), an ``integer``
    (``minimum``), one of ``choices``, a ``boolean``, or a spec object of the classes ``types``
    (``expected`` words the error). ``ndim`` allows arrays: ``1`` a list, ``(0, 1)`` a scalar
    or a list, ``2`` a table; each element is checked and errors name it (``rates[3]``);
    arrays are stored read-only (quantity arrays with their unit). ``allow_none`` accepts
    ``None``. :meth:`Spec.__post_init__` applies it.

    >>> from dataclasses import dataclass
    >>> from brian2 import Hz, ms
    >>> @dataclass(frozen=True)
    ... class Decay(Spec):
    ...     tau: Any = param("20 ms", unit=ms, positive=True)
    ...     n: int = param(3, integer=True, minimum=1)
    ...     rates: Any = param("5 Hz", unit=Hz, nonnegative=True, ndim=(0, 1))
    >>> Decay(tau="5 ms").tau
    5. * msecond
    >>> Decay(tau=5)
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: Decay.tau = 5: expected a quantity in ms, e.g. '10 ms' (got no unit)
    >>> Decay(rates=["1 Hz", "-2 Hz"])
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: Decay.rates[1] = '-2 Hz': expected a value >= 0
    """
    if unit is not None:
        kind = "quantity"
    elif integer:
        kind = "integer"
    elif choices is not None:
        kind = "choice"
    elif boolean:
        kind = "bool"
    elif types is not None:
        kind = "spec"
    else:
        kind = "number"
    dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    spec = Param(kind, unit, positive, nonnegative, low, high, minimum, tuple(choices or ()), allow_none, dims,
                 types if isinstance(types, tuple) else (types,) if types is not None else (), expected)
    meta = {"param": spec, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_params(obj: Any, owner: str | None = None) -> None:
    """Validate and normalise every :func:`param` field of the dataclass ``obj`` in place.

    Errors name ``owner.field``: ``owner`` defaults to the object's ``_owner`` (a property
    such as ``projections.ff`` for objects with a name in a network) or its class name.
    """
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
