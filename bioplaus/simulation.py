"""Build and run a network on a backend: the one call most scripts need."""
from __future__ import annotations

import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import session
from .spec.network import NetworkSpec
from .spec.params import quantity

__all__ = ["SimResult", "Simulation", "simulate", "quiet_order_warnings"]


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
    #: false where :meth:`Simulation.run` reran an already compiled binary
    rebuilt: bool = True

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

    One :meth:`Simulation.run` of a fresh :class:`Simulation` (which also reruns a build).

    >>> from bioplaus import LIF, Monitor, NetworkSpec, Population, simulate
    >>> net = NetworkSpec([Population("n", LIF(I_ext="0.3 nA"), 1)], monitors=[Monitor("n")], duration="100 ms")
    >>> r = simulate(net)
    >>> len(r["n.spikes.t"])
    5
    """
    if duration is not None:
        duration = quantity("simulate", "duration", duration, spec.duration, positive=True)
        spec = spec.replace(duration=duration)
    with Simulation(spec, backend, directory=directory, threads=threads, report=report,
                    check_divergence=check_divergence, weight_limit=weight_limit) as sim:
        return sim.run(state=initial_state, elapsed=elapsed)


#: the Simulation holding the standalone device's compiled project (one per process at a time)
_HOLDER: "weakref.ref[Simulation] | None" = None


class Simulation:
    """A :class:`NetworkSpec` built on one backend and run one or more times (:func:`simulate` runs it once).

    :meth:`run` with ``inputs`` (new :class:`~bioplaus.spec.credit.SampleRates` models of the
    same shape for input populations, e.g. another sample order) and ``state`` (values of
    changing variables, as :attr:`SimResult.state` names them, e.g. weights trained
    elsewhere) runs the network again from those values. On ``cpp`` and ``cuda`` the first
    run generates and compiles the project and later runs rerun the same binary with the
    new values as ``run_args`` (no code generation, no compilation; ``SimResult.rebuilt`` is
    false); on ``numpy`` and ``cython`` every run builds the network afresh. The standalone
    device stays held until :meth:`close` (use the object as a context manager), or until another
    Simulation builds for a standalone backend (one compiled project per process at a time; the
    next run here then builds again).

    >>> from bioplaus import LIF, NetworkSpec, Population
    >>> net = NetworkSpec([Population("n", LIF(I_ext="0.3 nA"), 1)], duration="10 ms")
    >>> with Simulation(net) as sim:
    ...     a = sim.run()
    ...     b = sim.run(state={"n.v": a.state["n.v"]})
    >>> float(b.state["n.v"][0]) != float(a.state["n.v"][0])
    True
    """

    def __init__(self, spec: NetworkSpec, backend: str = "numpy", *, directory=None, threads: int | None = None,
                 report: str | None = None, check_divergence: bool = True, weight_limit: float = WEIGHT_LIMIT):
        self.spec = spec
        self.backend = backend
        self.directory = directory
        self.threads = threads
        self.report = report
        self.check_divergence = check_divergence
        self.weight_limit = weight_limit
        self._stack: contextlib.ExitStack | None = None
        self._session = None
        self._built = None
        self._device = None

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the backend (a standalone project is discarded)."""
        global _HOLDER
        if _HOLDER is not None and _HOLDER() is self:
            _HOLDER = None
        stack, self._stack = self._stack, None
        self._built = self._session = self._device = None
        if stack is not None:
            stack.close()

    def run(self, *, inputs: dict[str, Any] | None = None, state: dict[str, np.ndarray] | None = None,
            elapsed: float = 0.0) -> SimResult:
        """Run the network (again) with new ``inputs`` (population name -> input model) and ``state``."""
        spec = self.spec
        if inputs:
            spec = spec.replace(populations=[p.replace(model=inputs[p.name]) if p.name in inputs else p
                                             for p in spec.populations])
        if self._built is not None and self._reusable(spec):
            return self._rerun(spec, inputs or {}, state or {})
        self.close()
        return self._build_and_run(spec, state, elapsed)

    # ------------------------------------------------------------------ internals
    def _reusable(self, spec: NetworkSpec) -> bool:
        from .brian2_internals import holds_project

        if not holds_project(self._device, self._built.network):
            return False
        old = {p.name: p for p in self._built.spec.populations}
        for p in spec.populations:
            q = old.get(p.name)
            if q is None or (p.model is not q.model and not _same_shape_input(p.model, q.model)):
                return False
        return len(old) == len(spec.populations)

    def _build_and_run(self, spec: NetworkSpec, initial_state, elapsed: float) -> SimResult:
        from brian2 import defaultclock

        from .build.network import build_network

        global _HOLDER
        backend, report = self.backend, self.report
        holder = _HOLDER() if _HOLDER is not None else None
        if holder is not None and holder is not self and backend in ("cpp", "cuda"):
            holder.close()   # its project would otherwise be built into this one
        tracked = any(getattr(p.homeostasis, "tracked", False) for p in spec.projections)
        stack = contextlib.ExitStack()
        try:
            s = stack.enter_context(session(backend, directory=self.directory, threads=self.threads,
                                            seed=spec.seed))
            if tracked:
                stack.enter_context(quiet_order_warnings())
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
            timings = {"build_objects_s": t1 - t0, "total_s": t3 - t0}
            if s.standalone:
                timings["codegen_compile_run_s"] = t3 - t2
            else:
                timings["run_s"] = t2 - t1
            timings.update(s.timings)
            result = self._result(spec, built, s, timings)
        except BaseException:
            stack.close()
            raise
        if s.standalone:   # keep the compiled project for reruns
            from brian2 import get_device

            self._stack, self._session, self._built, self._device = stack, s, built, get_device()
            _HOLDER = weakref.ref(self)
        else:
            stack.close()
        return result

    def _rerun(self, spec: NetworkSpec, inputs: dict[str, Any], state: dict[str, np.ndarray]) -> SimResult:
        from brian2.units.fundamentalunits import Quantity, get_dimensions

        from .brian2_internals import last_run_time, uses_timed_array
        from .build.feedback import input_run_args

        b = self._built
        args: dict[Any, Any] = {}
        for name, model in inputs.items():
            for ta, values in input_run_args(model, b.groups[name], spec).items():
                if uses_timed_array(self._device, ta):
                    args[ta] = values
        objs = {**b.groups, **b.synapses}
        for key, value in state.items():
            owner, var = key.rsplit(".", 1)
            if owner not in objs or var not in objs[owner].variables:
                from .errors import ConfigError

                raise ConfigError(f"state.{key}", "unknown", "a variable of a group or projection of "
                                  f"{spec.name!r} (as SimResult.state names them)")
            obj = objs[owner]
            value = np.asarray(value)
            dim = get_dimensions(obj.variables[var])
            args[getattr(obj, var)] = Quantity(value, dim=dim) if value.dtype.kind == "f" else value
        t0 = time.perf_counter()
        self._session.rerun(args)
        t1 = time.perf_counter()
        run_s = last_run_time(self._device)
        timings = {"build_objects_s": 0.0, "total_s": t1 - t0, "run_binary_s": run_s, "rerun_s": t1 - t0}
        b.spec = spec
        return self._result(spec, b, self._session, timings, rebuilt=False)

    def _result(self, spec, built, s, timings, rebuilt: bool = True) -> SimResult:
        from .readout import evaluate_readout

        arrays = built.collect()
        if self.check_divergence:
            bad = _divergence(arrays, spec, self.weight_limit)
            if bad is not None:
                from .errors import DivergedError

                raise DivergedError(bad[0], bad[1], f"{spec.name} on {self.backend}")
        readouts = {r.name: evaluate_readout(r, spec, arrays) for r in spec.readouts}
        return SimResult(spec=spec, backend=self.backend, arrays=arrays, timings=timings,
                         compiler_flags=dict(s.compiler_flags), state=built.state(), readouts=readouts,
                         rebuilt=rebuilt)


def _same_shape_input(a: Any, b: Any) -> bool:
    """Whether input model ``a`` can replace ``b`` in a compiled project (same type and array shapes)."""
    if type(a) is not type(b):
        return False
    from dataclasses import fields

    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if np.shape(x) != np.shape(y):
                return False
        elif x is not y and x != y:
            return False
    return True
