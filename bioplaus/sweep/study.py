"""The study: run a :class:`~bioplaus.sweep.points.Sweep` into a directory, resumably.

``DIR/sweep.toml`` records the study, ``DIR/points/<id>/`` holds each point's results
directory with its marker written last, and ``DIR/results.csv`` is rebuilt from the
markers as points finish (:mod:`bioplaus.sweep.table`). The points are planned into
tasks (:mod:`bioplaus.sweep.tasks`) and run in this process, in worker processes or on
Dask (:mod:`bioplaus.sweep.executors`).
"""
from __future__ import annotations

import os
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from ..results import dumps_toml, ensure_dir, write_toml
from .executors import run_dask, run_processes
from .points import Sweep
from .table import read_records, write_results_table
from .tasks import execute_task, plan_tasks

__all__ = ["SweepReport", "run_sweep"]


@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    out: Path
    total: int
    ran: int
    skipped: int
    counts: dict[str, int]
    modes: dict[str, int]
    plan: list[str]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.counts.get("failed", 0) == 0 and not self.interrupted


def run_sweep(sweep: Sweep, out: str | os.PathLike, *, jobs: int = 1, in_process: bool = False,
              resume: bool = False, retry_failed: bool = False, scheduler: str | None = None, dask: bool = False,
              reuse_builds: bool = True, progress: Callable[[str], None] | None = None, callbacks: Any = None,
              overwrite: bool = False) -> SweepReport:
    """Run ``sweep``'s points into ``out`` and keep ``out/results.csv`` up to date.

    Parameters
    ----------
    jobs : int
        Worker processes (``concurrent.futures.ProcessPoolExecutor``, forkserver
        context: each process has its own Brian2 state); on a standalone backend
        also the number of runs of one shared binary at a time.
    in_process : bool
        Run the points in this process (no protection against a point that kills
        its process; for debugging and tests).
    resume : bool
        ``out`` holds this study already: run only the points without a finished
        marker. Refused (:class:`ConfigError`) when ``out`` holds another study.
        Without ``resume`` an existing study in ``out`` is refused too.
    retry_failed : bool
        With ``resume``: run the points recorded as failed again.
    scheduler, dask : str, bool
        Run the points on the Dask cluster at ``scheduler`` (``tcp://host:port``),
        or on a local Dask cluster of ``jobs`` worker processes (``dask=True``).
        Results come back to this process, so workers need no shared file system.
    reuse_builds : bool
        ``False``: every point builds its own binary even where run_args would do.
    overwrite : bool
        ``out`` may hold an earlier study or results: remove them first.

    ``out`` is locked while the study runs (:class:`~bioplaus.results.output_lock`): a
    second process writing the same directory (two ``--resume`` of one study) is refused.
    A point that raises is recorded as ``failed`` with its error and the study goes
    on; so is a point whose worker process dies. ``KeyboardInterrupt`` stops the
    study, keeping every finished point (``--resume`` runs the rest).
    """
    from ..progress import line as _line

    log = progress or _line  # one line per finished point; nothing under --quiet
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError("--jobs", jobs, "an integer >= 1")
    if scheduler is not None and dask:
        raise ConfigError("--scheduler", scheduler, "either --scheduler ADDRESS or --dask, not both")
    use_dask = scheduler is not None or dask
    if use_dask and in_process:
        raise ConfigError("--in-process", True, "no Dask options (points run on the cluster)")
    if not use_dask:  # a missing compiler or GPU is bad input here (Dask workers may have what this machine lacks)
        from ..backends import check_backend

        check_backend(sweep.backend)
    if overwrite and resume:
        raise ConfigError("--overwrite", True, "either --overwrite or --resume, not both")
    out = Path(out)
    from ..results import output_lock, prepare_output

    with output_lock(out):
        if overwrite:
            prepare_output(out, overwrite=True)
        return _run_sweep_locked(sweep, out, jobs=jobs, in_process=in_process, resume=resume,
                                 retry_failed=retry_failed, scheduler=scheduler, dask=dask, use_dask=use_dask,
                                 reuse_builds=reuse_builds, log=log, callbacks=callbacks)


def _run_sweep_locked(sweep: Sweep, out: Path, *, jobs: int, in_process: bool, resume: bool, retry_failed: bool,
                      scheduler: str | None, dask: bool, use_dask: bool, reuse_builds: bool,
                      log: Callable[[str], None], callbacks: Any = None) -> SweepReport:
    from ..results import _entries

    if (out / "sweep.toml").exists():
        if not resume:
            raise ConfigError("--out", str(out), "a directory without a sweep (it holds one already: add --resume "
                              "to run its missing points, --overwrite to start again, or choose another --out)")
        _check_same_study(out, sweep)
    elif out.exists() and _entries(out):
        raise ConfigError("--out", str(out), "a new or empty directory, or one that holds this sweep "
                          "(add --overwrite to replace what it holds)")
    out = ensure_dir(out)
    if not (out / "sweep.toml").exists() or "columns" not in tomllib.loads((out / "sweep.toml").read_text()):
        write_toml(out / "sweep.toml", sweep.to_dict())  # new, or written before results.csv named its columns
    records = read_records(out, sweep)
    todo = [p for p in sweep.points if p.id not in records
            or (retry_failed and records[p.id].get("status") == "failed")]
    write_results_table(out, sweep, records)
    skipped = len(sweep.points) - len(todo)
    report = SweepReport(out=out, total=len(sweep.points), ran=0, skipped=skipped, counts={}, modes={}, plan=[])
    if skipped:
        log(f"bioplaus: sweep: {skipped} of {len(sweep.points)} points finished already; running {len(todo)}")
    if not todo:
        report.counts = dict(Counter(r.get("status", "") for r in records.values()))
        return report
    tasks, plan = plan_tasks(sweep, todo, reuse_builds=reuse_builds, jobs=jobs,
                        out_root=None if use_dask else str(out), log=log)
    report.plan = plan
    for line in plan:
        log(f"bioplaus: sweep: {line}")
    done = [0]
    last_write = [time.monotonic()]
    started = time.monotonic()
    from .. import progress as _progress
    from ..tracking import dispatch, resolve

    trackers = resolve(callbacks)  # experiment tracking: each finished point's metrics rows
    dispatch(trackers, "on_start", "sweep", sweep.experiment, sweep.to_dict(), out)

    def record(rec: dict) -> None:
        records[rec["id"]] = rec
        report.ran += 1
        report.modes[rec.get("mode", "")] = report.modes.get(rec.get("mode", ""), 0) + 1
        done[0] += 1
        # the table is rebuilt from the markers: at most once a second while points finish (a big study
        # would otherwise rewrite it once per point), and always at the end
        if len(todo) <= 200 or time.monotonic() - last_write[0] > 1.0 or done[0] == len(todo):
            write_results_table(out, sweep, records)
            last_write[0] = time.monotonic()
        p = sweep.points[rec["index"]]
        msg = f"[{done[0]}/{len(todo)}] {p.id} {rec['status']} ({rec.get('wall_time_s', 0.0):.1f} s, " \
              f"{rec.get('mode')}) {p.label()}"
        if rec.get("error"):
            msg += f": {rec['error'][:200]}"
        if done[0] < len(todo):
            eta = (time.monotonic() - started) / done[0] * (len(todo) - done[0])
            msg += f" (ETA {_progress.fmt_seconds(eta)})"
        log(f"bioplaus: sweep: {msg}")
        if trackers:
            _track_point(trackers, out / "points" / p.id, p.id, rec)

    try:
        if use_dask:
            run_dask(tasks, out, scheduler, jobs, record)
        elif in_process:
            for t in tasks:
                for rec in execute_task(t):
                    record(rec)
        else:
            run_processes(tasks, out, jobs, record, log)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        write_results_table(out, sweep, records)
        report.counts = dict(Counter(r.get("status", "") for r in records.values()))
        dispatch(trackers, "on_end", "interrupted" if report.interrupted else "ok")
    return report


def _track_point(trackers: list, point_dir: Path, point_id: str, rec: dict) -> None:
    """A finished point's per-epoch rows (its metrics.csv) and final metrics to the tracking callbacks."""
    from ..results import read_csv
    from ..tracking import dispatch, numeric

    rows = read_csv(point_dir / "metrics.csv") if (point_dir / "metrics.csv").is_file() else []
    for i, row in enumerate(rows):
        step = numeric({"e": row.get("epoch", i)}, skip=()).get("e", i)
        dispatch(trackers, "on_epoch", point_id, int(step), numeric(row))
    if rec.get("metrics"):
        dispatch(trackers, "on_epoch", f"{point_id}/final", 0, numeric(rec["metrics"]))


def _normalise(d: Mapping[str, Any]) -> dict[str, Any]:
    return tomllib.loads(dumps_toml(d))


def _check_same_study(out: Path, sweep: Sweep) -> None:
    try:
        old = tomllib.loads((out / "sweep.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--resume", str(out), f"a directory with a readable sweep.toml ({exc})") from None
    new = _normalise(sweep.to_dict())
    for key in ("experiment", "fingerprint", "backend", "grid", "random", "samples", "sample_seed", "seeds", "set"):
        if old.get(key) != new.get(key):
            what = "model" if key in ("experiment", "fingerprint", "set") else key
            raise ConfigError("--resume", str(out), f"a sweep of the same model and points: its {what} differs "
                              f"({key} was {old.get(key)!r}, now {new.get(key)!r}); use another --out")
