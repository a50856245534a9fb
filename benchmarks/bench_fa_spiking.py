"""Benchmark: spiking feedback alignment (event-driven random backpropagation) on the digits.

Two parts, in one process on one machine:

1. **backend times**: the same network and schedule (``--samples`` training samples, one
   epoch, then the test samples with plasticity off, one ``Network.run``) on each of
   ``--backends``; ``build s`` is object creation plus code generation and compilation (cpp:
   the standalone project; cython: a short warm-up run that compiles the Cython code, which
   the timed run then loads from the cache);
2. **accuracy**: the full model (``models/fa_spiking_digits.toml`` settings: 200 hidden LIF
   neurons, 10 epochs) on ``cpp``, with the validation split carved out of the training split
   and the test accuracy after every epoch.

    python benchmarks/bench_fa_spiking.py                      # numpy, cython, cpp times + full cpp accuracy
    python benchmarks/bench_fa_spiking.py --backends cpp --no-accuracy
    python benchmarks/bench_fa_spiking.py --epochs 5 --n-hidden 100
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="numpy,cython,cpp")
    ap.add_argument("--samples", type=int, default=60, help="training samples of the backend-time comparison")
    ap.add_argument("--n-hidden", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--no-accuracy", action="store_true", help="skip the full accuracy run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    from bioplaus.backends import availability
    from bioplaus.config import load_model
    from bioplaus.data import load_dataset
    from bioplaus.experiments.base import RunContext
    from bioplaus.experiments.fa_spiking import FASpikingExperiment
    from bioplaus.networks.fa_spiking import SpikingFA, fa_schedule, run_fa_spec

    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    model = load_model("fa_spiking_digits")
    base = model.params.network()
    d = load_dataset("digits", seed=args.seed)
    rng = np.random.default_rng(args.seed)
    tr = rng.permutation(len(d.x_train))[:args.samples]
    te = np.arange(len(d.x_train), len(d.x_train) + len(d.x_test))[:100]
    samples = np.vstack([d.x_train, d.x_test])
    labels = np.concatenate([d.y_train, d.y_test])
    cfg = base.replace(n_hidden=args.n_hidden, epochs=1)
    sch = fa_schedule(samples, labels, tr, 1, {"test": te}, rng, cfg.lr_decay)
    avail = availability()
    rows = []
    for backend in args.backends.split(","):
        if avail.get(backend) != "ok":
            print(f"{backend}: unavailable ({avail.get(backend)})")
            continue
        warm = 0.0
        if backend == "cython":  # compile (and cache) the Cython code first, outside the timed run
            t0 = time.perf_counter()
            run_fa_spec(cfg, sch, 10, backend, seed=args.seed, duration=cfg.dt * 10)
            warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = run_fa_spec(cfg, sch, 10, backend, seed=args.seed, threads=args.threads)
        wall = time.perf_counter() - t0
        run_s = r.timings["run_s"]
        build_s = r.timings.get("compile.make_s", r.timings["build_objects_s"]) + warm
        rows.append((backend, build_s, run_s, len(sch) / run_s, float(cfg.window) * len(sch) / run_s, wall))
        print(f"{backend}: run {run_s:.2f} s", flush=True)
    print(f"\n## Backend times: {d.n_features}-{cfg.n_hidden}-10 network, {len(tr)} training + {len(te)} test "
          f"windows of {cfg.window} (one run, {float(cfg.window) * len(sch):.1f} s simulated, dt {cfg.dt})\n")
    print("| backend | build s | run s | windows/s | x realtime | wall s |")
    print("|---|---|---|---|---|---|")
    for b, bs, rs, wps, rt, w in rows:
        print(f"| {b} | {bs:.1f} | {rs:.2f} | {wps:.1f} | {rt:.2f} | {w:.1f} |")
    names = [r[0] for r in rows]
    if "cpp" in names:
        cpp = rows[names.index("cpp")][2]
        for b, _, rs, *_ in rows:
            if b != "cpp":
                print(f"cpp vs {b}: {rs / cpp:.1f}x faster run")

    if not args.no_accuracy:
        p = model.params.replace(n_hidden=args.n_hidden, epochs=args.epochs, raster_samples=0)
        t0 = time.perf_counter()
        res = FASpikingExperiment().run(p, RunContext(backend="cpp", seed=args.seed, threads=args.threads,
                                                      progress=lambda m: print(m, flush=True)))
        wall = time.perf_counter() - t0
        print(f"\n## Accuracy: full model on cpp, seed {args.seed} (wall {wall:.0f} s)\n")
        print("| epoch | during training | validation | test |")
        print("|---|---|---|---|")
        for r in res.rows:
            print(f"| {r['epoch']} | {r['train_acc_online']:.4f} | {r.get('val_acc', float('nan')):.4f} | "
                  f"{r['test_acc']:.4f} |")
        t = res.info["timings"]
        print(f"\nfinal test accuracy {res.info['final_test_acc']:.4f} (target >= 0.90); compile "
              f"{t.get('compile_s', 0):.1f} s, run {t['run_s']:.1f} s for {t['simulated_s']:.0f} s simulated, "
              f"training {t['train_samples_per_s']:.0f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
