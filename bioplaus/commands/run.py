"""``bioplaus run MODEL``: run a model file and write its results directory."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """run a model file (models/*.toml) and write a results directory

The results directory must be new or empty: --overwrite replaces what an earlier run
left there. Without --out a new directory results/<model>-<time>-<suffix> is created.
Exit status: 0 ok, 1 failed or diverged, 2 bad input, 130 interrupted (Ctrl-C; the
directory then says status "interrupted")."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="path to a model file, or the name of one in models/ (see 'bioplaus list')")
    p.add_argument("--backend", choices=("numpy", "cython", "cpp", "cuda"), help="override the model's backend")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value, e.g. --set params.eta=0.5 (repeatable; parsed as TOML, never evaluated)")
    p.add_argument("--seed", type=int, help="root seed")
    p.add_argument("--out", help="results directory (default: a new results/<model>-<time>-<suffix>)")
    p.add_argument("--overwrite", action="store_true",
                   help="--out may hold an earlier run's results: remove them first")
    p.add_argument("--threads", type=int, help="OpenMP threads for the cpp backend")
    p.add_argument("--data-dir", help="directory with dataset files (e.g. MNIST IDX files)")


def run(args: argparse.Namespace) -> int:
    from ..config import find_model, load_model, precheck_model
    from ..errors import BioplausError
    from ..results import new_output_dir, output_lock, prepare_output, remove_if_empty

    overrides = list(args.overrides)
    if args.threads is not None:
        overrides.append(f"threads={args.threads}")
    if args.data_dir:
        overrides.append(("data_dir", args.data_dir))
    # what can be checked without Brian2 first: the file, its top-level keys, the overrides, --out
    precheck_model(args.model, overrides, backend=args.backend, seed=args.seed)
    if args.out:
        prepare_output(args.out, overwrite=args.overwrite, create=False)
    cfg = load_model(args.model, overrides, backend=args.backend, seed=args.seed, check_memory=True)
    if args.out:
        out = Path(args.out)
    else:
        out = new_output_dir("results", Path(cfg.source or find_model(args.model)).stem)
    try:
        with output_lock(out):
            out = prepare_output(out, overwrite=args.overwrite)
            from ..runner import run_model

            print(f"bioplaus: running {cfg.experiment} ({cfg.source}) on {cfg.backend}, seed {cfg.seed} -> {out}",
                  file=sys.stderr)
            try:
                result = run_model(cfg, out)
            except KeyboardInterrupt:
                print(f"bioplaus: interrupted; {out} records status \"interrupted\"", file=sys.stderr)
                raise
    except BioplausError:
        remove_if_empty(out)  # refused before anything was written: leave no empty directory behind
        raise
    print(f"bioplaus: {result.status}; results in {out}", file=sys.stderr)
    if result.summary:
        print(result.summary)
    return 0 if result.status == "ok" else 1
