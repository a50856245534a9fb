"""Progress on stderr in one style, for everything that takes a while.

Three shapes, all on standard error:

* :func:`step` -- a step announced with its elapsed time, e.g. code generation and
  compilation: ``compiling C++ (cpp_standalone)... 21 s``;
* :func:`sim_report` -- simulated-time progress of a long run on a runtime backend
  (a ``report=`` callback for Brian2's ``Network.run``);
* :class:`Counter` -- counts and an estimated time left for a list of items (sweep
  points, rule/seed runs of a comparison): ``[3/12] ... (ETA 1 min 20 s)``.

Modes (:func:`mode`):

``live``   standard error is a terminal: steps and simulations update one line in place,
           every finished item prints a line;
``lines``  standard error is not a terminal (a log file, a pipe, a worker process): only
           one line per finished item (a finished step counts as one), nothing updated in place;
``quiet``  ``--quiet`` on the command line (environment variable ``BIOPLAUS_QUIET=1``, which
           worker processes inherit) or inside :func:`nested`: nothing at all.

Everything long that runs inside a counted loop (a sweep's points) is :func:`nested`,
so only the loop's own lines appear.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from typing import Any, Callable, Iterator, TextIO

__all__ = ["mode", "set_quiet", "quiet", "nested", "step", "sim_report", "Counter", "line", "fmt_seconds", "QUIET_ENV"]

#: environment variable that silences progress output (set by ``--quiet``; inherited by workers)
QUIET_ENV = "BIOPLAUS_QUIET"

_local = threading.local()

#: a simulation shorter than this (wall seconds) prints no progress at all
SIM_REPORT_AFTER_S = 2.0
#: how often (wall seconds) Brian2 calls the simulation report
SIM_REPORT_PERIOD_S = 2.0


def _stream(stream: TextIO | None = None) -> TextIO:
    return stream if stream is not None else sys.stderr


def set_quiet(quiet: bool = True) -> None:
    """Silence (or re-enable) progress output in this process and in the workers it starts."""
    if quiet:
        os.environ[QUIET_ENV] = "1"
    else:
        os.environ.pop(QUIET_ENV, None)


def mode(stream: TextIO | None = None) -> str:
    """``"quiet"``, ``"live"`` (a terminal) or ``"lines"`` (anything else), as described above."""
    if os.environ.get(QUIET_ENV, "") not in ("", "0") or getattr(_local, "nested", 0):
        return "quiet"
    s = _stream(stream)
    try:
        tty = bool(s.isatty())
    except (AttributeError, ValueError):
        tty = False
    return "live" if tty else "lines"


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Inside (when ``enabled``), no progress output here or in worker processes started here."""
    before = os.environ.get(QUIET_ENV)
    if enabled:
        os.environ[QUIET_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(QUIET_ENV, None)
        else:
            os.environ[QUIET_ENV] = before


@contextlib.contextmanager
def nested() -> Iterator[None]:
    """Inside, steps and simulation reports are silent (the enclosing loop reports per item)."""
    _local.nested = getattr(_local, "nested", 0) + 1
    try:
        yield
    finally:
        _local.nested -= 1


def fmt_seconds(s: float) -> str:
    """``0.4 s``, ``21 s``, ``3 min 05 s``, ``2 h 04 min``.

    >>> fmt_seconds(0.42), fmt_seconds(21.3), fmt_seconds(185), fmt_seconds(7440)
    ('0.4 s', '21 s', '3 min 05 s', '2 h 04 min')
    """
    if not math.isfinite(s):
        return "?"
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        m, sec = divmod(int(round(s)), 60)
        return f"{m} min {sec:02d} s"
    h, m = divmod(int(round(s / 60)), 60)
    return f"{h} h {m:02d} min"


def line(msg: str, stream: TextIO | None = None) -> None:
    """One finished-item line (printed in ``live`` and ``lines`` mode, not when quiet)."""
    if mode(stream) == "quiet":
        return
    s = _stream(stream)
    s.write(msg + "\n")
    s.flush()


class _Step:
    def __init__(self, label: str, stream: TextIO | None):
        self.label = label
        self.stream = stream
        self.result: str | None = None
        self.t0 = time.perf_counter()

    def done(self, text: str) -> None:
        """Replace the elapsed time printed at the end with ``text``."""
        self.result = text

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


@contextlib.contextmanager
def step(label: str, stream: TextIO | None = None) -> Iterator[_Step]:
    """Announce ``label`` and, when it ends, how long it took: ``compiling C++ (cpp_standalone)... 21 s``.

    ``live``: the label appears at once and the time is added when the step ends;
    ``lines``: one line when the step ends; ``quiet``: nothing. A step that raises ends
    with ``failed after 3.2 s`` (``interrupted after ...`` for Ctrl-C).
    """
    m = mode(stream)
    s = _stream(stream)
    st = _Step(label, stream)
    if m == "live":
        s.write(f"{label}... ")
        s.flush()
    try:
        yield st
    except BaseException as exc:
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        if m == "live":
            s.write(f"{what} after {fmt_seconds(st.elapsed)}\n")
        elif m == "lines":
            s.write(f"{label}... {what} after {fmt_seconds(st.elapsed)}\n")
        if m != "quiet":
            s.flush()
        raise
    text = st.result or fmt_seconds(st.elapsed)
    if m == "live":
        s.write(text + "\n")
    elif m == "lines":
        s.write(f"{label}... {text}\n")
    if m != "quiet":
        s.flush()


def sim_report(label: str = "simulating", stream: TextIO | None = None,
               after: float | None = None) -> Callable[..., None] | None:
    """A ``report=`` callback for Brian2's ``Network.run`` that shows simulated time, or ``None``.

    ``None`` (no reporting) unless standard error is a terminal. The line appears only
    once the run has taken ``after`` wall seconds (default :data:`SIM_REPORT_AFTER_S`),
    so short runs stay silent:
    ``simulating: 1.2 s of 5 s biological time (24 %), 8.1 s elapsed, ETA 26 s``.
    """
    if mode(stream) != "live":
        return None
    s = _stream(stream)
    shown = [False]
    if after is None:
        after = SIM_REPORT_AFTER_S

    def report(elapsed, completed, start, duration) -> None:
        el = float(elapsed)
        if el < after and not (shown[0] and completed >= 1.0):
            return
        sim_total = float(duration)
        sim_now = float(start) + completed * sim_total
        eta = el * (1 - completed) / completed if completed > 0 else math.inf
        text = (f"\r{label}: {sim_now:.4g} s of {float(start) + sim_total:.4g} s biological time "
                f"({100 * completed:.0f} %), {fmt_seconds(el)} elapsed"
                + (f", ETA {fmt_seconds(eta)}" if completed < 1.0 else "") + "\033[K")
        s.write(text + ("\n" if completed >= 1.0 else ""))
        s.flush()
        shown[0] = True

    return report


class Counter:
    """Counts and ETA for ``total`` items: :meth:`done` prints ``[k/total] text (ETA ...)``.

    ``live`` mode also shows :meth:`status` (e.g. the epoch of the running item) on one
    line updated in place; ``lines`` mode prints only the finished-item lines; ``quiet``
    nothing. The ETA is the mean time per finished item times the items left.
    """

    def __init__(self, total: int, stream: TextIO | None = None, prefix: str = ""):
        self.total = int(total)
        self.count = 0
        self.stream = stream
        self.prefix = prefix
        self.t0 = time.perf_counter()
        self._status = False

    @property
    def mode(self) -> str:
        return mode(self.stream)

    def eta(self) -> float:
        """Estimated seconds left (``inf`` before the first item finished)."""
        if self.count <= 0:
            return math.inf
        return (time.perf_counter() - self.t0) / self.count * max(0, self.total - self.count)

    def status(self, text: str) -> None:
        """The running item's state, updated in place (``live`` mode only)."""
        if self.mode != "live":
            return
        s = _stream(self.stream)
        s.write(f"\r{self.prefix}[{self.count + 1}/{self.total}] {text}\033[K")
        s.flush()
        self._status = True

    def done(self, text: str, count: int | None = None) -> str:
        """One item finished: print its line with the count and the time left; return the line."""
        self.count = self.count + 1 if count is None else int(count)
        left = self.total - self.count
        tail = f" (ETA {fmt_seconds(self.eta())})" if left > 0 else \
            f" (all {self.total} in {fmt_seconds(time.perf_counter() - self.t0)})"
        msg = f"{self.prefix}[{self.count}/{self.total}] {text}{tail}"
        m = self.mode
        if m != "quiet":
            s = _stream(self.stream)
            s.write(("\r" if self._status and m == "live" else "") + msg
                    + ("\033[K" if self._status and m == "live" else "") + "\n")
            s.flush()
            self._status = False
        return msg

