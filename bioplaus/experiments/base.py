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
            n: int = param(10, integer=True, minimum=1, doc="number of neurons")

        def network(self, params, ctx):      # optional: the one network run() simulates
            return NetworkSpec(...)

        def run(self, params, ctx):
            r = ctx.simulate(self.network(params, ctx))
            ...
            return ExperimentResult(rows=[...], arrays={...}, summary="...", figures={...})

The seam between an experiment and the simulator is explicit: :meth:`Experiment.network`
returns the :class:`~bioplaus.spec.network.NetworkSpec` that ``run`` will simulate (or
``None``), and ``run`` simulates it through :meth:`RunContext.simulate`, which calls
:func:`bioplaus.simulation.simulate` unless the caller passed another simulator in the
context. A parameter study (:mod:`bioplaus.sweep`) uses both: it asks ``network`` for
every point's network, builds the networks that differ only in parameter values once on
``cpp``/``cuda``, and runs each point's ``run`` with a simulator that hands back that
point's run of the shared binary. Experiments that simulate several networks, or build
them in another way, leave ``network`` out and their points run one by one.
"""
from __future__ import annotations

import dataclasses
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..errors import ConfigError, did_you_mean
from ..spec.params import Spec

__all__ = ["Experiment", "ExperimentParams", "ExperimentResult", "RunContext", "EXPERIMENTS",
           "register_experiment", "experiment_class", "resolve_experiment_ref", "md_table", "param_of"]

EXPERIMENTS: dict[str, type["Experiment"]] = {}


def register_experiment(name: str):
    def deco(cls):
        EXPERIMENTS[name] = cls
        cls.name = name
        return cls

    return deco


def experiment_class(name: str, base_dir: str | Path | None = None) -> type["Experiment"]:
    """The experiment a model file names: a registered name (``"oja"``) or a class in the
    user's own Python file (``"studies/my_study.py:MyStudy"``, relative to ``base_dir``, the
    model file's folder, else the working directory)."""
    if not isinstance(name, str):
        raise ConfigError("experiment", name, "the name of an experiment (see 'bioplaus list') "
                          "or 'path/to/file.py:ClassName'")
    if _is_file_ref(name):
        return _file_experiment(name, base_dir)
    _load_builtin()
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ConfigError("experiment", name, "one of " + ", ".join(sorted(EXPERIMENTS))
                          + " or 'path/to/file.py:ClassName'" + did_you_mean(str(name), EXPERIMENTS)) from None


def _is_file_ref(name: str) -> bool:
    path, sep, _ = name.rpartition(":")
    return bool(sep) and path.endswith(".py")


def resolve_experiment_ref(name: str, base_dir: str | Path | None = None) -> str:
    """``name`` with a relative file path made absolute (so sweep workers in other folders
    load the same file); registered names are returned unchanged."""
    if not isinstance(name, str) or not _is_file_ref(name):
        return name
    path, _, cls_name = name.rpartition(":")
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path(base_dir or Path.cwd()) / p
        if not p.exists() and base_dir is not None and (Path.cwd() / path).exists():
            p = Path.cwd() / path       # relative to where the command runs, as a second choice
    return f"{p.resolve()}:{cls_name}"


def _file_experiment(name: str, base_dir: str | Path | None) -> type["Experiment"]:
    import hashlib
    import importlib.util

    ref = resolve_experiment_ref(name, base_dir)
    path_s, _, cls_name = ref.rpartition(":")
    path = Path(path_s)
    expected = "'path/to/file.py:ClassName', an Experiment subclass in an existing Python file"
    if not path.is_file():
        raise ConfigError("experiment", name, f"{expected} (no file {path})")
    if not cls_name.isidentifier():
        raise ConfigError("experiment", name, f"{expected} ({cls_name!r} is not a Python name)")
    stem = re.sub(r"\W", "_", path.stem)
    mod_name = f"bioplaus_user_{stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    module = sys.modules.get(mod_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ConfigError("experiment", name, f"{expected} (cannot load {path})")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module       # dataclasses and pickling look classes up here
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            del sys.modules[mod_name]
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            where = ""
            if isinstance(exc, SyntaxError):
                where = f" at line {exc.lineno}"
            raise ConfigError("experiment", name, f"a Python file that imports cleanly "
                              f"({type(exc).__name__}{where}: {exc})") from None
    cls = getattr(module, cls_name, None)
    found = sorted(k for k, v in vars(module).items()
                   if isinstance(v, type) and issubclass(v, Experiment) and v is not Experiment
                   and v.__module__ == module.__name__)
    if cls is None:
        raise ConfigError("experiment", name, f"a class defined in {path.name}: "
                          + (", ".join(found) if found else "(it defines no Experiment subclass)")
                          + did_you_mean(cls_name, found))
    if not (isinstance(cls, type) and issubclass(cls, Experiment)):
        raise ConfigError("experiment", name, f"a subclass of bioplaus.experiments.Experiment ({cls_name} is "
                          f"{type(cls).__name__})")
    if not isinstance(getattr(cls, "Params", None), type) or not issubclass(cls.Params, ExperimentParams):
        raise ConfigError("experiment", name, f"an Experiment whose Params is an ExperimentParams dataclass "
                          f"({cls_name}.Params is missing or of another kind)")
    if not cls.__dict__.get("name"):
        cls.name = ref
    return cls


def _load_builtin() -> None:
    import importlib
    import pkgutil

    from .. import experiments as pkg

    for m in pkgutil.iter_modules(pkg.__path__):
        if m.name not in ("base",) and not m.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{m.name}")


def _progress_line(msg: str) -> None:
    """An experiment's progress message on stderr (none under ``--quiet``)."""
    from ..progress import line

    line(msg)


def param_of(spec_cls: type, name: str, default: Any = dataclasses.MISSING, doc: str = "") -> Any:
    """A field declared as ``spec_cls``'s field ``name`` (its unit, bounds and meaning), with the
    experiment's own ``default``: parameters an experiment passes on to a spec it builds are
    validated by that spec's declaration, not by a copy of it.

    >>> from brian2 import Hz
    >>> from bioplaus.spec.rules import Oja
    >>> @dataclass(frozen=True)
    ... class P(ExperimentParams):
    ...     eta: Any = param_of(Oja, "eta", "10 Hz")
    >>> P().eta
    10. * hertz
    >>> P(eta="-1 Hz")
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: params.eta = '-1 Hz': expected a positive value
    """
    fields = {f.name: f for f in dataclasses.fields(spec_cls)}
    if name not in fields or "param" not in fields[name].metadata:
        raise TypeError(f"{spec_cls.__name__}.{name} is not a field declared with param()")
    f = fields[name]
    if default is dataclasses.MISSING:
        default = f.default
    return field(default=default, metadata={"param": f.metadata["param"], "doc": doc or f.metadata.get("doc", "")})


class ExperimentParams(Spec):
    """Base of experiment parameter dataclasses (frozen; fields declared with
    :func:`~bioplaus.spec.params.param`, checks across fields in ``__post_init__``)."""

    _owner: ClassVar[str] = "params"     # errors name ``params.<field>``, as a model file spells it

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
    progress: Callable[[str], None] = field(default=lambda msg: _progress_line(msg))
    data_dir: str | None = None
    #: what :meth:`simulate` calls, with the signature of :func:`bioplaus.simulation.simulate`;
    #: ``None``: that function itself
    simulator: Callable[..., Any] | None = None

    def log(self, msg: str) -> None:
        self.progress(msg)

    def simulate(self, spec, **kw: Any):
        """Run ``spec`` on this context's backend (and OpenMP threads) and return its
        :class:`~bioplaus.simulation.SimResult`; keyword arguments as for
        :func:`bioplaus.simulation.simulate` (``duration``, ``check_divergence``...).

        The simulator is :func:`bioplaus.simulation.simulate` unless the context carries
        another one (a sweep passes one that returns the run of a shared build).
        """
        if self.simulator is None:
            from ..simulation import simulate

            return simulate(spec, self.backend, threads=self.threads, **kw)
        return self.simulator(spec, self.backend, threads=self.threads, **kw)


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

    def network(self, params: ExperimentParams, ctx: RunContext):
        """The one :class:`~bioplaus.spec.network.NetworkSpec` that :meth:`run` simulates with
        ``ctx.simulate`` for these parameters and ``ctx.seed``, or ``None``.

        Optional. An experiment that defines it promises that ``run(params, ctx)`` calls
        ``ctx.simulate`` exactly once, on this network (an equal spec). Sweeps on ``cpp``
        and ``cuda`` then build the networks of points that differ only in parameter values
        once and rerun that binary with ``run_args``. Without it (the default, ``None``)
        every point of a sweep builds its own network.
        """
        return None

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
