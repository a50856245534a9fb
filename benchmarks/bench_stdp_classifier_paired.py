"""Paired speed of the stdp-classifier bench network: this tree against another checkout, on cpp.

Each checkout generates and compiles the network of the ``stdp-classifier`` row of
``bioplaus bench`` (``(size - 64) // 2`` excitatory neurons on digits, the given simulated time) as
a cpp_standalone project, in its own process (``PYTHONPATH`` set to the checkout). The two
binaries then run alternately (before, after, after, before, ...); the fastest run of each
counts, by user CPU time (robust on a shared machine) and by wall time. The binaries' excitatory
spikes are compared too.

    git worktree add /tmp/main_before HEAD        # before changing anything
    python benchmarks/bench_stdp_classifier_paired.py --other /tmp/main_before --runs 4
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

_GEN = r"""
import sys
import numpy as np
from bioplaus.backends import session
from bioplaus.data import load_dataset
import bioplaus.networks.stdp_classifier as mod
out, size, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
data = load_dataset("digits")
cfg = mod.DiehlCook(n_exc=max(1, (size - 64) // 2))
k = max(1, int(round(duration / float(cfg.window))))
sch = mod.Schedule.build(data.x_train, data.y_train, [("train", np.arange(k) % len(data.x_train), 1.0)])
with session("cpp", directory=out, threads=1, seed=0) as s:
    bc = mod.build_classifier(cfg, data.x_train.shape[1], schedule=sch, seed=0)
    bc.net.run(len(sch) * cfg.window)
    s.finish(run=False)
"""


def _spikes(d: str) -> np.ndarray:
    out = []
    for key, dtype in (("_dynamic_array_exc_spikes_i_", np.int32), ("_dynamic_array_exc_spikes_t_", np.float64)):
        f = glob.glob(os.path.join(d, "results", key + "*"))
        out.append(np.fromfile(f[0], dtype=dtype) if f else np.zeros(0))
    return np.concatenate([out[0].astype(float), out[1]])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--other", required=True, help="the other checkout (e.g. a worktree of the previous main)")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=20.0, help="simulated seconds")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--dir", default=None, help="where the two projects go (default: a temporary folder)")
    args = ap.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = args.dir or tempfile.mkdtemp(prefix="stdp_paired_")
    trees = {"before": os.path.abspath(args.other), "after": here}
    for name, tree in trees.items():
        d = os.path.join(root, name)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", _GEN, d, str(args.size), str(args.duration)], check=True,
                       env={**os.environ, "PYTHONPATH": tree}, stdout=subprocess.DEVNULL)
        print(f"# {name}: {tree} generated and compiled in {time.perf_counter() - t0:.0f} s", flush=True)
    res: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for k in range(args.runs):
        for name in (("before", "after") if k % 2 == 0 else ("after", "before")):
            t0 = time.perf_counter()
            p = subprocess.Popen(["./main"], cwd=os.path.join(root, name), stdout=subprocess.DEVNULL)
            _, _, ru = os.wait4(p.pid, 0)
            res[name].append((ru.ru_utime, time.perf_counter() - t0))
    print("| checkout | fastest user CPU s | fastest wall s | runs |")
    print("|---|---|---|---|")
    for name, v in res.items():
        print(f"| {name} | {min(u for u, _ in v):.3f} | {min(w for _, w in v):.3f} | {len(v)} |")
    bu, au = (min(u for u, _ in res[n]) for n in ("before", "after"))
    bw, aw = (min(w for _, w in res[n]) for n in ("before", "after"))
    same = np.array_equal(_spikes(os.path.join(root, "before")), _spikes(os.path.join(root, "after")))
    print(f"\nspeed after/before: {bu / au:.3f} (user CPU), {bw / aw:.3f} (wall); identical exc spikes: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
