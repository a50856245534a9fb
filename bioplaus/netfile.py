"""Network model files: a whole :class:`~bioplaus.spec.NetworkSpec` declared in TOML.

A model file with ``[[populations]]`` tables (``experiment = "network"``, the default
when populations are declared) describes its own network instead of naming a built-in
experiment::

    description = "Vogels & Abbott (2005) COBA network"
    backend = "cpp"
    seed = 1
    dt = "0.1 ms"
    duration = "1 s"

    [[populations]]
    name = "exc"
    size = 3200
    model = { type = "LIF", preset = "vogels_abbott", V_th = "-50 mV" }

    [[projections]]
    name = "ee"
    pre = "exc"
    post = "exc"
    connectivity = 0.02
    w_init = 1.0
    weight_scale = "0.4 nS"
    rule = { type = "stdp", preset = "song_abbott", tau_plus = "20 ms" }

    [[monitors]]
    target = "exc"
    variables = ["spikes"]

Every table becomes the spec object its ``type`` names (neuron and input models as in
``bioplaus list``, rules by their registered name or class name, ``WeightNormalization``
/ ``SynapticScaling`` for ``homeostasis``); ``preset`` starts from a named preset
(``LIF.vogels_abbott``, ``PairSTDP.song_abbott``, ``Izhikevich.chattering``...) and the
other keys replace its fields. Values are validated by the spec objects themselves, and
every error names its place in the file (``projections[2].rule.tau_plus``), the value and
what was expected, with a did-you-mean, before anything is built.

Data that does not fit in TOML is read from files next to the model file:
``w_init = { file = "w.npy" }`` (an ``(n_pre, n_post)`` array), spike trains
``model = { type = "spike_trains", file = "spikes.npz" }`` (arrays ``indices`` and
``times`` in seconds), and samples of a dataset
``model = { type = "samples", dataset = "digits", split = "train", n = 20, present = "100 ms" }``;
the same ``{ file = ..., key = ... }`` table gives any array field (``target``, ``spikes``,
``matrix``, ``bias``).

e-prop (:mod:`bioplaus.spec.eligibility`) is declared the same way: models ``eprop_lif``,
``leaky_readout``, ``trial_input``; rules ``eprop`` and ``eprop_readout`` whose
``optimizer = { type = "adam" | "sgd", lr = ... }`` and
``feedback = { type = "fixed" | "random", ... }`` are tables too (``models/eprop_network.toml``).

Command-line overrides and sweep keys address tables by name:
``--set projections.ee.rule.tau_plus=10ms``, ``--grid populations.exc.size=800,1600``.
"""
from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import ConfigError, DataError, did_you_mean

__all__ = ["NETWORK_KEYS", "network_from_tables", "spec_from_table", "is_network_file"]

#: top-level keys of a network model file, besides experiment/description/backend/seed/threads/data_dir
NETWORK_KEYS = ("populations", "projections", "modulators", "monitors", "readouts", "protocol", "dt", "duration")
_LISTS = ("populations", "projections", "modulators", "monitors", "readouts")


def is_network_file(data: Mapping[str, Any]) -> bool:
    return any(k in data for k in _LISTS)


# --------------------------------------------------------------------------- type tables

def _model_types() -> dict[str, type]:
    from .spec.neurons import INPUTS, NEURONS
    from .spec.eligibility import EpropLIF, LeakyReadout, TrialInput
    from .spec.protocol import ProtocolInput

    return {**NEURONS, **INPUTS, "protocol_input": ProtocolInput, "eprop_lif": EpropLIF,
            "leaky_readout": LeakyReadout, "trial_input": TrialInput}


def _rule_types() -> dict[str, type]:
    from .spec import eligibility  # noqa: F401  (registers the e-prop rules)
    from .spec.rules import RULES

    return dict(RULES)


def _homeostasis_types() -> dict[str, type]:
    from .spec import rules

    return {"weight_normalization": rules.WeightNormalization, "synaptic_scaling": rules.SynapticScaling}


def _optimizer_types() -> dict[str, type]:
    from .spec.eligibility import SGD, Adam

    return {"adam": Adam, "sgd": SGD}


def _feedback_types() -> dict[str, type]:
    from .spec.credit import FixedFeedback, RandomFeedback

    return {"fixed": FixedFeedback, "random": RandomFeedback}


def _lookup(kind: str, table: dict[str, type], name: Any, where: str) -> type:
    if isinstance(name, str):
        key = name.strip().lower()
        if key in table:
            return table[key]
        for cls in table.values():
            if cls.__name__.lower() == key:
                return cls
    names = sorted(set(table) | {c.__name__ for c in table.values()})
    raise ConfigError(f"{where}.type", name, f"a {kind}: " + ", ".join(names) + did_you_mean(str(name), names))


def presets(cls: type) -> list[str]:
    """Names of ``cls``'s presets: public classmethods that take no required argument."""
    out = []
    for name, attr in vars(cls).items():
        if name.startswith("_") or not isinstance(attr, classmethod):
            continue
        sig = inspect.signature(getattr(cls, name))
        if all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
               for p in sig.parameters.values()):
            out.append(name)
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base) and base.__module__.startswith("bioplaus"):
            out += [n for n in presets(base) if n not in out]
    return sorted(out)


# --------------------------------------------------------------------------- tables -> spec objects

def _rekey(exc: ConfigError, cls: type, where: str) -> ConfigError:
    """A spec object's own error (``PairSTDP.tau_plus``, ``projections.ff.w_init``) placed in the file."""
    parts = exc.key_path.split(".")
    if parts[0] == cls.__name__ and len(parts) > 1:
        rest = parts[1:]
    elif parts[0] in _LISTS and len(parts) > 2:
        rest = parts[2:]
    elif parts[0] in ("network",) and len(parts) > 1:
        rest = parts[1:]
    else:
        rest = parts[-1:]
    return ConfigError(".".join([where, *rest]), exc.value, exc.expected)


def _read_array(spec: Any, where: str, base_dir: Path | None) -> np.ndarray:
    """``{ file = "w.npy" }`` (or ``.npz`` with one array, or ``{ file = "x.npz", key = "w" }``)."""
    if not isinstance(spec, dict) or "file" not in spec:
        raise ConfigError(where, spec, "{ file = \"name.npy\" } (or .npz with key = \"...\")")
    unknown = set(spec) - {"file", "key"}
    if unknown:
        k = sorted(unknown)[0]
        raise ConfigError(f"{where}.{k}", spec[k], "only 'file' and 'key'" + did_you_mean(k, ["file", "key"]))
    path = Path(str(spec["file"])).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(f"{where}.file", str(spec["file"]), f"an existing .npy/.npz file (no {path})") from None
    except (OSError, ValueError, EOFError):
        # numpy's own message may advise allow_pickle, which would run code from the file: never
        raise ConfigError(f"{where}.file", str(spec["file"]), "a readable .npy/.npz file of numeric arrays") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        keys = list(data.keys())
        key = spec.get("key", keys[0] if len(keys) == 1 else None)
        if key not in keys:
            raise ConfigError(f"{where}.key", key, "one of the arrays in the file: " + ", ".join(keys))
        try:
            return np.asarray(data[key])
        except (OSError, ValueError, EOFError):
            raise ConfigError(f"{where}.file", str(spec["file"]), f"a readable numeric array {key!r}") from None


def _spike_file(table: dict, where: str, base_dir: Path | None) -> dict:
    arrays = {}
    for key in ("indices", "times"):
        arrays[key] = _read_array({"file": table["file"], "key": key}, where, base_dir)
    out = {k: v for k, v in table.items() if k != "file"}
    if np.asarray(arrays["times"]).dtype.kind not in "fiu":
        raise ConfigError(f"{where}.file", str(table["file"]), "arrays 'indices' (int) and 'times' (seconds)")
    from brian2 import second

    out["indices"] = np.asarray(arrays["indices"]).astype(np.int64)
    out["times"] = np.asarray(arrays["times"], dtype=float) * second
    return out


def _dataset_samples(table: dict, where: str, data_dir: str | None) -> dict:
    """``{ type = "samples", dataset = "digits", split = "train", n = 20, offset = 0, ... }`` -> samples."""
    from .data import load_dataset

    out = {k: v for k, v in table.items() if k not in ("dataset", "split", "n", "offset")}
    split = table.get("split", "train")
    if split not in ("train", "test"):
        raise ConfigError(f"{where}.split", split, "'train' or 'test'" + did_you_mean(str(split), ["train", "test"]))
    try:
        ds = load_dataset(str(table["dataset"]), data_dir=data_dir)
    except ConfigError as exc:
        raise ConfigError(f"{where}.dataset", table["dataset"], exc.expected) from None
    except DataError as exc:
        raise ConfigError(f"{where}.dataset", table["dataset"], f"a dataset that loads ({exc})") from None
    x = ds.x_train if split == "train" else ds.x_test
    n, offset = table.get("n", len(x)), table.get("offset", 0)
    for key, v, lo in (("n", n, 1), ("offset", offset, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ConfigError(f"{where}.{key}", v, f"an integer >= {lo}")
    if offset + n > len(x):
        raise ConfigError(f"{where}.n", n, f"at most {len(x) - offset} samples ({split} split of {table['dataset']} "
                          f"has {len(x)}, offset {offset})")
    xs = np.asarray(x[offset:offset + n], dtype=float)
    lo, hi = xs.min(), xs.max()
    out["samples"] = (xs - lo) / (hi - lo) if hi > lo else np.zeros_like(xs)   # in [0, 1]: fractions of max_rate
    return out


def spec_from_table(kind: str, table: Any, where: str, *, base_dir: Path | None = None,
                    data_dir: str | None = None) -> Any:
    """One nested spec object (``kind``: model, rule, homeostasis, adaptation) from its TOML table."""
    if not isinstance(table, dict):
        raise ConfigError(where, table, f"a table, e.g. {{ type = \"...\", ... }} for the {kind}")
    table = dict(table)
    if kind == "adaptation":
        from .spec.neurons import AdaptiveThreshold

        cls = AdaptiveThreshold
    else:
        types = {"model": _model_types, "rule": _rule_types, "homeostasis": _homeostasis_types,
                 "optimizer": _optimizer_types, "feedback": _feedback_types}[kind]()
        if "type" not in table:
            raise ConfigError(f"{where}.type", None, f"the {kind}'s type: " + ", ".join(sorted(types)))
        cls = _lookup({"model": "neuron or input model", "rule": "plasticity rule",
                       "homeostasis": "homeostatic mechanism", "optimizer": "per-trial update",
                       "feedback": "feedback matrix"}[kind], types, table.pop("type"), where)
    from .spec.neurons import SampleSequence, SpikeTrains

    if cls is SpikeTrains and "file" in table:
        table = _spike_file(table, where, base_dir)
    if cls is SampleSequence and "dataset" in table:
        table = _dataset_samples(table, where, data_dir)
    return _construct(cls, table, where, base_dir=base_dir, data_dir=data_dir)


_NESTED = {"model": "model", "rule": "rule", "homeostasis": "homeostasis", "adaptation": "adaptation",
           "optimizer": "optimizer", "feedback": "feedback"}
#: array fields that may be read from a file next to the model file (``{ file = "x.npz", key = "..." }``)
_ARRAY_FIELDS = ("w_init", "target", "spikes", "matrix", "bias")


def _construct(cls: type, table: dict, where: str, *, base_dir: Path | None, data_dir: str | None) -> Any:
    table = dict(table)
    preset = table.pop("preset", None)
    fields = [f.name for f in dataclasses.fields(cls)]
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where}.{key}", value, f"a field of {cls.__name__}: " + ", ".join(fields)
                              + (", preset" if presets(cls) else "") + did_you_mean(key, [*fields, "preset"]))
    kw: dict[str, Any] = {}
    for key, value in table.items():
        if key in _NESTED and isinstance(value, dict):
            value = spec_from_table(_NESTED[key], value, f"{where}.{key}", base_dir=base_dir, data_dir=data_dir)
        elif key in _ARRAY_FIELDS and isinstance(value, dict):
            value = _read_array(value, f"{where}.{key}", base_dir)
        elif key == "connectivity" and isinstance(value, dict) and "file" in value:
            if set(value) != {"file"}:
                raise ConfigError(f"{where}.connectivity", value, "{ file = \"synapses.npz\" } (arrays i and j) alone")
            value = {k: _read_array({"file": value["file"], "key": k}, f"{where}.connectivity", base_dir)
                     for k in ("i", "j")}
        kw[key] = value
    try:
        if preset is None:
            return cls(**kw)
        names = presets(cls)
        if preset not in names:
            raise ConfigError(f"{where}.preset", preset, f"a preset of {cls.__name__}: " + (", ".join(names) or "(none)")
                              + did_you_mean(str(preset), names))
        base = getattr(cls, preset)()
        return dataclasses.replace(base, **kw) if kw else base
    except ConfigError as exc:
        if exc.key_path.startswith(where):
            raise
        raise _rekey(exc, cls, where) from None
    except TypeError as exc:
        raise ConfigError(where, table, f"valid {cls.__name__} fields ({exc})") from None


def network_from_tables(data: Mapping[str, Any], *, seed: int = 0, source: str | None = None,
                        data_dir: str | None = None):
    """The :class:`~bioplaus.spec.NetworkSpec` a network model file declares (validated, nothing built)."""
    from .spec.network import Modulator, Monitor, NetworkSpec, Population, Projection
    from .spec.protocol import SpikeCountReadout

    base_dir = Path(source).parent if source else None
    classes = {"populations": Population, "projections": Projection, "modulators": Modulator, "monitors": Monitor,
               "readouts": SpikeCountReadout}
    built: dict[str, list] = {}
    index: dict[tuple[str, str], int] = {}
    for key, cls in classes.items():
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
            raise ConfigError(key, items if not isinstance(items, dict) else "a single table",
                              f"an array of tables ([[{key}]] in TOML)", source=source)
        built[key] = []
        for k, table in enumerate(items):
            where = f"{key}[{k}]"
            name = table.get({"monitors": "target"}.get(key, "name"))
            if isinstance(name, str):
                index[(key, name)] = k
            try:
                built[key].append(_construct(cls, table, where, base_dir=base_dir, data_dir=data_dir))
            except ConfigError as exc:
                raise _located(exc.key_path, exc, source, name) from None
    if not built["populations"]:
        raise ConfigError("populations", [], "at least one [[populations]] table", source=source)
    net = {k: data[k] for k in ("dt", "duration") if k in data}
    if "protocol" in data:
        try:
            net["protocol"] = protocol_from_table(data["protocol"], seed=seed, data_dir=data_dir)
        except ConfigError as exc:
            raise ConfigError(exc.key_path, exc.value, exc.expected, source=source) from None
        if "duration" in data:
            raise ConfigError("duration", data["duration"], "no duration beside a [protocol] (the protocol's "
                              "windows set it)", source=source)
        net["duration"] = net["protocol"].duration
    if not built["monitors"]:          # by default: the spikes of every spiking neuron population
        built["monitors"] = [Monitor(p.name, ("spikes",)) for p in built["populations"]
                             if p.kind == "spike" and not p.is_input]
    try:
        return NetworkSpec(populations=built["populations"], projections=built["projections"],
                           modulators=built["modulators"], monitors=built["monitors"], readouts=built["readouts"],
                           seed=seed, **net)
    except ConfigError as exc:
        parts = exc.key_path.split(".")
        if parts[0] in _LISTS and len(parts) > 1 and (parts[0], parts[1]) in index:
            key = f"{parts[0]}[{index[(parts[0], parts[1])]}]" + "".join(f".{p}" for p in parts[2:])
            raise _located(key, exc, source, parts[1]) from None
        key = ".".join(parts[1:]) if parts[0] == "network" and len(parts) > 1 else exc.key_path
        raise ConfigError(key, exc.value, exc.expected, source=source) from None


def _located(key: str, exc: ConfigError, source: str | None, name: Any) -> ConfigError:
    """``exc`` at ``key`` (``projections[2].rule.tau_plus``) in ``source``; ``by_name`` holds the same
    place as overrides spell it (``projections.ff.rule.tau_plus``)."""
    out = ConfigError(key, exc.value, exc.expected, source=source)
    head, _, rest = key.partition("]")
    if isinstance(name, str) and "[" in head:
        out.by_name = f"{head.split('[')[0]}.{name}{rest}"
    return out


_PROTOCOL_KEYS = ("dataset", "n_train", "n_test", "epochs", "present", "rest", "learn_in_rest", "batch")


def protocol_from_table(table: Any, *, seed: int, data_dir: str | None = None):
    """A :class:`~bioplaus.spec.protocol.Protocol` from a ``[protocol]`` table: samples of a dataset shown
    for ``epochs`` training phases (``train0``...; a new random order each, from the network seed), an
    ``assign`` phase over the training samples (learning off: read-outs label their neurons) and a
    ``test`` phase over the held-out samples. Pixel values are scaled to [0, 1] (fractions of the
    input's ``max_rate``). ``batch``: windows whose weight updates are applied together (default 1)."""
    from .data import load_dataset
    from .spec.protocol import Protocol

    if not isinstance(table, dict):
        raise ConfigError("protocol", table, "a [protocol] table")
    for key in table:
        if key not in _PROTOCOL_KEYS:
            raise ConfigError(f"protocol.{key}", table[key], "a key of [protocol]: " + ", ".join(_PROTOCOL_KEYS)
                              + did_you_mean(key, _PROTOCOL_KEYS))
    if "dataset" not in table:
        raise ConfigError("protocol.dataset", None, "the dataset whose samples are shown (e.g. \"digits\")")
    try:
        ds = load_dataset(str(table["dataset"]), data_dir=data_dir)
    except ConfigError as exc:
        raise ConfigError("protocol.dataset", table["dataset"], exc.expected) from None
    except DataError as exc:
        raise ConfigError("protocol.dataset", table["dataset"], f"a dataset that loads ({exc})") from None
    sizes = {}
    for key, have in (("n_train", len(ds.x_train)), ("n_test", len(ds.x_test))):
        v = table.get(key, have)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= have:
            raise ConfigError(f"protocol.{key}", v, f"an integer in [1, {have}] (the {key[2:]} split of "
                              f"{table['dataset']})")
        sizes[key] = v
    epochs = table.get("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError("protocol.epochs", epochs, "an integer >= 1")
    x = np.concatenate([ds.x_train[:sizes["n_train"]], ds.x_test[:sizes["n_test"]]]).astype(float)
    y = np.concatenate([ds.y_train[:sizes["n_train"]], ds.y_test[:sizes["n_test"]]]).astype(np.int64)
    lo, hi = float(x.min()), float(x.max())
    x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    rng = np.random.default_rng(np.random.SeedSequence([seed, *b"protocol"]))
    n_tr = sizes["n_train"]
    kw = {k: table[k] for k in ("present", "rest", "learn_in_rest", "batch") if k in table}
    try:
        return Protocol.classifier(x, y, np.arange(n_tr), epochs, {"test": np.arange(n_tr, len(x))}, rng, **kw)
    except ConfigError as exc:
        raise ConfigError("protocol." + exc.key_path.split(".")[-1], exc.value, exc.expected) from None
