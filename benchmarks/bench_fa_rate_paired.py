"""``bioplaus bench`` fa-rate row of this checkout against another checkout, paired in one run.

Each round runs the same ``bioplaus bench`` measurement (fa-rate, one backend, one size) once
with this checkout's code and once with the baseline's (``PYTHONPATH`` pointing there), in
alternating order, each in a fresh process; the speed ratio is the median over rounds of
``baseline run_s / this run_s`` (:func:`bioplaus.bench.paired_ratio`), which drifting machine
load affects far less than a ratio of two separate minima. Prints a table with both columns.

    git worktree add /tmp/main_before <commit>     # the baseline checkout
    python benchmarks/bench_fa_rate_paired.py --baseline /tmp/main_before --backend cpp --size 1084 --duration 5s
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def one(checkout: Path, args, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    cmd = [sys.executable, "-m", "bioplaus", "bench", "--networks", "fa-rate", "--backends", args.backend,
           "--sizes", str(args.size), "--duration", args.duration, "--repeat", str(args.repeat),
           "--no-handwritten", "--quiet", "--out", str(out)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    row = next(csv.DictReader(open(out / "bench.csv")))
    if row["status"] != "ok":
        raise SystemExit(f"{checkout}: {row['status']} {row.get('note', '')}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="checkout of the baseline (e.g. a git worktree)")
    ap.add_argument("--backend", default="cpp")
    ap.add_argument("--size", type=int, default=1084, help="neurons (hidden units = size - 84)")
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (fastest counts)")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from bioplaus.bench import paired_ratio

    base, this = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = [("baseline", Path(args.baseline)), ("this", HERE)]
            for name, co in (order if r % 2 == 0 else order[::-1]):
                row = one(co, args, Path(tmp) / f"{name}{r}")
                (base if name == "baseline" else this).append(float(row["run_s"]))
                print(f"round {r} {name:8s} run_s {float(row['run_s']):.4f} build_s {float(row['build_s']):.1f} "
                      f"digest {row['spike_digest']}", flush=True)
    ratio = paired_ratio(base, this)
    print(f"\n| fa-rate {args.backend} size {args.size}, {args.duration} | baseline run_s | this run_s |")
    print("|---|---|---|")
    for k, (b, t) in enumerate(zip(base, this)):
        print(f"| round {k} | {b:.4f} | {t:.4f} |")
    print(f"\nspeed of this checkout relative to the baseline (median of paired baseline/this): {ratio:.3f}")


if __name__ == "__main__":
    main()
