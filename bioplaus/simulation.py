"""Build and run a network on a backend: the one call most scripts need."""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import session
from .spec.network import NetworkSpec
from .spec.params import quantity

__all__ = ["SimResult", "simulate", "quiet_order_warnings"]


@contextlib.contextmanager
def quiet_order_warnings():
    """Drop Brian2's warning that synaptic code may depend on the order of execution (intended
    where spikes arriving in the same step add up, e.g. tracked weight sums); other warnings are
    passed on, once each."""
    from brian2.utils.logger import catch_logs

    with catch_logs(log_level=logging.WARNING) as logs:
        yield
    seen = set()
    for level, name, msg in logs:
        if "may not be well-defined" not in msg and (name, msg) not in seen:
            seen.add((name, msg))
            logging.getLogger(name).log(getattr(logging, level, logging.WARNING), msg)


@dataclass
class SimResult:
    """Arrays recorded by a run (``"ff.w"``, ``"out.spikes.t"``, ``"out.state.v"``...), timings and flags.

    ``timings`` (seconds): ``build_objects_s`` (creating the Brian2 objects), ``run_s``
    (runtime backends) or ``codegen_compile_run_s`` (standalone: generate, compile, run),
    ``total_s``, and for standalone backends Brian2's own phases (``compile.make_s``,
    ``run_binary_s``...). ``compiler_flags``: the code-generation target, compiler and
    its flags (for standalone backends as written into the generated makefile).
    """

    spec: NetworkSpec
    backend: str
    arrays: dict[str, np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)
    compiler_flags: dict[str, Any] = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    #: per :class:`~bioplaus.spec.protocol.SpikeCountReadout` name: assignments, counts, predictions and
    #: accuracy per protocol phase (:func:`bioplaus.readout.evaluate_readout`)
    readouts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def weight_matrix(self, projection: str) -> np.ndarray:
        """Dense ``(n_pre, n_post)`` final weights (NaN where there is no synapse)."""
        p = self.spec.projection(projection)
        W = np.full((self.spec.population(p.pre).size, self.spec.population(p.post).size), np.nan)
        W[self.arrays[f"{projection}.i"], self.arrays[f"{projection}.j"]] = self.arrays[f"{projection}.w"]
        return W

    def spike_counts(self, population: str) -> np.ndarray:
        """Spikes per unit of a monitored population."""
        n = self.spec.population(population).size
        return np.bincount(self.arrays[f"{population}.spikes.i"], minlength=n)

    def spike_times(self, population: str, unit: int) -> np.ndarray:
        """Spike times (seconds) of one unit of a monitored population."""
        i = self.arrays[f"{population}.spikes.i"]
        return self.arrays[f"{population}.spikes.t"][i == unit]


#: absolute synaptic weight above which a run counts as diverged
WEIGHT_LIMIT = 1e6


def _divergence(arrays: dict[str, np.ndarray], spec: NetworkSpec, limit: float) -> tuple[str, str] | None:
    """(what, where) of the first non-finite or runaway array, or ``None``.

    ``where`` is the first recorded time at which a monitored value went bad, else the
    end of the run (the final state is all a run without monitors keeps).
    """
    for proj in spec.projections:
        w = arrays.get(f"{proj.name}.w")
        if w is None or (np.all(np.isfinite(w)) and (w.size == 0 or np.max(np.abs(w)) <= limit)):
            continue
        where = f"t <= {float(spec.duration):g} s"
        hist = arrays.get(f"{proj.name}.state.w")
        if hist is not None and hist.size:
            bad = ~np.isfinite(hist) | (np.abs(np.nan_to_num(hist, nan=np.inf)) > limit)
            cols = np.nonzero(bad.any(axis=0))[0]
            if cols.size:
                where = f"t = {arrays[f'{proj.name}.state.t'][cols[0]]:.4g} s"
        detail = "non-finite weights" if not np.all(np.isfinite(w)) else f"|w| > {limit:g}"
        return f"weights of projection {proj.name!r} ({detail})", where
    for key, v in arrays.items():
        if ".state." in key and not key.endswith(".t") and v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            cols = np.nonzero((~np.isfinite(v)).any(axis=0))[0] if v.ndim == 2 else np.array([0])
            t = arrays.get(key.rsplit(".", 1)[0] + ".t")
            where = f"t = {t[cols[0]]:.4g} s" if t is not None and cols.size and v.ndim == 2 else "during the run"
            return f"recorded variable {key!r} (non-finite values)", where
    return None


def simulate(spec: NetworkSpec, backend: str = "numpy", *, duration: Any = None, directory=None,
             threads: int | None = None, report: str | None = None, check_divergence: bool = True,
             weight_limit: float = WEIGHT_LIMIT, initial_state: dict[str, np.ndarray] | None = None,
             elapsed: float = 0.0) -> SimResult:
    """Build ``spec`` on ``backend``, run it for ``duration`` (default ``spec.duration``), return the arrays.

    A ``duration`` given here replaces ``spec.duration`` (so frozen Poisson input is
    drawn for the whole run). ``threads``: OpenMP threads of the ``cpp`` backend.

    With ``check_divergence`` (default), final weights that are non-finite or exceed
    ``weight_limit`` in magnitude, or recorded variables that became non-finite, raise
    :class:`~bioplaus.errors.DivergedError` naming the projection or variable and the
    first recorded time it went bad; :func:`bioplaus.runner.run_model` records that as
    the run's status.

    ``initial_state`` (a previous result's :attr:`SimResult.state`) continues from where
    that run stopped; ``elapsed`` is how long it ran (seconds), to shift last-event times.
    The result's ``state`` holds every changing variable for the next call.

    >>> from bioplaus import LIF, Monitor, NetworkSpec, Population, simulate
    >>> net = NetworkSpec([Population("n", LIF(I_ext="0.3 nA"), 1)], monitors=[Monitor("n")], duration="100 ms")
    >>> r = simulate(net)
    >>> len(r["n.spikes.t"])
    5
    """
    from brian2 import defaultclock

    from .build.network import build_network

    if duration is not None:
        duration = quantity("simulate", "duration", duration, spec.duration, positive=True)
        spec = spec.replace(duration=duration)
    tracked = any(getattr(p.homeostasis, "tracked", False) for p in spec.projections)
    quiet = quiet_order_warnings() if tracked else contextlib.nullcontext()
    with session(backend, directory=directory, threads=threads, seed=spec.seed) as s, quiet:
        defaultclock.dt = spec.dt
        t0 = time.perf_counter()
        built = build_network(spec)
        if initial_state is not None:
            built.set_state(initial_state, elapsed)
        t1 = time.perf_counter()
        run_kw: dict[str, Any] = {}
        if report is None and not s.standalone:  # long runtime simulations show simulated-time progress
            from brian2 import second

            from .progress import SIM_REPORT_PERIOD_S, sim_report

            report = sim_report(f"simulating {spec.name} ({backend})")
            if report is not None:
                run_kw["report_period"] = SIM_REPORT_PERIOD_S * second
        built.network.run(spec.duration, report=report, **run_kw)
        t2 = time.perf_counter()
        s.finish()
        t3 = time.perf_counter()
        arrays = built.collect()
        state = built.state()
        timings = {"build_objects_s": t1 - t0, "total_s": t3 - t0}
        if s.standalone:
            timings["codegen_compile_run_s"] = t3 - t2
        else:
            timings["run_s"] = t2 - t1
        timings.update(s.timings)
        if check_divergence:
            bad = _divergence(arrays, spec, weight_limit)
            if bad is not None:
                from .errors import DivergedError

                raise DivergedError(bad[0], bad[1], f"{spec.name} on {backend}")
        from .readout import evaluate_readout

        readouts = {r.name: evaluate_readout(r, spec, arrays) for r in spec.readouts}
        return SimResult(spec=spec, backend=backend, arrays=arrays, timings=timings,
                         compiler_flags=dict(s.compiler_flags), state=state, readouts=readouts)
