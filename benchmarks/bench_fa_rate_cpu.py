"""CPU time of the compiled fa-rate network (cpp) of this checkout against another checkout.

Builds the ``bioplaus bench`` fa-rate case (64-(size-84)-10 FA network on digits, one window per
1 ms step) once with each checkout's code into a cpp_standalone project, then runs the two
binaries alternately and compares their user+system CPU time. On a shared machine the wall
time of a run mostly measures the load; the CPU time the process itself used does not.

    python benchmarks/bench_fa_rate_cpu.py --baseline /tmp/main_before --size 1084 --duration 3s --rounds 6
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

BUILD = r'''
import sys, numpy as np
from brian2 import set_device, device, defaultclock, prefs
directory, size, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
set_device("cpp_standalone", directory=directory, build_on_run=False)
prefs.devices.cpp_standalone.openmp_threads = 0
from bioplaus.data import load_dataset
import bioplaus.networks.fa_rate as mod
data = load_dataset("digits", seed=0)
rng = np.random.default_rng(0); sizes = (64, max(1, size - 84), 10)
W = [rng.standard_normal((sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(2)]
b = [np.zeros(s) for s in sizes[1:]]
B = [rng.standard_normal((sizes[1], 10)) / np.sqrt(10)]
targets = np.eye(10)[data.y_train]
order = np.resize(rng.permutation(len(data.x_train)), max(1, int(round(duration / 1e-3)) - 1))
if hasattr(mod, "fa_rate_spec"):
    from bioplaus.build.network import build_network
    spec = mod.fa_rate_spec(sizes, W, b, B, data.x_train, targets, [order], rule="fa", lr=0.01)
    defaultclock.dt = spec.dt
    net, dur = build_network(spec).network, spec.duration
else:
    spec = mod.FARateNetwork(sizes=sizes, rule="fa", lr=0.01)
    fb = mod.build_fa_rate(spec, W, b, B, data.x_train, targets, mod.fa_rate_schedule(spec, [order], len(data.x_train)))
    net, dur = fb.network, fb.duration
net.run(dur)
device.build(directory=directory, compile=True, run=False, with_output=False)
'''


def cpu_run(directory: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["./main"], cwd=directory, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--size", type=int, default=1084)
    ap.add_argument("--duration", default="3s")
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    dur = float(args.duration.rstrip("s"))
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {}
        for name, co in (("baseline", Path(args.baseline)), ("this", HERE)):
            d = Path(tmp) / name
            subprocess.run([sys.executable, "-c", BUILD, str(d), str(args.size), str(dur)], check=True,
                           env=dict(os.environ, PYTHONPATH=str(co)), capture_output=True)
            dirs[name] = d
        base, this = [], []
        for r in range(args.rounds):
            for name in (("baseline", "this") if r % 2 == 0 else ("this", "baseline")):
                (base if name == "baseline" else this).append(cpu_run(dirs[name]))
        ratios = sorted(b / t for b, t in zip(base, this))
        med = ratios[len(ratios) // 2] if len(ratios) % 2 else 0.5 * (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2])
    print(f"| round | baseline CPU s | this CPU s |\n|---|---|---|")
    for k, (b, t) in enumerate(zip(base, this)):
        print(f"| {k} | {b:.3f} | {t:.3f} |")
    print(f"\nspeed of this checkout relative to the baseline (median of paired CPU-time ratios): {med:.3f}")


if __name__ == "__main__":
    main()
