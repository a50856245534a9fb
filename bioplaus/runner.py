"""Run a model file's experiment and write its results directory.

The resolved configuration and provenance are written before the run starts,
and every other file as soon as it exists, each atomically, so an interrupted or
failed run still leaves a readable, traceable directory.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import ModelConfig
from .errors import BioplausError, DivergedError
from .experiments.base import ExperimentResult, RunContext, experiment_class
from .results import atomic_write_text, ensure_dir, provenance, write_csv, write_json, write_npz, write_toml

__all__ = ["run_model", "save_figures"]


def save_figures(figures: dict[str, Any], out: Path) -> list[str]:
    """Save matplotlib figures as ``out/figures/<name>.png`` (atomically) and close them."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .results import atomic_write_bytes

    written = []
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        atomic_write_bytes(out / "figures" / f"{name}.png", buf.getvalue())
        plt.close(fig)
        written.append(f"figures/{name}.png")
    return written


def _compiler_flags(backend: str, threads: int | None) -> dict[str, Any]:
    """Code-generation settings a result depends on (Brian2 preferences in force)."""
    from brian2 import prefs

    flags: dict[str, Any] = {"backend": backend, "codegen.target": prefs.codegen.target,
                             "extra_compile_args_gcc": list(prefs.codegen.cpp.extra_compile_args_gcc)}
    if backend in ("cpp", "cuda"):
        flags["openmp_threads"] = int(threads or 0)
    return flags


def run_model(config: ModelConfig, out: str | Path, *, progress: Callable[[str], None] | None = None,
              checkpoint_every: int | None = None, callbacks: Any = None,
              simulator: Callable[..., Any] | None = None) -> ExperimentResult:
    """Run ``config``'s experiment and write ``out/`` (config.toml, metrics.csv, summary.md, arrays.npz,
    figures/, provenance.json). Raises :class:`BioplausError` on bad input; a diverged run is
    recorded with its status rather than raised.

    Checked before anything is built: the memory the experiment's sizes need
    (:func:`bioplaus.footprint.check_params`) and that ``out`` and ``out/figures``
    are writable. A Ctrl-C raises :class:`KeyboardInterrupt` at once (never a
    shortened Brian2 run, :mod:`bioplaus.interrupts`) and leaves provenance status
    ``interrupted``. ``simulator``: what the experiment's ``ctx.simulate`` calls
    (:class:`~bioplaus.experiments.base.RunContext`; default :func:`bioplaus.simulation.simulate`).
    """
    from . import interrupts
    from .footprint import check_params
    from .results import check_writable

    check_params(config.params, source=config.source)
    out = ensure_dir(out)
    check_writable(out)
    if (out / "figures").exists() or (out / "figures").is_symlink():
        check_writable(out / "figures")
    cls = experiment_class(config.experiment)
    write_toml(out / "config.toml", config.to_dict())
    prov = provenance(seed=config.seed, backend=config.backend, experiment=config.experiment,
                      model_file=config.source, status="running")
    write_json(out / "provenance.json", prov)
    ctx = RunContext(backend=config.backend, seed=config.seed, out=out, threads=config.threads,
                     data_dir=config.data_dir, simulator=simulator, **({"progress": progress} if progress else {}))
    t0 = time.perf_counter()

    def finish(status: str, **extra: Any) -> None:
        # a second Ctrl-C while this small file is written is held back: never left at "running"
        with interrupts.deferred():
            prov.update(status=status, wall_time_s=time.perf_counter() - t0, **extra)
            write_json(out / "provenance.json", prov)

    with interrupts.guard():
        try:
            try:
                result = cls().run(config.params, ctx)
            except DivergedError as exc:
                result = ExperimentResult(status=f"diverged at {exc.where}", summary=f"**Diverged**: {exc}\n")
            if interrupts.brian2_stopped():  # Brian2's own handler stopped a run early: not a finished run
                raise KeyboardInterrupt
            wall = time.perf_counter() - t0
            result.info.setdefault("compiler_flags", _compiler_flags(config.backend, config.threads))

            if result.rows:
                write_csv(out / "metrics.csv", result.rows)
                from .tracking import report_rows  # experiment tracking (callbacks, --track)

                report_rows(callbacks, "run", config.experiment, result.rows, out, config.to_dict(), result.status)
            if result.arrays:
                write_npz(out / "arrays.npz", {k: np.asarray(v) for k, v in result.arrays.items()})
            figs = save_figures(result.figures, out) if result.figures else []
            header = f"# {config.experiment}: {config.description or cls.description}\n\n" \
                     f"backend `{config.backend}`, seed {config.seed}, status **{result.status}**, " \
                     f"wall time {wall:.1f} s\n\n"
            body = result.summary + ("\n\n" + "\n".join(f"![{Path(f).stem}]({f})" for f in figs) if figs else "")
            atomic_write_text(out / "summary.md", header + body + "\n")
        except KeyboardInterrupt:
            finish("interrupted")
            raise
        except BioplausError:
            finish("failed (bad input)")
            raise
        except BaseException as exc:
            finish(f"failed: {type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=5))
            raise
        with interrupts.deferred():
            prov = provenance(seed=config.seed, backend=config.backend, experiment=config.experiment,
                              model_file=config.source, status=result.status, wall_time_s=wall, **result.info)
            write_json(out / "provenance.json", prov)
    return result
