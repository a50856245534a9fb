"""Parameter sweep on cpp_standalone: one build rerun with run_args against a rebuild per point.

A LIF neuron with pair-STDP on ``--inputs`` Poisson spike trains (frozen in numpy,
so every point has the same input) is swept over ``--points`` values of ``A_plus``.
Measured in one run, on one machine, one after the other:

* ``simulate``: one ordinary cpp run (generate + compile + run), and the binary's own
  run time (Brian2's ``run_binary`` timer); ``one build + N runs`` is
  ``simulate + (N - 1) x run_binary``, the least any sweep can cost;
* ``sweep_network`` with run_args reuse (``jobs`` 1 and ``--jobs``);
* ``sweep_network(reuse_builds=False)``: a rebuild (and recompile) per point, the baseline.

The final weights of the reused and rebuilt sweeps are compared point by point.
With ``--model-file`` the same comparison runs through ``run_sweep`` on
``models/stdp_window.toml`` (the path of ``bioplaus sweep``: experiment, results
directories and table included).

    python benchmarks/bench_sweep.py                  # 8 points, 400 inputs, 2 s
    python benchmarks/bench_sweep.py --model-file     # also the model-file path
    python benchmarks/bench_sweep.py --network-file --dask   # a network model file, locally and on Dask
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def network(n_inputs: int, duration_s: float, rate_hz: float = 15.0, seed: int = 1):
    from brian2 import second

    from bioplaus.spec import LIF, Monitor, NetworkSpec, PairSTDP, Population, Projection, SpikeTrains

    rng = np.random.default_rng(seed)
    dt = 1e-4
    steps = int(duration_s / dt)
    idx, tt = [], []
    for k in range(n_inputs):
        s = np.unique(rng.integers(0, steps, size=rng.poisson(rate_hz * duration_s)))
        idx.append(np.full(s.size, k))
        tt.append(s * dt)
    neuron = LIF(C_m="200 pF", g_L="10 nS", E_L="-70 mV", V_th="-54 mV", V_reset="-60 mV", t_ref="0 ms",
                 synapse="conductance", tau_e="5 ms", tau_i="5 ms", E_e="0 mV", E_i="-70 mV")
    return NetworkSpec(
        populations=[Population("inputs", SpikeTrains(indices=np.concatenate(idx), times=np.concatenate(tt) * second,
                                                      n=n_inputs), n_inputs),
                     Population("neuron", neuron, 1)],
        projections=[Projection("syn", "inputs", "neuron", rule=PairSTDP(A_plus=0.01, A_minus=0.0105),
                                w_init=(0.0, 1.0), weight_scale="0.3 nS")],
        monitors=[Monitor("neuron", ("spikes",))],
        duration=duration_s * second, dt="0.1 ms", seed=seed, name="bench_sweep")


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def row(name: str, seconds: float, ref: float, note: str = "") -> str:
    return f"| {name:<44} | {seconds:9.2f} | {seconds / ref:6.2f} | {note} |"


def bench_network(args) -> list[str]:
    from bioplaus.simulation import simulate
    from bioplaus.sweep import sweep_network

    spec = network(args.inputs, args.duration)
    values = np.round(np.linspace(0.004, 0.02, args.points), 6)
    points = [{"projections.syn.A_plus": float(v)} for v in values]
    single, t_single = timed(simulate, spec, "cpp", threads=args.threads)
    t_run = single.timings.get("run_binary_s", float("nan"))
    ref = t_single + (args.points - 1) * t_run
    reuse1, t_reuse1 = timed(sweep_network, spec, points, backend="cpp", jobs=1, threads=args.threads)
    reuse_j, t_reuse_j = timed(sweep_network, spec, points, backend="cpp", jobs=args.jobs, threads=args.threads)
    rebuild, t_rebuild = timed(sweep_network, spec, points, backend="cpp", reuse_builds=False, threads=args.threads)
    modes = {r.compiler_flags["sweep.mode"] for r in reuse1}
    dw = max(float(np.max(np.abs(a["syn.w"] - b["syn.w"]))) for a, b in zip(reuse1, rebuild))
    spikes = [len(r["neuron.spikes.t"]) for r in reuse1]
    build_s = reuse1[0].timings["sweep.shared_build_s"]
    lines = [
        f"network: {args.inputs} Poisson inputs -> 1 LIF neuron, pair-STDP, {args.duration:g} s at dt = 0.1 ms; "
        f"{args.points} values of projections.syn.A_plus; output spikes per point {min(spikes)}..{max(spikes)}",
        "",
        "| what | wall (s) | / (one build + N runs) | note |",
        "|---|---:|---:|---|",
        row("one build + N runs (simulate + (N-1) x run)", ref, ref,
            f"simulate {t_single:.2f} s, binary run {t_run:.3f} s"),
        row(f"sweep_network, run_args, jobs 1", t_reuse1, ref, f"modes {sorted(modes)}, shared build {build_s:.2f} s"),
        row(f"sweep_network, run_args, jobs {args.jobs}", t_reuse_j, ref, ""),
        row("sweep_network, rebuild per point (baseline)", t_rebuild, ref,
            f"{t_rebuild / t_reuse1:.1f}x the run_args sweep"),
        "",
        f"max |w(run_args) - w(rebuild)| over all points and synapses: {dw:.3g}",
    ]
    return lines


def bench_model_file(args) -> list[str]:
    from bioplaus.sweep import expand_sweep, run_sweep

    values = [round(float(v), 6) for v in np.linspace(0.004, 0.02, args.points)]
    fixed = ["params.n_points=41", 'params.period="250 ms"', "params.pairings=4"]
    sweep = expand_sweep("stdp_window", {"params.A_plus": values}, overrides=fixed, backend="cpp")
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        _, t_reuse = timed(run_sweep, sweep, tmp / "reuse", jobs=1, in_process=True, progress=lambda m: None)
        _, t_rebuild = timed(run_sweep, sweep, tmp / "rebuild", jobs=1, in_process=True, reuse_builds=False,
                             progress=lambda m: None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ["", f"model file models/stdp_window.toml through run_sweep (in process, results directories written), "
                f"{args.points} values of params.A_plus:", "",
            "| what | wall (s) |", "|---|---:|",
            f"| run_sweep, run_args (one build) | {t_reuse:.2f} |",
            f"| run_sweep, rebuild per point (--no-reuse) | {t_rebuild:.2f} ({t_rebuild / t_reuse:.1f}x) |"]


def bench_network_file(args) -> list[str]:
    """An 8-point sweep of a network model file on cpp against one build + one run, and the same
    sweep through a Dask LocalCluster of 2 workers (results compared point by point)."""
    from bioplaus.config import load_model
    from bioplaus.runner import run_model
    from bioplaus.sweep import expand_sweep, read_results, run_sweep

    model = Path(__file__).resolve().parent.parent / "models" / "song_stdp_network.toml"
    fixed = [f"duration={args.duration:g}s"]
    values = [round(float(v), 6) for v in np.linspace(0.002, 0.009, args.points)]
    sweep = expand_sweep(str(model), {"projections.exc.rule.A_plus": values}, overrides=fixed, backend="cpp")
    tmp = Path(tempfile.mkdtemp(prefix="bench_netfile_"))
    quiet = lambda m: None  # noqa: E731
    try:
        cfg = load_model(model, fixed, backend="cpp")
        single, t_single = timed(run_model, cfg, tmp / "single", progress=quiet)
        _, t_sweep = timed(run_sweep, sweep, tmp / "sweep", jobs=1, in_process=True, progress=quiet)
        rows = read_results(tmp / "sweep")
        modes = sorted({r["mode"] for r in rows})
        lines = ["", f"network model file models/song_stdp_network.toml ({args.duration:g} s simulated) through run_sweep "
                     f"on cpp, {args.points} values of projections.exc.rule.A_plus:", "",
                 "| what | wall (s) | / one build + one run |", "|---|---:|---:|",
                 f"| one build + one run (bioplaus run) | {t_single:.2f} | 1.00 |",
                 f"| sweep, {args.points} points, modes {modes} | {t_sweep:.2f} | {t_sweep / t_single:.2f} |"]
        if args.dask:
            import distributed

            with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                          dashboard_address=None) as cl:
                _, t_dask = timed(run_sweep, sweep, tmp / "dask", scheduler=cl.scheduler_address, progress=quiet)
            remote = read_results(tmp / "dask")
            same = all(np.array_equal(np.load(tmp / "sweep" / "points" / a["point"] / "arrays.npz")["exc.w"],
                                      np.load(tmp / "dask" / "points" / b["point"] / "arrays.npz")["exc.w"])
                       for a, b in zip(rows, remote))
            lines.append(f"| same sweep on a Dask LocalCluster, 2 workers | {t_dask:.2f} | {t_dask / t_single:.2f} |")
            lines += ["", f"Dask results identical to the local sweep (final weights of every point): {same}"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--inputs", type=int, default=400)
    ap.add_argument("--duration", type=float, default=2.0, help="simulated seconds")
    ap.add_argument("--jobs", type=int, default=2, help="concurrent binary runs for the second run_args sweep")
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads of the cpp backend")
    ap.add_argument("--model-file", action="store_true", help="also benchmark the model-file path (run_sweep)")
    ap.add_argument("--network-file", action="store_true",
                    help="also sweep the network model file models/song_stdp_network.toml (one build, run_args)")
    ap.add_argument("--dask", action="store_true", help="with --network-file: the same sweep on a Dask LocalCluster")
    args = ap.parse_args()
    import brian2

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}, brian2 {brian2.__version__}")
    lines = bench_network(args)
    if args.model_file:
        lines += bench_model_file(args)
    if args.network_file:
        lines += bench_network_file(args)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
