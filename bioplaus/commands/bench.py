"""``bioplaus bench``: standard networks across backends and sizes, in fresh processes."""
from __future__ import annotations

import argparse
import sys

HELP = """time standard networks on the Brian2 backends (build, run per simulated second, events/s, memory)

networks: coba, cuba (Vogels & Abbott as in Brette et al. 2007, 80 synapses per neuron),
coba-stdp (pair STDP on the excitatory synapses), fa-rate (feedback-alignment rate network
on digits), stdp-classifier (Diehl & Cook on digits). Sizes are numbers of neurons.

example:
  bioplaus bench --networks coba,cuba --backends numpy,cpp --sizes 1000,4000 --duration 1s --threads 1,2

Each measurement runs in a fresh Python process. The Vogels & Abbott networks are also run
written by hand in plain Brian2 (same equations, synapses and initial state): the column
hand/bioplaus is its run time over bioplaus's. Prints a Markdown table and writes bench.csv,
bench.png (log-log run time against synapses), summary.md and provenance.json to --out."""

DEFAULT_OUT = "results/bench"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--networks", default="coba,cuba,coba-stdp,fa-rate,stdp-classifier",
                   help="comma-separated networks (default: all five)")
    p.add_argument("--backends", default="numpy,cython,cpp,cuda",
                   help="comma-separated backends (default numpy,cython,cpp,cuda; an unavailable one is "
                        "listed with the reason)")
    p.add_argument("--sizes", default="1000,4000", help="network sizes in neurons (default 1000,4000)")
    p.add_argument("--duration", default="1s", help="biological time per run (default 1s)")
    p.add_argument("--threads", default="1", help="OpenMP threads of cpp, e.g. 1,2 (0: no OpenMP; default 1)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the fastest counts (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of connectivity and initial state (default 0)")
    p.add_argument("--runtime-max-size", dest="runtime_max_size", type=int, default=4000,
                   help="largest size run on numpy and cython (default 4000)")
    p.add_argument("--no-handwritten", dest="handwritten", action="store_false",
                   help="skip the hand-written Brian2 baseline")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per measurement (default 1800)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchConfig, run_bench

    config = BenchConfig(networks=args.networks, backends=args.backends, sizes=args.sizes, duration=args.duration,
                         threads=args.threads, repeat=args.repeat, seed=args.seed,
                         runtime_max_size=args.runtime_max_size, handwritten=args.handwritten,
                         timeout=args.timeout, out=args.out)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    result = run_bench(config, progress=progress)
    sys.stdout.write(result.summary())
    print(f"results in {args.out}", file=sys.stderr)
    return 0
