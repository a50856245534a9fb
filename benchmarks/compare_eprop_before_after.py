"""e-prop of this checkout against another checkout (e.g. before e-prop became a NetworkSpec).

For each checkout, in a fresh process with ``PYTHONPATH`` pointing at it, on numpy:

* a small task (5 Poisson inputs at 0.15 spikes/step, 8 recurrent LIF, 2 readouts, 80 steps,
  4 trials, lr 0.05), random and symmetric feedback, seeds 0, 1, 2: per-trial losses, final
  weights, the recorded traces (v, L, eligibility traces, last gradients) and the recurrent
  spikes of every trial;
* the sine task of ``bench_beyond.py --eprop`` (20 inputs, 50 recurrent, 500 steps/trial,
  ``--trials`` trials) on ``--backends`` (numpy; add cpp for the compiled path): losses and
  wall time, run ``--repeats`` times (best time kept).

Then prints, per run, whether spikes are identical and the largest difference of every array.

    git worktree add /tmp/main_before <commit>        # or: git archive <commit> | tar -x -C /tmp/main_before
    python benchmarks/compare_eprop_before_after.py --baseline /tmp/main_before [--backends numpy,cpp] [--rerun 5]

``--rerun K`` then runs the two compiled cpp binaries alternately ``K`` times each (the same
load for both) and prints the speed ratio.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]

EMIT = r'''
import sys, time
import numpy as np
out, backends, trials, repeats = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
import bioplaus.networks.eprop as ep
from bioplaus.reference.eprop import LIFNet, poisson_input, sine_target
res = {}

def spikes_old(spec, net, x, y, n):
    from brian2 import SpikeMonitor
    from bioplaus.backends import session
    with session("numpy", seed=0):
        b = ep.build_eprop(spec, net.params(), x, y, n, B=net.B)
        m = SpikeMonitor(b.rec, name="spk")
        b.network.add(m)
        b.network.run(b.duration, namespace={})
        return (np.round(np.array(m.t[:], copy=True) / float(spec.dt)).astype(np.int64), np.array(m.i[:], copy=True))

for fb in ("random", "symmetric"):
    for seed in (0, 1, 2):
        rng = np.random.default_rng(4 + seed)
        x = poisson_input(5, 80, 0.15, rng)
        y = np.hstack([sine_target(80, 80), -sine_target(80, 50)])
        spec = ep.EpropNetwork(feedback=fb, lr=0.05)
        net = LIFNet.random(5, 8, 2, np.random.default_rng(5 + seed), w_in=3.0, w_rec=1.5, feedback=fb)
        r = ep.run_eprop(spec, net.params(), x, y, 4, B=net.B, backend="numpy", record=True)
        p = f"small_{fb}_{seed}_"
        res[p + "losses"] = r.losses
        for k, v in {**r.weights, **r.records}.items():
            res[p + k] = v
        if hasattr(ep, "eprop_spec"):
            st, si = ep.run_eprop(spec, net.params(), x, y, 4, B=net.B, spikes=True).spikes
        else:
            st, si = spikes_old(spec, net, x, y, 4)
        o = np.lexsort((si, st))
        res[p + "spike_steps"], res[p + "spike_units"] = st[o], si[o]

rng = np.random.default_rng(0)
x = poisson_input(20, 500, 0.05, rng)
y = sine_target(500, 250)
spec = ep.EpropNetwork(feedback="random")
net = LIFNet.random(20, 50, 1, np.random.default_rng(1), feedback="random")
for b in backends:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = ep.run_eprop(spec, net.params(), x, y, trials, B=net.B, backend=b,
                         directory=(out + f"_{b}_build") if b != "numpy" else None)
        best = min(best, time.perf_counter() - t0)
    res[f"sine_{b}_losses"] = r.losses
    res[f"sine_{b}_W_in"] = r.weights["W_in"]
    res[f"sine_{b}_time_s"] = np.array(best)
    res[f"sine_{b}_run_s"] = np.array(r.timings.get("run_binary_s", r.timings.get("run_s", np.nan)))
np.savez(out, **res)
'''


def emit(checkout: Path, out: Path, backends: str, trials: int, repeats: int) -> dict[str, np.ndarray]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    subprocess.run([sys.executable, "-c", EMIT, str(out), backends, str(trials), str(repeats)], env=env, check=True,
                   cwd=str(checkout))
    with np.load(out) as d:
        return dict(d)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, help="checkout of the previous main")
    ap.add_argument("--backends", default="numpy", help="backends for the sine task (comma-separated)")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--rerun", type=int, default=0, help="rerun both cpp binaries alternately this many times")
    args = ap.parse_args(argv)
    reruns: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        before = emit(Path(args.baseline).resolve(), Path(tmp) / "before.npz", args.backends, args.trials, args.repeats)
        after = emit(HERE, Path(tmp) / "after.npz", args.backends, args.trials, args.repeats)
        if args.rerun and "cpp" in args.backends.split(","):
            for _ in range(args.rerun):        # the two compiled binaries, alternately (paired under the same load)
                for label in ("before", "after"):
                    t0 = time.perf_counter()
                    subprocess.run(["./main"], cwd=Path(tmp) / f"{label}.npz_cpp_build", check=True,
                                   stdout=subprocess.DEVNULL)
                    reruns[label].append(time.perf_counter() - t0)
    ok = True
    print("| run | spikes identical | spikes | max |loss diff| | max |weight diff| | max |trace diff| | final loss |")
    print("|---|---|---|---|---|---|---|")
    for fb in ("random", "symmetric"):
        for seed in (0, 1, 2):
            p = f"small_{fb}_{seed}_"
            same = all(np.array_equal(before[p + k], after[p + k]) for k in ("spike_steps", "spike_units"))
            dl = float(np.max(np.abs(before[p + "losses"] - after[p + "losses"])))
            dw = max(float(np.max(np.abs(before[p + k] - after[p + k]))) for k in ("W_in", "W_rec", "W_out", "b_out"))
            traces = [k[len(p):] for k in before if k.startswith(p) and k[len(p):] in
                      ("v", "L", "ebar_in", "ebar_rec", "grad_W_in", "grad_W_rec", "grad_W_out", "grad_b_out")]
            dt = max(float(np.max(np.abs(before[p + k] - after[p + k]))) for k in traces)
            ok &= same and dl == 0 and dw == 0
            print(f"| small, {fb} feedback, seed {seed} | {'yes' if same else 'NO'} | {len(after[p + 'spike_steps'])} | "
                  f"{dl:.1e} | {dw:.1e} | {dt:.1e} | {after[p + 'losses'][-1]:.4f} |")
    print()
    print(f"sine task, {args.trials} trials (best of {args.repeats}):")
    print()
    print("| backend | before total (s) | after total (s) | after/before | before run (s) | after run (s) | "
          "max |loss diff| | final loss |")
    print("|---|---|---|---|---|---|---|---|")
    for b in args.backends.split(","):
        tb, ta = float(before[f"sine_{b}_time_s"]), float(after[f"sine_{b}_time_s"])
        d = float(np.max(np.abs(before[f"sine_{b}_losses"] - after[f"sine_{b}_losses"])))
        ok &= d < 1e-9
        print(f"| {b} | {tb:.2f} | {ta:.2f} | {ta / tb:.2f} | {float(before[f'sine_{b}_run_s']):.2f} | "
              f"{float(after[f'sine_{b}_run_s']):.2f} | {d:.1e} | {after[f'sine_{b}_losses'][-1]:.4f} |")
    if reruns["after"]:
        b, a = np.array(reruns["before"]), np.array(reruns["after"])
        print()
        print(f"cpp binaries rerun alternately {len(a)} times (s): before {', '.join(f'{v:.2f}' for v in b)}; "
              f"after {', '.join(f'{v:.2f}' for v in a)}; speed after/before: median of pairs "
              f"{np.median(b / a):.3f}, best {b.min() / a.min():.3f}")
    print()
    print("identical" if ok else "DIFFERENCES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
