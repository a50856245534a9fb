"""Experiments: what a model file in ``models/`` runs.

An experiment is a registered class with a frozen, validated ``Params`` dataclass.
``run`` builds its network(s) from spec objects, runs them on the chosen backend
and returns an :class:`ExperimentResult` (tidy metric rows, arrays, a Markdown
summary and figures); :func:`bioplaus.runner.run_model` writes those into a
results directory atomically.

To add one::

    @register_experiment("my_study")
    class MyStudy(Experiment):
        @dataclass(frozen=True)
        class Params(ExperimentParams):
            n: int = 10
            def __post_init__(self):
                set_field(self, "n", integer("params", "n", self.n, minimum=1))

        def run(self, params, ctx):
            ...
            return ExperimentResult(rows=[...], arrays={...}, summary="...", figures={...})
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..errors import ConfigError, did_you_mean
from ..spec.params import Spec

__all__ = ["Experiment", "ExperimentParams", "ExperimentResult", "RunContext", "EXPERIMENTS",
           "register_experiment", "experiment_class", "md_table"]

EXPERIMENTS: dict[str, type["Experiment"]] = {}


def register_experiment(name: str):
    def deco(cls):
        EXPERIMENTS[name] = cls
        cls.name = name
        return cls

    return deco


def experiment_class(name: str) -> type["Experiment"]:
    _load_builtin()
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ConfigError("experiment", name, "one of " + ", ".join(sorted(EXPERIMENTS))
                          + did_you_mean(str(name), EXPERIMENTS)) from None


def _load_builtin() -> None:
    import importlib
    import pkgutil

    from .. import experiments as pkg

    for m in pkgutil.iter_modules(pkg.__path__):
        if m.name not in ("base",) and not m.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{m.name}")


class ExperimentParams(Spec):
    """Base of experiment parameter dataclasses (frozen; validate in ``__post_init__``)."""

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str | None = None, prefix: str = "params"):
        names = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in names:
                raise ConfigError(f"{prefix}.{key}", data[key], f"a parameter of {cls.__qualname__.split('.')[0]}: "
                                  + ", ".join(sorted(names)) + did_you_mean(key, names), source=source)
        try:
            return cls(**data)
        except ConfigError as exc:
            key = exc.key_path if exc.key_path.startswith(prefix) else f"{prefix}.{exc.key_path.split('.', 1)[-1]}"
            raise ConfigError(key, exc.value, exc.expected, source=source) from None
        except TypeError as exc:
            raise ConfigError(prefix, data, f"valid parameters ({exc})", source=source) from None


@dataclass
class RunContext:
    """What an experiment gets besides its parameters."""

    backend: str = "numpy"
    seed: int = 0
    out: Path | None = None
    threads: int | None = None
    progress: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    data_dir: str | None = None

    def log(self, msg: str) -> None:
        self.progress(msg)


@dataclass
class ExperimentResult:
    rows: list[dict[str, Any]] = field(default_factory=list)     # -> metrics.csv
    arrays: dict[str, Any] = field(default_factory=dict)         # -> arrays.npz
    summary: str = ""                                            # -> summary.md
    figures: dict[str, Any] = field(default_factory=dict)        # name -> matplotlib Figure
    info: dict[str, Any] = field(default_factory=dict)           # -> provenance.json (timings, flags)
    status: str = "ok"


class Experiment:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[ExperimentParams]]
    backends: ClassVar[tuple[str, ...]] = ("numpy", "cython", "cpp", "cuda")

    def run(self, params: ExperimentParams, ctx: RunContext) -> ExperimentResult:  # pragma: no cover
        raise NotImplementedError


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (floats to 4 significant digits, undefined values as "—") for experiment summaries.

    >>> print(md_table(["a", "b"], [[1, 0.123456], [2, float("nan")]]))
    | a | b |
    |---|---|
    | 1 | 0.1235 |
    | 2 | — |
    """
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}" if math.isfinite(v) else "—"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def timed(fn: Callable, *args, **kw) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0
