"""Build and run a network on a backend: the one call most scripts need."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import session
from .spec.network import NetworkSpec
from .spec.params import quantity

__all__ = ["SimResult", "simulate"]


@dataclass
class SimResult:
    """Arrays recorded by a run (``"ff.w"``, ``"exc.spikes.t"``, ...) and its timings."""

    spec: NetworkSpec
    backend: str
    arrays: dict[str, np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)
    compiler_flags: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def weight_matrix(self, projection: str) -> np.ndarray:
        p = self.spec.projection(projection)
        W = np.full((self.spec.population(p.pre).size, self.spec.population(p.post).size), np.nan)
        W[self.arrays[f"{projection}.i"], self.arrays[f"{projection}.j"]] = self.arrays[f"{projection}.w"]
        return W

    def spike_counts(self, population: str) -> np.ndarray:
        n = self.spec.population(population).size
        return np.bincount(self.arrays[f"{population}.spikes.i"], minlength=n)


def simulate(spec: NetworkSpec, backend: str = "numpy", *, duration: Any = None, directory=None,
             threads: int | None = None, report: str | None = None) -> SimResult:
    """Build ``spec`` on ``backend``, run it for ``duration`` (default ``spec.duration``), return the arrays.

    >>> from bioplaus import LIF, NetworkSpec, Population, simulate
    >>> net = NetworkSpec([Population("n", LIF(I_ext="0.3 nA"), 1)], duration="100 ms")
    >>> r = simulate(net)  # doctest: +SKIP
    """
    from brian2 import defaultclock

    from .build.network import build_network

    duration = spec.duration if duration is None else quantity("simulate", "duration", duration,
                                                                spec.duration, positive=True)
    with session(backend, directory=directory, threads=threads, seed=spec.seed) as s:
        defaultclock.dt = spec.dt
        t0 = time.perf_counter()
        built = build_network(spec)
        t1 = time.perf_counter()
        built.network.run(duration, report=report)
        t2 = time.perf_counter()
        s.finish()
        t3 = time.perf_counter()
        arrays = built.collect()
        timings = {"build_objects_s": t1 - t0, "total_s": t3 - t0}
        if s.standalone:
            timings["codegen_compile_run_s"] = t3 - t2
        else:
            timings["run_s"] = t2 - t1
        timings.update(s.timings)
        return SimResult(spec=spec, backend=backend, arrays=arrays, timings=timings, compiler_flags=s.compiler_flags)
