"""Backends at scale: the configuration recorded in benchmarks/RESULTS.md (section "Backends").

    python benchmarks/bench_backends.py                 # both parts, results in results/bench_backends/
    python benchmarks/bench_backends.py --part spiking  # one part
    python benchmarks/bench_backends.py --quick         # small sizes, a few minutes

Part ``spiking``: COBA, CUBA and COBA-STDP on numpy, cython (up to 4,000 neurons), cpp with
1 and 2 OpenMP threads (up to 64,000) and cuda (where a GPU is present), each against the
same network written by hand in Brian2 (the baseline, measured in the same run). Part
``scale``: COBA at 250,000 and 1,000,000 neurons (20 and 80 million synapses) on cpp and
cuda, 0.2 s simulated. Part ``learning``: the FA rate network and the STDP classifier (no
hand-written baseline).
Every measurement runs in a fresh process (``bioplaus.bench.measure``). Prints each
part's summary table; ``bioplaus bench --help`` runs any other configuration.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

from bioplaus.bench import BenchConfig, build_variation, run_bench

PARTS = {
    "spiking": dict(networks="coba,cuba,coba-stdp", backends="numpy,cython,cpp,cuda", sizes="1000,4000,16000,64000",
                    threads="1,2", duration="1s", repeat=5, runtime_max_size=4000),
    "scale": dict(networks="coba", backends="cpp,cuda", sizes="250000,1000000", threads="2", duration="0.2s",
                  repeat=2, handwritten=False),
    "learning": dict(networks="fa-rate,stdp-classifier", backends="numpy,cython,cpp,cuda", sizes="1000,4000",
                     threads="1", duration="1s", repeat=2, runtime_max_size=1000),
}
#: control for the overhead ratio: two builds of each implementation, rerun in turn (cpp, 1 thread)
CONTROL = dict(cases=[("coba-stdp", 4000), ("coba-stdp", 16000)], copies=2, rounds=8)

QUICK = {
    "spiking": dict(sizes="500,1000,2000", runtime_max_size=1000, repeat=2),
    "learning": dict(sizes="500", runtime_max_size=500, repeat=1),
    "scale": dict(sizes="20000", duration="0.1s", repeat=1),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=sorted([*PARTS, "control"]), action="append",
                   help="run only this part (repeatable; 'control' is run only when named)")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run of a few minutes)")
    p.add_argument("--out", default="results/bench_backends", help="results directory (one folder per part)")
    args = p.parse_args(argv)
    for part in args.part or list(PARTS):
        if part == "control":
            control()
            continue
        settings = {**PARTS[part], **(QUICK[part] if args.quick else {})}
        cfg = BenchConfig(**settings, out=os.path.join(args.out, part))
        t0 = time.perf_counter()
        res = run_bench(cfg, progress=lambda line: print(line, file=sys.stderr, flush=True))
        print(f"## {part}: bioplaus bench " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings.items())
              + f"  ({time.perf_counter() - t0:.0f} s)\n")
        print(res.summary())
        print(f"results in {cfg.out}\n", file=sys.stderr)
    return 0


def control() -> None:
    """Build-to-build variation of cpp run times against the bioplaus/hand-written ratio."""
    print(f"## control: {CONTROL['copies']} builds of each implementation, cpp 1 thread, 1 s simulated, "
          f"{CONTROL['rounds']} runs of every binary in turn; fastest run per binary\n")
    print("| network | neurons | build | fastest run s | median run s |\n|---|---|---|---|---|")
    summary = []
    for net, size in CONTROL["cases"]:
        times = build_variation(net, size, copies=CONTROL["copies"], rounds=CONTROL["rounds"])
        best = {k: min(v) for k, v in times.items()}
        for k, v in times.items():
            print(f"| {net} | {size:,} | {k} | {min(v):.4f} | {sorted(v)[len(v) // 2]:.4f} |")
        same = [best[b] / best[a] for impl in ("bioplaus", "brian2")
                for a, b in itertools.combinations([k for k in best if k.startswith(impl)], 2)]
        cross = [best[h] / best[b] for b in best if b.startswith("bioplaus") for h in best if h.startswith("brian2")]
        summary.append(f"- {net} {size:,}: same code, build vs build: "
                       + ", ".join(f"{r:.3f}" for r in same)
                       + "; hand-written / bioplaus, every pair of builds: " + ", ".join(f"{r:.3f}" for r in cross))
    print("\n" + "\n".join(summary) + "\n")


if __name__ == "__main__":
    sys.exit(main())
