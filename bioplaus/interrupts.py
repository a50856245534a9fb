"""Ctrl-C that stops a run, never one that silently shortens it.

Brian2 installs a SIGINT handler when it is imported: during ``Network.run`` the
first Ctrl-C only *stops the simulation*, and ``run`` returns normally with a
network that simulated less than it was asked to. A results directory written
after that would hold a truncated run recorded as finished. :func:`install`
replaces that handler, now and whenever Brian2 is imported later in this
process, with one that raises :class:`KeyboardInterrupt` at once, so every
interrupted run ends as ``interrupted`` (exit status 130) and never as ``ok``.

A process started with SIGINT ignored (a background job of a non-interactive
shell, ``nohup ... &``) keeps ignoring it: Brian2's handler would otherwise call
the ignored disposition as a function (``TypeError: 'Handlers' object is not
callable``).

:func:`deferred` holds Ctrl-C back while a few small files are written (the
final provenance of an interrupted run), so a second Ctrl-C cannot leave a
results directory claiming to be still running.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import signal
import sys
import threading
from typing import Iterator

__all__ = ["install", "guard", "received", "deferred", "reset", "brian2_stopped"]

_state = {"installed": False, "ignore": False, "count": 0, "deferring": 0, "pending": False}


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handler(signum, frame) -> None:
    _state["count"] += 1
    if _state["deferring"]:
        _state["pending"] = True
        return
    raise KeyboardInterrupt


def _started_ignored(current) -> bool:
    """SIGINT was ignored when this process started (also when Brian2 has wrapped that disposition)."""
    if current is signal.SIG_IGN:
        return True
    return getattr(current, "previous_handler", None) is signal.SIG_IGN


def _apply() -> None:
    if not _main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN if _state["ignore"] else _handler)


class _AfterBrian2(importlib.abc.MetaPathFinder):
    """Reapplies our SIGINT disposition once ``import brian2`` has replaced it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "brian2":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module, _original=original):
            try:
                _original(module)
            finally:
                _apply()
                with contextlib.suppress(ValueError):
                    sys.meta_path.remove(self)

        try:
            loader.exec_module = exec_module
        except AttributeError:  # pragma: no cover - a loader that cannot be patched
            pass
        return spec


def install() -> None:
    """Make SIGINT raise :class:`KeyboardInterrupt` in this process, before and after Brian2 is imported.

    Keeps SIGINT ignored if the process started with it ignored. Call from the main thread
    (elsewhere it does nothing). Idempotent.
    """
    if not _main_thread():
        return
    if not _state["installed"]:
        _state["ignore"] = _started_ignored(signal.getsignal(signal.SIGINT))
        _state["installed"] = True
    _apply()
    if "brian2" not in sys.modules and not any(isinstance(f, _AfterBrian2) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterBrian2())


def received() -> int:
    """How many SIGINTs this process has received since :func:`install` (or :func:`reset`)."""
    return _state["count"]


def reset() -> None:
    _state["count"] = 0
    _state["pending"] = False


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within: a Ctrl-C is recorded but raised only on leaving the block."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        if not _state["deferring"] and _state["pending"]:
            _state["pending"] = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """:func:`install` for the duration of the block, then the previous SIGINT disposition again.

    For library calls (:func:`bioplaus.runner.run_model`): a Ctrl-C inside raises
    :class:`KeyboardInterrupt` instead of shortening a Brian2 run.
    """
    if not _main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    install()
    try:
        yield
    finally:
        if previous is None:  # pragma: no cover - set from outside Python
            previous = signal.SIG_DFL
        if _started_ignored(previous) or _state["ignore"]:
            previous = signal.SIG_IGN
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)


def brian2_stopped() -> bool:
    """Brian2 stopped its last run early on a Ctrl-C (only possible where its own handler was active)."""
    b2 = sys.modules.get("brian2")
    net = getattr(b2, "Network", None) if b2 is not None else None
    return bool(getattr(net, "_globally_stopped", False))
