"""Results directories, written atomically.

Layout of a results directory::

    config.toml       resolved configuration
    metrics.csv       tidy table, one row per epoch / rule / seed
    summary.md        human-readable summary
    arrays.npz        weights and other arrays
    figures/*.png     figures
    provenance.json   seed, backend, versions, compiler flags, command line

Every file is written to a temporary file in the same directory and renamed into
place, so a killed process never leaves a half-written file behind.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import BioplausError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "write_csv",
    "read_csv",
    "write_json",
    "write_npz",
    "write_toml",
    "provenance",
    "ensure_dir",
]


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents); raise a :class:`BioplausError` if it is not writable."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BioplausError(f"results directory {str(p)!r} cannot be created: {exc.strerror}") from None
    if not os.access(p, os.W_OK):
        raise BioplausError(f"results directory {str(p)!r} is not writable")
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]],
              columns: list[str] | None = None) -> Path:
    """Write a tidy CSV (one row per mapping); columns default to first-seen key order."""
    rows = list(rows)
    if columns is None:
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k, "")) for k in columns})
    return atomic_write_text(path, buf.getvalue())


def _csv_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def write_npz(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return atomic_write_bytes(path, buf.getvalue())


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return "nan"
        if f in (float("inf"), float("-inf")):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def _toml_key(k: str) -> str:
    k = str(k)
    if k and all(c.isalnum() or c in "-_" for c in k):
        return k
    return json.dumps(k)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialise a nested mapping of plain values to TOML (enough for resolved configs)."""
    lines: list[str] = []

    def emit(table: Mapping[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            if v is None:
                continue
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        if scalars:
            lines.append("")
        for k, v in tables.items():
            emit(v, f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k))

    emit(data, "")
    return "\n".join(lines).rstrip() + "\n"


def write_toml(path: str | os.PathLike, data: Mapping[str, Any]) -> Path:
    return atomic_write_text(path, dumps_toml(data))


def provenance(seed: int | None = None, backend: str | None = None, **extra: Any) -> dict[str, Any]:
    """Versions, seed, backend and command line, for ``provenance.json``."""
    from . import __version__

    info: dict[str, Any] = {
        "bioplaus": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "seed": seed,
        "backend": backend,
        "argv": list(sys.argv),
    }
    for mod in ("brian2", "scipy", "sklearn"):
        m = sys.modules.get(mod)
        if m is not None:
            info[mod] = getattr(m, "__version__", "unknown")
    info.update(extra)
    return info
