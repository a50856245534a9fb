"""``bioplaus run MODEL``: run a model file and write its results directory."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HELP = "run a model file (models/*.toml) and write a results directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="path to a model file, or the name of one in models/ (see 'bioplaus list')")
    p.add_argument("--backend", choices=("numpy", "cython", "cpp", "cuda"), help="override the model's backend")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value, e.g. --set params.eta=0.5 (repeatable; parsed as TOML, never evaluated)")
    p.add_argument("--seed", type=int, help="root seed")
    p.add_argument("--out", help="results directory (default results/<model>-<time>)")
    p.add_argument("--threads", type=int, help="OpenMP threads for the cpp backend")
    p.add_argument("--data-dir", help="directory with dataset files (e.g. MNIST IDX files)")


def run(args: argparse.Namespace) -> int:
    from ..config import load_model
    from ..runner import run_model

    overrides = list(args.overrides)
    if args.threads is not None:
        overrides.append(f"threads={args.threads}")
    if args.data_dir:
        overrides.append(("data_dir", args.data_dir))
    cfg = load_model(args.model, overrides, backend=args.backend, seed=args.seed)
    out = Path(args.out) if args.out else Path("results") / f"{Path(cfg.source).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"bioplaus: running {cfg.experiment} ({cfg.source}) on {cfg.backend}, seed {cfg.seed} -> {out}",
          file=sys.stderr)
    result = run_model(cfg, out)
    print(f"bioplaus: {result.status}; results in {out}", file=sys.stderr)
    if result.summary:
        print(result.summary)
    return 0 if result.status == "ok" else 1
