"""Training throughput of the numpy reference MLP against PyTorch on the CPU, in the same run.

784-1000-10 tanh MLP, softmax cross-entropy, batch 64, SGD with momentum 0.9, float32
in both. One training step = forward, loss, backward, parameter update. BLAS/torch
threads are set to the same number in both (``--threads``, default 1; numpy's BLAS
through threadpoolctl). Prints a table and the ratio numpy/torch of steps per second;
skips PyTorch with a message if it is not installed (``pip install torch==2.13.0``).

    python benchmarks/bench_mlp_throughput.py [--threads 1] [--steps 300] [--repeats 5]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from bioplaus.reference.mlp import MLP, SGD

SIZES = (784, 1000, 10)
BATCH = 64
LR, MOMENTUM = 0.01, 0.9


def _data(n_batches: int, rng: np.random.Generator):
    x = rng.random((n_batches, BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=(n_batches, BATCH))
    return x, y


def numpy_runner(x, y):
    """A function running ``k`` training steps of the numpy reference."""
    net = MLP.random(SIZES, "tanh", "cross_entropy", np.random.default_rng(0), dtype=np.float32)
    opt = SGD(net, LR, MOMENTUM)
    n = len(x)

    def run(k):
        for i in range(k):
            opt.step(net.gradients(x[i % n], y[i % n])[1])
        assert net.all_finite() and net.dtype == np.float32

    return run


def torch_runner(torch, x, y):
    """The same steps in PyTorch."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.Tanh(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)

    def run(k):
        for i in range(k):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xt[i % n]), yt[i % n]).backward()
            opt.step()

    return run


def interleaved_best(runners: dict, steps: int, repeats: int) -> dict[str, float]:
    """Steps per second of each runner: best of ``repeats`` timed blocks, taken in turn
    so that both see the same machine load."""
    for run in runners.values():
        run(20)  # warm-up
    best = {k: float("inf") for k in runners}
    for _ in range(repeats):
        for k, run in runners.items():
            t0 = time.perf_counter()
            run(steps)
            best[k] = min(best[k], time.perf_counter() - t0)
    return {k: steps / t for k, t in best.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_info, threadpool_limits

    x, y = _data(16, np.random.default_rng(1))
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: baseline skipped (pip install torch==2.13.0 for the comparison)",
              file=sys.stderr)
    runners = {"numpy": numpy_runner(x, y)}
    if torch is not None:
        torch.set_num_threads(args.threads)
        runners["torch"] = torch_runner(torch, x, y)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = ", ".join(f"{i['internal_api']} {i.get('version', '')} ({i['num_threads']} thr)"
                         for i in threadpool_info() if i["user_api"] == "blas")
        rates = interleaved_best(runners, args.steps, args.repeats)
    np_rate = rates["numpy"]
    rows = [("numpy reference", f"numpy {np.__version__}; {blas}", np_rate)]
    if torch is not None:
        t_rate = rates["torch"]
        rows.append(("PyTorch (CPU)", f"torch {torch.__version__}; {torch.get_num_threads()} thr", t_rate))

    print(f"# MLP training throughput: {'-'.join(map(str, SIZES))} tanh, batch {BATCH}, float32, "
          f"SGD momentum {MOMENTUM}, {args.threads} thread(s)")
    print(f"# machine: {platform.machine()} {platform.processor() or ''} {platform.platform()}")
    print()
    print("| implementation | library | steps/s | samples/s | ms/step |")
    print("|---|---|---|---|---|")
    for name, lib, rate in rows:
        print(f"| {name} | {lib} | {rate:.1f} | {rate * BATCH:.0f} | {1000 / rate:.3f} |")
    if torch is not None:
        ratio = np_rate / t_rate
        verdict = "within" if ratio >= 1 / 1.5 else "NOT within"
        print()
        print(f"numpy / torch throughput ratio: {ratio:.2f} (torch is {1 / ratio:.2f}x numpy; "
              f"{verdict} the 1.5x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
