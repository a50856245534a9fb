"""Benchmark: FA/DFA as rate dynamics in Brian2 on the digits, per backend, beside the numpy reference.

Every backend trains the same network (the NetworkSpec of ``fa_rate_spec``; same initial weights,
feedback matrices and sample order) online, all epochs in one ``simulate`` run; the numpy reference
(:class:`bioplaus.reference.credit.FA`, batch size 1) trains in the same process.
Accuracy is the numpy forward pass on the weights each run recorded at each epoch's end.

    python benchmarks/bench_fa_rate.py                       # numpy and cpp, 20 epochs
    python benchmarks/bench_fa_rate.py --backends cpp --epochs 30 --rule dfa
    python benchmarks/bench_fa_rate.py --per-epoch           # also: the harness rule, one cpp rerun per epoch

Columns: ``build s`` is object creation plus code generation and compilation (standalone);
``s/epoch`` and ``samples/s`` count simulated training only; ``first >= 0.95`` is the first
epoch whose test accuracy reaches 0.95; ``max |dW|`` is the largest difference of any
weight or bias from the numpy reference after the last epoch.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np


def _acc(net, x, y):
    return float(np.mean(np.argmax(net.predict(x), axis=1) == y))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="numpy,cpp", help="comma-separated Brian2 backends (numpy,cython,cpp,cuda)")
    ap.add_argument("--rule", default="fa", choices=("fa", "dfa"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.03)
    ap.add_argument("--loss", default="cross_entropy", choices=("cross_entropy", "mse"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads for cpp")
    ap.add_argument("--per-epoch", action="store_true",
                    help="also time cpp with one binary rerun per epoch (as the harness learner runs it)")
    args = ap.parse_args(argv)

    from bioplaus.backends import availability
    from bioplaus.data import load_dataset
    from bioplaus.networks.fa_rate import FARateNetwork, train_fa_rate
    from bioplaus.reference.credit import DFA, FA, TrainSettings
    from bioplaus.reference.mlp import MLP

    ss = np.random.SeedSequence(args.seed)
    data_ss, init_ss, fb_ss, order_ss = ss.spawn(4)
    d = load_dataset("digits", seed=data_ss)
    sizes = (d.n_features, args.hidden, d.n_outputs)
    net0 = MLP.random(sizes, "tanh", args.loss, np.random.default_rng(init_ss))
    settings = TrainSettings(lr=args.lr, momentum=0.0, batch_size=1, epochs=args.epochs, loss=args.loss)
    ref = (FA() if args.rule == "fa" else DFA()).learner()
    ref.init(net0.copy(), np.random.default_rng(fb_ss), settings)
    feedback = [B.copy() for B in ref.feedback]
    rng = np.random.default_rng(order_ss)
    orders = [rng.permutation(len(d.x_train)) for _ in range(args.epochs)]
    targets = net0.targets(d.y_train, sizes[-1])
    n = len(d.x_train)
    spec = FARateNetwork(sizes=sizes, rule=args.rule, lr=args.lr, loss=args.loss, name=f"bench_{args.rule}")

    print(f"# {args.rule.upper()} rate network {'-'.join(map(str, sizes))} tanh/{args.loss}, digits "
          f"({n} train / {len(d.x_test)} test), online (batch 1), lr {args.lr}, {args.epochs} epochs, "
          f"seed {args.seed}", flush=True)
    print(f"# machine: {platform.node()} {platform.machine()}, {platform.processor() or ''} "
          f"python {platform.python_version()}", flush=True)

    # numpy reference (the baseline), epoch by epoch on the same orders
    ref_curve, ref_time = [], 0.0
    for order in orders:
        t0 = time.perf_counter()
        for k in order:
            ref.step(d.x_train[k:k + 1], d.y_train[k:k + 1])
        ref_time += time.perf_counter() - t0
        ref_curve.append(_acc(ref.net, d.x_test, d.y_test))

    rows = []

    def first95(curve):
        return next((str(e + 1) for e, a in enumerate(curve) if a >= 0.95), "-")

    rows.append(["numpy reference (FA, batch 1)", f"{ref_curve[-1]:.4f}", f"{max(ref_curve):.4f}",
                 first95(ref_curve), "-", f"{ref_time / args.epochs:.3f}", f"{n * args.epochs / ref_time:.0f}", "0"])
    avail = availability()
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if avail.get(backend) != "ok":
            rows.append([f"Brian2 {backend}", "unavailable: " + str(avail.get(backend)), "", "", "", "", "", ""])
            continue
        print(f"# running {backend} ...", flush=True)
        res = train_fa_rate(spec, net0.weights, net0.biases, feedback, d.x_train, targets, orders, backend,
                            threads=args.threads)
        curve = [_acc(MLP(W, b, "tanh", args.loss), d.x_test, d.y_test) for W, b in res.snapshots[1:]]
        dw = max(float(np.abs(a - r).max()) for a, r in
                 zip(res.weights + res.biases, ref.net.weights + ref.net.biases))
        run_s = res.timings["run_s"]
        rows.append([f"Brian2 {backend} (one run)", f"{curve[-1]:.4f}", f"{max(curve):.4f}", first95(curve),
                     f"{res.timings['build_s']:.1f}", f"{run_s / args.epochs:.3f}", f"{n * args.epochs / run_s:.0f}",
                     f"{dw:.1e}"])
        if args.per_epoch and backend in ("cpp", "cuda"):
            # the harness rule: one compiled build, rerun per epoch with the epoch's order and the weights
            from bioplaus.harness import make_credit_rule

            learner = make_credit_rule(f"{args.rule}-brian2", backend=backend, threads=args.threads).learner()
            net = net0.copy()
            learner.init(net, np.random.default_rng(fb_ss), settings)
            orders_it = iter(orders)

            class _Orders:   # hands the learner the same orders as the other runs
                def permutation(self, n):
                    return next(orders_it)

            build, per, curve2 = 0.0, [], []
            try:
                for e in range(args.epochs):
                    t0 = time.perf_counter()
                    learner.train_epoch(d.x_train, d.y_train, _Orders())
                    wall = time.perf_counter() - t0
                    if e == 0:
                        build = wall
                    else:
                        per.append(wall)
                    curve2.append(_acc(net, d.x_test, d.y_test))
            finally:
                learner.close()
            W, b = net.weights, net.biases
            dw2 = max(float(np.abs(a - r_).max()) for a, r_ in zip(W + b, ref.net.weights + ref.net.biases))
            rows.append([f"Brian2 {backend} (harness rule, rerun per epoch)", f"{curve2[-1]:.4f}", f"{max(curve2):.4f}",
                         first95(curve2), f"{build:.1f}", f"{np.mean(per):.3f}", f"{n / np.mean(per):.0f}",
                         f"{dw2:.1e}"])

    header = ["run", "final test acc", "best test acc", "first >= 0.95", "build s", "s/epoch", "samples/s",
              "max |dW| vs ref"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
