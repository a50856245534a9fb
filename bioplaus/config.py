"""Model files: TOML experiments, validated before anything is built.

A model file names an experiment and its parameters::

    experiment = "oja"          # a registered experiment (bioplaus list), or
                                # "studies/my_study.py:MyStudy" (a class in your own file,
                                # relative to the model file's folder)
    description = "..."
    backend = "numpy"           # numpy | cython | cpp | cuda
    seed = 1
    [params]                    # the experiment's validated Params
    dims = 5
    eta = "0.5 Hz"

Overrides from the command line (``--set params.eta="1 Hz"``) are parsed as TOML
values, never evaluated as Python; a value that is not valid TOML is taken as a
string (so ``--set params.eta=1Hz`` and ``--set 'params.eta="1 Hz"'`` both work
where the field accepts a quantity string).
"""
from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backends import BACKENDS
from .errors import ConfigError, did_you_mean
from .netfile import NETWORK_KEYS

__all__ = ["ModelConfig", "load_model", "precheck_model", "model_from_dict", "parse_override", "apply_overrides",
           "parse_value", "find_model"]

TOP_LEVEL = ("experiment", "description", "backend", "seed", "threads", "data_dir", "params")
#: with NETWORK_KEYS (the tables of a network model file, bioplaus.netfile) where the experiment is "network"
ALL_KEYS = TOP_LEVEL + NETWORK_KEYS
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")


@dataclass
class ModelConfig:
    """A resolved model file: experiment, validated params, backend, seed."""

    experiment: str
    params: Any
    backend: str = "numpy"
    seed: int = 0
    threads: int | None = None
    data_dir: str | None = None
    description: str = ""
    source: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # resolved plain mapping (for config.toml)

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(self.raw)
        out.update(experiment=self.experiment, backend=self.backend, seed=self.seed)
        if self.params is not None:
            p = self.params.to_dict()
            p.pop("type", None)
            if self.experiment == "network":
                out.update(p)            # a network file's tables stand at the top level
            else:
                out["params"] = p
        return out


def find_model(name_or_path: str) -> Path:
    """A path, or the name of a model shipped in ``models/`` (``oja`` -> ``models/oja.toml``)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    for base in (Path.cwd() / "models", Path(__file__).resolve().parent.parent / "models"):
        cand = base / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
        if cand.exists():
            return cand
    raise ConfigError("model", str(name_or_path), "an existing model file or the name of a model in models/"
                      + did_you_mean(p.stem, [m.stem for m in list_models()]))


def list_models() -> list[Path]:
    seen: dict[str, Path] = {}
    for base in (Path.cwd() / "models", Path(__file__).resolve().parent.parent / "models"):
        if base.is_dir():
            for f in sorted(base.glob("*.toml")):
                seen.setdefault(f.name, f)
    return list(seen.values())


def parse_value(text: str) -> Any:
    """A command-line value as TOML (``3``, ``0.5``, ``true``, ``[1, 2]``, ``"20 ms"``); else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_override(item: str) -> tuple[str, Any]:
    """``"params.eta=0.5"`` -> ``("params.eta", 0.5)``."""
    if "=" not in item:
        raise ConfigError("--set", item, "key.path=value (e.g. params.eta=0.5)")
    key, _, value = item.partition("=")
    key = key.strip()
    if not _KEY.match(key):
        raise ConfigError("--set", item, "a dotted key path of identifiers before '='")
    return key, parse_value(value.strip())


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for key, value in overrides:
        parts = key.split(".")
        if parts[0] not in ALL_KEYS:
            raise ConfigError(key, value, "a key under " + ", ".join(ALL_KEYS) + did_you_mean(parts[0], ALL_KEYS))
        node = data
        for k, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                nxt = _named_table(node, p, key, value, parts[k - 1])
            else:
                nxt = node.setdefault(p, {})
            if not isinstance(nxt, (dict, list)) or (isinstance(nxt, list) and not all(isinstance(t, dict) for t in nxt)):
                raise ConfigError(key, value, f"a path into a table ({p!r} is a value)")
            node = nxt
        if isinstance(node, list):
            raise ConfigError(key, value, f"a path through a named table ({parts[-2]}.<name>.<field>)")
        node[parts[-1]] = value
    return data


def _named_table(tables: list, name: str, key: str, value: Any, kind: str) -> dict:
    """The table of an array of tables (``[[projections]]``) whose ``name`` (monitors: ``target``) is ``name``."""
    names = [t.get("target" if kind == "monitors" else "name") for t in tables]
    if name not in names:
        shown = [str(n) for n in names]
        raise ConfigError(key, value, f"a path through the name of one of the {kind}: " + ", ".join(shown)
                          + did_you_mean(name, shown))
    return tables[names.index(name)]


def load_model(path: str | Path, overrides: list[str] | list[tuple[str, Any]] = (), *, backend: str | None = None,
               seed: int | None = None, check_memory: bool = False) -> ModelConfig:
    """Read, override and validate a model file. Errors name the file, key path and value
    (or ``--set`` where the bad value came from an override). ``check_memory``: refuse sizes
    whose estimated memory cannot fit here (:func:`bioplaus.footprint.check_params`)."""
    data, src, keys = _read_model(path, overrides, backend=backend, seed=seed)
    with _blame_overrides(keys):
        cfg = model_from_dict(data, source=src)
        if check_memory:
            from .footprint import check_params

            check_params(cfg.params, source=src)
    return cfg


def precheck_model(path: str | Path, overrides: list[str] | list[tuple[str, Any]] = (), *,
                   backend: str | None = None, seed: int | None = None) -> None:
    """The checks of :func:`load_model` that need no experiment (and so no Brian2): the file,
    its TOML, the overrides, the top-level keys, backend, seed and threads. Fast."""
    data, src, keys = _read_model(path, overrides, backend=backend, seed=seed)
    with _blame_overrides(keys):
        _check_plain(data, src)


def _read_model(path, overrides, *, backend, seed) -> tuple[dict[str, Any], str, set[str]]:
    path = find_model(str(path))
    src = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", path.name, f"valid TOML ({exc})", source=src) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", path.name, f"a UTF-8 TOML text file (byte {exc.start} is not UTF-8: "
                          "is this a binary file?)", source=src) from None
    except OSError as exc:
        raise ConfigError("(file)", src, f"a readable file ({exc.strerror})") from None
    ov = [o if isinstance(o, tuple) else parse_override(o) for o in overrides]
    try:
        data = apply_overrides(data, ov)
    except ConfigError as exc:
        raise exc.with_source("--set") from None
    keys = {k for k, _ in ov}
    if backend is not None:
        data["backend"] = backend
    if seed is not None:
        data["seed"] = seed
    return data, src, keys


class _blame_overrides:
    """Re-raise a :class:`ConfigError` about a key given with ``--set`` as an error of ``--set``."""

    def __init__(self, keys: set[str]):
        self.keys = keys

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if isinstance(exc, ConfigError) and exc.source != "--set":
            # network files name tables by index (projections[2].rule.x); overrides by name (projections.ff.rule.x)
            for k in (exc.key_path, getattr(exc, "by_name", None)):
                if k and any(k == o or k.startswith(o + ".") or o.startswith(k + ".") for o in self.keys):
                    raise ConfigError(k, exc.value, exc.expected, source="--set") from None
        return False


def _check_plain(data: dict[str, Any], source: str | None) -> None:
    """Checks of a model's mapping that need no experiment class."""
    network = data.get("experiment", "network" if any(k in data for k in NETWORK_KEYS) else None) == "network"
    allowed = ALL_KEYS if network else TOP_LEVEL
    for key in data:
        if key not in allowed:
            extra = (" (network keys need experiment = \"network\" or no experiment)" if key in NETWORK_KEYS else
                     did_you_mean(key, ALL_KEYS))
            raise ConfigError(key, data[key], "a top-level key: " + ", ".join(allowed) + extra, source=source)
    if network and "experiment" not in data:
        data = {"experiment": "network", **data}
    if "experiment" not in data:
        raise ConfigError("experiment", None, "the name of an experiment (see 'bioplaus list')", source=source)
    backend = data.get("backend", "numpy")
    if backend not in BACKENDS:
        raise ConfigError("backend", backend, "one of " + ", ".join(BACKENDS) + did_you_mean(str(backend), BACKENDS),
                          source=source)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", seed, "an integer >= 0", source=source)
    threads = data.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 0):
        raise ConfigError("threads", threads, "an integer >= 0", source=source)
    if not isinstance(data.get("params", {}), dict):
        raise ConfigError("params", data.get("params"), "a table of parameters", source=source)


def model_from_dict(data: dict[str, Any], source: str | None = None) -> ModelConfig:
    from .experiments.base import _is_file_ref, experiment_class, resolve_experiment_ref

    _check_plain(data, source)
    if "experiment" not in data:       # a network model file may leave it out (_check_plain allowed that)
        data = {"experiment": "network", **data}
    base_dir = Path(source).parent if source else None
    try:
        cls = experiment_class(data["experiment"], base_dir)
    except ConfigError as exc:
        raise exc.with_source(source) if source else exc from None
    # a user's experiment file is recorded by its absolute path, so sweep workers load the same file
    name = resolve_experiment_ref(data["experiment"], base_dir) if _is_file_ref(data["experiment"]) else cls.name
    backend, seed, threads = data.get("backend", "numpy"), data.get("seed", 0), data.get("threads")  # checked above
    if backend not in cls.backends:
        raise ConfigError("backend", backend, f"a backend experiment {cls.name!r} supports: " + ", ".join(cls.backends),
                          source=source)
    if hasattr(cls, "params_from_model_file"):    # the experiment reads its own top-level tables
        params = cls.params_from_model_file(data, seed=seed, source=source, data_dir=data.get("data_dir"))
    else:
        params = cls.Params.from_mapping(data.get("params", {}), source=source)
    return ModelConfig(experiment=name, params=params, backend=backend, seed=seed, threads=threads,
                       data_dir=data.get("data_dir"), description=str(data.get("description", "")), source=source,
                       raw={k: v for k, v in data.items() if k != "params" and k not in NETWORK_KEYS})
