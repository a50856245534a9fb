"""Every use of Brian2's private interfaces, in one place, for the Brian2 versions they were checked on.

bioplaus uses Brian2's public API everywhere except where that API cannot do what a
sweep or a benchmark needs: running one compiled standalone binary several times at once,
each with its own results directory and ``run_args`` (``CPPStandaloneDevice.run`` runs one
at a time and keeps one results directory), reading Brian2's own measured run time, and
asking whether a device still holds a network's compiled project. Those few steps are the
functions below; nothing else in the package touches a private attribute of Brian2.

Importing this module checks the installed Brian2 against :data:`TESTED`; another version
raises :class:`~bioplaus.errors.BackendUnavailable` naming both, since these attributes
change between releases without notice.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import brian2

from .errors import BackendUnavailable

__all__ = ["TESTED", "check_version", "run_arg_strings", "read_run_results", "last_run_time", "holds_project",
           "uses_timed_array", "mark_inspected"]

#: Brian2 versions whose private interfaces below were checked (setup.cfg pins the first)
TESTED = ("2.10.1",)


def check_version(version: str | None = None) -> str:
    """The installed Brian2 version, or :class:`BackendUnavailable` if the functions here were not checked on it."""
    version = version or brian2.__version__
    if version not in TESTED:
        raise BackendUnavailable("cpp", f"bioplaus uses private parts of Brian2 checked on Brian2 "
                                 f"{', '.join(TESTED)} only, and Brian2 {version} is installed: install "
                                 f"brian2=={TESTED[0]} (as setup.cfg pins it)")
    return version


check_version()


def run_arg_strings(device, run_args: Mapping[Any, Any]) -> list[tuple[str, str, str | None]]:
    """``(name, value string, value file)`` of each ``run_args`` entry, exactly as
    ``CPPStandaloneDevice.run`` passes them to the binary (scalars inline, arrays as files)."""
    out = []
    for view, value in run_args.items():
        name, string_value, value_name, _ = device._prepare_variableview_run_arg(view, value)
        out.append((name, string_value, value_name))
    return out


def read_run_results(device, results_dir: str | os.PathLike, changed: Iterable[str] = ()) -> None:
    """Point ``device`` at one run's results directory, as ``device.run`` leaves it, so that
    reading any variable (``group.v[:]``, monitors) loads that run's values.

    ``changed``: ``"owner.variable"`` names set through ``run_args``, whose cached values are
    dropped too (besides the clocks' ``t``).
    """
    changed = set(changed)
    device.results_dir = os.path.join(str(results_dir), "")
    device.has_been_run = True
    for var in list(device.array_cache):
        try:
            if f"{var.owner.name}.{var.name}" in changed:
                device.array_cache[var] = None
        except ReferenceError:  # pragma: no cover - an owner already collected
            pass
    for clock in device.clocks:
        device.array_cache[clock.variables["t"]] = None


def last_run_time(device) -> float:
    """Brian2's own measurement of the last standalone run (seconds of the simulation loop)."""
    return float(device._last_run_time)


def holds_project(device, network) -> bool:
    """Whether ``device`` (the active one) has run and still holds the compiled code of ``network``."""
    from brian2 import get_device

    if device is None or get_device() is not device or not getattr(device, "has_been_run", False):
        return False
    mine = {id(o.codeobj) for o in network.sorted_objects if getattr(o, "codeobj", None) is not None}
    return bool(mine) and mine <= {id(c) for c in getattr(device, "code_objects", {}).values()}


def uses_timed_array(device, timed_array) -> bool:
    """Whether the generated code of the active standalone ``device`` reads ``timed_array``
    (only those can be given new values through ``run_args``)."""
    return timed_array in getattr(device, "timed_arrays", {})


def mark_inspected(obj, network) -> None:
    """Record ``obj`` as part of ``network`` without running it, so that Brian2 does not warn that it
    was "never included in a network" when it is dropped (objects built only to be analysed, as
    :func:`bioplaus.sweep.analyse_network` does)."""
    obj._network = network.id
