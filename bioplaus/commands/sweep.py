"""``bioplaus sweep MODEL``: a parameter study over a model file."""
from __future__ import annotations

import argparse
import sys

HELP = "run a parameter study (grid, random samples, seeds) over a model file"

EPILOG = """\
examples:
  bioplaus sweep oja_pca --grid params.eta=5Hz,10Hz,20Hz --seeds 3 --out results/oja-eta
  bioplaus sweep stdp_window --backend cpp --grid params.A_plus=0.005,0.01,0.02 --jobs 2 --out results/aplus
  bioplaus sweep oja_pca --random 'params.eta=1 Hz:50 Hz:log' --samples 8 --dask --jobs 4 --out results/oja-rand
  bioplaus sweep oja_pca --grid params.eta=5Hz,10Hz --out results/oja-eta --resume

Values are TOML data (never evaluated); a value listed twice for one key (10ms,0.01s)
is refused. Each point runs into DIR/points/<point-id>/; DIR/results.csv has one row
per point (swept values, quantities as numbers with the unit in the column name such
as params.tau_plus_ms, seed, status, mode, wall time, the experiment's scalar metrics);
DIR/sweep.toml records the study.
On cpp/cuda, points whose networks (Experiment.network) differ only in (shared,
constant) parameters share one compiled binary and run it with run_args ("mode"
run_args); the plan, with the reason for every point that builds on its own, is
printed before the points run. Exit status: 0 when every point finished ok or
diverged, 1 when a point failed, 2 on bad input, 130 when interrupted.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("model", help="path to a model file, or the name of one in models/ (see 'bioplaus list')")
    p.add_argument("--grid", action="append", default=[], metavar="KEY.PATH=V1,V2,...",
                   help="values of one key (repeat for a cartesian grid), e.g. --grid params.eta=0.5,1.0")
    p.add_argument("--random", action="append", default=[], metavar="KEY.PATH=LOW:HIGH[:log]",
                   help="draw a key uniformly (or log-uniformly) from [LOW, HIGH], e.g. 'params.tau=5 ms:20 ms'")
    p.add_argument("--samples", type=int, default=None, metavar="N", help="number of random samples (with --random)")
    p.add_argument("--sample-seed", type=int, default=None, metavar="S",
                   help="seed of the random samples (default: the model's seed)")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="run every point with K seeds: the model's seed, seed+1, ... (default 1)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="worker processes (and, on cpp, runs of a shared binary at a time); default 1")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="run the points on a Dask cluster (tcp://host:port)")
    where.add_argument("--dask", action="store_true", help="run the points on a local Dask cluster of J workers")
    where.add_argument("--in-process", action="store_true",
                       help="run the points in this process (no worker processes; for debugging)")
    p.add_argument("--resume", action="store_true", help="DIR holds this study: run only its unfinished points")
    p.add_argument("--overwrite", action="store_true", help="DIR may hold an earlier study or results: remove them "
                   "first")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed points again")
    p.add_argument("--backend", choices=("numpy", "cython", "cpp", "cuda"), help="override the model's backend")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="fixed override for every point, e.g. --set params.n_samples=500")
    p.add_argument("--threads", type=int, help="OpenMP threads of the cpp backend")
    p.add_argument("--no-reuse", action="store_true",
                   help="build every point on its own even where run_args would do (for comparisons)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the points, run nothing")
    p.add_argument("--out", required=True, metavar="DIR", help="study directory")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..sweep import expand_sweep, parse_grid, parse_random, run_sweep

    from ..config import precheck_model
    from ..results import prepare_output

    grid = [parse_grid(g) for g in args.grid]
    random = [parse_random(r) for r in args.random]
    if args.samples is not None and not random:
        raise ConfigError("--samples", args.samples, "--random KEY=LOW:HIGH to draw samples of")
    if args.jobs < 1:
        raise ConfigError("--jobs", args.jobs, "an integer >= 1")
    if args.overwrite and args.resume:
        raise ConfigError("--overwrite", True, "either --overwrite or --resume, not both")
    # checks that need no Brian2 first (the model file, --set, DIR)
    precheck_model(args.model, args.overrides, backend=args.backend)
    if not args.dry_run and not args.resume:
        from pathlib import Path

        if not (Path(args.out) / "sweep.toml").exists() or args.overwrite:
            prepare_output(args.out, overwrite=args.overwrite, create=False, can_resume=True)
    sweep = expand_sweep(args.model, grid, random, samples=args.samples or 0, seeds=args.seeds,
                         overrides=args.overrides, backend=args.backend, sample_seed=args.sample_seed,
                         threads=args.threads)
    print(f"bioplaus: sweep: {sweep.experiment} ({sweep.model}) on {sweep.backend}: {len(sweep.points)} points "
          f"({' x '.join(str(len(v)) for v in sweep.grid.values()) or '1'} grid"
          f"{f' x {sweep.samples} samples' if sweep.samples else ''} x {len(sweep.seeds)} seeds) -> {args.out}",
          file=sys.stderr)
    if args.dry_run:
        for p in sweep.points:
            print(f"{p.id}  {p.label()}")
        return 0
    report = run_sweep(sweep, args.out, jobs=args.jobs, in_process=args.in_process, resume=args.resume,
                       retry_failed=args.retry_failed, scheduler=args.scheduler, dask=args.dask,
                       reuse_builds=not args.no_reuse, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
    print(f"bioplaus: sweep: {report.total} points ({counts}); ran {report.ran} now"
          + (f", {report.skipped} finished before" if report.skipped else "")
          + f"; table in {report.out / 'results.csv'}", file=sys.stderr)
    return 0 if report.ok else 1
