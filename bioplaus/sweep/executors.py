"""Executors: where a study's tasks run (worker processes, or a Dask cluster) and what happens when one dies.

Local worker processes come from a ``forkserver`` that imported Brian2 once; each
worker exits, with the binaries and compilers it started, as soon as the sweep
process that started it is gone. On Dask the points' files come back to this process
(workers need no shared file system) and are written here, marker last.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Callable

from ..errors import BackendUnavailable, BioplausError, ConfigError
from ..results import atomic_write_bytes, write_json
from .table import MARKER
from .tasks import Task, execute_task, failed_record, single, task_mode

__all__ = ["run_processes", "run_dask", "parent_gone", "die_with_parent"]


def mark_failed(out: Path, p: dict, mode: str, error: str) -> dict:
    """Write (and return) the failed record of point ``p`` into its directory."""
    rec = failed_record(p, mode, error)
    write_json(out / "points" / p["id"] / MARKER, rec)
    return rec


def _was_started(out: Path, p: dict) -> bool:
    prov = out / "points" / p["id"] / "provenance.json"
    return prov.exists() and not (out / "points" / p["id"] / MARKER).exists()


def _write_staged(out: Path, rec: dict) -> dict:
    files = rec.pop("files", {}) or {}
    d = out / "points" / rec["id"]
    if d.exists():
        shutil.rmtree(d)
    for rel, data in files.items():
        if rel == MARKER:
            continue
        atomic_write_bytes(d / rel, data)
    write_json(d / MARKER, rec)
    return rec


def _process_pool(jobs: int) -> cf.ProcessPoolExecutor:
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # workers fork from a server that has imported Brian2 once (each spawned worker would pay that)
        ctx.set_forkserver_preload(["brian2", "bioplaus.sweep", "bioplaus.runner", "bioplaus.experiments.zoo"])
    else:  # pragma: no cover - Windows
        ctx = mp.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(os.getpid(),))


# --------------------------------------------------------------------------- worker processes and their parent

_PARENT: list[int] = []


def _process_dead(pid: int) -> bool:
    """``pid`` has exited (gone, or a zombie nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
        return state in ("Z", "X", "x")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False


def _descendants(root: int) -> list[int]:
    """Process ids below ``root`` (Linux ``/proc``; empty elsewhere), children first."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def parent_gone() -> bool:
    return bool(_PARENT) and _process_dead(_PARENT[0])


def die_with_parent() -> None:
    """End this worker and everything it started (a standalone binary, a compiler), at once."""
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(1)


def _watch_parent(interval: float = 0.2) -> None:
    while True:
        time.sleep(interval)
        if parent_gone():
            die_with_parent()


def _worker_init(parent: int) -> None:
    """Set up a sweep worker process: Ctrl-C interrupts its point (:mod:`bioplaus.interrupts`), and it
    exits, with its own child processes, as soon as the sweep process that started it is gone."""
    import threading

    from .. import interrupts

    _PARENT[:] = [parent]
    interrupts.install()
    threading.Thread(target=_watch_parent, name="bioplaus-parent-watch", daemon=True).start()


def _dask_client(scheduler: str | None, jobs: int):
    try:
        import distributed
    except ImportError as exc:
        raise BackendUnavailable("dask", f"dask.distributed is not installed ({exc.name or exc}); "
                                 "pip install 'bioplaus[dask]'") from None
    if scheduler is not None:
        if not re.match(r"^[a-z][a-z0-9+]*://\S+$", scheduler):
            raise ConfigError("--scheduler", scheduler, "a scheduler address such as tcp://host:8786")
        try:
            return distributed.Client(scheduler, timeout="15s"), None
        except (OSError, TimeoutError) as exc:
            raise BioplausError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = distributed.LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    return distributed.Client(cluster), cluster


def _preload_worker_modules() -> None:
    """Import Brian2 and the experiments on a Dask worker's main thread.

    ``import brian2`` installs a SIGINT handler, which only the main thread may do;
    Dask runs tasks in other threads, so the import has to happen before them.
    """
    import brian2  # noqa: F401

    from ..experiments.base import _load_builtin

    _load_builtin()


def _register_worker_setup(client) -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    class _BioplausWorkerSetup(WorkerPlugin):
        name = "bioplaus-sweep-setup"

        def setup(self, worker):  # runs in the worker's event loop (its main thread), also for new workers
            _preload_worker_modules()

    plugin = _BioplausWorkerSetup()
    if hasattr(client, "register_plugin"):
        client.register_plugin(plugin)
    else:  # pragma: no cover - distributed < 2023.9
        client.register_worker_plugin(plugin)


def run_processes(tasks: list[Task], out: Path, jobs: int, record: Callable[[dict], None],
                   log: Callable[[str], None]) -> None:
    """Run tasks in worker processes; a worker that dies fails only the point it was running.

    When a worker dies, the pool is broken for every task in it. The points that had
    started (their directory has provenance.json but no marker) are suspects: with one
    worker the suspect is the culprit and is recorded as failed; with several, each
    suspect runs again alone and is recorded as failed if its worker dies again. Points
    that had not started are resubmitted.
    """
    def unfinished(points: list[dict]) -> list[dict]:
        return [p for p in points if not (out / "points" / p["id"] / MARKER).exists()]

    pending = list(tasks)
    isolate: list[Task] = []
    while pending or isolate:
        if pending:
            batch, workers = pending, min(jobs, len(pending))
            pending = []
        else:
            batch, workers = [isolate.pop(0)], 1
        pool = _process_pool(workers)
        broken = False
        try:
            futs = {pool.submit(execute_task, t): t for t in batch}
            for fut in cf.as_completed(futs):
                t = futs[fut]
                try:
                    recs = fut.result()
                except cf.process.BrokenProcessPool as exc:
                    broken = True
                    left = unfinished(t.points)
                    started = [p for p in left if _was_started(out, p)]
                    if workers == 1:
                        culprits = started[:1] or (left if len(left) == 1 else [])
                        for p in culprits:
                            record(mark_failed(out, p, task_mode(t),
                                                f"worker process died while running this point ({exc})"))
                        rest = [p for p in left if p not in culprits]
                        if culprits:
                            pending.extend(single(t, p) for p in rest)
                        else:
                            isolate.extend(single(t, p) for p in rest)
                    elif started:
                        for p in left:
                            (isolate if p in started else pending).append(single(t, p))
                    elif left:
                        pending.append(dataclasses.replace(t, points=left))
                    continue
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # the task failed outside its points (e.g. while planning a build)
                    for p in unfinished(t.points):
                        record(mark_failed(out, p, task_mode(t), f"{type(exc).__name__}: {exc}"))
                    continue
                for rec in recs:
                    record(rec)
        except KeyboardInterrupt:
            _terminate(pool)
            raise
        finally:
            if broken:
                _terminate(pool)
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            log("bioplaus: sweep: a worker process died; the point it was running is recorded as failed")


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """End the worker processes this pool started (by their process ids)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass


def run_dask(tasks: list[Task], out: Path, scheduler: str | None, jobs: int,
              record: Callable[[dict], None]) -> None:
    client, cluster = _dask_client(scheduler, jobs)
    try:
        import distributed

        _register_worker_setup(client)

        futs = {}
        for t in tasks:
            t = dataclasses.replace(t, jobs=1)
            f = client.submit(execute_task, t, pure=False)
            futs[f] = t
        for fut in distributed.as_completed(list(futs)):
            t = futs[fut]
            try:
                recs = fut.result()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # e.g. KilledWorker: the worker died running it
                for p in t.points:
                    if not (out / "points" / p["id"] / MARKER).exists():
                        record(mark_failed(out, p, task_mode(t), f"Dask task failed: {type(exc).__name__}: {exc}"))
                continue
            for rec in recs:
                record(_write_staged(out, rec))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
