"""Parameter studies: expand a model into points and run them locally or on a Dask cluster.

A **study** is a model file plus what varies::

    bioplaus sweep stdp_window --grid params.A_plus=0.005,0.01,0.02 --seeds 2 --backend cpp --out results/aplus

expands into points (cartesian grid x random samples x seeds), validates every
point's configuration before anything runs, runs each point through
:func:`bioplaus.runner.run_model` into ``DIR/points/<point-id>/`` and keeps one
tidy table ``DIR/results.csv`` (one row per point, swept quantities as numbers with
the unit in the column name: ``params.tau_plus_ms``) beside ``DIR/sweep.toml`` (the
study). Everything is written atomically; ``--resume`` runs only the points without a
finished marker (``point.json``, written last in each point directory).

Compile once, run many
----------------------
Neuron parameters, and the rule parameters a sweep varies (``build_network(tunable=...)``),
are ``(shared, constant)`` variables (:func:`bioplaus.build.registry.declare_params`), so a
compiled standalone binary (``cpp``, ``cuda``) can be rerun with new values through Brian2's
``run_args``. The sweep learns each point's network through an explicit seam:
:meth:`Experiment.network(params, ctx) <bioplaus.experiments.base.Experiment.network>`
returns the :class:`~bioplaus.spec.network.NetworkSpec` the experiment's ``run``
simulates with ``ctx.simulate``. Every point's network is built once with the numpy
runtime and hashed without its parameter values (:func:`analyse_network`); points whose
networks agree in everything else (sizes, connectivity, initial values, equations,
input spikes, duration, seed) share **one** build, and each point's ``run`` gets a
:class:`~bioplaus.sweep.tasks.SharedBuildRun` as the simulator of its run context,
which returns that point's run of the binary. A point whose experiment defines no
``network`` (it simulates several networks, say), or whose network is unique in the
study, builds its own binary; the printed plan says which and why. ``numpy`` and
``cython`` compile nothing per point, so there every point runs through ``run_model``.

Network level: :func:`sweep_network` runs a :class:`~bioplaus.spec.network.NetworkSpec`
(or a factory of specs) at points keyed like ``"projections.syn.A_plus"`` and returns
one :class:`~bioplaus.simulation.SimResult` per point.

Modules, by role: :mod:`~bioplaus.sweep.points` (grids, random samples, points),
:mod:`~bioplaus.sweep.overrides` (key paths into a spec), :mod:`~bioplaus.sweep.analysis`
(which points can share a build), :mod:`~bioplaus.sweep.builds` (shared builds and
``run_args``), :mod:`~bioplaus.sweep.tasks` (planning, and running one task),
:mod:`~bioplaus.sweep.executors` (worker processes, Dask), :mod:`~bioplaus.sweep.table`
(``results.csv``), :mod:`~bioplaus.sweep.study` (:func:`run_sweep`).
"""
from __future__ import annotations

from .analysis import NetworkAnalysis, analyse_network, plan_network_sweep, spec_digest, varying_params
from .builds import sweep_network
from .overrides import apply_spec_overrides
from .points import RandomRange, Sweep, SweepPoint, expand_sweep, parse_grid, parse_random, split_values
from .study import SweepReport, run_sweep
from .table import MARKER, read_records, read_results, value_columns, write_results_table
from .tasks import SharedBuildRun, execute_task, network_of

__all__ = [
    "RandomRange", "SweepPoint", "Sweep", "SweepReport", "NetworkAnalysis", "SharedBuildRun",
    "parse_grid", "parse_random", "split_values", "expand_sweep", "run_sweep", "read_results", "read_records",
    "write_results_table", "value_columns", "MARKER", "execute_task",
    "sweep_network", "apply_spec_overrides", "analyse_network", "plan_network_sweep", "varying_params",
    "spec_digest", "network_of",
]
