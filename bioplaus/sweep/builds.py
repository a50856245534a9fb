"""Shared builds: one standalone build (``cpp``, ``cuda``) run once per point with ``run_args``.

The swept parameters become ``(shared, constant)`` variables of the generated code
(``build_network(tunable=...)``); the project is generated and compiled once
(``device.build(run=False)``), then the binary runs once per point with that point's
values as ``run_args`` and its own results directory, up to ``jobs`` at a time on
``cpp``. What this needs of Brian2 beyond its public API (the command-line form of
``run_args``, pointing the device at one run's results) is in
:mod:`bioplaus.brian2_internals`.

:func:`sweep_network` is the network-level entry: a spec and a list of points in,
one :class:`~bioplaus.simulation.SimResult` per point out.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import BioplausError, ConfigError, did_you_mean
from .analysis import analyse_network, plan_network_sweep, varying_params
from .overrides import apply_spec_overrides

__all__ = ["STANDALONE", "run_shared_build", "sweep_network"]

#: backends that compile a binary per build (and can rerun it with run_args)
STANDALONE = ("cpp", "cuda")


def _quiet(_msg: str) -> None:
    pass


class _BinaryFailed(RuntimeError):
    pass


def _env_for(device) -> dict[str, str]:
    from brian2 import prefs

    env = dict(os.environ)
    env.update({k: str(v) for k, v in prefs["devices.cpp_standalone.run_environment_variables"].items()})
    env.update({k: str(v) for k, v in (getattr(device, "run_environment_variables", None) or {}).items()})
    return env


def _cmdline_run_args(device, run_args: Mapping[Any, Any]) -> list[str]:
    """``name=value`` arguments of the standalone binary, as ``CPPStandaloneDevice.run`` writes them."""
    from ..brian2_internals import run_arg_strings

    out = []
    for name, string_value, value_name in run_arg_strings(device, run_args):
        if value_name:  # pragma: no cover - parameters are shared scalars
            raise ConfigError(name, string_value, "a scalar value for a (shared, constant) parameter")
        out.append(f"{name}={string_value}")
    return out


def _launch(device, args: list[str], results_dir: Path) -> float:
    """Run the compiled binary with its own results directory; returns the wall time."""
    from brian2 import prefs

    cmd = prefs.devices.cpp_standalone.run_cmd_unix
    cmd = [cmd] if isinstance(cmd, str) else list(cmd)
    results_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(results_dir / "stdout.txt", "w") as out:
        rc = subprocess.call(cmd + ["--results_dir", os.path.join(str(results_dir), "")] + args,
                             cwd=device.project_dir, env=_env_for(device), stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if rc:
        tail = (results_dir / "stdout.txt").read_text(errors="replace")[-2000:]
        raise _BinaryFailed(f"standalone binary exited with status {rc}" + (f": {tail.strip()}" if tail.strip() else ""))
    return wall


def _read_results(device, built, results_dir: Path, run_arg_names: set[str]) -> dict[str, np.ndarray]:
    """Point the device at one run's results directory and collect the arrays (as ``device.run`` would)."""
    from ..brian2_internals import read_run_results

    read_run_results(device, results_dir, run_arg_names)
    return built.collect()


def run_shared_build(spec, param_sets: Sequence[Mapping[str, Any]], *, backend: str, threads: int | None,
                      jobs: int, on_result: Callable[[int, Any, dict], None]) -> float:
    """Build ``spec`` once on a standalone backend and run it once per parameter set.

    ``on_result(k, arrays_or_exception, timings)`` is called in this thread as runs
    finish (up to ``jobs`` binaries run at a time on ``cpp``; ``cuda`` runs one at a
    time through ``device.run``). Returns the build time (generate + compile).
    """
    import inspect

    from brian2 import defaultclock, get_device

    from ..backends import session
    from ..build.network import build_network

    with session(backend, threads=threads, seed=spec.seed) as s:
        device = get_device()  # the device object itself (brian2.device is a proxy that cannot be assigned to)
        defaultclock.dt = spec.dt
        t0 = time.perf_counter()
        # the swept parameters become variables that run_args can set; the rest stay code constants
        built = build_network(spec, tunable={key for ps in param_sets for key in ps})
        built.network.run(spec.duration)
        s.finish(run=False)
        build_s = time.perf_counter() - t0
        runs = Path(device.project_dir) / "sweep_runs"

        def run_args_of(k: int) -> dict:
            out = {}
            for key, value in param_sets[k].items():
                if key not in built.params:
                    raise ConfigError(key, value, "a (shared, constant) parameter of the network: "
                                      + ", ".join(built.params) + did_you_mean(key, built.params))
                obj, var = built.params[key]
                out[getattr(obj, var)] = value
            return out

        if backend == "cpp":
            argv = [_cmdline_run_args(device, run_args_of(k)) for k in range(len(param_sets))]
            names = {f"{obj.name}.{var}" for k in range(len(param_sets)) for key in param_sets[k]
                     for obj, var in [built.params[key]]}
            with cf.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futs = {pool.submit(_launch, device, argv[k], runs / str(k)): k for k in range(len(param_sets))}
                for fut in cf.as_completed(futs):
                    k = futs[fut]
                    try:
                        wall = fut.result()
                        arrays = _read_results(device, built, runs / str(k), names)
                    except Exception as exc:
                        on_result(k, exc, {"sweep.shared_build_s": build_s})
                        continue
                    finally:
                        shutil.rmtree(runs / str(k), ignore_errors=True)
                    on_result(k, arrays, {"run_binary_s": wall, "total_s": wall, "sweep.shared_build_s": build_s})
        else:  # cuda: brian2cuda's own run method, one run at a time
            params = inspect.signature(device.run).parameters
            for k in range(len(param_sets)):
                kw: dict[str, Any] = {"run_args": run_args_of(k), "with_output": False}
                if "results_directory" in params:
                    kw["results_directory"] = os.path.join("sweep_runs", str(k))
                if "directory" in params:
                    kw["directory"] = device.project_dir
                t1 = time.perf_counter()
                try:
                    device.run(**kw)
                    arrays = built.collect()
                except Exception as exc:
                    on_result(k, exc, {"sweep.shared_build_s": build_s})
                    continue
                wall = time.perf_counter() - t1
                on_result(k, arrays, {"run_binary_s": wall, "total_s": wall, "sweep.shared_build_s": build_s})
    return build_s


def sweep_network(spec, points: Sequence[Mapping[str, Any]], *, backend: str = "cpp", jobs: int = 1,
                  threads: int | None = None, reuse_builds: bool = True,
                  progress: Callable[[str], None] | None = None) -> list:
    """Run a network at many points; compile once where only parameters change.

    Parameters
    ----------
    spec : NetworkSpec or callable
        The base network, with each point applied by :func:`apply_spec_overrides`
        (keys such as ``"projections.syn.A_plus"``, ``"populations.post.tau_e"``,
        ``"populations.post.size"``), or a function ``point -> NetworkSpec``.
    points : list of dict
        One mapping ``key path -> value`` per point (values as in spec objects:
        numbers, quantities or strings such as ``"20 ms"``).
    backend : ``"numpy"``, ``"cython"``, ``"cpp"`` or ``"cuda"``
    jobs : int
        Standalone runs of one shared binary that may run at the same time.
    reuse_builds : bool
        ``False`` builds every point on its own (for comparisons).

    Returns
    -------
    list of :class:`~bioplaus.simulation.SimResult`, in the order of ``points``.
    ``compiler_flags["sweep.mode"]`` says how each point ran: ``"run_args"`` (a
    shared build rerun with this point's parameter values), ``"build"`` (its own
    standalone build) or ``"runtime"`` (numpy/cython). On a standalone backend,
    points whose networks differ only in the values of ``(shared, constant)``
    parameters share one build (see :func:`analyse_network`); any other change
    (a size, connectivity, initial weights, seed) gets its own build.
    """
    from ..backends import _validate
    from ..simulation import SimResult, simulate
    from ..spec.network import NetworkSpec

    _validate(backend)
    log = progress or _quiet
    specs = []
    for k, p in enumerate(points):
        s = spec(dict(p)) if callable(spec) and not isinstance(spec, NetworkSpec) else apply_spec_overrides(spec, p)
        if not isinstance(s, NetworkSpec):
            raise ConfigError("spec", s, f"a NetworkSpec from the spec factory (point {k})")
        specs.append(s)
    results: list[Any] = [None] * len(specs)

    def plain(k: int, mode: str) -> None:
        r = simulate(specs[k], backend, threads=threads)
        r.compiler_flags["sweep.mode"] = mode
        results[k] = r

    if backend not in STANDALONE or not reuse_builds:
        for k in range(len(specs)):
            plain(k, "runtime" if backend not in STANDALONE else "build")
        return results
    analyses = [analyse_network(s) for s in specs]
    for g, group in enumerate(plan_network_sweep(analyses)):
        if len(group.members) == 1:
            log(f"point {group.members[0]}: own build (network structure differs from the other points)")
            plain(group.members[0], "build")
            continue
        members = group.members
        log(f"points {members}: one build, {len(members)} runs with run_args "
            f"(varying: {', '.join(varying_params([analyses[m] for m in members])) or 'nothing'})")
        errors: list[tuple[int, BaseException]] = []

        def on_result(k: int, arrays: Any, timings: dict, members=members, g=g) -> None:
            m = members[k]
            if isinstance(arrays, BaseException):
                errors.append((m, arrays))
                return
            results[m] = SimResult(spec=specs[m], backend=backend, arrays=arrays, timings=timings,
                                   compiler_flags={"backend": backend, "sweep.mode": "run_args",
                                                   "sweep.group": g})

        run_shared_build(specs[members[0]], [analyses[m].params for m in members], backend=backend,
                          threads=threads, jobs=jobs, on_result=on_result)
        if errors:
            m, exc = errors[0]
            raise BioplausError(f"sweep point {m} failed: {exc}") from exc
    return results
