"""Points and grids: what a study varies, parsed from the command line and expanded into points.

``--grid KEY=V1,V2`` and ``--random KEY=LOW:HIGH[:log]`` become a :class:`Sweep`: the
cartesian product ``grid x random samples x seeds``, every point's configuration loaded
and validated before anything runs. A grid key that lists one value twice (``1,1,2``, or
``10ms,0.01s``: the same quantity in two spellings) is refused, naming the key and the
value, since each such point would run twice.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..results import dumps_toml

__all__ = ["RandomRange", "SweepPoint", "Sweep", "split_values", "parse_grid", "parse_random", "expand_sweep",
           "point_id", "same_value"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_RESERVED = {"seed": "use --seeds K (seeds base, base+1, ...)", "backend": "use --backend",
             "experiment": "sweep one experiment per study"}


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
    from ..config import parse_value

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
    from ..config import parse_value

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
        from ..config import load_model

        threads = [("threads", self.threads)] if self.threads is not None else []
        return load_model(self.model, [*self.overrides, *threads, *point.overrides()], backend=self.backend,
                          seed=point.seed, check_memory=check_memory)

    def to_dict(self) -> dict[str, Any]:
        """What ``sweep.toml`` records (``columns``: each swept key's column in ``results.csv``)."""
        from .table import value_columns

        return {
            "model": self.model, "experiment": self.experiment, "backend": self.backend,
            "fingerprint": self.fingerprint, "seeds": list(self.seeds), "samples": self.samples,
            "sample_seed": self.sample_seed, "n_points": len(self.points),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "random": {k: r.to_dict() for k, r in self.random.items()},
            "set": {k: v for k, v in self.overrides},
            "columns": value_columns(self),
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
    from ..config import load_model, parse_override

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
        _check_distinct(key, values)
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


def _as_quantity(v: Any):
    """``v`` as a number or Brian2 quantity when it is one (``"10 ms"``, ``"0.01 s"``, ``3``), else ``None``."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if not isinstance(v, str):
        return None
    from ..spec.params import parse_quantity

    try:
        return parse_quantity(v)
    except ValueError:
        return None


def same_value(a: Any, b: Any) -> bool:
    """Whether two values of one swept key give the same point: equal numbers, equal text
    (spaces aside), or one quantity written twice (``"10ms"`` and ``"0.01 s"``).

    >>> same_value(1, 1.0), same_value("10ms", "0.01 s"), same_value("10 ms", "10 Hz"), same_value("a", "b")
    (True, True, False, False)
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        if " ".join(a.split()) == " ".join(b.split()):
            return True
        qa, qb = _as_quantity(a), _as_quantity(b)
        if qa is None or qb is None or isinstance(qa, float) != isinstance(qb, float):
            return False
        from brian2.units.fundamentalunits import get_dimensions

        if get_dimensions(qa) != get_dimensions(qb):
            return False
        x, y = float(np.asarray(qa)), float(np.asarray(qb))
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0)
    return _canonical_json(a) == _canonical_json(b)


def _check_distinct(key: str, values: list[Any]) -> None:
    for k, v in enumerate(values):
        for w in values[:k]:
            if same_value(v, w):
                how = (f"{v!r} is listed more than once" if not isinstance(v, str) or not isinstance(w, str)
                       or " ".join(v.split()) == " ".join(w.split())
                       else f"{v!r} is {w!r} written again, so the value is listed more than once")
                raise ConfigError(key, v, f"distinct values of {key} ({how}; each such point would run twice: "
                                  "list every value once)", source="--grid")
