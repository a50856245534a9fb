"""FA networks of this checkout against another checkout (e.g. before they became NetworkSpecs).

For each checkout, in a fresh process with ``PYTHONPATH`` pointing at it:

* rate FA and DFA (6-8-5-3, tanh, MSE, 50 online updates, lr 0.1) against the numpy reference
  (largest weight difference relative to the largest weight) -- with the network the checkout
  provides (``fa_rate_spec`` if present, else the hand-wired ``train_fa_rate`` of older checkouts);
* spiking FA on digits (200 training / 200 test samples, 30 hidden LIF units, 2 epochs,
  present 60 ms, rest 10 ms, dt 1 ms, numpy) for seeds 0, 1, 2 (``run_fa_spec`` if present,
  else the hand-wired ``run_fa`` of older checkouts): accuracies per phase, and whether spikes and weights are identical.

    git worktree add /tmp/main_before <commit>
    python benchmarks/compare_fa_before_after.py --baseline /tmp/main_before
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]

EMIT = r'''
import json, sys
import numpy as np
out_dir = sys.argv[1]
import bioplaus.networks.fa_rate as fr
import bioplaus.networks.fa_spiking as fs
from bioplaus.reference.credit import DFA, FA, TrainSettings
from bioplaus.reference.mlp import MLP
from bioplaus.data import load_dataset
res = {}
SIZES, N, LR = (6, 8, 5, 3), 50, 0.1
for rule in ("fa", "dfa"):
    rng = np.random.default_rng(0)
    x = rng.random((N, SIZES[0])); y = rng.integers(0, SIZES[-1], N)
    net = MLP.random(SIZES, "tanh", "mse", rng)
    ref = (FA() if rule == "fa" else DFA()).learner()
    ref.init(net, np.random.default_rng(1), TrainSettings(lr=LR, momentum=0.0, batch_size=1, loss="mse"))
    W0 = [w.copy() for w in net.weights]; b0 = [b.copy() for b in net.biases]; fb = [B.copy() for B in ref.feedback]
    order = np.random.default_rng(7).permutation(N)
    for i in order:
        ref.step(x[[i]], y[[i]])
    t = ref.net.targets(y, 3)
    if hasattr(fr, "fa_rate_spec"):
        from bioplaus.simulation import simulate
        W, _ = fr.mlp_weights(simulate(fr.fa_rate_spec(SIZES, W0, b0, fb, x, t, [order], rule=rule, lr=LR), "numpy"))
    else:
        W = fr.train_fa_rate(fr.FARateNetwork(sizes=SIZES, rule=rule, lr=LR, loss="mse"), W0, b0, fb, x, t, [order],
                             "numpy").weights
    scale = max(float(np.abs(w).max()) for w in ref.net.weights)
    res[f"rate_{rule}_rel_err"] = max(float(np.abs(g - w).max()) for g, w in zip(W, ref.net.weights)) / scale
d = load_dataset("digits", seed=0)
run = fs.run_fa_spec if hasattr(fs, "run_fa_spec") else fs.run_fa
for seed in (0, 1, 2):
    cfg = fs.SpikingFA(n_hidden=30, present="60 ms", rest="10 ms", dt="1 ms", epochs=2)
    sch = fs.fa_schedule(d.x_train, d.y_train, np.arange(200), 2, {"test": np.arange(200)},
                         np.random.default_rng(seed), lr_decay=cfg.lr_decay)
    r = run(cfg, sch, 10, "numpy", seed=seed)
    res[f"spiking_seed{seed}"] = {p: r.accuracy(p) for p in sch.phases}
    np.savez(f"{out_dir}/spiking{seed}.npz", w1=r.w1, w2=r.w2, ot=r.spikes["output"][0], oi=r.spikes["output"][1],
             et=r.spikes["err"][0], ei=r.spikes["err"][1])
json.dump(res, open(f"{out_dir}/numbers.json", "w"))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        got = {}
        for name, co in (("baseline", Path(args.baseline)), ("this", HERE)):
            d = Path(tmp) / name
            d.mkdir()
            subprocess.run([sys.executable, "-c", EMIT, str(d)], check=True, capture_output=True,
                           env=dict(os.environ, PYTHONPATH=str(co)))
            got[name] = (json.load(open(d / "numbers.json")), d)
        (b, bd), (t, td) = got["baseline"], got["this"]
        print("| quantity | baseline | this |\n|---|---|---|")
        for rule in ("fa", "dfa"):
            k = f"rate_{rule}_rel_err"
            print(f"| rate {rule.upper()}, 50 online updates: max rel. weight difference from numpy | {b[k]:.2e} | {t[k]:.2e} |")
        for seed in (0, 1, 2):
            k = f"spiking_seed{seed}"
            a, c = np.load(bd / f"spiking{seed}.npz"), np.load(td / f"spiking{seed}.npz")
            same = all(np.array_equal(a[f], c[f]) for f in a.files)
            fmt = lambda acc: ", ".join(f"{p} {v:.3f}" for p, v in acc.items())  # noqa: E731
            print(f"| spiking FA seed {seed}: accuracy per phase | {fmt(b[k])} | {fmt(t[k])} (spikes and weights "
                  f"{'identical' if same else 'DIFFERENT'}) |")


if __name__ == "__main__":
    main()
