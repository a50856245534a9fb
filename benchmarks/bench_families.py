"""Defining properties of the credit-assignment families, measured: prints three tables.

1. Predictive coding: cosine of the update with the BP gradient (all layers together) against the
   output precision beta and the number of inference iterations, with and without the
   fixed-prediction assumption.
2. Equilibrium propagation: relative distance of the update from the gradient of the loss at the
   free fixed point against beta, one-sided and symmetric nudging.
3. Kolen-Pollack / weight mirroring / FA: angle between feedback and transposed forward weights per
   epoch on the teacher task (harness, root seed 0).

Usage: ``python benchmarks/bench_families.py``
"""
from __future__ import annotations

import numpy as np

from bioplaus.experiments.base import md_table
from bioplaus.harness import CompareConfig, compare
from bioplaus.reference.equilibrium import ep_true_gradients, ep_updates
from bioplaus.reference.mlp import MLP
from bioplaus.reference.predictive_coding import pc_updates


def _flat(g):
    return np.concatenate([w.ravel() for w in g.dW])


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def pc_table() -> str:
    rng = np.random.default_rng(0)
    net = MLP.random((8, 16, 12, 4), "tanh", "cross_entropy", rng)
    x, y = rng.standard_normal((32, 8)), rng.integers(0, 4, 32)
    bp = _flat(net.gradients(x, y)[1])
    rows = []
    for fpa in (True, False):
        for beta in (1.0, 0.1, 0.01, 0.001):
            row = ["fixed prediction" if fpa else "free", beta]
            for it in (2, 20, 200):
                row.append(f"{1 - _cos(_flat(pc_updates(net, x, y, beta, it, 0.2, fpa)), bp):.1e}")
            rows.append(row)
    return md_table(["inference", "beta", "1 - cos, 2 it.", "1 - cos, 20 it.", "1 - cos, 200 it."], rows)


def ep_table() -> str:
    rows = []
    for readout in (False, True):
        rng = np.random.default_rng(0)
        net = MLP.random((5, 7, 6, 3), "tanh", "cross_entropy", rng)
        x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
        true = _flat(ep_true_gradients(net, x, y, readout=readout))
        for beta in (0.5, 0.1, 0.01, 0.001):
            row = ["readout" if readout else "output in energy", beta]
            for sym in (False, True):
                v = _flat(ep_updates(net, x, y, beta, sym, 3000, 3000, 1e-13, readout=readout))
                row += [f"{np.linalg.norm(v - true) / np.linalg.norm(true):.1e}", f"{_cos(v, true):.6f}"]
            rows.append(row)
    return md_table(["output", "beta", "one-sided rel. err.", "one-sided cos", "symmetric rel. err.",
                     "symmetric cos"], rows)


def kp_table() -> str:
    rules = ("fa", "kp", "mirror")
    res = compare(CompareConfig(dataset="teacher", rules=rules, hidden=(32,), epochs=10, seeds=1), progress=False)
    curves = {r: res.curve(r, "angle_weights_l1")[0] for r in rules}
    return md_table(["epoch"] + [f"{r} ∠(B, Wᵀ) (°)" for r in rules],
                    [[e] + [f"{curves[r][e]:.1f}" for r in rules] for e in range(11)])


if __name__ == "__main__":
    print("Predictive coding vs BP (8-16-12-4 tanh, cross-entropy, batch 32, gamma 0.2)\n")
    print(pc_table())
    print("\nEquilibrium propagation vs the gradient at the free fixed point (5-7-6-3 tanh, batch 8)\n")
    print(ep_table())
    print("\nFeedback vs transposed forward weights on the teacher task (hidden 32, root seed 0)\n")
    print(kp_table())
