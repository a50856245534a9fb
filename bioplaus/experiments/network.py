"""``experiment = "network"``: run the network a model file declares (:mod:`bioplaus.netfile`).

The run reports, for every monitored spiking population, its mean firing rate, the
coefficient of variation of the inter-spike intervals (ISI CV) and its spike count; for
every monitored rate population its mean final rate; for every plastic projection the
weight statistics before and after; and, where the network declares read-outs, their
accuracy per phase. Figures: a raster of the monitored populations, and weight
histograms of the plastic projections.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, register_experiment

__all__ = ["NetworkExperiment", "NetworkParams", "isi_cv"]


@dataclass(frozen=True, eq=False)
class NetworkParams(ExperimentParams):
    """The network of a model file: its resolved tables and the validated spec built from them."""

    tables: Any = None
    spec: Any = None

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.tables or {})

    def __eq__(self, other):
        return isinstance(other, NetworkParams) and self.tables == other.tables

    __hash__ = None  # type: ignore[assignment]


def isi_cv(times: np.ndarray, units: np.ndarray, n: int, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation of the inter-spike intervals of each unit (NaN with fewer than
    ``min_spikes`` spikes): :math:`\\mathrm{CV} = \\sigma_{ISI} / \\mu_{ISI}` (1 for a Poisson process).

    >>> t = np.array([0.0, 0.1, 0.2, 0.3, 0.0, 0.1, 0.3])
    >>> i = np.array([0, 0, 0, 0, 1, 1, 1])
    >>> np.round(isi_cv(t, i, 3), 3)
    array([0.   , 0.333,   nan])
    """
    out = np.full(n, np.nan)
    order = np.lexsort((times, units))
    t, u = np.asarray(times)[order], np.asarray(units)[order]
    starts = np.searchsorted(u, np.arange(n))
    ends = np.searchsorted(u, np.arange(n), side="right")
    for k in range(n):
        if ends[k] - starts[k] >= min_spikes:
            isi = np.diff(t[starts[k]:ends[k]])
            if isi.mean() > 0:
                out[k] = isi.std() / isi.mean()
    return out


@register_experiment("network")
class NetworkExperiment(Experiment):
    """A network declared in the model file: populations, projections, modulators, monitors."""

    description = "a network declared in the model file ([[populations]], [[projections]], ...)"
    Params = NetworkParams

    @classmethod
    def params_from_model_file(cls, data: Mapping[str, Any], *, seed: int, source: str | None,
                               data_dir: str | None) -> NetworkParams:
        from ..netfile import NETWORK_KEYS, network_from_tables

        if "params" in data:
            raise ConfigError("params", data["params"], "the network's own tables ([[populations]], "
                              "[[projections]], ...) instead of [params] in a network model file", source=source)
        tables = {k: copy.deepcopy(data[k]) for k in NETWORK_KEYS if k in data}
        if source is not None:      # recorded absolute, so the results' config.toml and sweep workers find them
            tables = _absolute_files(tables, Path(source).parent)
        spec = network_from_tables(tables, seed=seed, source=source, data_dir=data_dir)
        return NetworkParams(tables=tables, spec=spec)

    def network(self, params: NetworkParams, ctx: RunContext):
        """The declared network, with the run's seed."""
        return params.spec if params.spec.seed == ctx.seed else params.spec.replace(seed=ctx.seed)

    def run(self, params: NetworkParams, ctx: RunContext) -> ExperimentResult:
        spec = self.network(params, ctx)
        ctx.log(f"network: {sum(p.size for p in spec.populations)} units in {len(spec.populations)} populations, "
                f"{len(spec.projections)} projections, {float(spec.duration):g} s on {ctx.backend}")
        r = ctx.simulate(spec)
        return summarise(spec, r)


def _absolute_files(value: Any, base_dir: Path) -> Any:
    """``value`` with every ``{file = "relative/path", ...}`` table's path made absolute against ``base_dir``
    (the model file's folder), as a user experiment file is recorded."""
    if isinstance(value, dict):
        out = {k: _absolute_files(v, base_dir) for k, v in value.items()}
        f = out.get("file")
        if isinstance(f, str) and f and not Path(f).expanduser().is_absolute():
            out["file"] = str((base_dir / f).resolve())
        return out
    if isinstance(value, list):
        return [_absolute_files(v, base_dir) for v in value]
    return value


def summarise(spec, r) -> ExperimentResult:
    """Rows, arrays, info (sweep columns), summary and figures of a network run."""
    duration = float(spec.duration)
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    pop_rows = []
    for m in spec.monitors:
        try:
            pop = spec.population(m.target)
        except KeyError:
            continue
        if "spikes" in m.variables and pop.kind == "spike":
            t, i = r[f"{pop.name}.spikes.t"], r[f"{pop.name}.spikes.i"]
            n = pop.size if m.indices is True else len(m.indices)
            rate = len(t) / (n * duration)
            cv = isi_cv(t, i, pop.size)
            cv_mean = float(np.nanmean(cv)) if np.isfinite(cv).any() else float("nan")
            rows.append({"kind": "population", "name": pop.name, "size": pop.size, "rate_Hz": rate,
                         "isi_cv": cv_mean, "spikes": int(len(t))})
            info[f"rate_{pop.name}_Hz"] = rate
            if np.isfinite(cv_mean):
                info[f"isi_cv_{pop.name}"] = cv_mean
            pop_rows.append([pop.name, pop.size, rate, cv_mean, len(t)])
        elif "r" in m.variables and pop.kind == "rate":
            key = f"{pop.name}.state.r"
            if key in r.arrays:
                final = np.asarray(r[key])[..., -1] if np.ndim(r[key]) > 1 else np.asarray(r[key])
                rows.append({"kind": "population", "name": pop.name, "size": pop.size, "rate": float(np.mean(final))})
                info[f"rate_{pop.name}"] = float(np.mean(final))
    weight_rows = []
    for p in spec.projections:
        if f"{p.name}.w" not in r.arrays:
            continue
        w = np.asarray(r[f"{p.name}.w"], dtype=float)
        if type(p.rule).__name__ == "Static" or w.size == 0:
            continue
        row = {"kind": "projection", "name": p.name, "synapses": int(w.size), "w_mean": float(w.mean()),
               "w_std": float(w.std()), "w_min": float(w.min()), "w_max": float(w.max())}
        rows.append(row)
        info[f"w_mean_{p.name}"] = row["w_mean"]
        weight_rows.append([p.name, w.size, row["w_mean"], row["w_std"], row["w_min"], row["w_max"]])
    for name, ro in (getattr(r, "readouts", None) or {}).items():
        for phase, acc in (ro.get("accuracy") or {}).items():
            rows.append({"kind": "readout", "name": name, "phase": phase, "accuracy": float(acc)})
            info[f"accuracy_{name}_{phase}"] = float(acc)
    parts = []
    if pop_rows:
        parts.append(md_table(["population", "size", "rate (Hz)", "ISI CV", "spikes"], pop_rows))
    if weight_rows:
        parts.append(md_table(["plastic projection", "synapses", "w mean", "w std", "w min", "w max"], weight_rows))
    acc_rows = [[r_["name"], r_["phase"], r_["accuracy"]] for r_ in rows if r_["kind"] == "readout"]
    if acc_rows:
        parts.append(md_table(["read-out", "phase", "accuracy"], acc_rows))
    info.update({f"timing_{k}" if not k.endswith("_s") else k: v for k, v in r.timings.items()})
    return ExperimentResult(rows=rows, arrays=dict(r.arrays), summary="\n\n".join(parts) + "\n", info=info,
                            figures=_figures(spec, r))


def _figures(spec, r) -> dict[str, Any]:
    from .. import plots

    figs: dict[str, Any] = {}
    spiking = [m.target for m in spec.monitors if "spikes" in m.variables
               and any(p.name == m.target and p.kind == "spike" for p in spec.populations)]
    if spiking:
        sizes = {n: spec.population(n).size for n in spiking}
        figs["raster"] = plots.plot_raster(r.arrays, spiking, sizes=sizes)
    for p in spec.projections:
        if type(p.rule).__name__ != "Static" and f"{p.name}.w" in r.arrays:
            figs[f"weights_{p.name}"] = plots.plot_weight_distribution(
                np.asarray(r[f"{p.name}.w"], dtype=float), title=f"final weights of projection {p.name!r}")
    return figs
