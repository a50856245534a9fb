"""Parameter studies: expand a model into points and run them locally or on a Dask cluster.

A **study** is a model file plus what varies::

    bioplaus sweep stdp_window --grid params.A_plus=0.005,0.01,0.02 --seeds 2 --backend cpp --out results/aplus

expands into points (cartesian grid x random samples x seeds), validates every
point's configuration before anything runs, runs each point through
:func:`bioplaus.runner.run_model` into ``DIR/points/<point-id>/`` and keeps one
tidy table ``DIR/results.csv`` (one row per point) beside ``DIR/sweep.toml``
(the study). Everything is written atomically; ``--resume`` runs only the points
without a finished marker (``point.json``, written last in each point directory).

Compile once, run many
----------------------
Neuron parameters, and the rule parameters a sweep varies (``build_network(tunable=...)``),
are ``(shared, constant)`` variables (:func:`bioplaus.build.registry.declare_params`), so a
compiled standalone binary (``cpp``, ``cuda``) can be rerun with new values through Brian2's
``run_args``; rule parameters that no point changes stay constants of the generated code.
For a standalone backend the sweep therefore looks at the network each point
builds, not at the names of the swept keys: every point's network is built once
with the numpy runtime (no code generation, milliseconds) and hashed, leaving out
the values of the ``(shared, constant)`` parameters (:func:`analyse_network`).
Points whose networks agree in everything else (sizes, connectivity, initial
values, equations, input spikes, duration, seed) share **one** build; each of
them is a run of that binary with its own parameter values and its own results
directory (``device.build(run=False)``, then one run per point with
``--results_dir`` and ``run_args``, up to ``jobs`` runs at a time). A point whose
network differs in anything else (a population size, a new seed, a parameter
that an experiment turns into initial values) builds its own binary: that is
decided per point, automatically, and printed.

For model files the network is taken from the experiment itself: the experiment
runs up to its call of :func:`bioplaus.simulation.simulate`, which is intercepted
to capture the :class:`~bioplaus.spec.network.NetworkSpec`; during the real run
the same call returns the arrays of the shared binary's run for that point. An
experiment that builds its network in another way, calls ``simulate`` more than
once, or asks for another network than the one captured simply runs its points
the ordinary way (one build per point), so the result never depends on the path.
The ``numpy`` and ``cython`` backends compile nothing per point (Cython caches
its compiled code objects by their source, which does not contain parameter
values), so there every point runs through ``run_model``.

Network level: :func:`sweep_network` runs a
:class:`~bioplaus.spec.network.NetworkSpec` (or a factory of specs) at a list of
points keyed like ``"projections.syn.A_plus"`` or ``"populations.post.size"``
and returns one :class:`~bioplaus.simulation.SimResult` per point.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .errors import BackendUnavailable, BioplausError, ConfigError, did_you_mean
from .results import atomic_write_bytes, dumps_toml, ensure_dir, write_csv, write_json, write_toml

__all__ = [
    "RandomRange", "SweepPoint", "Sweep", "SweepReport", "NetworkAnalysis",
    "parse_grid", "parse_random", "split_values", "expand_sweep", "run_sweep", "read_results",
    "sweep_network", "apply_spec_overrides", "analyse_network", "plan_network_sweep", "capture_network",
]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_RESERVED = {"seed": "use --seeds K (seeds base, base+1, ...)", "backend": "use --backend",
             "experiment": "sweep one experiment per study"}
_STANDALONE = ("cpp", "cuda")
MARKER = "point.json"


def _quiet(_msg: str) -> None:
    pass


# =========================================================================== parsing

def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` on the commas that are outside quotes and brackets.

    >>> split_values('0.5,"20 ms",[1, 2]')
    ['0.5', '"20 ms"', '[1, 2]']
    """
    out, cur, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch in "[{":
            depth += 1
            cur.append(ch)
        elif ch in "]}":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def _check_key(option: str, item: str, key: str) -> str:
    key = key.strip()
    if not _KEY.match(key):
        raise ConfigError(option, item, "KEY.PATH=... with a dotted key path of identifiers (e.g. params.eta)")
    top = key.split(".")[0]
    if top in _RESERVED:
        raise ConfigError(option, item, f"a key other than {top!r} ({_RESERVED[top]})")
    return key


def parse_grid(item: str) -> tuple[str, list[Any]]:
    """``"params.eta=0.5,1,'2 Hz'"`` -> ``("params.eta", [0.5, 1, "2 Hz"])``; values are TOML data."""
    from .config import parse_value

    if "=" not in item:
        raise ConfigError("--grid", item, "KEY.PATH=V1,V2,... (e.g. params.eta=0.5,1.0)")
    key, _, text = item.partition("=")
    key = _check_key("--grid", item, key)
    parts = split_values(text)
    if not text.strip() or any(p == "" for p in parts):
        raise ConfigError(key, text, "a comma-separated list of values (e.g. 0.5,1.0)")
    return key, [parse_value(p) for p in parts]


_NUM_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


@dataclass(frozen=True)
class RandomRange:
    """A value drawn uniformly (or log-uniformly) from ``[low, high]``.

    Integers give integers (inclusive); numbers give floats (rounded to 6
    significant digits so they are exact in TOML and in ``results.csv``); quantity
    strings such as ``"5 ms"`` give strings in the unit of ``low``.
    """

    key: str
    low: Any
    high: Any
    log: bool = False

    def __post_init__(self):
        lo, hi = self._numbers()
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
            raise ConfigError(self.key, f"{self.low}:{self.high}", "LOW:HIGH with finite LOW <= HIGH")
        if self.log and lo <= 0:
            raise ConfigError(self.key, f"{self.low}:{self.high}:log", "LOW > 0 for a log-uniform range")

    def _split(self, v: Any) -> tuple[float, str]:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ConfigError(self.key, v, "a number or a quantity such as '5 ms' as range bound")
        if isinstance(v, (int, float)):
            return float(v), ""
        m = _NUM_UNIT.match(v)
        if not m:
            raise ConfigError(self.key, v, "a number or a quantity such as '5 ms' as range bound")
        return float(m.group(1)), m.group(2)

    def _numbers(self) -> tuple[float, float]:
        (lo, ulo), (hi, uhi) = self._split(self.low), self._split(self.high)
        if ulo != uhi:
            raise ConfigError(self.key, f"{self.low}:{self.high}", "both bounds in the same unit (e.g. '5 ms:20 ms')")
        return lo, hi

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not self.log

    def sample(self, rng: np.random.Generator) -> Any:
        lo, hi = self._numbers()
        if self.integer:
            return int(rng.integers(int(lo), int(hi) + 1))
        x = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if self.log else float(rng.uniform(lo, hi))
        x = float(f"{x:.6g}")
        unit = self._split(self.low)[1]
        return f"{x!r} {unit}" if unit else x

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log}


def parse_random(item: str) -> RandomRange:
    """``"params.eta=0.1:10:log"`` or ``"params.tau=5 ms:20 ms"`` -> :class:`RandomRange`."""
    from .config import parse_value

    if "=" not in item:
        raise ConfigError("--random", item, "KEY.PATH=LOW:HIGH[:log] (e.g. params.eta=0.1:1.0)")
    key, _, text = item.partition("=")
    key = _check_key("--random", item, key)
    parts = [p.strip() for p in text.split(":")]
    log = False
    if len(parts) == 3 and parts[2] in ("log", "lin"):
        log = parts[2] == "log"
        parts = parts[:2]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(key, text, "LOW:HIGH or LOW:HIGH:log (e.g. 0.1:1.0, '5 ms:20 ms')")
    return RandomRange(key, parse_value(parts[0]), parse_value(parts[1]), log)


# =========================================================================== points and studies

def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def point_id(index: int, values: Mapping[str, Any], seed: int) -> str:
    """``p0003-1a2b3c4d``: position in the study and a hash of the point's values and seed."""
    digest = hashlib.sha256(_canonical_json({"values": dict(values), "seed": seed}).encode()).hexdigest()[:8]
    return f"p{index:04d}-{digest}"


@dataclass(frozen=True)
class SweepPoint:
    """One run of a study: the swept values (key path -> value as data) and the seed."""

    index: int
    id: str
    values: dict[str, Any]
    seed: int

    def overrides(self) -> list[tuple[str, Any]]:
        return list(self.values.items())

    def label(self) -> str:
        vals = " ".join(f"{k}={v}" for k, v in self.values.items())
        return f"{vals} seed={self.seed}".strip()


@dataclass
class Sweep:
    """A validated study: model, what varies, and its points (see :func:`expand_sweep`)."""

    model: str
    experiment: str
    backend: str
    grid: dict[str, list[Any]]
    random: dict[str, RandomRange]
    samples: int
    seeds: list[int]
    sample_seed: int
    overrides: list[tuple[str, Any]]
    fingerprint: str
    points: list[SweepPoint] = field(default_factory=list)
    threads: int | None = None

    def config(self, point: SweepPoint, check_memory: bool = False):
        """The resolved, validated :class:`~bioplaus.config.ModelConfig` of ``point``."""
        from .config import load_model

        threads = [("threads", self.threads)] if self.threads is not None else []
        return load_model(self.model, [*self.overrides, *threads, *point.overrides()], backend=self.backend,
                          seed=point.seed, check_memory=check_memory)

    def to_dict(self) -> dict[str, Any]:
        """What ``sweep.toml`` records."""
        return {
            "model": self.model, "experiment": self.experiment, "backend": self.backend,
            "fingerprint": self.fingerprint, "seeds": list(self.seeds), "samples": self.samples,
            "sample_seed": self.sample_seed, "n_points": len(self.points),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "random": {k: r.to_dict() for k, r in self.random.items()},
            "set": {k: v for k, v in self.overrides},
        }

    def swept_keys(self) -> list[str]:
        return [*self.grid, *self.random]


def _fingerprint(cfg) -> str:
    d = cfg.to_dict()
    d.pop("threads", None)
    return "sha256:" + hashlib.sha256(dumps_toml(d).encode()).hexdigest()


def expand_sweep(model: str | os.PathLike, grid: Mapping[str, Sequence[Any]] | Iterable[tuple[str, Sequence[Any]]] = (),
                 random: Mapping[str, RandomRange | str] | Iterable[RandomRange] = (), *, samples: int = 0,
                 seeds: int = 1, overrides: Iterable[str | tuple[str, Any]] = (), backend: str | None = None,
                 sample_seed: int | None = None, threads: int | None = None) -> Sweep:
    """Expand a model file into the points of a study and validate every one of them.

    Points are the cartesian product ``grid x random samples x seeds`` in that
    order (the last grid key varies fastest). Random samples are drawn once from
    ``numpy.random.default_rng(sample_seed)`` (default: the model's seed) and
    combined with every grid point. Seeds are ``base, base + 1, ...`` from the
    model's ``seed``. Every point's configuration is loaded with
    :func:`~bioplaus.config.load_model`: a value that does not fit its field raises
    :class:`~bioplaus.errors.ConfigError` naming the key path and the value
    before anything runs.
    """
    from .config import load_model, parse_override

    ov = [o if isinstance(o, tuple) else parse_override(o) for o in overrides]
    for key, value in ov:
        if key == "threads":
            threads = value
    ov = [(k, v) for k, v in ov if k != "threads"]  # speed only: not part of the study's identity
    base = load_model(model, [*ov, *([("threads", threads)] if threads is not None else [])], backend=backend)
    grid_d: dict[str, list[Any]] = {}
    for key, values in (grid.items() if isinstance(grid, Mapping) else grid):
        key = _check_key("--grid", str(key), str(key))
        if key in grid_d:
            raise ConfigError("--grid", key, "each key once (list all its values in one --grid)")
        values = list(values)
        if not values:
            raise ConfigError(key, [], "at least one value")
        for k, v in enumerate(values):
            if any(_same_value(v, w) for w in values[:k]):
                raise ConfigError("--grid", f"{key}={','.join(map(str, values))}",
                                  f"distinct values ({v!r} is listed more than once; each point would run twice)")
        grid_d[key] = values
    rand: dict[str, RandomRange] = {}
    items = random.items() if isinstance(random, Mapping) else ((r.key, r) for r in random)
    for key, r in items:
        if isinstance(r, str):
            r = parse_random(f"{key}={r}")
        if r.key in grid_d or r.key in rand:
            raise ConfigError("--random", r.key, "a key not swept already")
        rand[r.key] = r
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ConfigError("--samples", samples, "an integer >= 0")
    if rand and samples < 1:
        raise ConfigError("--samples", samples, "N >= 1 random samples for --random")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("--seeds", seeds, "an integer >= 1 (number of seeds)")
    sample_seed = base.seed if sample_seed is None else sample_seed
    if isinstance(sample_seed, bool) or not isinstance(sample_seed, int) or sample_seed < 0:
        raise ConfigError("--sample-seed", sample_seed, "an integer >= 0")
    rng = np.random.default_rng(sample_seed)
    draws = [{k: r.sample(rng) for k, r in rand.items()} for _ in range(samples if rand else 1)]
    seed_list = [base.seed + k for k in range(seeds)]
    sweep = Sweep(model=str(base.source), experiment=base.experiment, backend=base.backend, grid=grid_d,
                  random=rand, samples=samples if rand else 0, seeds=seed_list, sample_seed=sample_seed,
                  overrides=ov, fingerprint=_fingerprint(base), threads=threads)
    index = 0
    for combo in itertools.product(*grid_d.values()):
        for draw in draws:
            values = {**dict(zip(grid_d, combo)), **draw}
            for seed in seed_list:
                sweep.points.append(SweepPoint(index, point_id(index, values, seed), values, seed))
                index += 1
    for p in sweep.points:
        try:
            sweep.config(p, check_memory=True)
        except ConfigError as exc:
            source = exc.source
            if source == "--set" and exc.key_path in grid_d:
                source = "--grid"
            elif source == "--set" and exc.key_path in rand:
                source = "--random"
            raise ConfigError(exc.key_path, exc.value, f"{exc.expected} [sweep point {p.id}: {p.label()}]",
                              source=source) from None
    return sweep


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return _canonical_json(a) == _canonical_json(b)


# =========================================================================== network level: analysis

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

    from .backends import session
    from .build.network import build_network

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
            o._network = built.network.id  # looked at, never run: no "never included in a network" warning
        params: dict[str, Any] = {}
        for key, (obj, var) in built.params.items():
            v = obj.variables[var]
            val = float(np.asarray(v.get_value()).ravel()[0])
            params[key] = Quantity(val, dim=v.dim) if not v.dim.is_dimensionless else val
    return NetworkAnalysis(structure=h.hexdigest(), params=params, digest=spec_digest(spec))


# =========================================================================== network level: spec overrides

def _replace_path(obj: Any, parts: list[str], value: Any, key: str) -> Any:
    from .spec.network import Population, Projection

    if not dataclasses.is_dataclass(obj):
        raise ConfigError(key, value, "a path to a field of the network spec")
    names = {f.name for f in dataclasses.fields(obj)}
    head, rest = parts[0], parts[1:]
    if head not in names:
        # shortcuts, named like BuiltNetwork.params: populations.<p>.<field of its model>,
        # projections.<p>.<field of its rule or homeostasis>
        inner = []
        if isinstance(obj, Population):
            inner = ["model"]
        elif isinstance(obj, Projection):
            inner = ["rule", "homeostasis"]
        for attr in inner:
            sub = getattr(obj, attr)
            if sub is not None and dataclasses.is_dataclass(sub) and head in {f.name for f in dataclasses.fields(sub)}:
                return _replace_path(obj, [attr, *parts], value, key)
        options = sorted(names | {f.name for a in inner if dataclasses.is_dataclass(getattr(obj, a, None))
                                  for f in dataclasses.fields(getattr(obj, a))})
        raise ConfigError(key, value, f"a field of {type(obj).__name__}: " + ", ".join(options)
                          + did_you_mean(head, options))
    if not rest:
        new = value
    else:
        new = _replace_path(getattr(obj, head), rest, value, key)
    try:
        return dataclasses.replace(obj, **{head: new})
    except ConfigError as exc:
        raise ConfigError(key, value, exc.expected) from None
    except TypeError as exc:
        raise ConfigError(key, value, f"a valid value ({exc})") from None


def apply_spec_overrides(spec, values: Mapping[str, Any]):
    """Return ``spec`` with each ``key path -> value`` applied (validated by the spec objects).

    Key paths: ``populations.<name>.<field>`` (``size``, or a field of its neuron
    model such as ``tau_e``), ``projections.<name>.<field>`` (``w_init``,
    ``connectivity``, ``weight_scale``... or a field of its rule such as ``A_plus``),
    ``modulators.<name>.<field>``, ``network.<field>`` (``duration``, ``dt``,
    ``seed``). The longer forms ``populations.<name>.model.<field>`` and
    ``projections.<name>.rule.<field>`` work too.
    """
    for key, value in values.items():
        parts = str(key).split(".")
        head = parts[0]
        if head == "network" and len(parts) == 2:
            spec = _replace_path(spec, parts[1:], value, key)
            continue
        if head not in ("populations", "projections", "modulators", "monitors") or len(parts) < 3:
            raise ConfigError(key, value, "populations.<name>.<field>, projections.<name>.<field>, "
                              "modulators.<name>.<field> or network.<field>")
        items = list(getattr(spec, head))
        names = [getattr(it, "name", getattr(it, "target", None)) for it in items]
        if parts[1] not in names:
            raise ConfigError(key, value, f"a name of {head}: " + ", ".join(map(str, names))
                              + did_you_mean(parts[1], [str(n) for n in names]))
        k = names.index(parts[1])
        items[k] = _replace_path(items[k], parts[2:], value, key)
        try:
            spec = spec.replace(**{head: tuple(items)})
        except ConfigError as exc:
            raise ConfigError(key, value, f"{exc.expected} ({exc.key_path})") from None
    return spec


# =========================================================================== network level: one build, many runs

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


class _BinaryFailed(RuntimeError):
    pass


def _env_for(device) -> dict[str, str]:
    from brian2 import prefs

    env = dict(os.environ)
    env.update({k: str(v) for k, v in prefs["devices.cpp_standalone.run_environment_variables"].items()})
    env.update({k: str(v) for k, v in (getattr(device, "run_environment_variables", None) or {}).items()})
    return env


def _cmdline_run_args(device, run_args: Mapping[Any, Any]) -> list[str]:
    """``name=value`` arguments of the standalone binary, as ``CPPStandaloneDevice.run`` writes them."""
    from .brian2_internals import run_arg_strings

    out = []
    for name, string_value, value_name in run_arg_strings(device, run_args):
        if value_name:  # pragma: no cover - parameters are shared scalars
            raise ConfigError(name, string_value, "a scalar value for a (shared, constant) parameter")
        out.append(f"{name}={string_value}")
    return out


def _launch(device, args: list[str], results_dir: Path) -> float:
    """Run the compiled binary with its own results directory; returns the wall time."""
    from brian2 import prefs

    cmd = prefs.devices.cpp_standalone.run_cmd_unix
    cmd = [cmd] if isinstance(cmd, str) else list(cmd)
    results_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(results_dir / "stdout.txt", "w") as out:
        rc = subprocess.call(cmd + ["--results_dir", os.path.join(str(results_dir), "")] + args,
                             cwd=device.project_dir, env=_env_for(device), stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if rc:
        tail = (results_dir / "stdout.txt").read_text(errors="replace")[-2000:]
        raise _BinaryFailed(f"standalone binary exited with status {rc}" + (f": {tail.strip()}" if tail.strip() else ""))
    return wall


def _read_results(device, built, results_dir: Path, run_arg_names: set[str]) -> dict[str, np.ndarray]:
    """Point the device at one run's results directory and collect the arrays (as ``device.run`` would)."""
    from .brian2_internals import read_run_results

    read_run_results(device, results_dir, run_arg_names)
    return built.collect()


def _run_shared_build(spec, param_sets: Sequence[Mapping[str, Any]], *, backend: str, threads: int | None,
                      jobs: int, on_result: Callable[[int, Any, dict], None]) -> float:
    """Build ``spec`` once on a standalone backend and run it once per parameter set.

    ``on_result(k, arrays_or_exception, timings)`` is called in this thread as runs
    finish (up to ``jobs`` binaries run at a time on ``cpp``; ``cuda`` runs one at a
    time through ``device.run``). Returns the build time (generate + compile).
    """
    import inspect

    from brian2 import defaultclock, get_device

    from .backends import session
    from .build.network import build_network

    with session(backend, threads=threads, seed=spec.seed) as s:
        device = get_device()  # the device object itself (brian2.device is a proxy that cannot be assigned to)
        defaultclock.dt = spec.dt
        t0 = time.perf_counter()
        # the swept parameters become variables that run_args can set; the rest stay code constants
        built = build_network(spec, tunable={key for ps in param_sets for key in ps})
        built.network.run(spec.duration)
        s.finish(run=False)
        build_s = time.perf_counter() - t0
        runs = Path(device.project_dir) / "sweep_runs"

        def run_args_of(k: int) -> dict:
            out = {}
            for key, value in param_sets[k].items():
                if key not in built.params:
                    raise ConfigError(key, value, "a (shared, constant) parameter of the network: "
                                      + ", ".join(built.params) + did_you_mean(key, built.params))
                obj, var = built.params[key]
                out[getattr(obj, var)] = value
            return out

        if backend == "cpp":
            argv = [_cmdline_run_args(device, run_args_of(k)) for k in range(len(param_sets))]
            names = {f"{obj.name}.{var}" for k in range(len(param_sets)) for key in param_sets[k]
                     for obj, var in [built.params[key]]}
            with cf.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futs = {pool.submit(_launch, device, argv[k], runs / str(k)): k for k in range(len(param_sets))}
                for fut in cf.as_completed(futs):
                    k = futs[fut]
                    try:
                        wall = fut.result()
                        arrays = _read_results(device, built, runs / str(k), names)
                    except Exception as exc:
                        on_result(k, exc, {"sweep.shared_build_s": build_s})
                        continue
                    finally:
                        shutil.rmtree(runs / str(k), ignore_errors=True)
                    on_result(k, arrays, {"run_binary_s": wall, "total_s": wall, "sweep.shared_build_s": build_s})
        else:  # cuda: brian2cuda's own run method, one run at a time
            params = inspect.signature(device.run).parameters
            for k in range(len(param_sets)):
                kw: dict[str, Any] = {"run_args": run_args_of(k), "with_output": False}
                if "results_directory" in params:
                    kw["results_directory"] = os.path.join("sweep_runs", str(k))
                if "directory" in params:
                    kw["directory"] = device.project_dir
                t1 = time.perf_counter()
                try:
                    device.run(**kw)
                    arrays = built.collect()
                except Exception as exc:
                    on_result(k, exc, {"sweep.shared_build_s": build_s})
                    continue
                wall = time.perf_counter() - t1
                on_result(k, arrays, {"run_binary_s": wall, "total_s": wall, "sweep.shared_build_s": build_s})
    return build_s


def sweep_network(spec, points: Sequence[Mapping[str, Any]], *, backend: str = "cpp", jobs: int = 1,
                  threads: int | None = None, reuse_builds: bool = True,
                  progress: Callable[[str], None] | None = None) -> list:
    """Run a network at many points; compile once where only parameters change.

    Parameters
    ----------
    spec : NetworkSpec or callable
        The base network, with each point applied by :func:`apply_spec_overrides`
        (keys such as ``"projections.syn.A_plus"``, ``"populations.post.tau_e"``,
        ``"populations.post.size"``), or a function ``point -> NetworkSpec``.
    points : list of dict
        One mapping ``key path -> value`` per point (values as in spec objects:
        numbers, quantities or strings such as ``"20 ms"``).
    backend : ``"numpy"``, ``"cython"``, ``"cpp"`` or ``"cuda"``
    jobs : int
        Standalone runs of one shared binary that may run at the same time.
    reuse_builds : bool
        ``False`` builds every point on its own (for comparisons).

    Returns
    -------
    list of :class:`~bioplaus.simulation.SimResult`, in the order of ``points``.
    ``compiler_flags["sweep.mode"]`` says how each point ran: ``"run_args"`` (a
    shared build rerun with this point's parameter values), ``"build"`` (its own
    standalone build) or ``"runtime"`` (numpy/cython). On a standalone backend,
    points whose networks differ only in the values of ``(shared, constant)``
    parameters share one build (see :func:`analyse_network`); any other change
    (a size, connectivity, initial weights, seed) gets its own build.
    """
    from .backends import _validate
    from .simulation import SimResult, simulate
    from .spec.network import NetworkSpec

    _validate(backend)
    log = progress or _quiet
    specs = []
    for k, p in enumerate(points):
        s = spec(dict(p)) if callable(spec) and not isinstance(spec, NetworkSpec) else apply_spec_overrides(spec, p)
        if not isinstance(s, NetworkSpec):
            raise ConfigError("spec", s, f"a NetworkSpec from the spec factory (point {k})")
        specs.append(s)
    results: list[Any] = [None] * len(specs)

    def plain(k: int, mode: str) -> None:
        r = simulate(specs[k], backend, threads=threads)
        r.compiler_flags["sweep.mode"] = mode
        results[k] = r

    if backend not in _STANDALONE or not reuse_builds:
        for k in range(len(specs)):
            plain(k, "runtime" if backend not in _STANDALONE else "build")
        return results
    analyses = [analyse_network(s) for s in specs]
    for g, group in enumerate(plan_network_sweep(analyses)):
        if len(group.members) == 1:
            log(f"point {group.members[0]}: own build (network structure differs from the other points)")
            plain(group.members[0], "build")
            continue
        members = group.members
        log(f"points {members}: one build, {len(members)} runs with run_args "
            f"(varying: {', '.join(varying_params([analyses[m] for m in members])) or 'nothing'})")
        errors: list[tuple[int, BaseException]] = []

        def on_result(k: int, arrays: Any, timings: dict, members=members, g=g) -> None:
            m = members[k]
            if isinstance(arrays, BaseException):
                errors.append((m, arrays))
                return
            results[m] = SimResult(spec=specs[m], backend=backend, arrays=arrays, timings=timings,
                                   compiler_flags={"backend": backend, "sweep.mode": "run_args",
                                                   "sweep.group": g})

        _run_shared_build(specs[members[0]], [analyses[m].params for m in members], backend=backend,
                          threads=threads, jobs=jobs, on_result=on_result)
        if errors:
            m, exc = errors[0]
            raise BioplausError(f"sweep point {m} failed: {exc}") from exc
    return results


# =========================================================================== model files: capture and replay

class _Captured(BaseException):
    """Raised by the stand-in ``simulate`` to stop an experiment once its network is known."""

    def __init__(self, spec):
        super().__init__("captured")
        self.spec = spec


class _ReplayMismatch(BaseException):
    """The experiment asked for a network other than the one run by the shared build."""


def _apply_duration(spec, duration):
    if duration is None:
        return spec
    from .spec.params import quantity

    return spec.replace(duration=quantity("simulate", "duration", duration, spec.duration, positive=True))


class _patched_simulate:
    def __init__(self, fn):
        self.fn = fn

    def __enter__(self):
        # the module, not bioplaus.simulate (the package exports the function under that name)
        simmod = importlib.import_module(f"{__package__}.simulation")
        self.mod, self.orig = simmod, simmod.simulate
        simmod.simulate = self.fn
        return self

    def __exit__(self, *exc):
        self.mod.simulate = self.orig
        return False


def capture_network(cfg):
    """The :class:`NetworkSpec` ``cfg``'s experiment passes to ``simulate`` first, or ``None``.

    The experiment runs up to that call (nothing is built or written). ``None`` when
    it never calls :func:`bioplaus.simulation.simulate` through its module, or fails first.
    """
    from .experiments.base import RunContext, experiment_class

    def stand_in(spec, backend="numpy", *, duration=None, **_kw):
        raise _Captured(_apply_duration(spec, duration))

    ctx = RunContext(backend=cfg.backend, seed=cfg.seed, out=None, threads=cfg.threads, data_dir=cfg.data_dir,
                     progress=_quiet)
    with _patched_simulate(stand_in):
        try:
            experiment_class(cfg.experiment)().run(cfg.params, ctx)
        except _Captured as c:
            return c.spec
        except Exception:
            return None
    return None


class _replaying(_patched_simulate):
    """``simulate`` returns a precomputed result for the one expected network, else raises _ReplayMismatch."""

    def __init__(self, digest: str, backend: str, make_result: Callable[[Any], Any]):
        self.used = False

        def stand_in(spec, backend_=None, *args, duration=None, **kw):
            spec2 = _apply_duration(spec, duration)
            b = backend_ if backend_ is not None else kw.get("backend", "numpy")
            if self.used or b != backend or spec_digest(spec2) != digest:
                raise _ReplayMismatch()
            self.used = True
            return make_result(spec2)

        super().__init__(stand_in)


# =========================================================================== running points

def _classify(status: str) -> tuple[str, str]:
    if status == "ok":
        return "ok", ""
    if status.startswith("diverged"):
        return "diverged", status
    return "failed", status


def _metrics(info: Mapping[str, Any]) -> dict[str, float]:
    """The scalar numbers of an experiment's ``info`` (timings, keys ending in ``_s``, left out)."""
    out = {}
    for k, v in info.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            continue
        if k.endswith("_s") or "." in k:
            continue
        out[k] = float(v) if isinstance(v, (float, np.floating)) else int(v)
    return out


def _run_point(cfg, point: dict, out_dir: Path, mode: str, extra: dict | None = None,
               write_marker: bool = True) -> dict:
    """Run one point through run_model into ``out_dir``; returns (and writes last) its record."""
    from .runner import run_model

    if out_dir.exists():
        shutil.rmtree(out_dir)  # a stale, unfinished attempt (finished points are never rerun)
    record = {"id": point["id"], "index": point["index"], "values": point["values"], "seed": point["seed"],
              "mode": mode, "status": "failed", "error": "", "metrics": {}, **(extra or {})}
    t0 = time.perf_counter()
    try:
        result = run_model(cfg, out_dir, progress=_quiet)
        record["status"], record["error"] = _classify(result.status)
        record["metrics"] = _metrics(result.info)
    except (KeyboardInterrupt, _ReplayMismatch):
        raise
    except (Exception, SystemExit) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["wall_time_s"] = time.perf_counter() - t0 + float((extra or {}).get("run_binary_s", 0.0))
    if write_marker:
        write_json(out_dir / MARKER, record)
    return record


@dataclass
class _Task:
    """Plain data sent to a worker process or a Dask worker: one point, or a group sharing a build."""

    model: str
    overrides: list[tuple[str, Any]]
    backend: str
    points: list[dict]
    out_root: str | None              # write point directories there; None: return their files
    experiment_module: str
    mode: str = "single"              # "single" | "group"
    params: list[dict] | None = None  # group: run_args values per point
    digests: list[str] | None = None  # group: spec digest per point
    structure: str = ""
    jobs: int = 1


def _task_config(task: _Task, p: dict):
    from .config import load_model

    return load_model(task.model, [*task.overrides, *[(k, v) for k, v in p["values"].items()]],
                      backend=task.backend, seed=p["seed"])


def _collect_files(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def execute_task(task: _Task) -> list[dict]:
    """Run a task's points (in whatever process this is); returns one record per point.

    With ``task.out_root`` the point directories (and their markers) are written
    there; otherwise each record carries ``files`` (relative path -> bytes) for
    the caller to write (Dask workers need not share a file system with the client).
    """
    if task.experiment_module not in sys.modules:
        try:
            importlib.import_module(task.experiment_module)
        except ImportError:
            pass
    staging = None
    if task.out_root is None:
        staging = Path(tempfile.mkdtemp(prefix="bioplaus_sweep_"))
    root = Path(task.out_root) if task.out_root is not None else staging
    records: list[dict] = []
    from .progress import nested

    inner_quiet = nested()  # the sweep reports per point; compile steps inside stay silent
    inner_quiet.__enter__()

    def finish(rec: dict, p: dict) -> None:
        if staging is not None:
            d = staging / "points" / p["id"]
            rec["files"] = _collect_files(d) if d.exists() else {}
            shutil.rmtree(d, ignore_errors=True)
        records.append(rec)

    def point_dir(p: dict) -> Path:
        return root / "points" / p["id"]

    try:
        if task.mode == "group":
            leftovers = _execute_group(task, point_dir, finish)
        else:
            leftovers = task.points
        mode = "build" if task.backend in _STANDALONE else "runtime"
        for p in leftovers:
            if _parent_gone():  # the sweep is gone: start nothing new
                _die_with_parent()
            cfg = _task_config(task, p)
            rec = _run_point(cfg, p, point_dir(p), mode, write_marker=staging is None)
            finish(rec, p)
    finally:
        inner_quiet.__exit__(None, None, None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return records


def _execute_group(task: _Task, point_dir: Callable[[dict], Path], finish: Callable[[dict, dict], None]) -> list[dict]:
    """One build for the group's points, one binary run each; returns the points left to run on their own."""
    from .simulation import SimResult

    cfgs = [_task_config(task, p) for p in task.points]
    base = capture_network(cfgs[0])
    if base is None or spec_digest(base) != task.digests[0]:
        return list(task.points)  # the experiment did not give the planned network: run each point normally
    leftovers: list[dict] = []
    finished: set[str] = set()
    write_marker = task.out_root is not None
    build_key = f"{task.structure[:8]}-s{base.seed}"

    def on_result(k: int, arrays: Any, timings: dict) -> None:
        p = task.points[k]
        extra = {"build": build_key, "shared_build_s": timings.get("sweep.shared_build_s"),
                 "run_binary_s": timings.get("run_binary_s", 0.0)}
        if isinstance(arrays, BaseException):
            d = point_dir(p)
            if d.exists():
                shutil.rmtree(d)
            rec = {**_failed_record(p, "run_args", f"{type(arrays).__name__}: {arrays}"), **extra}
            if write_marker:
                write_json(d / MARKER, rec)
            finished.add(p["id"])
            finish(rec, p)
            return

        def make(spec):
            return SimResult(spec=spec, backend=task.backend, arrays=arrays, timings=dict(timings),
                             compiler_flags={"backend": task.backend, "sweep.mode": "run_args", "sweep.build": build_key})

        try:
            with _replaying(task.digests[k], task.backend, make):
                rec = _run_point(cfgs[k], p, point_dir(p), "run_args", extra, write_marker=write_marker)
        except _ReplayMismatch:
            shutil.rmtree(point_dir(p), ignore_errors=True)
            leftovers.append(p)
            return
        finished.add(p["id"])
        finish(rec, p)

    try:
        _run_shared_build(base, task.params, backend=task.backend, threads=cfgs[0].threads, jobs=task.jobs,
                          on_result=on_result)
    except Exception as exc:  # the shared build itself failed (e.g. compilation): its points fail with it
        msg = f"shared build failed: {type(exc).__name__}: {exc}"
        for p in task.points:
            if p["id"] in finished or any(p["id"] == q["id"] for q in leftovers):
                continue
            rec = {**_failed_record(p, "run_args", msg), "build": build_key}
            if write_marker:
                write_json(point_dir(p) / MARKER, rec)
            finish(rec, p)
    return leftovers


# =========================================================================== the study: planning, executors, table

@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    out: Path
    total: int
    ran: int
    skipped: int
    counts: dict[str, int]
    modes: dict[str, int]
    plan: list[str]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.counts.get("failed", 0) == 0 and not self.interrupted


def _point_dict(p: SweepPoint) -> dict:
    return {"id": p.id, "index": p.index, "values": dict(p.values), "seed": p.seed}


def _plan(sweep: Sweep, todo: list[SweepPoint], *, reuse_builds: bool, jobs: int, out_root: str | None,
          log: Callable[[str], None]) -> tuple[list[_Task], list[str]]:
    from .experiments.base import experiment_class

    module = experiment_class(sweep.experiment).__module__
    threads = [("threads", sweep.threads)] if sweep.threads is not None else []
    base = dict(model=sweep.model, overrides=[*sweep.overrides, *threads], backend=sweep.backend, out_root=out_root,
                experiment_module=module)
    lines: list[str] = []
    if sweep.backend not in _STANDALONE:
        lines.append(f"backend {sweep.backend}: every point runs through run_model (no per-point compilation"
                     + (": Cython reuses its cached code objects" if sweep.backend == "cython" else "") + ")")
        return [_Task(points=[_point_dict(p)], **base) for p in todo], lines
    if not reuse_builds:
        lines.append(f"backend {sweep.backend}: every point builds its own binary (builds not reused)")
        return [_Task(points=[_point_dict(p)], **base) for p in todo], lines
    log(f"bioplaus: sweep: analysing the networks of {len(todo)} points (numpy runtime, nothing compiled)")
    captured: list[tuple[SweepPoint, NetworkAnalysis | None]] = []
    for p in todo:
        spec = capture_network(sweep.config(p))
        analysis = None
        if spec is not None:
            try:
                analysis = analyse_network(spec)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:  # the point's own run will report why its network does not build
                analysis = None
        captured.append((p, analysis))
    groups: dict[str, list[tuple[SweepPoint, NetworkAnalysis]]] = {}
    singles: list[SweepPoint] = []
    for p, a in captured:
        if a is None:
            singles.append(p)
        else:
            groups.setdefault(a.structure, []).append((p, a))
    tasks: list[_Task] = []
    n_builds = 0
    for structure, members in groups.items():
        if len(members) == 1:
            singles.append(members[0][0])
            continue
        n_builds += 1
        an = [a for _, a in members]
        vary = varying_params(an)
        lines.append(f"compile once, run many: {len(members)} points share one {sweep.backend} build "
                     f"(seed {members[0][0].seed}), each run with run_args "
                     f"[{', '.join(vary) if vary else 'same values'}]")
        tasks.append(_Task(points=[_point_dict(p) for p, _ in members], mode="group",
                           params=[a.params for a in an], digests=[a.digest for a in an], structure=structure,
                           jobs=max(1, jobs), **base))
    if singles:
        no_net = sum(1 for p, a in captured if a is None)
        why = []
        if no_net:
            why.append(f"{no_net} whose experiment does not hand one network to simulate()")
        if len(singles) - no_net:
            why.append(f"{len(singles) - no_net} whose network structure is unique in this study")
        lines.append(f"own build per point: {len(singles)} points ({'; '.join(why)})")
        singles.sort(key=lambda p: p.index)
        tasks.extend(_Task(points=[_point_dict(p)], **base) for p in singles)
    nb = n_builds + len(singles)
    lines.insert(0, f"backend {sweep.backend}: {nb} build{'s' if nb != 1 else ''} for {len(todo)} points")
    tasks.sort(key=lambda t: t.points[0]["index"])
    return tasks, lines


def read_records(out: str | os.PathLike, sweep: Sweep | None = None) -> dict[str, dict]:
    """Finished point records (``points/<id>/point.json``), keyed by point id."""
    out = Path(out)
    ids = [p.id for p in sweep.points] if sweep is not None else \
        sorted(d.name for d in (out / "points").glob("*") if d.is_dir())
    recs = {}
    for pid in ids:
        f = out / "points" / pid / MARKER
        if f.exists():
            try:
                rec = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if rec.get("id") == pid and rec.get("status") != "interrupted":  # an interrupted point runs again
                recs[pid] = rec
    return recs


def _table_value(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def write_results_table(out: Path, sweep: Sweep, records: Mapping[str, dict]) -> Path:
    """``results.csv``: one row per finished point, in study order."""
    keys = sweep.swept_keys()
    metric_cols: list[str] = []
    rows = []
    for p in sweep.points:
        rec = records.get(p.id)
        if rec is None:
            continue
        for m in rec.get("metrics", {}):
            if m not in metric_cols:
                metric_cols.append(m)
        row = {"point": p.id, "index": p.index, **{k: _table_value(p.values[k]) for k in keys}, "seed": p.seed,
               "status": rec.get("status", ""), "mode": rec.get("mode", ""),
               "wall_time_s": rec.get("wall_time_s", ""), **rec.get("metrics", {}), "error": rec.get("error", "")}
        rows.append(row)
    cols = ["point", "index", *keys, "seed", "status", "mode", "wall_time_s", *metric_cols, "error"]
    return write_csv(out / "results.csv", rows, columns=cols)


def read_results(out: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of ``DIR/results.csv`` (strings, as in the file)."""
    from .results import read_csv

    return read_csv(Path(out) / "results.csv")


def _normalise(d: Mapping[str, Any]) -> dict[str, Any]:
    return tomllib.loads(dumps_toml(d))


def _check_same_study(out: Path, sweep: Sweep) -> None:
    try:
        old = tomllib.loads((out / "sweep.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--resume", str(out), f"a directory with a readable sweep.toml ({exc})") from None
    new = _normalise(sweep.to_dict())
    for key in ("experiment", "fingerprint", "backend", "grid", "random", "samples", "sample_seed", "seeds", "set"):
        if old.get(key) != new.get(key):
            what = "model" if key in ("experiment", "fingerprint", "set") else key
            raise ConfigError("--resume", str(out), f"a sweep of the same model and points: its {what} differs "
                              f"({key} was {old.get(key)!r}, now {new.get(key)!r}); use another --out")


def _process_pool(jobs: int) -> cf.ProcessPoolExecutor:
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # workers fork from a server that has imported Brian2 once (each spawned worker would pay that)
        ctx.set_forkserver_preload(["brian2", "bioplaus.sweep", "bioplaus.runner", "bioplaus.experiments.zoo"])
    else:  # pragma: no cover - Windows
        ctx = mp.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(os.getpid(),))


# --------------------------------------------------------------------------- worker processes and their parent

_PARENT: list[int] = []


def _process_dead(pid: int) -> bool:
    """``pid`` has exited (gone, or a zombie nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
        return state in ("Z", "X", "x")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False


def _descendants(root: int) -> list[int]:
    """Process ids below ``root`` (Linux ``/proc``; empty elsewhere), children first."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _parent_gone() -> bool:
    return bool(_PARENT) and _process_dead(_PARENT[0])


def _die_with_parent() -> None:
    """End this worker and everything it started (a standalone binary, a compiler), at once."""
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(1)


def _watch_parent(interval: float = 0.2) -> None:
    while True:
        time.sleep(interval)
        if _parent_gone():
            _die_with_parent()


def _worker_init(parent: int) -> None:
    """Set up a sweep worker process: Ctrl-C interrupts its point (:mod:`bioplaus.interrupts`), and it
    exits, with its own child processes, as soon as the sweep process that started it is gone."""
    import threading

    from . import interrupts

    _PARENT[:] = [parent]
    interrupts.install()
    threading.Thread(target=_watch_parent, name="bioplaus-parent-watch", daemon=True).start()


def _dask_client(scheduler: str | None, jobs: int):
    try:
        import distributed
    except ImportError as exc:
        raise BackendUnavailable("dask", f"dask.distributed is not installed ({exc.name or exc}); "
                                 "pip install 'bioplaus[dask]'") from None
    if scheduler is not None:
        if not re.match(r"^[a-z][a-z0-9+]*://\S+$", scheduler):
            raise ConfigError("--scheduler", scheduler, "a scheduler address such as tcp://host:8786")
        try:
            return distributed.Client(scheduler, timeout="15s"), None
        except (OSError, TimeoutError) as exc:
            raise BioplausError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = distributed.LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    return distributed.Client(cluster), cluster


def _preload_worker_modules() -> None:
    """Import Brian2 and the experiments on a Dask worker's main thread.

    ``import brian2`` installs a SIGINT handler, which only the main thread may do;
    Dask runs tasks in other threads, so the import has to happen before them.
    """
    import brian2  # noqa: F401

    from .experiments.base import _load_builtin

    _load_builtin()


def _register_worker_setup(client) -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    class _BioplausWorkerSetup(WorkerPlugin):
        name = "bioplaus-sweep-setup"

        def setup(self, worker):  # runs in the worker's event loop (its main thread), also for new workers
            _preload_worker_modules()

    plugin = _BioplausWorkerSetup()
    if hasattr(client, "register_plugin"):
        client.register_plugin(plugin)
    else:  # pragma: no cover - distributed < 2023.9
        client.register_worker_plugin(plugin)


def _write_staged(out: Path, rec: dict) -> dict:
    files = rec.pop("files", {}) or {}
    d = out / "points" / rec["id"]
    if d.exists():
        shutil.rmtree(d)
    for rel, data in files.items():
        if rel == MARKER:
            continue
        atomic_write_bytes(d / rel, data)
    write_json(d / MARKER, rec)
    return rec


def _failed_record(p: dict, mode: str, error: str) -> dict:
    return {"id": p["id"], "index": p["index"], "values": p["values"], "seed": p["seed"], "mode": mode,
            "status": "failed", "error": error[:2000], "metrics": {}, "wall_time_s": 0.0}


def _mark_failed(out: Path, p: dict, mode: str, error: str) -> dict:
    rec = _failed_record(p, mode, error)
    d = out / "points" / p["id"]
    write_json(d / MARKER, rec)
    return rec


def _was_started(out: Path, p: dict) -> bool:
    prov = out / "points" / p["id"] / "provenance.json"
    return prov.exists() and not (out / "points" / p["id"] / MARKER).exists()


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, jobs: int = 1, in_process: bool = False,
              resume: bool = False, retry_failed: bool = False, scheduler: str | None = None, dask: bool = False,
              reuse_builds: bool = True, progress: Callable[[str], None] | None = None, callbacks: Any = None,
              overwrite: bool = False) -> SweepReport:
    """Run ``sweep``'s points into ``out`` and keep ``out/results.csv`` up to date.

    Parameters
    ----------
    jobs : int
        Worker processes (``concurrent.futures.ProcessPoolExecutor``, forkserver
        context: each process has its own Brian2 state); on a standalone backend
        also the number of runs of one shared binary at a time.
    in_process : bool
        Run the points in this process (no protection against a point that kills
        its process; for debugging and tests).
    resume : bool
        ``out`` holds this study already: run only the points without a finished
        marker. Refused (:class:`ConfigError`) when ``out`` holds another study.
        Without ``resume`` an existing study in ``out`` is refused too.
    retry_failed : bool
        With ``resume``: run the points recorded as failed again.
    scheduler, dask : str, bool
        Run the points on the Dask cluster at ``scheduler`` (``tcp://host:port``),
        or on a local Dask cluster of ``jobs`` worker processes (``dask=True``).
        Results come back to this process, so workers need no shared file system.
    reuse_builds : bool
        ``False``: every point builds its own binary even where run_args would do.
    overwrite : bool
        ``out`` may hold an earlier study or results: remove them first.

    ``out`` is locked while the study runs (:class:`~bioplaus.results.output_lock`): a
    second process writing the same directory (two ``--resume`` of one study) is refused.
    A point that raises is recorded as ``failed`` with its error and the study goes
    on; so is a point whose worker process dies. ``KeyboardInterrupt`` stops the
    study, keeping every finished point (``--resume`` runs the rest).
    """
    from .progress import line as _line

    log = progress or _line  # one line per finished point; nothing under --quiet
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError("--jobs", jobs, "an integer >= 1")
    if scheduler is not None and dask:
        raise ConfigError("--scheduler", scheduler, "either --scheduler ADDRESS or --dask, not both")
    use_dask = scheduler is not None or dask
    if use_dask and in_process:
        raise ConfigError("--in-process", True, "no Dask options (points run on the cluster)")
    if not use_dask:  # a missing compiler or GPU is bad input here (Dask workers may have what this machine lacks)
        from .backends import check_backend

        check_backend(sweep.backend)
    if overwrite and resume:
        raise ConfigError("--overwrite", True, "either --overwrite or --resume, not both")
    out = Path(out)
    from .results import output_lock, prepare_output

    with output_lock(out):
        if overwrite:
            prepare_output(out, overwrite=True)
        return _run_sweep_locked(sweep, out, jobs=jobs, in_process=in_process, resume=resume,
                                 retry_failed=retry_failed, scheduler=scheduler, dask=dask, use_dask=use_dask,
                                 reuse_builds=reuse_builds, log=log, callbacks=callbacks)


def _run_sweep_locked(sweep: Sweep, out: Path, *, jobs: int, in_process: bool, resume: bool, retry_failed: bool,
                      scheduler: str | None, dask: bool, use_dask: bool, reuse_builds: bool,
                      log: Callable[[str], None], callbacks: Any = None) -> SweepReport:
    from .results import _entries

    if (out / "sweep.toml").exists():
        if not resume:
            raise ConfigError("--out", str(out), "a directory without a sweep (it holds one already: add --resume "
                              "to run its missing points, --overwrite to start again, or choose another --out)")
        _check_same_study(out, sweep)
    elif out.exists() and _entries(out):
        raise ConfigError("--out", str(out), "a new or empty directory, or one that holds this sweep "
                          "(add --overwrite to replace what it holds)")
    out = ensure_dir(out)
    if not (out / "sweep.toml").exists():
        write_toml(out / "sweep.toml", sweep.to_dict())
    records = read_records(out, sweep)
    todo = [p for p in sweep.points if p.id not in records
            or (retry_failed and records[p.id].get("status") == "failed")]
    write_results_table(out, sweep, records)
    skipped = len(sweep.points) - len(todo)
    report = SweepReport(out=out, total=len(sweep.points), ran=0, skipped=skipped, counts={}, modes={}, plan=[])
    if skipped:
        log(f"bioplaus: sweep: {skipped} of {len(sweep.points)} points finished already; running {len(todo)}")
    if not todo:
        report.counts = dict(Counter(r.get("status", "") for r in records.values()))
        return report
    tasks, plan = _plan(sweep, todo, reuse_builds=reuse_builds, jobs=jobs,
                        out_root=None if use_dask else str(out), log=log)
    report.plan = plan
    for line in plan:
        log(f"bioplaus: sweep: {line}")
    done = [0]
    last_write = [time.monotonic()]
    started = time.monotonic()
    from . import progress as _progress
    from .tracking import dispatch, resolve

    trackers = resolve(callbacks)  # experiment tracking: each finished point's metrics rows
    dispatch(trackers, "on_start", "sweep", sweep.experiment, sweep.to_dict(), out)

    def record(rec: dict) -> None:
        records[rec["id"]] = rec
        report.ran += 1
        report.modes[rec.get("mode", "")] = report.modes.get(rec.get("mode", ""), 0) + 1
        done[0] += 1
        # the table is rebuilt from the markers: at most once a second while points finish (a big study
        # would otherwise rewrite it once per point), and always at the end
        if len(todo) <= 200 or time.monotonic() - last_write[0] > 1.0 or done[0] == len(todo):
            write_results_table(out, sweep, records)
            last_write[0] = time.monotonic()
        p = sweep.points[rec["index"]]
        msg = f"[{done[0]}/{len(todo)}] {p.id} {rec['status']} ({rec.get('wall_time_s', 0.0):.1f} s, " \
              f"{rec.get('mode')}) {p.label()}"
        if rec.get("error"):
            msg += f": {rec['error'][:200]}"
        if done[0] < len(todo):
            eta = (time.monotonic() - started) / done[0] * (len(todo) - done[0])
            msg += f" (ETA {_progress.fmt_seconds(eta)})"
        log(f"bioplaus: sweep: {msg}")
        if trackers:
            _track_point(trackers, out / "points" / p.id, p.id, rec)

    try:
        if use_dask:
            _run_dask(tasks, out, scheduler, jobs, record)
        elif in_process:
            for t in tasks:
                for rec in execute_task(t):
                    record(rec)
        else:
            _run_processes(tasks, out, jobs, record, log)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        write_results_table(out, sweep, records)
        report.counts = dict(Counter(r.get("status", "") for r in records.values()))
        dispatch(trackers, "on_end", "interrupted" if report.interrupted else "ok")
    return report


def _track_point(trackers: list, point_dir: Path, point_id: str, rec: dict) -> None:
    """A finished point's per-epoch rows (its metrics.csv) and final metrics to the tracking callbacks."""
    from .results import read_csv
    from .tracking import dispatch, numeric

    rows = read_csv(point_dir / "metrics.csv") if (point_dir / "metrics.csv").is_file() else []
    for i, row in enumerate(rows):
        step = numeric({"e": row.get("epoch", i)}, skip=()).get("e", i)
        dispatch(trackers, "on_epoch", point_id, int(step), numeric(row))
    if rec.get("metrics"):
        dispatch(trackers, "on_epoch", f"{point_id}/final", 0, numeric(rec["metrics"]))


def _task_mode(t: _Task) -> str:
    if t.mode == "group":
        return "run_args"
    return "build" if t.backend in _STANDALONE else "runtime"


def _single(t: _Task, p: dict) -> _Task:
    return dataclasses.replace(t, points=[p], mode="single", params=None, digests=None)


def _run_processes(tasks: list[_Task], out: Path, jobs: int, record: Callable[[dict], None],
                   log: Callable[[str], None]) -> None:
    """Run tasks in worker processes; a worker that dies fails only the point it was running.

    When a worker dies, the pool is broken for every task in it. The points that had
    started (their directory has provenance.json but no marker) are suspects: with one
    worker the suspect is the culprit and is recorded as failed; with several, each
    suspect runs again alone and is recorded as failed if its worker dies again. Points
    that had not started are resubmitted.
    """
    def unfinished(points: list[dict]) -> list[dict]:
        return [p for p in points if not (out / "points" / p["id"] / MARKER).exists()]

    pending = list(tasks)
    isolate: list[_Task] = []
    while pending or isolate:
        if pending:
            batch, workers = pending, min(jobs, len(pending))
            pending = []
        else:
            batch, workers = [isolate.pop(0)], 1
        pool = _process_pool(workers)
        broken = False
        try:
            futs = {pool.submit(execute_task, t): t for t in batch}
            for fut in cf.as_completed(futs):
                t = futs[fut]
                try:
                    recs = fut.result()
                except cf.process.BrokenProcessPool as exc:
                    broken = True
                    left = unfinished(t.points)
                    started = [p for p in left if _was_started(out, p)]
                    if workers == 1:
                        culprits = started[:1] or (left if len(left) == 1 else [])
                        for p in culprits:
                            record(_mark_failed(out, p, _task_mode(t),
                                                f"worker process died while running this point ({exc})"))
                        rest = [p for p in left if p not in culprits]
                        if culprits:
                            pending.extend(_single(t, p) for p in rest)
                        else:
                            isolate.extend(_single(t, p) for p in rest)
                    elif started:
                        for p in left:
                            (isolate if p in started else pending).append(_single(t, p))
                    elif left:
                        pending.append(dataclasses.replace(t, points=left))
                    continue
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # the task failed outside its points (e.g. while planning a build)
                    for p in unfinished(t.points):
                        record(_mark_failed(out, p, _task_mode(t), f"{type(exc).__name__}: {exc}"))
                    continue
                for rec in recs:
                    record(rec)
        except KeyboardInterrupt:
            _terminate(pool)
            raise
        finally:
            if broken:
                _terminate(pool)
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            log("bioplaus: sweep: a worker process died; the point it was running is recorded as failed")


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """End the worker processes this pool started (by their process ids)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass


def _run_dask(tasks: list[_Task], out: Path, scheduler: str | None, jobs: int,
              record: Callable[[dict], None]) -> None:
    client, cluster = _dask_client(scheduler, jobs)
    try:
        import distributed

        _register_worker_setup(client)

        futs = {}
        for t in tasks:
            t = dataclasses.replace(t, jobs=1)
            f = client.submit(execute_task, t, pure=False)
            futs[f] = t
        for fut in distributed.as_completed(list(futs)):
            t = futs[fut]
            try:
                recs = fut.result()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # e.g. KilledWorker: the worker died running it
                for p in t.points:
                    if not (out / "points" / p["id"] / MARKER).exists():
                        record(_mark_failed(out, p, _task_mode(t), f"Dask task failed: {type(exc).__name__}: {exc}"))
                continue
            for rec in recs:
                record(_write_staged(out, rec))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
