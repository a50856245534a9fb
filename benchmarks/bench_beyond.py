"""Accuracy targets of the rules beyond feedback alignment, and e-prop timing.

digits, one hidden layer of 256 tanh units, 30 epochs, 3 seeds, the harness defaults
(batch 16, momentum 0.9, each rule's default learning rate): BP (the baseline, same run),
FA, synthetic gradients, Forward-Forward, node and weight perturbation. As a control for
synthetic gradients the same run with the predictors frozen at zero (``sg_lr = 0``: the
hidden layer never changes, only the readout learns) is printed beside it.

``--eprop`` also times the e-prop sine task: the Brian2 network on the given backends
against the numpy reference (the baseline), per trial, and checks their losses agree.

    python benchmarks/bench_beyond.py [--epochs 30] [--seeds 3] [--eprop numpy,cpp] [--trials 50]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from bioplaus.harness import CompareConfig, compare
from bioplaus.reference.synthetic import SyntheticGradients

RULES = ("bp", "fa", "sg", "ff", "np", "wp")
TARGETS = {"sg": 0.95, "ff": 0.93}


def digits(args) -> bool:
    cfg = CompareConfig(dataset="digits", rules=RULES, hidden=(256,), epochs=args.epochs, seeds=args.seeds,
                        seed=args.seed, out=args.out)
    t0 = time.perf_counter()
    res = compare(cfg, progress=True)
    wall = time.perf_counter() - t0
    control = compare(CompareConfig(dataset="digits", rules=(SyntheticGradients(sg_lr=0.0),), hidden=(256,),
                                    epochs=args.epochs, seeds=args.seeds, seed=args.seed), progress=False)
    print(f"# digits, 256 tanh, {args.epochs} epochs, {args.seeds} seeds, batch {cfg.batch_size}, momentum "
          f"{cfg.momentum}, root seed {args.seed}")
    print(f"# machine: {platform.machine()} {platform.platform()}, python {platform.python_version()}")
    print()
    print("| rule | lr | test acc (mean ± std) | per seed | gap to BP | target | met | ∠update L1 (°) | s/epoch |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    rules = {r.name: r for r in cfg.make_rules()}
    bp = res.summary_of("bp").test_acc[0]
    for s in res.summary:
        m, sd = s.test_acc
        target = TARGETS.get(s.rule)
        met = "" if target is None else ("yes" if m >= target else "NO")
        ok &= met != "NO"
        per_seed = ", ".join(f"{v:.4f}" for v in res.final(s.rule))
        print(f"| {s.rule} | {cfg.lr_for(rules[s.rule]):g} | {m:.4f} ± {sd:.4f} | {per_seed} | {m - bp:+.4f} | "
              f"{'' if target is None else f'>= {target}'} | {met} | {s.angle_update[0]:.1f} | "
              f"{s.time_per_epoch_s:.3f} |".replace("nan", "—"))
    c = control.summary[0]
    print(f"| sg, predictors frozen at 0 (readout only, control) | {cfg.lr_for(rules['sg']):g} | "
          f"{c.test_acc[0]:.4f} ± {c.test_acc[1]:.4f} | {', '.join(f'{v:.4f}' for v in control.final(c.rule))} | "
          f"{c.test_acc[0] - bp:+.4f} | | | — | {c.time_per_epoch_s:.3f} |")
    print()
    print(f"wall time of the comparison ({len(RULES)} rules x {args.seeds} seeds): {wall:.1f} s")
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return ok


def eprop(args) -> bool:
    from bioplaus.networks.eprop import EpropNetwork, run_eprop
    from bioplaus.reference.eprop import LIFNet, poisson_input, sine_target, train_recurrent

    rng = np.random.default_rng(args.seed)
    steps, n_in, n_rec = 500, 20, 50
    x = poisson_input(n_in, steps, 0.05, rng)
    y = sine_target(steps, 250)
    spec = EpropNetwork(feedback="random")
    net = LIFNet.random(n_in, n_rec, 1, np.random.default_rng(args.seed + 1), feedback="random")
    net.alpha, net.kappa = spec.alpha, spec.kappa
    t0 = time.perf_counter()
    ref, _ = train_recurrent(net, x, y, args.trials, "eprop", spec.lr)
    t_ref = time.perf_counter() - t0
    print()
    print(f"# e-prop sine task: {n_in} inputs, {n_rec} recurrent LIF, {steps} steps/trial, {args.trials} trials")
    print()
    print("| implementation | total (s) | of which compile/build (s) | per trial (ms) | max loss diff to numpy | "
          "final loss |")
    print("|---|---|---|---|---|---|")
    print(f"| numpy reference (baseline) | {t_ref:.2f} | 0 | {1e3 * t_ref / args.trials:.1f} | 0 | {ref[-1]:.4f} |")
    ok = True
    for backend in [b for b in args.eprop.split(",") if b]:
        t0 = time.perf_counter()
        r = run_eprop(spec, net.params(), x, y, args.trials, B=net.B, backend=backend)
        total = time.perf_counter() - t0
        run = r.timings.get("run_binary_s", r.timings.get("run_s", float("nan")))
        diff = float(np.max(np.abs(r.losses - ref)))
        ok &= diff < 1e-6
        print(f"| Brian2 {backend} | {total:.2f} | {total - run:.2f} | {1e3 * run / args.trials:.1f} | {diff:.1e} | "
              f"{r.losses[-1]:.4f} |")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the digits results directory")
    ap.add_argument("--no-digits", action="store_true", help="skip the digits comparison")
    ap.add_argument("--eprop", default="", help="comma-separated Brian2 backends to time on the e-prop task")
    ap.add_argument("--trials", type=int, default=50, help="e-prop trials")
    args = ap.parse_args(argv)
    ok = True
    if not args.no_digits:
        ok &= digits(args)
    if args.eprop:
        ok &= eprop(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
