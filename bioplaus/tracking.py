"""Experiment tracking: per-epoch metrics handed to callbacks, TensorBoard as the shipped one.

Off by default. Pass ``callbacks=[...]`` to :func:`bioplaus.compare`,
:func:`bioplaus.run_model` or :func:`bioplaus.run_sweep`, or ``--track tensorboard``
(``--track tensorboard:DIR``) on the command line. A callback is any object with
(all optional) methods

``on_start(kind, name, config, out)``
    before the first metrics: ``kind`` is ``"run"``, ``"compare"`` or ``"sweep"``;
``on_epoch(run, step, metrics)``
    one call per epoch of one training run: ``run`` names it (``"fa/seed0"`` in a
    comparison, the point id in a study, the experiment for a model run), ``step``
    is the epoch (the row number where the rows have no epoch), ``metrics`` the
    numeric columns of that row of ``metrics.csv``;
``on_end(status)``
    after the last.

:class:`Callback` is a no-op base class to subclass. Comparisons call ``on_epoch``
as each epoch ends; model runs and sweep points hand over their rows when the run
(the point) has finished, since a compiled run returns them all at the end.
:class:`TensorBoard` writes them as scalars (``<run>/<metric>``) with tensorboardX
(``pip install 'bioplaus[tensorboard]'``); :func:`read_scalars` reads an event file back.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import os
import struct
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .errors import BackendUnavailable, ConfigError

__all__ = ["Callback", "TensorBoard", "read_scalars", "resolve", "cli_tracking", "report_rows", "dispatch"]

#: the tracking asked for on the command line (``--track``), picked up by compare/run/sweep
_CLI_TRACK: contextvars.ContextVar[str | None] = contextvars.ContextVar("bioplaus_track", default=None)


class Callback:
    """Base class of tracking callbacks: every method is optional and does nothing here."""

    def on_start(self, kind: str, name: str, config: Mapping[str, Any], out: Path | None) -> None:
        pass

    def on_epoch(self, run: str, step: int, metrics: Mapping[str, float]) -> None:
        pass

    def on_end(self, status: str) -> None:
        pass


class TensorBoard(Callback):
    """Writes every metric as a TensorBoard scalar ``<run>/<metric>`` at step ``epoch``.

    Parameters
    ----------
    logdir : str or Path, optional
        Where the event files go; default ``<results directory>/tensorboard`` (known at
        ``on_start``). View with ``tensorboard --logdir DIR``.
    """

    def __init__(self, logdir: str | os.PathLike | None = None):
        try:
            import tensorboardX  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable("tensorboard", f"tensorboardX is not installed ({exc.name or exc}); "
                                     "pip install 'bioplaus[tensorboard]'") from None
        self.logdir = Path(logdir) if logdir is not None else None
        self.writer = None

    def on_start(self, kind: str, name: str, config: Mapping[str, Any], out: Path | None) -> None:
        from tensorboardX import SummaryWriter

        if self.logdir is None:
            self.logdir = Path(out) / "tensorboard" if out is not None else Path("runs") / name
        if self.writer is None:
            self.writer = SummaryWriter(logdir=str(self.logdir))
            self.writer.add_text("config", f"{kind} {name}: `{dict(config)}`")

    def on_epoch(self, run: str, step: int, metrics: Mapping[str, float]) -> None:
        if self.writer is None:
            self.on_start("run", run, {}, None)
        for k, v in metrics.items():
            self.writer.add_scalar(f"{run}/{k}", v, global_step=int(step))

    def on_end(self, status: str) -> None:
        if self.writer is not None:
            self.writer.add_text("status", status)
            self.writer.close()
            self.writer = None


def _make(spec: str) -> Callback:
    name, _, arg = spec.partition(":")
    if name.strip().lower() in ("tensorboard", "tb"):
        return TensorBoard(arg or None)
    raise ConfigError("--track", spec, "tensorboard or tensorboard:DIR")


@contextlib.contextmanager
def cli_tracking(spec: str | None) -> Iterator[None]:
    """Inside, :func:`resolve` adds the tracker ``spec`` (``--track``) to every run, comparison and sweep."""
    if spec:
        _make(spec)  # bad names and a missing package fail before anything runs
    token = _CLI_TRACK.set(spec)
    try:
        yield
    finally:
        _CLI_TRACK.reset(token)


def resolve(callbacks: Iterable[Any] | Any | None) -> list[Any]:
    """The callbacks to call: those given plus the command line's ``--track`` (a fresh writer each call)."""
    if callbacks is None:
        out: list[Any] = []
    elif isinstance(callbacks, (list, tuple)):
        out = list(callbacks)
    else:
        out = [callbacks]
    spec = _CLI_TRACK.get()
    if spec:
        out.append(_make(spec))
    return out


def dispatch(callbacks: Sequence[Any], method: str, *args: Any) -> None:
    """Call ``method`` on every callback that has it."""
    for cb in callbacks:
        fn = getattr(cb, method, None)
        if fn is not None:
            fn(*args)


def numeric(row: Mapping[str, Any], skip: Sequence[str] = ("epoch", "seed")) -> dict[str, float]:
    """The finite numeric values of a row (booleans and text left out)."""
    out = {}
    for k, v in row.items():
        if k in skip or isinstance(v, bool):
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[str(k)] = f
    return out


def report_rows(callbacks: Iterable[Any] | None, kind: str, name: str, rows: Sequence[Mapping[str, Any]],
                out: Path | None = None, config: Mapping[str, Any] | None = None, status: str = "ok") -> None:
    """Hand a finished run's rows to the callbacks (start, one ``on_epoch`` per row, end)."""
    cbs = resolve(callbacks)
    if not cbs:
        return
    dispatch(cbs, "on_start", kind, name, dict(config or {}), out)
    for i, row in enumerate(rows):
        step = row.get("epoch", i)
        try:
            step = int(float(step))
        except (TypeError, ValueError):
            step = i
        dispatch(cbs, "on_epoch", name, step, numeric(row))
    dispatch(cbs, "on_end", status)


# --------------------------------------------------------------------------- reading event files back

def _records(path: Path) -> Iterator[bytes]:
    """The records of a TFRecord file (length, length CRC, data, data CRC; CRCs not checked)."""
    data = path.read_bytes()
    pos = 0
    while pos + 12 <= len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        start = pos + 12
        if start + n + 4 > len(data):
            break
        yield data[start:start + n]
        pos = start + n + 4


def read_scalars(logdir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of every scalar in the event files under ``logdir``."""
    from tensorboardX.proto import event_pb2

    out: dict[str, list[tuple[int, float]]] = {}
    for f in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        for rec in _records(f):
            ev = event_pb2.Event()
            ev.ParseFromString(rec)
            if ev.HasField("summary"):
                for v in ev.summary.value:
                    if v.HasField("simple_value"):
                        out.setdefault(v.tag, []).append((int(ev.step), float(v.simple_value)))
    return out
