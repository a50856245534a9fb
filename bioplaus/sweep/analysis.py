"""Network analysis: which points of a study can share one compiled standalone build.

Every point's network is built once with the numpy runtime (no code generation,
nothing run) and hashed, leaving out the values of its ``(shared, constant)``
parameters (:func:`analyse_network`). Points whose hashes agree differ only in values
that ``run_args`` can set, so one binary serves them all (:func:`plan_network_sweep`).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["NetworkAnalysis", "analyse_network", "spec_digest", "plan_network_sweep", "varying_params"]


class _Hasher:
    """sha256 over a canonical encoding of plain values, arrays, quantities and spec dataclasses."""

    def __init__(self):
        self.h = hashlib.sha256()

    def add(self, *items: Any) -> "_Hasher":
        for it in items:
            self._feed(it)
        return self

    def _w(self, s: str) -> None:
        self.h.update(s.encode())

    def _feed(self, v: Any) -> None:
        from brian2.units.fundamentalunits import Quantity, get_dimensions

        if v is None or isinstance(v, (bool, int, str)):
            self._w(f"{type(v).__name__}:{v!r};")
        elif isinstance(v, float):
            self._w(f"f:{v!r};")
        elif isinstance(v, (np.integer, np.floating, np.bool_)):
            self._feed(v.item())
        elif isinstance(v, Quantity):
            self._w(f"Q[{get_dimensions(v)!s}]")
            self._array(np.asarray(v))
        elif isinstance(v, np.ndarray):
            self._array(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            self._w(f"D:{type(v).__module__}.{type(v).__qualname__}(")
            for f in dataclasses.fields(v):
                self._w(f.name + "=")
                self._feed(getattr(v, f.name))
            self._w(")")
        elif isinstance(v, Mapping):
            self._w("{")
            for k in sorted(v, key=str):
                self._feed(str(k))
                self._feed(v[k])
            self._w("}")
        elif isinstance(v, (list, tuple)):
            self._w("[")
            for x in v:
                self._feed(x)
            self._w("]")
        elif isinstance(v, (set, frozenset)):
            self._feed(sorted(v, key=repr))
        elif hasattr(v, "values") and hasattr(v, "dt") and isinstance(getattr(v, "values"), np.ndarray):
            self._w("TimedArray(")  # a TimedArray: its values and dt, not its generated name
            self._array(v.values)
            self._feed(float(v.dt))
            self._w(")")
        elif callable(v) and hasattr(v, "pyfunc"):
            self._w(f"F:{getattr(v.pyfunc, '__module__', '')}.{getattr(v.pyfunc, '__qualname__', repr(v))};")
        else:
            self._w(f"R:{type(v).__qualname__}:{v!s};")

    def _array(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        self._w(f"A[{a.dtype.str}{a.shape}]")
        if a.dtype == object:
            for x in a.ravel():
                self._feed(x)
        else:
            self.h.update(a.tobytes())

    def hexdigest(self, n: int = 16) -> str:
        return self.h.hexdigest()[:n]


def spec_digest(spec: Any) -> str:
    """Exact identity of a spec (every field, every array byte)."""
    return _Hasher().add(spec).hexdigest(32)


@dataclass(frozen=True)
class NetworkAnalysis:
    """What decides whether two networks can share one standalone build.

    ``structure`` hashes everything that is compiled into a standalone binary
    (objects, sizes, equations and code, namespaces, initial values of every
    variable, input spikes, clocks, duration, seed) except the values of the
    ``(shared, constant)`` parameters; ``params`` holds those values
    (``"projections.syn.A_plus" -> value``), which ``run_args`` can change.
    """

    structure: str
    params: dict[str, Any]
    digest: str


_OBJ_ATTRS = ("equations", "event_driven", "events", "event_codes", "abstract_code", "template", "user_code",
              "_refractory", "method_choice", "record", "record_variables", "event", "active")


def analyse_network(spec) -> NetworkAnalysis:
    """Build ``spec`` with the numpy runtime (no code generation, nothing run) and hash its structure."""
    from brian2 import defaultclock
    from brian2.core.variables import ArrayVariable, Constant, Subexpression, Variable
    from brian2.units.fundamentalunits import Quantity

    from ..backends import session
    from ..brian2_internals import mark_inspected
    from ..build.network import build_network

    with session("numpy"):
        defaultclock.dt = spec.dt
        built = build_network(spec, tunable=True)   # every parameter a variable: values are not structure
        h = _Hasher().add("network", int(spec.seed), float(spec.dt), float(spec.duration))
        param_vars = {(obj.name, var) for obj, var in built.params.values()}
        seen: set[str] = set()

        def visit(o) -> None:
            name = getattr(o, "name", None)
            if name is None or name in seen:
                return
            seen.add(name)
            clock = getattr(o, "clock", None)
            h.add("object", type(o).__name__, name, str(getattr(o, "when", "")), getattr(o, "order", None),
                  float(clock.dt) if clock is not None else None)
            for attr in _OBJ_ATTRS:
                if hasattr(o, attr):
                    try:
                        h.add(attr, getattr(o, attr))
                    except Exception:  # pragma: no cover - an attribute that cannot be read yet
                        h.add(attr, "?")
            ns = getattr(o, "namespace", None)
            if ns:
                h.add("namespace", dict(ns))
            variables = getattr(o, "variables", None) or {}
            for vname in sorted(variables):
                var = variables[vname]
                if not isinstance(var, Variable):
                    continue  # e.g. a pathway's spike queue
                try:
                    owner = getattr(var.owner, "name", None)
                except ReferenceError:
                    owner = None
                if owner != name:
                    continue  # hashed with its owner
                h.add("var", vname, type(var).__name__, str(getattr(var, "dim", "")), str(getattr(var, "dtype", "")))
                if (name, vname) in param_vars:
                    continue  # a (shared, constant) parameter: a run_args value, not structure
                if isinstance(var, Constant):
                    h.add(var.value)
                elif isinstance(var, Subexpression):
                    h.add(var.expr)
                elif isinstance(var, ArrayVariable):
                    h.add(np.asarray(var.get_value()))
            for c in getattr(o, "contained_objects", ()):
                visit(c)

        for o in sorted(built.network.objects, key=lambda o: o.name):
            visit(o)
            mark_inspected(o, built.network)  # looked at, never run: no "never included in a network" warning
        params: dict[str, Any] = {}
        for key, (obj, var) in built.params.items():
            v = obj.variables[var]
            val = float(np.asarray(v.get_value()).ravel()[0])
            params[key] = Quantity(val, dim=v.dim) if not v.dim.is_dimensionless else val
    return NetworkAnalysis(structure=h.hexdigest(), params=params, digest=spec_digest(spec))


@dataclass
class _Group:
    """Points that share one standalone build."""

    structure: str
    members: list[int]


def plan_network_sweep(analyses: Sequence[NetworkAnalysis]) -> list[_Group]:
    """Group points by structure, in order of first appearance."""
    groups: dict[str, _Group] = {}
    for k, a in enumerate(analyses):
        groups.setdefault(a.structure, _Group(a.structure, [])).members.append(k)
    return list(groups.values())


def varying_params(analyses: Sequence[NetworkAnalysis]) -> list[str]:
    """Parameter keys whose values differ between ``analyses``."""
    if not analyses:
        return []
    out = []
    for key in analyses[0].params:
        vals = {repr(a.params.get(key)) for a in analyses}
        if len(vals) > 1:
            out.append(key)
    return out
