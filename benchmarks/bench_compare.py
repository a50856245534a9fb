"""Accuracy targets of the comparison harness with its default settings.

digits, one hidden layer of 256 tanh units, 30 epochs, 3 seeds, every built-in rule
(the configuration of ``make demo``). BP is the baseline in the same run; as a control
for the Hebbian learner the same readout is also trained on the *untrained* random
features (``Hebbian(eps0=0)``). Prints a table with the targets and the wall time.

    python benchmarks/bench_compare.py [--epochs 30] [--seeds 3] [--out results/bench-compare]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

from bioplaus.harness import CompareConfig, compare
from bioplaus.reference.hebbian import Hebbian

TARGETS = {"bp": 0.97, "fa": 0.96, "dfa": 0.95, "hebbian": 0.93}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the results directory")
    ap.add_argument("--no-control", action="store_true", help="skip the random-feature control")
    args = ap.parse_args(argv)

    cfg = CompareConfig(dataset="digits", hidden=(256,), epochs=args.epochs, seeds=args.seeds, seed=args.seed,
                        out=args.out)
    t0 = time.perf_counter()
    res = compare(cfg, progress=True)
    wall = time.perf_counter() - t0
    control = None
    if not args.no_control:
        t1 = time.perf_counter()
        control = compare(CompareConfig(dataset="digits", hidden=(256,), epochs=args.epochs, seeds=args.seeds,
                                        seed=args.seed, rules=(Hebbian(eps0=0.0),)), progress=False)
        control_wall = time.perf_counter() - t1

    print(f"# bioplaus compare: digits, 256 tanh, {args.epochs} epochs, {args.seeds} seeds, batch "
          f"{cfg.batch_size}, momentum {cfg.momentum}, root seed {args.seed}")
    print(f"# machine: {platform.machine()} {platform.platform()}, python {platform.python_version()}")
    print()
    print("| rule | lr | test acc (mean ± std) | per seed | gap to BP | target | met | ∠update (°) | "
          "∠feedback (°) | s/epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    rules = {r.name: r for r in cfg.make_rules()}
    for s in res.summary:
        m, sd = s.test_acc
        target = TARGETS.get(s.rule)
        met = "" if target is None else ("yes" if m >= target else "NO")
        ok &= met != "NO"
        per_seed = ", ".join(f"{v:.4f}" for v in res.final(s.rule))
        print(f"| {s.rule} | {cfg.lr_for(rules[s.rule]):g} | {m:.4f} ± {sd:.4f} | {per_seed} | {round(s.gap_to_bp, 4) + 0.0:+.4f} | "
              f"{'' if target is None else f'>= {target}'} | {met} | {s.angle_update[0]:.1f} | "
              f"{s.angle_weights[0]:.1f} | {s.time_per_epoch_s:.3f} |".replace("nan", "—"))
    if control is not None:
        c = control.summary[0]
        per_seed = ", ".join(f"{v:.4f}" for v in control.final(c.rule))
        bp = res.summary_of("bp").test_acc[0]
        print(f"| hebbian, random features (eps0=0, control) | {cfg.lr_for(rules['hebbian']):g} | "
              f"{c.test_acc[0]:.4f} ± {c.test_acc[1]:.4f} | {per_seed} | {c.test_acc[0] - bp:+.4f} | | | — | — | "
              f"{c.time_per_epoch_s:.3f} |")
    print()
    print(f"wall time of the comparison (5 rules x {args.seeds} seeds): {wall:.1f} s"
          + (f"; control: {control_wall:.1f} s" if control is not None else ""))
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
