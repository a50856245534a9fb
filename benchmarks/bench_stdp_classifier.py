"""Benchmark: training throughput of the Diehl & Cook STDP classifier, one compiled run against a Python loop.

The same network (:mod:`bioplaus.networks.stdp_classifier`, same equations, normalisation
included) trains on the 8x8 digits in two ways, in the same process on the same machine:

* ``cpp, one run``: the whole training schedule (presentation, rest, normalisation, plasticity
  switch) is a TimedArray-driven single ``Network.run``, compiled once by cpp_standalone;
* ``cython, Python loop`` (the baseline): the way Brian2's port of the paper's code trains, one
  ``net.run(present)`` + ``net.run(rest)`` per sample with the input rates set from Python, on
  the Cython runtime target. The first sample (code generation and Cython compilation) is
  timed separately and left out of the rate.

Optionally (``--cython-one-run``) the one-run schedule also runs on the Cython runtime (after a
short warm-up run that compiles its code), which separates the cost of the Python loop from
the cost of the runtime itself.

    python benchmarks/bench_stdp_classifier.py               # 100 neurons, 200 / 20 samples (a few minutes)
    python benchmarks/bench_stdp_classifier.py --full        # 400 neurons, 1000 / 60 samples

``samples/s`` counts simulated training samples (present + rest = 500 ms each) per second of
wall time: for cpp the binary's run time (loading the arrays included), without compilation.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np


def train_loop(cfg, x: np.ndarray, backend: str = "cython", *, seed: int = 0, warmup: int = 1) -> dict:
    """Train on ``x`` the way Brian2's port of Diehl & Cook's code does: a Python loop of runs.

    The network is :func:`bioplaus.networks.stdp_classifier.classifier_spec` without a protocol
    (a Poisson input whose ``rates`` are set from Python, plasticity always on), built by the
    package's builder. Per sample: set the input rates, ``run(present)``, set them to zero,
    ``run(rest)``. The first ``warmup`` samples (code generation and compilation) are timed
    separately.
    """
    from brian2 import Hz

    from bioplaus.backends import session
    from bioplaus.errors import ConfigError
    from bioplaus.networks.stdp_classifier import build_classifier
    from bioplaus.simulation import quiet_order_warnings

    if backend in ("cpp", "cuda"):
        raise ConfigError("backend", backend, "a runtime backend (numpy or cython) for the Python loop")
    x = np.asarray(x, dtype=float)
    with session(backend, seed=seed), quiet_order_warnings():
        b = build_classifier(cfg, x.shape[1], schedule=None, seed=seed)
        times = []
        for row in x:
            t0 = time.perf_counter()
            b.inp.rates = np.clip(row, 0, None) * cfg.max_rate
            b.net.run(cfg.present)
            b.inp.rates = 0 * Hz
            if float(cfg.rest) > 0:
                b.net.run(cfg.rest)
            times.append(time.perf_counter() - t0)
        n_spikes = int(b.exc_spikes.num_spikes)
    steady = times[warmup:] if len(times) > warmup else times
    return {"warmup_s": float(sum(times[:warmup])), "run_s": float(sum(steady)), "n_timed": len(steady),
            "samples_per_s": len(steady) / max(sum(steady), 1e-12), "n_spikes": n_spikes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-exc", type=int, default=100)
    ap.add_argument("--samples-cpp", type=int, default=200, help="training samples in the one-run cpp training")
    ap.add_argument("--samples-loop", type=int, default=20, help="timed samples of the Python loop (plus one warm-up)")
    ap.add_argument("--full", action="store_true", help="400 neurons, 1000 cpp samples, 60 loop samples")
    ap.add_argument("--cython-one-run", action="store_true", help="also run the one-run schedule on Cython")
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads for cpp (default: none)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.full:
        args.n_exc, args.samples_cpp, args.samples_loop = 400, 1000, 60

    from bioplaus.data import load_dataset
    from bioplaus.networks.stdp_classifier import DiehlCook, Schedule, run_classifier

    d = load_dataset("digits", seed=args.seed)
    cfg = DiehlCook(n_exc=args.n_exc)
    rng = np.random.default_rng(args.seed)
    n_cpp = min(args.samples_cpp, len(d.x_train))
    order = rng.permutation(len(d.x_train))
    sch = Schedule.build(d.x_train, d.y_train, [("train0", order[:n_cpp], 1.0)])
    print(f"# Diehl & Cook classifier on digits: {cfg.n_exc} exc + {cfg.n_exc} inh neurons, "
          f"{d.n_features * cfg.n_exc} plastic synapses, present {cfg.present} + rest {cfg.rest}, dt {cfg.dt}")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}", flush=True)

    rows = []
    t0 = time.perf_counter()
    res = run_classifier(cfg, sch, "cpp", seed=args.seed, threads=args.threads)
    wall = time.perf_counter() - t0
    rows.append(("cpp, one run", n_cpp, res.timings["compile_s"], res.timings["run_s"], n_cpp / res.timings["run_s"],
                 wall, int(res.spike_t.size)))
    print(f"cpp: compiled in {res.timings['compile_s']:.1f} s, ran {n_cpp} samples in {res.timings['run_s']:.2f} s",
          flush=True)

    if args.cython_one_run:
        t0 = time.perf_counter()
        run_classifier(cfg, sch, "cython", seed=args.seed, duration=10 * cfg.dt)  # compile and cache the code
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        r2 = run_classifier(cfg, sch, "cython", seed=args.seed)
        wall = time.perf_counter() - t0
        rows.append(("cython, one run", n_cpp, warm, r2.timings["run_s"], n_cpp / r2.timings["run_s"], wall,
                     int(r2.spike_t.size)))
        print(f"cython one run: {r2.timings['run_s']:.2f} s", flush=True)

    n_loop = min(args.samples_loop + 1, len(d.x_train))
    t0 = time.perf_counter()
    loop = train_loop(cfg, d.x_train[order[:n_loop]], "cython", seed=args.seed, warmup=1)
    wall = time.perf_counter() - t0
    rows.append(("cython, Python loop (baseline)", loop["n_timed"], loop["warmup_s"], loop["run_s"],
                 loop["samples_per_s"], wall, loop["n_spikes"]))
    print(f"cython loop: warm-up {loop['warmup_s']:.1f} s, {loop['n_timed']} samples in {loop['run_s']:.2f} s",
          flush=True)

    print()
    print("| driver | samples | compile / warm-up s | train s | samples/s | wall s | exc spikes |")
    print("|---|---|---|---|---|---|---|")
    for name, n, c, r, sps, w, spk in rows:
        print(f"| {name} | {n} | {c:.1f} | {r:.2f} | {sps:.1f} | {w:.1f} | {spk} |")
    ratio = rows[0][4] / rows[-1][4]
    print(f"\ncpp one run vs cython Python loop: {ratio:.1f}x samples/s (goal >= 10x)")
    if args.cython_one_run:
        print(f"cython one run vs cython Python loop: {rows[1][4] / rows[-1][4]:.1f}x (the loop's own overhead)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
