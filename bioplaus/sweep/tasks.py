"""Tasks: a study's points planned into units of work, and how one unit runs in whatever process.

A task is one point, or a group of points that share one standalone build. Planning
asks each point's experiment for its network through the explicit seam
:meth:`~bioplaus.experiments.base.Experiment.network` (:func:`network_of`); on ``cpp``
and ``cuda`` the points whose networks differ only in ``(shared, constant)`` parameter
values form a group (:mod:`bioplaus.sweep.analysis`). A group builds once
(:func:`~bioplaus.sweep.builds.run_shared_build`) and runs each point's experiment with
a :class:`SharedBuildRun` as the simulator of its
:class:`~bioplaus.experiments.base.RunContext`: the experiment's ``ctx.simulate(spec)``
returns the run of the shared binary made with that point's values. A point whose
experiment has no ``network`` (or gives ``None``) runs on its own, and the plan says why.
"""
from __future__ import annotations

import dataclasses
import importlib
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import BioplausError
from ..results import write_json
from .analysis import NetworkAnalysis, analyse_network, spec_digest, varying_params
from .builds import STANDALONE, run_shared_build
from .table import MARKER

__all__ = ["network_of", "SharedBuildRun", "plan_tasks", "execute_task"]


def _quiet(_msg: str) -> None:
    pass


# --------------------------------------------------------------------------- the seam

def network_of(cfg) -> tuple[Any, str]:
    """``(spec, "")``: the :class:`~bioplaus.spec.network.NetworkSpec` that ``cfg``'s experiment
    simulates, from its :meth:`~bioplaus.experiments.base.Experiment.network`; or ``(None, why)``
    when it gives none (no ``network`` method, ``None`` for these parameters, or an error)."""
    from ..experiments.base import Experiment, RunContext, experiment_class
    from ..spec.network import NetworkSpec

    cls = experiment_class(cfg.experiment)
    name = getattr(cls, "name", "") or cls.__name__
    if cls.network is Experiment.network:
        return None, f"experiment {name!r} does not define network() (the one network its run simulates)"
    ctx = RunContext(backend=cfg.backend, seed=cfg.seed, out=None, threads=cfg.threads, data_dir=cfg.data_dir,
                     progress=_quiet)
    try:
        spec = cls().network(cfg.params, ctx)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # the point's own run reports it in full
        return None, f"network() of experiment {name!r} raised {type(exc).__name__}: {exc}"
    if spec is None:
        return None, f"network() of experiment {name!r} returned None for these parameters"
    if not isinstance(spec, NetworkSpec):
        return None, f"network() of experiment {name!r} returned a {type(spec).__name__}, not a NetworkSpec"
    return spec, ""


class SharedBuildRun:
    """The simulator of one point in a shared build (``RunContext(simulator=...)``).

    Called like :func:`bioplaus.simulation.simulate`, it returns the arrays of this point's
    run of the shared binary as a :class:`~bioplaus.simulation.SimResult`, after the same
    divergence check and read-out evaluation as ``simulate``. It serves one call, with the
    network the point's ``Experiment.network`` gave (compared by :func:`spec_digest`); any
    other call breaks the promise of ``network`` and raises :class:`BioplausError`, which
    fails the point with that message (``--no-reuse`` runs such an experiment point by point).
    """

    def __init__(self, digest: str, backend: str, arrays: Mapping[str, np.ndarray], timings: Mapping[str, float],
                 compiler_flags: Mapping[str, Any], experiment: str = ""):
        self.digest, self.backend, self.experiment = digest, backend, experiment
        self.arrays, self.timings, self.compiler_flags = dict(arrays), dict(timings), dict(compiler_flags)
        self.used = False

    def _broken(self, what: str) -> BioplausError:
        return BioplausError(f"experiment {self.experiment!r}: {what}, but a shared build runs the network its "
                             "network() returned, once; make run() simulate exactly that network through "
                             "ctx.simulate, or sweep with --no-reuse")

    def __call__(self, spec, backend: str = "numpy", *, duration: Any = None, threads: int | None = None,
                 check_divergence: bool = True, weight_limit: float | None = None,
                 initial_state: Any = None, **_ignored: Any):
        from ..readout import evaluate_readout
        from ..simulation import WEIGHT_LIMIT, SimResult, _divergence
        from ..spec.params import quantity

        if duration is not None:
            spec = spec.replace(duration=quantity("simulate", "duration", duration, spec.duration, positive=True))
        if self.used:
            raise self._broken("run() simulated a second network")
        if backend != self.backend:
            raise self._broken(f"run() simulated on backend {backend!r} instead of {self.backend!r}")
        if initial_state is not None:
            raise self._broken("run() simulated from an initial state")
        if spec_digest(spec) != self.digest:
            raise self._broken(f"run() simulated another network ({getattr(spec, 'name', '?')!r}) than network() "
                               "returned")
        self.used = True
        if check_divergence:
            bad = _divergence(self.arrays, spec, WEIGHT_LIMIT if weight_limit is None else weight_limit)
            if bad is not None:
                from ..errors import DivergedError

                raise DivergedError(bad[0], bad[1], f"{spec.name} on {backend}")
        readouts = {r.name: evaluate_readout(r, spec, self.arrays) for r in spec.readouts}
        return SimResult(spec=spec, backend=backend, arrays=self.arrays, timings=self.timings,
                         compiler_flags=self.compiler_flags, readouts=readouts)


# --------------------------------------------------------------------------- running one point

def _classify(status: str) -> tuple[str, str]:
    if status == "ok":
        return "ok", ""
    if status.startswith("diverged"):
        return "diverged", status
    return "failed", status


def _metrics(info: Mapping[str, Any]) -> dict[str, float]:
    """The scalar numbers of an experiment's ``info`` (timings, keys ending in ``_s``, left out)."""
    out = {}
    for k, v in info.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            continue
        if k.endswith("_s") or "." in k:
            continue
        out[k] = float(v) if isinstance(v, (float, np.floating)) else int(v)
    return out


def failed_record(p: dict, mode: str, error: str) -> dict:
    return {"id": p["id"], "index": p["index"], "values": p["values"], "seed": p["seed"], "mode": mode,
            "status": "failed", "error": error[:2000], "metrics": {}, "wall_time_s": 0.0}


def run_point(cfg, point: dict, out_dir: Path, mode: str, extra: dict | None = None, write_marker: bool = True,
              simulator: Callable[..., Any] | None = None) -> dict:
    """Run one point through run_model into ``out_dir``; returns (and writes last) its record."""
    from ..runner import run_model

    if out_dir.exists():
        shutil.rmtree(out_dir)  # a stale, unfinished attempt (finished points are never rerun)
    record = {"id": point["id"], "index": point["index"], "values": point["values"], "seed": point["seed"],
              "mode": mode, "status": "failed", "error": "", "metrics": {}, **(extra or {})}
    t0 = time.perf_counter()
    try:
        result = run_model(cfg, out_dir, progress=_quiet, simulator=simulator)
        record["status"], record["error"] = _classify(result.status)
        record["metrics"] = _metrics(result.info)
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["wall_time_s"] = time.perf_counter() - t0 + float((extra or {}).get("run_binary_s", 0.0))
    if write_marker:
        write_json(out_dir / MARKER, record)
    return record


@dataclass
class Task:
    """Plain data sent to a worker process or a Dask worker: one point, or a group sharing a build."""

    model: str
    overrides: list[tuple[str, Any]]
    backend: str
    points: list[dict]
    out_root: str | None              # write point directories there; None: return their files
    experiment_module: str
    mode: str = "single"              # "single" | "group"
    params: list[dict] | None = None  # group: run_args values per point
    digests: list[str] | None = None  # group: spec digest per point
    structure: str = ""
    jobs: int = 1


def _task_config(task: Task, p: dict):
    from ..config import load_model

    return load_model(task.model, [*task.overrides, *[(k, v) for k, v in p["values"].items()]],
                      backend=task.backend, seed=p["seed"])


def _collect_files(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def execute_task(task: Task) -> list[dict]:
    """Run a task's points (in whatever process this is); returns one record per point.

    With ``task.out_root`` the point directories (and their markers) are written
    there; otherwise each record carries ``files`` (relative path -> bytes) for
    the caller to write (Dask workers need not share a file system with the client).
    """
    from .executors import die_with_parent, parent_gone

    if task.experiment_module not in sys.modules:
        try:
            importlib.import_module(task.experiment_module)
        except ImportError:
            pass
    staging = None
    if task.out_root is None:
        staging = Path(tempfile.mkdtemp(prefix="bioplaus_sweep_"))
    root = Path(task.out_root) if task.out_root is not None else staging
    records: list[dict] = []
    from ..progress import nested

    inner_quiet = nested()  # the sweep reports per point; compile steps inside stay silent
    inner_quiet.__enter__()

    def finish(rec: dict, p: dict) -> None:
        if staging is not None:
            d = staging / "points" / p["id"]
            rec["files"] = _collect_files(d) if d.exists() else {}
            shutil.rmtree(d, ignore_errors=True)
        records.append(rec)

    def point_dir(p: dict) -> Path:
        return root / "points" / p["id"]

    try:
        if task.mode == "group":
            leftovers = _execute_group(task, point_dir, finish)
        else:
            leftovers = task.points
        mode = "build" if task.backend in STANDALONE else "runtime"
        for p in leftovers:
            if parent_gone():  # the sweep is gone: start nothing new
                die_with_parent()
            cfg = _task_config(task, p)
            rec = run_point(cfg, p, point_dir(p), mode, write_marker=staging is None)
            finish(rec, p)
    finally:
        inner_quiet.__exit__(None, None, None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return records


def _execute_group(task: Task, point_dir: Callable[[dict], Path], finish: Callable[[dict, dict], None]) -> list[dict]:
    """One build for the group's points, one binary run each; returns the points left to run on their own."""
    cfgs = [_task_config(task, p) for p in task.points]
    base, _why = network_of(cfgs[0])
    if base is None or spec_digest(base) != task.digests[0]:
        return list(task.points)  # this process got another network than the plan: run each point on its own
    finished: set[str] = set()
    write_marker = task.out_root is not None
    build_key = f"{task.structure[:8]}-s{base.seed}"

    def on_result(k: int, arrays: Any, timings: dict) -> None:
        p = task.points[k]
        extra = {"build": build_key, "shared_build_s": timings.get("sweep.shared_build_s"),
                 "run_binary_s": timings.get("run_binary_s", 0.0)}
        if isinstance(arrays, BaseException):
            d = point_dir(p)
            if d.exists():
                shutil.rmtree(d)
            rec = {**failed_record(p, "run_args", f"{type(arrays).__name__}: {arrays}"), **extra}
            if write_marker:
                write_json(d / MARKER, rec)
        else:
            sim = SharedBuildRun(task.digests[k], task.backend, arrays, timings,
                                 {"backend": task.backend, "sweep.mode": "run_args", "sweep.build": build_key},
                                 experiment=cfgs[k].experiment)
            rec = run_point(cfgs[k], p, point_dir(p), "run_args", extra, write_marker=write_marker, simulator=sim)
        finished.add(p["id"])
        finish(rec, p)

    try:
        run_shared_build(base, task.params, backend=task.backend, threads=cfgs[0].threads, jobs=task.jobs,
                         on_result=on_result)
    except Exception as exc:  # the shared build itself failed (e.g. compilation): its points fail with it
        msg = f"shared build failed: {type(exc).__name__}: {exc}"
        for p in task.points:
            if p["id"] in finished:
                continue
            rec = {**failed_record(p, "run_args", msg), "build": build_key}
            if write_marker:
                write_json(point_dir(p) / MARKER, rec)
            finish(rec, p)
    return []


# --------------------------------------------------------------------------- planning

def _point_dict(p) -> dict:
    return {"id": p.id, "index": p.index, "values": dict(p.values), "seed": p.seed}


def plan_tasks(sweep, todo: list, *, reuse_builds: bool, jobs: int, out_root: str | None,
               log: Callable[[str], None]) -> tuple[list[Task], list[str]]:
    """The tasks that run ``todo`` (points of ``sweep``) and the plan's lines for the log."""
    from ..experiments.base import experiment_class

    module = experiment_class(sweep.experiment).__module__
    threads = [("threads", sweep.threads)] if sweep.threads is not None else []
    base = dict(model=sweep.model, overrides=[*sweep.overrides, *threads], backend=sweep.backend, out_root=out_root,
                experiment_module=module)
    lines: list[str] = []
    if sweep.backend not in STANDALONE:
        lines.append(f"backend {sweep.backend}: every point runs through run_model (no per-point compilation"
                     + (": Cython reuses its cached code objects" if sweep.backend == "cython" else "") + ")")
        return [Task(points=[_point_dict(p)], **base) for p in todo], lines
    if not reuse_builds:
        lines.append(f"backend {sweep.backend}: every point builds its own binary (builds not reused)")
        return [Task(points=[_point_dict(p)], **base) for p in todo], lines
    log(f"bioplaus: sweep: analysing the networks of {len(todo)} points (numpy runtime, nothing compiled)")
    groups: dict[str, list[tuple[Any, NetworkAnalysis]]] = {}
    singles: list = []
    reasons: Counter = Counter()
    for p in todo:
        spec, why = network_of(sweep.config(p))
        if spec is not None:
            try:
                analysis = analyse_network(spec)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # the point's own run will report why its network does not build
                spec, why = None, f"its network does not build ({type(exc).__name__}: {exc})"
        if spec is None:
            singles.append(p)
            reasons[why] += 1
        else:
            groups.setdefault(analysis.structure, []).append((p, analysis))
    tasks: list[Task] = []
    n_builds = 0
    for structure, members in groups.items():
        if len(members) == 1:
            singles.append(members[0][0])
            reasons["its network structure is unique in this study"] += 1
            continue
        n_builds += 1
        an = [a for _, a in members]
        vary = varying_params(an)
        lines.append(f"compile once, run many: {len(members)} points share one {sweep.backend} build "
                     f"(seed {members[0][0].seed}), each run with run_args "
                     f"[{', '.join(vary) if vary else 'same values'}]")
        tasks.append(Task(points=[_point_dict(p) for p, _ in members], mode="group",
                          params=[a.params for a in an], digests=[a.digest for a in an], structure=structure,
                          jobs=max(1, jobs), **base))
    if singles:
        why = "; ".join(f"{n} point{'s' if n != 1 else ''}: {r}" for r, n in reasons.items())
        lines.append(f"own build per point: {len(singles)} point{'s' if len(singles) != 1 else ''}, no shared build "
                     f"({why})")
        singles.sort(key=lambda p: p.index)
        tasks.extend(Task(points=[_point_dict(p)], **base) for p in singles)
    nb = n_builds + len(singles)
    lines.insert(0, f"backend {sweep.backend}: {nb} build{'s' if nb != 1 else ''} for {len(todo)} points")
    tasks.sort(key=lambda t: t.points[0]["index"])
    return tasks, lines


def single(t: Task, p: dict) -> Task:
    """One point of ``t`` as a task of its own (no shared build)."""
    return dataclasses.replace(t, points=[p], mode="single", params=None, digests=None)


def task_mode(t: Task) -> str:
    if t.mode == "group":
        return "run_args"
    return "build" if t.backend in STANDALONE else "runtime"
