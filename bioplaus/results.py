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
import secrets
import shutil
import sys
import tempfile
import time
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
    "new_output_dir",
    "prepare_output",
    "output_lock",
    "check_writable",
    "remove_if_empty",
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


def _umask() -> int:
    """The process umask (from ``/proc/self/status``, which reads it without changing it, where it can)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    value = os.umask(0o022)
    os.umask(value)
    return value


#: files that mark a directory as bioplaus output (``--overwrite`` clears only such directories)
_MARKERS = ("provenance.json", "config.toml", "sweep.toml", "bench.csv", "metrics.csv", "results.csv", "summary.md")
LOCK_NAME = ".bioplaus.lock"


def _entries(p: Path) -> list[Path]:
    return [e for e in p.iterdir() if e.name != LOCK_NAME]


def new_output_dir(parent: str | os.PathLike, stem: str) -> Path:
    """Create and return ``parent/<stem>-<YYYYmmdd-HHMMSS.ffffff>-<hex>``, a new directory.

    The name has a sub-second time stamp and a random suffix, and the directory is
    created with :func:`os.mkdir` (which fails if it exists), so two runs started at
    the same moment never share one.
    """
    parent = ensure_dir(parent)
    for _ in range(100):
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f".{int((now % 1) * 1e6):06d}"
        path = parent / f"{stem}-{stamp}-{secrets.token_hex(2)}"
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        except OSError as exc:
            raise BioplausError(f"results directory {str(path)!r} cannot be created: {exc.strerror}") from None
        return path
    raise BioplausError(f"no new results directory could be created in {str(parent)!r}")  # pragma: no cover


def prepare_output(path: str | os.PathLike, *, overwrite: bool = False, resume: bool = False,
                   option: str = "--out", create: bool = True, can_resume: bool = False) -> Path:
    """Check that results may be written to ``path``; with ``overwrite`` clear what is there.

    A directory that holds anything is refused (:class:`~bioplaus.errors.ConfigError`)
    unless ``overwrite`` (its contents are removed, if it is a bioplaus results
    directory) or ``resume`` (the caller continues what is there). ``create=False``
    only checks (nothing is created or removed); ``can_resume`` mentions ``--resume``
    in the refusal.
    """
    from .errors import ConfigError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(option, str(p), "a directory (a file of that name exists)")
    if p.is_dir():
        try:
            entries = _entries(p)
        except OSError as exc:
            raise ConfigError(option, str(p), f"a readable directory ({exc.strerror})") from None
        if entries and not resume:
            if not overwrite:
                raise ConfigError(option, str(p), "a new or empty directory (it holds results already: add "
                                  "--overwrite to replace them" + (", --resume to continue them" if can_resume else "")
                                  + ", or choose another " + option + ")")
            if not any((p / m).exists() for m in _MARKERS):
                raise ConfigError(option, str(p), "a bioplaus results directory for --overwrite (this one holds "
                                  "other files; nothing was removed)")
            if create:
                for e in entries:
                    try:
                        if e.is_dir() and not e.is_symlink():
                            shutil.rmtree(e)
                        else:
                            e.unlink()
                    except OSError as exc:
                        raise BioplausError(f"--overwrite: {str(e)!r} cannot be removed: {exc.strerror}") from None
    if create:
        p = ensure_dir(p)
    return p


class output_lock:
    """Exclusive lock on a results directory (``fcntl.flock`` on ``DIR/.bioplaus.lock``).

    A second process that wants the same directory gets a clear
    :class:`~bioplaus.errors.BioplausError` instead of mixing its files with ours.
    The lock ends with the process, however it ends.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None

    def __enter__(self) -> "output_lock":
        import fcntl

        d = ensure_dir(self.path)
        lock = d / LOCK_NAME
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            raise BioplausError(f"results directory {str(d)!r} is in use by another bioplaus process"
                                + (f" (pid {holder})" if holder else "")
                                + "; wait for it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def remove_if_empty(path: str | os.PathLike) -> None:
    """Remove ``path`` if it holds nothing but its lock file (a run refused before it wrote anything)."""
    p = Path(path)
    try:
        if p.is_dir() and not _entries(p):
            (p / LOCK_NAME).unlink(missing_ok=True)
            p.rmdir()
    except OSError:
        pass


def check_writable(path: str | os.PathLike) -> None:
    """Raise :class:`BioplausError` unless a file can be written in ``path`` (created if missing)."""
    p = ensure_dir(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=p, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BioplausError(f"results directory {str(p)!r} is not writable: {exc.strerror}") from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; a result file follows the umask
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
