"""Figures of results, one function per figure, each returning a matplotlib ``Figure``.

Every function takes arrays or results (a :class:`~bioplaus.harness.CompareResult`,
the rows of ``metrics.csv`` or ``results.csv`` as :func:`bioplaus.results.read_csv`
returns them, a :func:`bioplaus.load` result or its ``metrics`` DataFrame, or the
arrays of a :class:`~bioplaus.simulation.SimResult` / ``arrays.npz``) and draws with the non-interactive Agg backend. Every figure has a
title, axis labels with units, and a legend where it shows several series.
:func:`save_figure` writes a figure atomically.

=================================  =========================================================
spiking activity                   :func:`plot_raster` (raster above binned population rates),
                                   :func:`plot_membrane`
weights                            :func:`plot_weight_matrix`, :func:`plot_receptive_fields`,
                                   :func:`plot_weight_histograms` (over time),
                                   :func:`plot_weight_distribution`, :func:`plot_weight_bars`
local-rule zoo                     :func:`plot_stdp_window`, :func:`plot_triplet_frequency`,
                                   :func:`plot_oja_convergence`, :func:`plot_bcm_selectivity`
credit assignment                  :func:`plot_learning_curves`, :func:`plot_rule_metric`,
                                   :func:`plot_alignment`, :func:`plot_confusion_matrix`
parameter studies                  :func:`plot_sweep` (:func:`plot_sweep_line` for one swept
                                   parameter, :func:`plot_sweep_heatmap` for two),
                                   :func:`sweep_summary`
benchmarks                         :func:`plot_bench`
results directories                :func:`result_kind`, :func:`figures_for`, :func:`write_figures`
=================================  =========================================================
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .errors import BioplausError
from .metrics import as_float

__all__ = [
    "save_figure", "rule_curves",
    # spiking activity
    "plot_raster", "plot_membrane",
    # weights
    "plot_weight_matrix", "plot_receptive_fields", "plot_weight_histograms", "plot_weight_distribution",
    "plot_weight_bars",
    # local-rule zoo
    "plot_stdp_window", "plot_triplet_frequency", "plot_oja_convergence", "plot_bcm_selectivity",
    "plot_firing_patterns", "plot_triplet_vs_data",
    # credit assignment
    "plot_learning_curves", "plot_rule_metric", "plot_alignment", "plot_confusion_matrix", "confusion_matrix",
    # parameter studies
    "plot_sweep", "plot_sweep_line", "plot_sweep_heatmap", "sweep_summary", "sweep_columns",
    # results directories
    "result_kind", "figures_for", "write_figures", "EXPERIMENT_FIGURES", "register_experiment_figures",
    # benchmarks
    "plot_bench",
]

_LOSS_LABEL = {"cross_entropy": "cross-entropy (nats)", "mse": "half squared error"}

_TITLE_SIZE = 12


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG (or the format of the suffix) atomically, then close it."""
    from .results import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    if getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


# =========================================================================== helpers

def _rows(data: Any) -> list[Mapping[str, Any]]:
    """Rows as mappings: from a result's ``rows``, a list of dicts, a :func:`bioplaus.load` result
    or a pandas DataFrame (whose unit-suffixed angle columns, ``angle_update_l1_deg``, are read
    under the names the figures use)."""
    if hasattr(data, "metrics") and hasattr(data, "kind"):  # bioplaus.load(...) results
        data = data.metrics
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a DataFrame
        ren = {c: c[:-4] for c in data.columns if str(c).startswith("angle_") and str(c).endswith("_deg")}
        return data.rename(columns=ren).to_dict("records")
    rows = getattr(data, "rows", data)
    return list(rows)


def _arrays(data: Any) -> Mapping[str, Any]:
    """The arrays of a SimResult, an ExperimentResult, an ``NpzFile`` or a plain mapping."""
    arrays = getattr(data, "arrays", data)
    return arrays


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize=(6.4, 4.2), **kw) -> tuple[Figure, Any]:
    """A figure outside pyplot (no display, no global state; drawn with Agg when saved)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def _figure(figsize=(6.4, 4.2), **kw) -> tuple[Figure, Any]:
    return _subplots(figsize=figsize, **kw)


def _cmap(name: str, bad: str | None = None):
    cm = matplotlib.colormaps[name]
    return cm.with_extremes(bad=bad) if bad is not None else cm


def _label(ax, title: str | None, xlabel: str, ylabel: str, grid: bool = True) -> None:
    if title:
        ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if grid:
        ax.grid(True, alpha=0.3)


def _legend(ax, **kw) -> None:
    if len(ax.get_legend_handles_labels()[0]) > 0:
        ax.legend(fontsize=kw.pop("fontsize", 8), **kw)


def _log_y(ax) -> None:
    """Log y axis whose ticks read as powers of ten over several decades, and as plain numbers
    (0.5, 2, 3) when the data span less than a decade (instead of "2.4 x 10^0")."""
    from matplotlib.ticker import FuncFormatter

    def label(v: float, minor: bool) -> str:
        lo, hi = ax.get_ylim()
        if not (v > 0 and lo > 0 and hi > 0):
            return ""
        exponent = math.floor(math.log10(v) + 1e-9)
        mantissa = round(v / 10 ** exponent, 6)
        if hi / lo < 10:
            if minor and hi / lo > 3 and mantissa not in (2, 3, 5):
                return ""
            return f"{v:.3g}"
        if minor or mantissa != 1:
            return ""
        return f"{v:g}" if 1e-2 <= v <= 1e3 else f"$10^{{{exponent}}}$"

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v, False)))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: label(v, True)))


def _time_unit(t_max_s: float) -> tuple[str, float]:
    """``("ms", 1e3)`` for short spans, ``("s", 1)`` otherwise."""
    return ("ms", 1e3) if t_max_s < 2.0 else ("s", 1.0)


def _nice_bin(span_s: float, n: int = 60) -> float:
    """A round bin width (s) giving about ``n`` bins over ``span_s``."""
    target = max(span_s / n, 1e-4)
    for b in (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0):
        if b >= target:
            return b
    return 10.0 * math.ceil(target / 10.0)


def _fmt_seconds(b: float) -> str:
    return f"{b * 1e3:g} ms" if b < 1 else f"{b:g} s"


# =========================================================================== spiking activity

def _spike_populations(arrays: Mapping[str, Any]) -> list[str]:
    return [k[: -len(".spikes.t")] for k in arrays if str(k).endswith(".spikes.t")]


def plot_raster(data: Any, populations: Sequence[str] | None = None, *, sizes: Mapping[str, int] | None = None,
                bin_s: float | None = None, t_max: float | None = None, max_neurons: int | None = None,
                title: str | None = None) -> Figure:
    """Spike raster (top) and binned population rates (bottom) on a shared time axis.

    Parameters
    ----------
    data : mapping or SimResult, or tuple ``(t, i)``
        Arrays with keys ``"<pop>.spikes.t"`` (seconds) and ``"<pop>.spikes.i"``, as
        :func:`bioplaus.simulate` records them, or one population's spike times (s)
        and indices.
    populations : list of str, optional
        Which populations to draw, top to bottom (default: all recorded).
    sizes : mapping, optional
        Number of units per population, for the rate (default: the simulation spec's
        sizes when ``data`` is a SimResult, else the highest index + 1).
    bin_s : float, optional
        Width of the rate bins in seconds (default: about 60 bins over the run).
    t_max : float, optional
        End of the time axis in seconds (default: the spec's duration, else the last spike).
    max_neurons : int, optional
        Draw only the first ``max_neurons`` units of each population in the raster (the
        rate still counts every unit).
    """
    spec = getattr(data, "spec", None)
    if isinstance(data, tuple):
        t, i = data
        arrays = {"spikes.spikes.t": np.asarray(t, float), "spikes.spikes.i": np.asarray(i, int)}
        pops = ["spikes"]
    else:
        arrays = _arrays(data)
        pops = list(populations) if populations is not None else _spike_populations(arrays)
    if not pops:
        raise BioplausError("plot_raster: no spike monitor in the data (expected keys '<population>.spikes.t')")
    sizes = dict(sizes or {})
    for p in pops:
        if p not in sizes:
            try:
                sizes[p] = int(spec.population(p).size) if spec is not None else None
            except Exception:
                sizes[p] = None
            if sizes[p] is None:
                idx = np.asarray(arrays[f"{p}.spikes.i"])
                sizes[p] = int(idx.max()) + 1 if idx.size else 1
    if t_max is None:
        if spec is not None and getattr(spec, "duration", None) is not None:
            t_max = float(spec.duration)
        else:
            t_max = max((float(np.max(arrays[f"{p}.spikes.t"])) for p in pops if len(arrays[f"{p}.spikes.t"])),
                        default=1.0)
            t_max = t_max * 1.02 if t_max > 0 else 1.0
    unit, scale = _time_unit(t_max)
    bin_s = bin_s or _nice_bin(t_max)
    fig, (ax1, ax2) = _subplots(2, 1, figsize=(8, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    offset = 0
    ticks, tick_labels = [], []
    edges = np.arange(0.0, t_max, bin_s)
    edges = np.append(edges, t_max) if t_max - edges[-1] > 1e-9 * bin_s else edges
    if edges.size < 2:
        edges = np.array([0.0, t_max])
    for k, p in enumerate(pops):
        t = np.asarray(arrays[f"{p}.spikes.t"], float)
        i = np.asarray(arrays[f"{p}.spikes.i"], int)
        n = sizes[p]
        shown = min(n, max_neurons) if max_neurons else n
        sel = i < shown
        color = f"C{k}"
        ms = 2.0 if len(t) < 5000 else 0.8
        ax1.plot(t[sel] * scale, i[sel] + offset, "|" if shown <= 100 else ".", color=color, markersize=ms * 2
                 if shown <= 100 else ms, rasterized=True, linestyle="none")
        if len(pops) > 1:
            ticks.append(offset + shown / 2)
            tick_labels.append(p)
            if k:
                ax1.axhline(offset - 0.5, color="0.6", lw=0.6)
        offset += shown
        counts, _ = np.histogram(t, bins=edges)
        rate = counts / (n * np.diff(edges))
        ax2.stairs(rate, edges * scale, color=color, label=f"{p} ({n} units)", linewidth=1.3)
    ax1.set_ylim(-0.5, offset - 0.5)
    ax1.set_ylabel("neuron index")
    if len(pops) > 1:
        sec = ax1.secondary_yaxis("right")
        sec.set_yticks(ticks, tick_labels)
        sec.tick_params(length=0)
    ax1.set_title(title or f"Spike raster and population rate ({', '.join(pops)})")
    ax1.grid(True, axis="x", alpha=0.3)
    ax2.set_xlim(0, t_max * scale)
    _label(ax2, None, f"time ({unit})", f"rate (Hz)\n{_fmt_seconds(bin_s)} bins")
    _legend(ax2, loc="best")
    ax2.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def plot_membrane(data: Any, monitor: str | None = None, variable: str = "v", *, neurons: Sequence[int] | None = None,
                  threshold: float | None = None, title: str | None = None) -> Figure:
    """Membrane potential (or another state variable) of a few recorded neurons against time.

    ``data``: arrays with ``"<monitor>.state.t"`` (s) and ``"<monitor>.state.<variable>"``
    of shape ``(neurons, times)`` (SI units), or a tuple ``(t, values)``. Voltages
    (variables ``v``, ``vm``, ``V``...) are drawn in mV. ``threshold`` (volts) adds a
    dashed line.
    """
    if isinstance(data, tuple):
        t, vals = (np.asarray(x, float) for x in data)
        name = variable
    else:
        arrays = _arrays(data)
        if monitor is None:
            cands = [k[: -len(f".state.{variable}")] for k in arrays if str(k).endswith(f".state.{variable}")]
            if not cands:
                raise BioplausError(f"plot_membrane: no recorded variable {variable!r} "
                                    f"(expected a key '<monitor>.state.{variable}')")
            monitor = cands[0]
        t = np.asarray(arrays[f"{monitor}.state.t"], float)
        vals = np.asarray(arrays[f"{monitor}.state.{variable}"], float)
        name = f"{monitor}.{variable}"
    vals = np.atleast_2d(vals)
    if vals.shape[-1] != t.size and vals.shape[0] == t.size:
        vals = vals.T
    voltage = variable.lower() in ("v", "vm", "v_m", "u_m") or variable.startswith("v")
    scale, vunit = (1e3, "mV") if voltage else (1.0, "SI units")
    neurons = list(neurons) if neurons is not None else list(range(min(3, vals.shape[0])))
    unit, tscale = _time_unit(float(t.max()) if t.size else 1.0)
    fig, ax = _figure((8, 4))
    for n in neurons:
        ax.plot(t * tscale, vals[n] * scale, lw=1.0, label=f"neuron {n}")
    if threshold is not None:
        ax.axhline(threshold * scale, color="0.4", ls="--", lw=0.8, label="threshold")
    what = "membrane potential" if voltage else variable
    _label(ax, title or f"{what.capitalize()} ({name})", f"time ({unit})", f"{what} ({vunit})")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


# =========================================================================== weights

def _image_shape(n: int, image_shape: Sequence[int] | None) -> tuple[int, int]:
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if int(np.prod(shape)) != n:
            raise BioplausError(f"plot_receptive_fields: image_shape {shape} holds {int(np.prod(shape))} pixels, "
                                f"the weights have {n} inputs")
        return shape  # type: ignore[return-value]
    r = int(round(math.sqrt(n)))
    if r * r == n:
        return (r, r)
    raise BioplausError(f"plot_receptive_fields: {n} inputs are not a square image; give image_shape")


def _orient(W: np.ndarray, n_pixels: int | None, layout: str) -> np.ndarray:
    """``(neurons, inputs)`` from ``W`` laid out ``in_out`` (Brian2: pre x post) or ``out_in`` (MLP)."""
    W = np.asarray(W, float)
    if W.ndim != 2:
        raise BioplausError(f"plot_receptive_fields: weights must be 2-D, got shape {W.shape}")
    if layout == "out_in":
        return W
    if layout == "in_out":
        return W.T
    if layout != "auto":
        raise BioplausError(f"plot_receptive_fields: layout {layout!r}; expected 'auto', 'in_out' or 'out_in'")
    def square(n):
        return int(round(math.sqrt(n))) ** 2 == n
    if n_pixels is not None:
        if W.shape[1] == n_pixels and W.shape[0] != n_pixels:
            return W
        return W.T
    if square(W.shape[1]) and not square(W.shape[0]):
        return W
    return W.T


def _symmetric(vals: np.ndarray) -> tuple[str, float, float]:
    finite = vals[np.isfinite(vals)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0 < hi:
        m = max(-lo, hi)
        return "RdBu_r", -m, m
    if lo >= 0:
        lo = 0.0  # non-negative weights: the scale starts at zero
    if hi == lo:
        hi = lo + 1.0
    return "viridis", lo, hi


def plot_receptive_fields(weights: Any, image_shape: Sequence[int] | None = None, *, n_max: int = 25,
                          layout: str = "auto", neurons: Sequence[int] | None = None, title: str | None = None,
                          unit: str = "a.u.", labels: Sequence[Any] | None = None) -> Figure:
    """Input weights of each neuron drawn as an image, one panel per neuron, one colour scale.

    Parameters
    ----------
    weights : ndarray or mapping ``{label: ndarray}``
        Input weights. ``layout="in_out"``: ``(n_inputs, n_neurons)`` as a Brian2
        projection (:meth:`~bioplaus.simulation.SimResult.weight_matrix`); ``"out_in"``:
        ``(n_neurons, n_inputs)`` as :class:`~bioplaus.reference.mlp.MLP` weights;
        ``"auto"`` takes the axis whose size is the number of pixels. A mapping
        draws one row per label (e.g. per rule), each row with its own colour scale.
    image_shape : (rows, cols), optional
        Default: square images (64 inputs -> 8x8 digits, 784 -> 28x28 MNIST).
    n_max : int
        Most neurons drawn (the first ones, or ``neurons``).
    labels : sequence, optional
        One label per neuron (e.g. the class assigned to it), shown above its panel;
        a negative integer (a neuron that never fired) shows as "silent".
    """
    if isinstance(weights, Mapping):
        return _receptive_field_rows(dict(weights), image_shape, n_max=min(n_max, 12), layout=layout,
                                     title=title, unit=unit)
    n_pixels = int(np.prod(image_shape)) if image_shape is not None else None
    W = _orient(weights, n_pixels, layout)
    shape = _image_shape(W.shape[1], image_shape)
    idx = list(neurons) if neurons is not None else list(range(min(n_max, W.shape[0])))
    n = len(idx)
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    cmap, vmin, vmax = _symmetric(W[idx])
    size = 1.35 if cols > 3 else 1.8
    fig, axes = _subplots(rows, cols, figsize=(cols * size + 1.2, rows * size + 0.9), squeeze=False)
    im = None
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        im = ax.imshow(W[idx[k]].reshape(shape), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if labels is not None:
            lab = labels[idx[k]]
            silent = isinstance(lab, (int, np.integer)) and lab < 0
            ax.set_title(f"{idx[k]}: silent" if silent else f"{idx[k]}: class {lab}", fontsize=8, pad=2)
        else:
            ax.set_title(f"neuron {idx[k]}", fontsize=8, pad=2)
    fig.suptitle(title or f"Receptive fields: input weights as {shape[0]}x{shape[1]} images "
                          f"({n} of {W.shape[0]} neurons)", fontsize=_TITLE_SIZE)
    fig.supxlabel("image column (pixel)", fontsize=9)
    fig.supylabel("image row (pixel)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    cax = fig.add_axes((0.9, 0.15, 0.025, 0.7))
    fig.colorbar(im, cax=cax, label=f"weight ({unit})")
    return fig


def _receptive_field_rows(weights: dict[str, Any], image_shape, *, n_max: int, layout: str, title, unit) -> Figure:
    labels = list(weights)
    n_pixels = int(np.prod(image_shape)) if image_shape is not None else None
    Ws = {k: _orient(v, n_pixels, layout) for k, v in weights.items()}
    n = min(n_max, min(W.shape[0] for W in Ws.values()))
    shape = _image_shape(next(iter(Ws.values())).shape[1], image_shape)
    fig, axes = _subplots(len(labels), n + 1, figsize=(1.15 * n + 1.6, 1.25 * len(labels) + 0.9), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * n + [0.12]})
    for r, lab in enumerate(labels):
        W = Ws[lab][:n]
        cmap, vmin, vmax = _symmetric(W)
        im = None
        for c in range(n):
            ax = axes[r, c]
            im = ax.imshow(W[c].reshape(shape), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"unit {c}", fontsize=8, pad=2)
        axes[r, 0].set_ylabel(lab, rotation=0, ha="right", va="center", fontsize=10)
        cb = fig.colorbar(im, cax=axes[r, n])
        cb.ax.tick_params(labelsize=7)
        cb.set_label(f"w ({unit})", fontsize=7)
    fig.suptitle(title or f"Receptive fields of the first {n} hidden units ({shape[0]}x{shape[1]} images; "
                          "one colour scale per row)", fontsize=_TITLE_SIZE)
    fig.supxlabel(f"hidden unit (each image: its weights from the {shape[0]}x{shape[1]} input pixels)", fontsize=9)
    fig.supylabel("rule", fontsize=9)
    fig.tight_layout()
    return fig


def plot_weight_matrix(W: Any, *, title: str | None = None, xlabel: str = "postsynaptic neuron (index)",
                       ylabel: str = "presynaptic neuron (index)", unit: str = "a.u.") -> Figure:
    """A weight matrix ``(n_pre, n_post)`` as an image with a colour bar (NaN: no synapse, grey)."""
    W = np.asarray(W, float)
    if W.ndim == 1:
        W = W[:, None]
    cmap, vmin, vmax = _symmetric(W)
    fig, ax = _figure((6.4, 4.8))
    cm = _cmap(cmap, bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(W), cmap=cm, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    _label(ax, title or f"Weight matrix ({W.shape[0]} x {W.shape[1]})", xlabel, ylabel, grid=False)
    for axis, n in ((ax.xaxis, W.shape[1]), (ax.yaxis, W.shape[0])):
        axis.get_major_locator().set_params(integer=True)
    fig.colorbar(im, ax=ax, label=f"weight ({unit})")
    fig.tight_layout()
    return fig


def plot_weight_histograms(w_t: Any, t: Any, *, bins: int = 40, w_range: tuple[float, float] | None = None,
                           title: str | None = None, unit: str = "a.u.") -> Figure:
    """Distribution of weights over time: left, the histogram at each recorded time as a
    heat map (colour: fraction of synapses); right, the first and last histograms.

    ``w_t``: shape ``(n_synapses, n_times)`` (as a state monitor records ``w``);
    ``t``: times in seconds.
    """
    w_t = np.asarray(w_t, float)
    t = np.asarray(t, float)
    if w_t.ndim != 2:
        raise BioplausError(f"plot_weight_histograms: weights over time must be 2-D (synapses, times), "
                            f"got shape {w_t.shape}")
    if w_t.shape[1] != t.size and w_t.shape[0] == t.size:
        w_t = w_t.T
    finite = w_t[np.isfinite(w_t)]
    lo, hi = w_range if w_range is not None else ((float(finite.min()), float(finite.max())) if finite.size
                                                  else (0.0, 1.0))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    H = np.stack([np.histogram(w_t[:, k], bins=edges)[0] for k in range(w_t.shape[1])], axis=1) / max(w_t.shape[0], 1)
    unit_t, scale = _time_unit(float(t.max()) if t.size else 1.0)
    fig, (ax1, ax2) = _subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    tt = t * scale
    extent = (tt[0], tt[-1] if tt.size > 1 else tt[0] + 1, lo, hi)
    from matplotlib.colors import PowerNorm

    # square-root colour scale: a narrow initial distribution would otherwise hide the rest
    im = ax1.imshow(H, origin="lower", aspect="auto", extent=extent, cmap="magma", interpolation="nearest",
                    norm=PowerNorm(0.5, vmin=0, vmax=max(float(H.max()), 1e-12)))
    fig.colorbar(im, ax=ax1, label="fraction of synapses (sqrt scale)")
    _label(ax1, "Weight histogram over time", f"time ({unit_t})", f"weight w ({unit})", grid=False)
    ax2.hist(w_t[:, 0], bins=edges, alpha=0.6, label=f"t = {tt[0]:g} {unit_t}")
    ax2.hist(w_t[:, -1], bins=edges, alpha=0.6, label=f"t = {tt[-1]:g} {unit_t}")
    _label(ax2, "First and last", f"weight w ({unit})", "number of synapses")
    _legend(ax2)
    fig.suptitle(title or f"Weight distribution of {w_t.shape[0]} synapses", fontsize=_TITLE_SIZE)
    fig.tight_layout()
    return fig


def plot_weight_distribution(w: Any, groups: Mapping[str, Any] | None = None, *, bins: int = 25,
                             w_range: tuple[float, float] | None = None, xlabel: str = "weight w (a.u.)",
                             title: str | None = None) -> Figure:
    """Histogram of final weights, one colour per group (``{label: boolean mask}``)."""
    w = np.asarray(w, float).ravel()
    finite = w[np.isfinite(w)]
    rng = w_range or ((float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0))
    if rng[1] <= rng[0]:
        rng = (rng[0] - 0.5, rng[0] + 0.5)
    fig, ax = _figure()
    if groups:
        for k, (lab, mask) in enumerate(groups.items()):
            mask = np.asarray(mask, bool)
            if mask.any():
                ax.hist(w[mask], bins=bins, range=rng, alpha=0.65, color=f"C{k}", label=f"{lab} ({int(mask.sum())})")
    else:
        ax.hist(w, bins=bins, range=rng, color="C0", label=f"all synapses ({w.size})")
    _label(ax, title or "Final weight distribution", xlabel, "number of synapses")
    _legend(ax)
    fig.tight_layout()
    return fig


def plot_weight_bars(w: Any, *, highlight: Sequence[int] = (), initial: float | None = None,
                     highlight_label: str = "highlighted", xlabel: str = "input (index)",
                     ylabel: str = "weight w (a.u.)", title: str | None = None) -> Figure:
    """One bar per synapse; ``highlight`` indices in another colour; ``initial`` as a dashed line."""
    w = np.asarray(w, float).ravel()
    hl = set(int(h) for h in highlight)
    fig, ax = _figure((max(6.0, 0.22 * w.size + 2), 4))
    x = np.arange(w.size)
    other = np.array([k not in hl for k in x])
    ax.bar(x[other], w[other], color="C0", label="other inputs")
    if hl:
        ax.bar(x[~other], w[~other], color="C3", label=highlight_label)
    if initial is not None:
        ax.axhline(initial, color="0.3", lw=0.9, ls="--", label=f"initial ({initial:g})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    _label(ax, title or "Final weights", xlabel, ylabel)
    ax.grid(True, axis="x", alpha=0)
    _legend(ax, loc="best")
    fig.tight_layout()
    return fig


# =========================================================================== local-rule zoo

def _exp_fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """``y = a exp(b x)`` through the points (least squares on log |y|), or None."""
    ok = np.isfinite(y) & (y != 0)
    if ok.sum() < 2 or not (np.all(y[ok] > 0) or np.all(y[ok] < 0)):
        return None
    sign = np.sign(y[ok][0])
    b, loga = np.polyfit(x[ok], np.log(np.abs(y[ok])), 1)
    return lambda z: sign * np.exp(loga + b * z)


def plot_stdp_window(delta_t_ms: Any, dw: Any, analytic: Any = None, *, title: str | None = None,
                     ylabel: str = "Δw per pairing (a.u.)") -> Figure:
    """Measured weight change per pairing against Δt = t_post − t_pre, on the analytic window.

    ``analytic``: a function of Δt (ms), or its values at ``delta_t_ms`` (then the curve
    between the points is the exponential through them on each side of Δt = 0).
    """
    dt = np.asarray(delta_t_ms, float)
    dw = np.asarray(dw, float)
    fig, ax = _figure()
    x = np.linspace(dt.min(), dt.max(), 600)
    if analytic is not None:
        if callable(analytic):
            curve = np.asarray(analytic(x), float)
        else:
            a = np.asarray(analytic, float)
            curve = np.full_like(x, np.nan)
            for side, pts in ((x > 0, dt > 0), (x < 0, dt < 0)):
                f = _exp_fit(dt[pts], a[pts])
                if f is not None:
                    curve[side] = f(x[side])
                elif pts.any():
                    curve[side] = np.interp(x[side], dt[pts], a[pts])
        pos, neg = x > 0, x < 0
        ax.plot(x[pos], curve[pos], "k-", lw=1.3, label="analytic")
        ax.plot(x[neg], curve[neg], "k-", lw=1.3)
    ax.plot(dt, dw, "o", color="C3", ms=5, label="simulated")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.axvline(0, color="0.5", lw=0.6)
    _label(ax, title or "STDP window", "Δt = t_post − t_pre (ms)", ylabel)
    _legend(ax, loc="upper right")
    fig.tight_layout()
    return fig


def plot_triplet_frequency(frequencies: Any, dw_plus: Any, dw_minus: Any, *, w_init: float = 1.0,
                           delta_t_ms: float = 10.0, title: str | None = None) -> Figure:
    """Weight change (% of the initial weight) against pairing frequency, for Δt = +Δ and −Δ.

    ``dw_plus``/``dw_minus``: absolute weight changes after the pairings (post after pre,
    pre after post), one per frequency (Hz).
    """
    f = np.asarray(frequencies, float)
    fig, ax = _figure()
    ax.plot(f, 100 * np.asarray(dw_plus, float) / w_init, "o-", color="C3", label=f"Δt = +{delta_t_ms:g} ms (pre → post)")
    ax.plot(f, 100 * np.asarray(dw_minus, float) / w_init, "s--", color="C0",
            label=f"Δt = −{delta_t_ms:g} ms (post → pre)")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xlim(left=0)
    _label(ax, title or "Triplet STDP: frequency dependence", "pairing frequency (Hz)",
           "weight change (% of initial)")
    _legend(ax, loc="best")
    fig.tight_layout()
    return fig


def plot_oja_convergence(t: Any, cos_pc1: Any, norm: Any, *, title: str | None = None) -> Figure:
    """Oja's rule: |cos(w, PC1)| (top) and ‖w‖ (bottom, fixed point 1) against time (s)."""
    t = np.asarray(t, float)
    unit, scale = _time_unit(float(t.max()) if t.size else 1.0)
    fig, (ax1, ax2) = _subplots(2, 1, figsize=(6.4, 5.2), sharex=True)
    ax1.plot(t * scale, np.asarray(cos_pc1, float), color="C0", label="|cos(w, PC1)|")
    ax1.axhline(1, color="0.5", lw=0.7, ls="--", label="aligned")
    ax1.set_ylim(min(0.0, float(np.nanmin(cos_pc1)) if np.size(cos_pc1) else 0.0), 1.05)
    _label(ax1, None, "", "|cos(w, PC1)| (dimensionless)")
    _legend(ax1, loc="lower right")
    ax2.plot(t * scale, np.asarray(norm, float), color="C1", label="‖w‖")
    ax2.axhline(1, color="0.5", lw=0.7, ls="--", label="fixed point ‖w‖ = 1")
    _label(ax2, None, f"time ({unit})", "‖w‖ (dimensionless)")
    _legend(ax2, loc="lower right")
    fig.suptitle(title or "Oja's rule: convergence to the first principal component", fontsize=_TITLE_SIZE)
    fig.tight_layout()
    return fig


def plot_bcm_selectivity(responses: Any, *, title: str | None = None, unit: str = "a.u.") -> Figure:
    """Responses of each neuron to each input pattern after BCM learning (grouped bars).

    ``responses``: shape ``(patterns, neurons)``. Above each neuron: its preferred pattern
    and the ratio of its best to its second-best response.
    """
    resp = np.asarray(responses, float)
    n_pat, n_neu = resp.shape
    fig, ax = _figure((max(6.4, 1.1 * n_neu + 2.5), 4.4))
    width = 0.8 / n_pat
    x = np.arange(n_neu)
    for k in range(n_pat):
        ax.bar(x - 0.4 + (k + 0.5) * width, resp[k], width, color=f"C{k % 10}", label=f"pattern {k}")
    srt = np.sort(resp, axis=0)
    ratio = srt[-1] / np.maximum(srt[-2], 1e-9) if n_pat > 1 else np.ones(n_neu)
    top = float(np.nanmax(resp)) if resp.size else 1.0
    for j in range(n_neu):
        r = f"{ratio[j]:.1f}×" if ratio[j] < 1e3 else ">1000×"
        ax.text(j, resp[:, j].max() + 0.02 * top, f"prefers {int(np.argmax(resp[:, j]))}\n{r} 2nd best",
                ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.22 if top > 0 else 1)
    ax.set_xticks(x, [f"neuron {j}" for j in x])
    _label(ax, title or "BCM selectivity: response to each pattern after learning", "output neuron",
           f"response r ({unit})")
    ax.grid(True, axis="x", alpha=0)
    _legend(ax, title="input pattern", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


# =========================================================================== credit assignment

def rule_curves(rows: Any, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{rule: (epochs, values)}`` with ``values`` of shape ``(seeds, len(epochs))`` (NaN where missing)."""
    rows = _rows(rows)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rules: list[str] = []
    for r in rows:
        if str(r.get("rule", "")) not in rules:
            rules.append(str(r.get("rule", "")))
    for rule in rules:
        rr = [r for r in rows if str(r.get("rule", "")) == rule]
        seeds = sorted({str(r.get("seed", 0)) for r in rr})
        epochs = np.array(sorted({int(as_float(r["epoch"])) for r in rr}))
        vals = np.full((len(seeds), len(epochs)), np.nan)
        for r in rr:
            vals[seeds.index(str(r.get("seed", 0))), np.searchsorted(epochs, int(as_float(r["epoch"])))] = \
                as_float(r.get(column))
        out[rule] = (epochs, vals)
    return out


def _band(ax, epochs: np.ndarray, vals: np.ndarray, label: str, color=None, linestyle="-") -> bool:
    with np.errstate(all="ignore"), _quiet():
        mean = np.nanmean(vals, axis=0)
        std = np.nanstd(vals, axis=0)
    if not np.isfinite(mean).any():
        return False
    (line,) = ax.plot(epochs, mean, label=label, color=color, linestyle=linestyle)
    if vals.shape[0] > 1:
        # mean ± std, kept inside the seeds' range (so it stays positive on log axes)
        with np.errstate(all="ignore"), _quiet():
            lo = np.maximum(mean - std, np.nanmin(vals, axis=0))
            hi = np.minimum(mean + std, np.nanmax(vals, axis=0))
        ax.fill_between(epochs, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    return True


def _integer_epochs(ax) -> None:
    ax.xaxis.get_major_locator().set_params(integer=True)


def plot_learning_curves(results: Any, loss: str | None = None, title: str | None = None) -> Figure:
    """Test accuracy (or test loss for regression) and training loss against epoch, per rule.

    Lines are means over seeds, bands ± one standard deviation (clipped to the range
    of the seeds); epoch 0 is the untrained network and both x axes start there. The
    accuracy axis spans every epoch, epoch 0 included; when the trained epochs crowd
    into the top of that range (5 or more epochs), an inset zooms on epochs 1 and later
    so that the trained rules can be told apart. ``loss`` names the loss for the
    axis label (taken from ``results.loss`` when it has one).
    """
    rows = _rows(results)
    if loss is None:
        loss = getattr(results, "loss", None)
    acc = rule_curves(rows, "test_acc")
    regression = all(not np.isfinite(v).any() for _, v in acc.values())
    fig, (ax1, ax2) = _subplots(1, 2, figsize=(11, 4.2))
    top = rule_curves(rows, "test_loss") if regression else acc
    for rule, (ep, vals) in top.items():
        _band(ax1, ep, vals, rule)
    ax1.set_xlabel("epoch")
    if regression:
        ax1.set_ylabel("test loss (" + _LOSS_LABEL.get(loss or "mse", "loss") + ")")
        _log_y(ax1)
        ax1.set_title("Test loss")
    else:
        ax1.set_ylabel("test accuracy (fraction correct)")
        ax1.set_title("Test accuracy")
        # the whole range, the untrained network (epoch 0, near chance) included; when the trained
        # epochs crowd into the top of that range, an inset zooms on them so the rules can be told apart
        with np.errstate(all="ignore"), _quiet():
            means = [np.nanmean(v, axis=0) for _, v in acc.values()]
            low_all = np.nanmin(np.concatenate(means)) if means else np.nan
            later = [np.nanmean(v[:, ep >= 1], axis=0) for ep, v in acc.values() if (ep >= 1).any()]
            low = np.nanmin(np.concatenate(later)) if later else np.nan
        if np.isfinite(low_all):
            ax1.set_ylim(max(0.0, low_all - 0.03), 1.0 + 0.005)
        n_epochs = max((int(ep.max()) for ep, _ in acc.values() if ep.size), default=0)
        if np.isfinite(low) and np.isfinite(low_all) and n_epochs >= 5 and (1.0 - low) < 0.35 * (1.0 - low_all):
            inset = ax1.inset_axes([0.38, 0.08, 0.58, 0.5])
            for rule, (ep, vals) in acc.items():
                _band(inset, ep[ep >= 1], vals[:, ep >= 1], rule)
            inset.set_ylim(max(0.0, low - 0.01), 1.0 + 0.003)
            inset.set_title("epochs 1 and later", fontsize=8)
            inset.tick_params(labelsize=7)
            inset.grid(True, alpha=0.3)
            _integer_epochs(inset)
    for rule, (ep, vals) in rule_curves(rows, "train_loss").items():
        _band(ax2, ep, vals, rule)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("training loss (" + _LOSS_LABEL.get(loss or "", "loss") + ")")
    _log_y(ax2)
    ax2.set_title("Training loss")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        _integer_epochs(ax)
        ax.set_xlim(left=0)  # epoch 0, the untrained network, on the axis
    # one legend for both panels (same rules, same colours), below them, clear of curves and inset
    handles, labels = max((ax.get_legend_handles_labels() for ax in (ax1, ax2)), key=lambda hl: len(hl[1]))
    if handles:
        fig.legend(handles, labels, title="rule", loc="lower center", ncol=min(len(labels), 8), fontsize=8,
                   frameon=False)
    fig.suptitle(title or "Learning curves (mean ± std over seeds)")
    fig.tight_layout(rect=(0, 0.1 if handles else 0, 1, 1))
    return fig


def plot_rule_metric(results: Any, column: str = "test_acc", *, ylabel: str | None = None,
                     title: str | None = None, log: bool = False) -> Figure:
    """One metric column against epoch, every rule on one axis, mean ± std over seeds as bands."""
    rows = _rows(results)
    fig, ax = _figure((7, 4.4))
    for rule, (ep, vals) in rule_curves(rows, column).items():
        _band(ax, ep, vals, rule)
    default = {"test_acc": "test accuracy (fraction correct)", "train_acc": "training accuracy (fraction correct)",
               "train_loss": "training loss", "test_loss": "test loss", "wall_time_s": "wall time (s)"}
    _label(ax, title or f"{column} per rule (mean ± std over seeds)", "epoch", ylabel or default.get(column, column))
    if log:
        _log_y(ax)
    _integer_epochs(ax)
    _legend(ax, title="rule")
    fig.tight_layout()
    return fig


def plot_alignment(results: Any, title: str | None = None) -> Figure:
    """Angles against epoch, per rule and hidden layer.

    Left: angle between each rule's weight update and the exact gradient on the same
    batch. Right: angle between the feedback matrix and the transposed forward
    weights (for DFA the product of forward matrices, see :mod:`bioplaus.metrics`).
    Rules with no angle (NaN throughout) are listed in the title instead. Several
    hidden layers are told apart by line style (L1 solid, L2 dashed, ...).
    """
    rows = _rows(results)
    cols = list(rows[0].keys()) if rows else []
    n_hidden = sum(1 for c in cols if str(c).startswith("angle_update_l"))
    fig, (ax1, ax2) = _subplots(1, 2, figsize=(11, 4.2), sharey=True)
    styles = ["-", "--", ":", "-."]
    without = set()
    drawn = set()
    for k in range(n_hidden):
        for ax, col in ((ax1, f"angle_update_l{k + 1}"), (ax2, f"angle_weights_l{k + 1}")):
            for i, (rule, (ep, vals)) in enumerate(rule_curves(rows, col).items()):
                label = rule if n_hidden == 1 else f"{rule} L{k + 1}"
                if _band(ax, ep, vals, label, color=f"C{i}", linestyle=styles[k % len(styles)]):
                    drawn.add(rule)
                else:
                    without.add(rule)
    ax1.set_title("Update vs. exact gradient")
    ax2.set_title("Feedback vs. forward weights")
    highest = max((float(np.nanmax(v)) for k in range(n_hidden) for c in ("angle_update_l", "angle_weights_l")
                   for _, v in rule_curves(rows, f"{c}{k + 1}").values() if np.isfinite(v).any()), default=90.0)
    wide = highest > 112
    for ax in (ax1, ax2):
        ax.axhline(90, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_xlabel("epoch")
        ax.set_ylim(-3, 183 if wide else max(95.0, highest + 3))
        ax.set_yticks(np.arange(0, 181 if wide else 106, 30 if wide else 15))
        ax.grid(True, alpha=0.3)
        _integer_epochs(ax)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(title="rule", fontsize=8)
    ax1.set_ylabel("angle (degrees)")
    none = sorted(without - drawn)
    sub = f" — no angles for: {', '.join(none)}" if none else ""
    fig.suptitle((title or "Alignment with backpropagation (mean ± std over seeds)") + sub)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Counts ``C[true, predicted]``; negative predictions (no answer) are left out."""
    y_true = np.asarray(y_true, int).ravel()
    y_pred = np.asarray(y_pred, int).ravel()
    if y_true.shape != y_pred.shape:
        raise BioplausError(f"confusion_matrix: {y_true.size} labels but {y_pred.size} predictions")
    n = n_classes or int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    ok = (y_pred >= 0) & (y_true >= 0)
    C = np.zeros((n, n), int)
    np.add.at(C, (y_true[ok], y_pred[ok]), 1)
    return C


def plot_confusion_matrix(cm: Any = None, *, y_true: Any = None, y_pred: Any = None,
                          class_names: Sequence[str] | None = None, normalize: bool = True,
                          title: str | None = None) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted class) with a colour bar.

    Give the counts ``cm`` or the labels ``y_true`` and predictions ``y_pred``. With
    ``normalize`` each row is divided by its total (fraction of that class), and the
    cells show percentages; the title gives the overall accuracy.
    """
    if cm is None:
        if y_true is None or y_pred is None:
            raise BioplausError("plot_confusion_matrix: give cm, or y_true and y_pred")
        cm = confusion_matrix(y_true, y_pred)
    C = np.asarray(cm, float)
    n = C.shape[0]
    total = C.sum()
    acc = float(np.trace(C) / total) if total else float("nan")
    with np.errstate(all="ignore"):
        M = C / np.maximum(C.sum(axis=1, keepdims=True), 1) if normalize else C
    fig, ax = _figure((6.2 if n <= 12 else 8, 5.2 if n <= 12 else 7))
    im = ax.imshow(M, cmap="Blues", vmin=0, vmax=1 if normalize else None, interpolation="nearest")
    names = list(class_names) if class_names is not None else [str(k) for k in range(n)]
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    if n <= 20:
        hi = float(np.nanmax(M)) if M.size else 1
        for r in range(n):
            for c in range(n):
                v = M[r, c]
                if C[r, c] == 0:
                    continue
                txt = f"{100 * v:.0f}" if normalize else f"{int(C[r, c])}"
                ax.text(c, r, txt, ha="center", va="center", fontsize=7 if n > 10 else 8,
                        color="white" if v > 0.6 * hi else "black")
    fig.colorbar(im, ax=ax, label="fraction of the true class" if normalize else "number of samples")
    _label(ax, title or f"Confusion matrix (accuracy {acc:.3f}, {int(total)} samples"
           + (", cells in %)" if normalize else ")"), "predicted class", "true class", grid=False)
    fig.tight_layout()
    return fig


# =========================================================================== parameter studies

_QTY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-zµΩ/^0-9_]*)\s*$")

#: columns of results.csv that are not swept values
_SWEEP_META = ("point", "index", "seed", "status", "mode", "wall_time_s", "error")


def _value(v: Any) -> tuple[float | None, str]:
    """A swept value as (number, unit): ``"10 Hz"`` -> ``(10.0, "Hz")``; non-numbers -> ``(None, text)``."""
    if isinstance(v, bool):
        return None, str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v), ""
    s = str(v).strip().strip('"')
    m = _QTY.match(s)
    if m and (not m.group(2) or not m.group(2)[0].isdigit()):
        return float(m.group(1)), m.group(2)
    return None, s


def sweep_columns(rows: Any, sweep: Mapping[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """``(swept keys, metric columns)`` of a ``results.csv`` table.

    Swept keys come from ``sweep.toml`` (``grid`` and ``random`` tables) when given,
    else they are the columns between ``index`` and ``seed``; metrics are the numeric
    columns after ``wall_time_s``.
    """
    rows = _rows(rows)
    cols = list(rows[0].keys()) if rows else []
    if sweep is not None:
        keys = [*dict(sweep.get("grid", {})), *dict(sweep.get("random", {}))]
        named = dict(sweep.get("columns", {}))  # a swept key's column, e.g. params.tau_plus -> params.tau_plus_ms
        keys = [named.get(k, k) for k in keys if named.get(k, k) in cols]
    else:
        a = cols.index("index") + 1 if "index" in cols else 0
        b = cols.index("seed") if "seed" in cols else len(cols)
        keys = [c for c in cols[a:b] if c not in _SWEEP_META]
    metrics = []
    after = cols[cols.index("wall_time_s") + 1:] if "wall_time_s" in cols else [c for c in cols if c not in keys]
    for c in after:
        if c in _SWEEP_META or c in keys:
            continue
        if any(math.isfinite(as_float(r.get(c))) for r in rows):
            metrics.append(c)
    return keys, metrics


def sweep_summary(rows: Any, metric: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Mean, standard deviation and number of seeds of ``metric`` per swept point.

    Rows whose ``status`` is not ``ok`` are left out. Each entry: the swept values (as
    in the table), ``"<key>:value"`` (the number, or None), ``mean``, ``std``, ``n``.
    """
    rows = [r for r in _rows(rows) if str(r.get("status", "ok")) == "ok"]
    if keys is None:
        keys = sweep_columns(rows)[0]
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(k, "")) for k in keys), []).append(as_float(r.get(metric)))
    out = []
    for vals, ms in groups.items():
        v = np.array([m for m in ms if math.isfinite(m)])
        entry: dict[str, Any] = dict(zip(keys, vals))
        for k, x in zip(keys, vals):
            entry[f"{k}:value"] = _value(x)[0]
        entry.update(mean=float(v.mean()) if v.size else float("nan"),
                     std=float(v.std(ddof=1)) if v.size > 1 else 0.0 if v.size else float("nan"), n=int(v.size))
        out.append(entry)
    return out


def _axis_values(entries: list[dict], key: str) -> tuple[np.ndarray | None, list[str], str]:
    """Numeric positions (or None for categorical), tick labels and the unit of a swept key."""
    parsed = [_value(e[key]) for e in entries]
    units = {u for _, u in parsed}
    if all(x is not None for x, _ in parsed) and len(units) == 1:
        return np.array([x for x, _ in parsed], float), [str(e[key]) for e in entries], units.pop()
    return None, [str(e[key]) for e in entries], ""


def _key_label(key: str, unit: str) -> str:
    if not unit:  # a numeric column named with its unit (bioplaus.load: "params.eta_Hz")
        from .loader import split_unit

        key, unit = split_unit(key)
    name = key.split(".", 1)[1] if key.startswith("params.") else key
    return f"{name} ({unit})" if unit else name


def _short(key: str) -> str:
    from .loader import split_unit

    key = split_unit(key)[0]
    return key.split(".", 1)[1] if key.startswith("params.") else key


_METRIC_LABELS = {"cos_pc1": "|cos(w, PC1)|", "norm": "‖w‖", "max_rel_error": "max relative error",
                  "final_test_acc": "final test accuracy", "test_acc": "test accuracy",
                  "min_selectivity_ratio": "min selectivity ratio (best / 2nd)", "bimodality": "bimodality (fraction)",
                  "output_rate_hz": "output rate (Hz)", "w_rewarded": "rewarded weight w"}


def _metric_label(metric: str) -> str:
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


def plot_sweep_line(rows: Any, key: str, metric: str, *, group: str | None = None, title: str | None = None,
                    log_x: bool | None = None) -> Figure:
    """``metric`` against one swept parameter, mean over seeds with ± std error bars.

    ``group``: a second swept key drawn as one line per value. Numeric values with a
    unit (``"10 Hz"``) are placed on a numeric axis labelled with the unit; other
    values are categories. ``log_x``: default when the values span more than a decade.
    """
    keys = [key] + ([group] if group else [])
    entries = sweep_summary(rows, metric, keys)
    if not entries:
        raise BioplausError(f"plot_sweep_line: no finished ('ok') rows with {metric!r}")
    fig, ax = _figure((6.8, 4.4))
    xs_all, labels_all, unit = _axis_values(entries, key)
    numeric = xs_all is not None
    cats: list[str] = []
    if not numeric:
        for lab in labels_all:
            if lab not in cats:
                cats.append(lab)
    glabels = []
    for e in entries:
        g = str(e.get(group, "")) if group else ""
        if g not in glabels:
            glabels.append(g)
    n_seeds = max(e["n"] for e in entries)
    for gi, g in enumerate(glabels):
        sub = [e for e in entries if (str(e.get(group, "")) if group else "") == g]
        if numeric:
            x = np.array([_value(e[key])[0] for e in sub], float)
        else:
            x = np.array([cats.index(str(e[key])) for e in sub], float)
        order = np.argsort(x)
        m = np.array([e["mean"] for e in sub])[order]
        s = np.array([e["std"] for e in sub])[order]
        label = f"{_key_label(group, _value(g)[1]).split(' (')[0]} = {g}" if group else \
            (f"mean ± std ({n_seeds} runs per point)" if n_seeds > 1 else "one run per point")
        ax.errorbar(x[order], m, yerr=s if n_seeds > 1 else None, fmt="o-", capsize=3, color=f"C{gi % 10}",
                    label=label)
    if numeric:
        pos = xs_all[np.isfinite(xs_all)]
        if log_x is None:
            log_x = bool(pos.size and pos.min() > 0 and pos.max() / pos.min() > 10)
        if log_x:
            ax.set_xscale("log")
        uniq = np.unique(pos)
        if uniq.size <= 8:
            ax.set_xticks(uniq, [f"{u:g}" for u in uniq])
            ax.minorticks_off()
    else:
        ax.set_xticks(range(len(cats)), cats)
    _label(ax, title or f"{_metric_label(metric)} against {_short(key)}", _key_label(key, unit) if numeric else key,
           _metric_label(metric))
    _legend(ax, loc="best")
    fig.tight_layout()
    return fig


def plot_sweep_heatmap(rows: Any, x: str, y: str, metric: str, *, title: str | None = None,
                       cmap: str = "viridis") -> Figure:
    """Mean of ``metric`` over seeds for every combination of two swept parameters.

    Cells show the mean (and ± std when there are several seeds). When the points do
    not lie on a grid (random sampling), a scatter plot coloured by the metric is drawn.
    """
    entries = sweep_summary(rows, metric, [x, y])
    if not entries:
        raise BioplausError(f"plot_sweep_heatmap: no finished ('ok') rows with {metric!r}")
    xv, _, xu = _axis_values(entries, x)
    yv, _, yu = _axis_values(entries, y)

    def cats(key, vals):
        if vals is not None:
            order = sorted({(v, str(e[key])) for v, e in zip(vals, entries)})
            return [s for _, s in order]
        out = []
        for e in entries:
            if str(e[key]) not in out:
                out.append(str(e[key]))
        return out

    xc, yc = cats(x, xv), cats(y, yv)
    means = np.array([e["mean"] for e in entries])
    if len(xc) * len(yc) > 2 * len(entries) and xv is not None and yv is not None:  # scattered samples
        fig, ax = _figure((6.8, 5))
        sc = ax.scatter(xv, yv, c=means, cmap=cmap, s=60, edgecolor="k", linewidth=0.4)
        fig.colorbar(sc, ax=ax, label=_metric_label(metric))
        for v, lv in ((xv, ax.set_xscale), (yv, ax.set_yscale)):
            if v.min() > 0 and v.max() / v.min() > 10:
                lv("log")
        _label(ax, title or f"{_metric_label(metric)} (mean over seeds)", _key_label(x, xu), _key_label(y, yu))
        fig.tight_layout()
        return fig
    M = np.full((len(yc), len(xc)), np.nan)
    S = np.full_like(M, np.nan)
    for e in entries:
        M[yc.index(str(e[y])), xc.index(str(e[x]))] = e["mean"]
        S[yc.index(str(e[y])), xc.index(str(e[x]))] = e["std"]
    fig, ax = _figure((max(5.5, 1.1 * len(xc) + 2.5), max(4.0, 0.7 * len(yc) + 2)))
    cm = _cmap(cmap, bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(M), origin="lower", cmap=cm, aspect="auto", interpolation="nearest")
    n_seeds = max(e["n"] for e in entries)
    finite = M[np.isfinite(M)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    if len(xc) * len(yc) <= 80:
        for r in range(len(yc)):
            for c in range(len(xc)):
                if np.isfinite(M[r, c]):
                    txt = f"{M[r, c]:.3g}" + (f"\n±{S[r, c]:.2g}" if n_seeds > 1 else "")
                    ax.text(c, r, txt, ha="center", va="center", fontsize=8,
                            color="white" if M[r, c] < mid else "black")
    ax.set_xticks(range(len(xc)), [f"{_value(v)[0]:g}" if xv is not None else v for v in xc])
    ax.set_yticks(range(len(yc)), [f"{_value(v)[0]:g}" if yv is not None else v for v in yc])
    fig.colorbar(im, ax=ax, label=_metric_label(metric) + (f" (mean over {n_seeds} seeds)" if n_seeds > 1 else ""))
    _label(ax, title or f"{_metric_label(metric)} over {_short(x)} × {_short(y)}", _key_label(x, xu) if xv is not None else x,
           _key_label(y, yu) if yv is not None else y, grid=False)
    fig.tight_layout()
    return fig


def _read_sweep(data: Any) -> tuple[list[dict], dict | None]:
    if isinstance(data, (str, os.PathLike)):
        from .results import read_csv

        d = Path(data)
        rows = read_csv(d / "results.csv")
        sweep = tomllib.loads((d / "sweep.toml").read_text()) if (d / "sweep.toml").exists() else None
        return rows, sweep
    return _rows(data), None


def plot_sweep(data: Any, metric: str | None = None, *, sweep: Mapping[str, Any] | None = None,
               title: str | None = None) -> Figure:
    """The view that fits a study: a line (one swept parameter) or a heat map (two).

    ``data``: a study directory (``results.csv`` and ``sweep.toml``) or the rows of
    ``results.csv``. ``metric``: default the first metric column. With more than two
    swept parameters, the first is on the x axis and every combination of the others
    is a line.
    """
    rows, sw = _read_sweep(data)
    sweep = sweep if sweep is not None else sw
    keys, metrics = sweep_columns(rows, sweep)
    if metric is None:
        if not metrics:
            raise BioplausError("plot_sweep: results.csv has no numeric metric column")
        metric = metrics[0]
    if not keys:
        raise BioplausError("plot_sweep: results.csv has no swept parameter column")
    if len(keys) == 1:
        return plot_sweep_line(rows, keys[0], metric, title=title)
    if len(keys) == 2:
        return plot_sweep_heatmap(rows, keys[0], keys[1], metric, title=title)
    joined = [dict(r, _others=", ".join(f"{k.split('.')[-1]}={r.get(k)}" for k in keys[1:])) for r in rows]
    return plot_sweep_line(joined, keys[0], metric, group="_others", title=title)


# =========================================================================== benchmarks

def plot_bench(data: Any, title: str | None = None) -> Figure:
    """Log-log run time per simulated second against synapse count, one line per network and backend.

    ``data``: a :class:`~bioplaus.bench.BenchResult`, its rows, or a ``bioplaus bench``
    directory. Colour: backend (and OpenMP threads); marker and line style: network;
    crosses: the same network written by hand in plain Brian2, where measured.
    """
    if isinstance(data, (str, os.PathLike)):
        from .bench import read_result

        data = read_result(data)
    rows = [r for r in _rows(data) if r.get("status") == "ok" and r.get("run_per_sim_s") is not None
            and r.get("synapses")]
    fig, ax = _figure((7.5, 5))
    keys = list(dict.fromkeys((r["network"], r["backend"], r.get("threads")) for r in rows))
    lanes = list(dict.fromkeys((be, th) for _, be, th in keys))
    colours = {lane: f"C{k % 10}" for k, lane in enumerate(lanes)}
    nets = list(dict.fromkeys(net for net, _, _ in keys))
    styles = {n: (m, ls) for n, m, ls in zip(nets, "osD^v<>p*h", ["-", "--", ":", "-."] * 3)}
    for net, be, th in keys:
        sel = sorted((r for r in rows if (r["network"], r["backend"], r.get("threads")) == (net, be, th)),
                     key=lambda r: r["synapses"])
        marker, ls = styles[net]
        ax.loglog([r["synapses"] for r in sel], [r["run_per_sim_s"] for r in sel], marker=marker, linestyle=ls,
                  color=colours[(be, th)], label=f"{net} {be}" + (f" {th}t" if th is not None else ""))
        hand = [r for r in sel if r.get("hand_run_s") and r.get("sim_s")]
        if hand:
            ax.loglog([r["synapses"] for r in hand], [r["hand_run_s"] / r["sim_s"] for r in hand], "x",
                      color=colours[(be, th)], markersize=8)
    _label(ax, title or "bioplaus backends (lines: bioplaus; x: the same network written by hand)",
           "synapses", "run time per simulated second (s)", grid=False)
    ax.grid(True, which="both", alpha=0.3)
    if keys:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


# =========================================================================== results directories

#: experiment name -> function(arrays, rows, params) -> {figure name: Figure}
EXPERIMENT_FIGURES: dict[str, Callable[[Mapping[str, Any], list, dict], dict[str, Figure]]] = {}


def register_experiment_figures(name: str):
    """Register the figures ``bioplaus plot`` draws for results of experiment ``name``."""
    def deco(fn):
        EXPERIMENT_FIGURES[name] = fn
        return fn
    return deco


def _parse_ms(v: Any, default: float) -> float:
    x, unit = _value(v) if v is not None else (None, "")
    if x is None:
        return default
    return {"ms": x, "s": x * 1e3, "second": x * 1e3, "us": x * 1e-3, "": x}.get(unit, default)


@register_experiment_figures("stdp_window")
def _stdp_window_figs(a, rows, params):
    return {"stdp_window": plot_stdp_window(a["delta_t_ms"], a["dw"], a.get("analytic"),
                                            title=f"STDP window ({params.get('rule', 'stdp')})")}


@register_experiment_figures("triplet_frequency")
def _triplet_figs(a, rows, params):
    return {"triplet_frequency": plot_triplet_frequency(
        a["frequencies"], a["dw_plus"], a["dw_minus"], w_init=float(params.get("w_init", 1.0)),
        delta_t_ms=_parse_ms(params.get("delta_t"), 10.0),
        title=f"Triplet STDP ({params.get('preset', 'visual_cortex')}), {params.get('pairings', 60)} pairings")}


@register_experiment_figures("oja")
def _oja_figs(a, rows, params):
    if rows and "t_s" in rows[0]:
        t = [as_float(r["t_s"]) for r in rows]
        return {"oja_convergence": plot_oja_convergence(t, [as_float(r["cos_pc1"]) for r in rows],
                                                        [as_float(r["norm"]) for r in rows])}
    return {}


@register_experiment_figures("bcm")
def _bcm_figs(a, rows, params):
    return {"bcm_selectivity": plot_bcm_selectivity(a["responses"])}


@register_experiment_figures("stdp_competition")
def _competition_figs(a, rows, params):
    corr = np.asarray(a["correlated"], bool)
    return {"weight_histogram": plot_weight_distribution(
        a["w"], {"correlated inputs": corr, "uncorrelated inputs": ~corr}, w_range=(0.0, 1.0),
        xlabel="w / w_max (dimensionless)", title="STDP competition: final weight distribution")}


@register_experiment_figures("reward_stdp")
def _reward_figs(a, rows, params):
    k = int(params.get("rewarded", 0))
    return {"weights": plot_weight_bars(a["w"], highlight=[k], initial=0.5, highlight_label=f"rewarded input {k}",
                                        ylabel="w (fraction of w_max)",
                                        title="Reward-modulated STDP: final weights")}


@register_experiment_figures("stdp_classifier")
def _stdp_classifier_figs(a, rows, params):
    figs = {"receptive_fields": plot_receptive_fields(
        a["weights"], layout="in_out", n_max=100, labels=a.get("assignments"),
        title="Receptive fields of the excitatory neurons (input weights; assigned class above)")}
    if "confusion_test" in a:
        figs["confusion_test"] = plot_confusion_matrix(a["confusion_test"], title=None)
    return figs


_IMAGE_SIZES = {64: (8, 8), 784: (28, 28)}


def _receptive_candidates(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """2-D arrays with one axis the size of a digit image (64 or 784 inputs)."""
    out = {}
    for k in arrays:
        v = np.asarray(arrays[k])
        if v.ndim == 2 and v.dtype.kind == "f" and (v.shape[0] in _IMAGE_SIZES or v.shape[1] in _IMAGE_SIZES) \
                and not str(k).endswith("_init"):
            out[str(k)] = v
    return out


def _confusion_from(arrays: Mapping[str, Any]) -> np.ndarray | None:
    for k in arrays:
        if "confusion" in str(k).lower():
            v = np.asarray(arrays[k])
            if v.ndim == 2 and v.shape[0] == v.shape[1]:
                return v
    pairs = (("y_true", "y_pred"), ("labels", "predictions"), ("test_labels", "test_predictions"),
             ("true", "predicted"))
    for t, p in pairs:
        if t in arrays and p in arrays:
            return confusion_matrix(arrays[t], arrays[p])
    return None


def _generic_figs(arrays: Mapping[str, Any], rows: list, params: dict, kind: str) -> dict[str, Figure]:
    """Figures any results directory may hold: learning curves, raster, receptive fields, confusion."""
    figs: dict[str, Figure] = {}
    cols = set(rows[0]) if rows else set()
    if {"epoch"} <= cols and ({"test_acc", "test_loss"} & cols):
        rr = [dict(r, rule=r.get("rule") or kind) for r in rows]
        figs["learning_curves"] = plot_learning_curves(rr, loss=params.get("loss"))
        if any(str(c).startswith("angle_update_l") for c in cols):
            figs["alignment"] = plot_alignment(rr)
    if _spike_populations(arrays):
        figs["raster"] = plot_raster(arrays)
    cm = _confusion_from(arrays)
    if cm is not None:
        figs["confusion_matrix"] = plot_confusion_matrix(cm)
    cands = _receptive_candidates(arrays)
    if cands:
        # harness layout "<rule>/seed<i>/W1" (or "."): first layer of seed 0 of every rule, one row each
        by_rule = {}
        for k, v in cands.items():
            m = re.match(r"^(.+?)[/.]seed(\d+)[/.]W1$", k)
            if m and m.group(2) == "0":
                by_rule[m.group(1)] = v
        if by_rule:
            figs["receptive_fields"] = plot_receptive_fields(by_rule, layout="out_in")
        else:
            for k, v in list(cands.items())[:4]:
                figs[f"receptive_fields_{re.sub(r'[^A-Za-z0-9_-]', '_', k)}"] = plot_receptive_fields(
                    v, title=f"Receptive fields: {k} reshaped to images")
    return figs


def result_kind(path: str | os.PathLike) -> str:
    """``"compare"``, ``"experiment"``, ``"sweep"`` or ``"bench"``; :class:`BioplausError` otherwise.

    A sweep directory has ``results.csv`` and ``sweep.toml``; a benchmark ``bench.csv``;
    an experiment results directory has ``provenance.json`` naming its ``experiment``; a
    comparison (``bioplaus compare``) has ``metrics.csv`` with a ``rule`` column. The
    recognition is :func:`bioplaus.load.result_kind`'s (which calls a run ``"run"``).
    """
    from .loader import result_kind as kind_of

    kind = kind_of(path)
    return "experiment" if kind == "run" else kind


def _provenance(d: Path) -> dict:
    try:
        return json.loads((d / "provenance.json").read_text())
    except (OSError, ValueError):
        return {}


def _load_dir(d: Path) -> tuple[dict[str, np.ndarray], list[dict], dict]:
    from .results import read_csv

    arrays: dict[str, np.ndarray] = {}
    if (d / "arrays.npz").is_file():
        with np.load(d / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    rows = read_csv(d / "metrics.csv") if (d / "metrics.csv").is_file() else []
    config = {}
    if (d / "config.toml").is_file():
        try:
            config = tomllib.loads((d / "config.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError):
            config = {}
    return arrays, rows, config


def figures_for(path: str | os.PathLike) -> dict[str, Figure]:
    """The figures that fit the results directory ``path`` (see :func:`result_kind`).

    Comparisons: learning curves, alignment angles and first-layer receptive fields.
    Experiments: the figures registered for the experiment
    (:data:`EXPERIMENT_FIGURES`); for any other experiment, learning curves (rows with
    ``epoch`` and ``test_acc``), a raster (arrays ``<pop>.spikes.t``), receptive
    fields (2-D arrays with 64 or 784 inputs) and a confusion matrix (an array named
    ``*confusion*``, or labels and predictions). Sweeps: one figure per metric.
    Benchmarks (``bioplaus bench``): run time per simulated second against synapses
    (:func:`plot_bench`).
    """
    d = Path(path)
    kind = result_kind(d)
    if kind == "bench":
        from .bench import read_result

        return {"bench": plot_bench(read_result(d))}
    if kind == "sweep":
        rows, sweep = _read_sweep(d)
        keys, metrics = sweep_columns(rows, sweep)
        if not rows:
            return {}
        figs = {}
        for m in metrics:
            if m.endswith("_s") or m in ("n_runs",):
                continue
            figs[f"sweep_{re.sub(r'[^A-Za-z0-9_-]', '_', m)}"] = plot_sweep(rows, m, sweep=sweep)
        return figs
    arrays, rows, config = _load_dir(d)
    if kind == "compare":
        loss = (config.get("compare", config) or {}).get("loss") if isinstance(config, dict) else None
        figs = {"learning_curves": plot_learning_curves(rows, loss=loss), "alignment": plot_alignment(rows)}
        rf = _generic_figs(arrays, [], {}, "compare").get("receptive_fields")
        if rf is not None:
            figs["receptive_fields"] = rf
        return figs
    experiment = str(_provenance(d).get("experiment") or config.get("experiment", ""))
    params = dict(config.get("params", {}))
    figs = {}
    maker = EXPERIMENT_FIGURES.get(experiment)
    if maker is not None:
        try:
            figs.update(maker(arrays, rows, params))
        except KeyError as exc:
            raise BioplausError(f"{str(d)!r}: results of experiment {experiment!r} lack {exc}; "
                                "expected the arrays.npz and metrics.csv that experiment writes") from None
    else:
        figs.update(_generic_figs(arrays, rows, params, experiment))
    return figs


def write_figures(path: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Draw :func:`figures_for` ``path`` and write them as ``<out>/<name>.png`` (default
    ``path/figures``); returns the files written. Only PNG files are written."""
    d = Path(path)
    figs = figures_for(d)
    out_dir = Path(out) if out is not None else d / "figures"
    written = []
    for name, fig in figs.items():
        written.append(save_figure(fig, out_dir / f"{name}.png"))
    return written


def plot_firing_patterns(traces: Mapping[str, Mapping[str, Any]], *, ncols: int = 2,
                         title: str | None = None) -> Figure:
    """A grid of voltage traces, one per neuron preset, each above its input current,
    laid out like Izhikevich (2003), Fig. 2 and Naud et al. (2008), Fig. 4.

    ``traces``: ``{preset: {"t": s, "v": V, "I": input (A, or V/s for Izhikevich), "I_unit": optional}}``.
    """
    names = list(traces)
    nrows = max(1, math.ceil(len(names) / ncols))
    fig = Figure(figsize=(4.2 * ncols, 2.1 * nrows + 0.6))
    outer = fig.add_gridspec(nrows, ncols, hspace=0.55, wspace=0.3)
    for k, name in enumerate(names):
        tr = traces[name]
        inner = outer[k // ncols, k % ncols].subgridspec(2, 1, height_ratios=(4, 1), hspace=0.05)
        ax_v = fig.add_subplot(inner[0])
        ax_i = fig.add_subplot(inner[1], sharex=ax_v)
        t = np.asarray(tr["t"], float) * 1e3
        ax_v.plot(t, np.asarray(tr["v"], float) * 1e3, color="k", lw=0.7)
        I = np.asarray(tr["I"], float)
        unit = tr.get("I_unit") or ("mV/ms" if I.size and np.nanmax(np.abs(I)) > 1e-3 else "pA")
        izh = unit == "mV/ms"  # mV/ms inputs are ~10 V/s, currents ~1e-10 A
        ax_i.plot(t, I if izh else I * 1e12, color="C0", lw=0.9)
        ax_v.set_title(name.replace("_", " "), fontsize=9)
        ax_v.set_ylabel("v (mV)", fontsize=8)
        ax_i.set_ylabel("I (mV/ms)" if izh else "I (pA)", fontsize=7)
        ax_i.set_xlabel("time (ms)", fontsize=8)
        ax_v.tick_params(labelbottom=False, labelsize=7)
        ax_i.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax_v.spines[side].set_visible(False)
            ax_i.spines[side].set_visible(False)
    fig.suptitle(title or "Firing patterns of the neuron presets", fontsize=_TITLE_SIZE)
    return fig


def plot_triplet_vs_data(frequencies: Any, curves: Mapping[str, tuple[Any, Any]], data: Mapping[str, Any], *,
                         nmse: Mapping[str, float] | None = None, delta_t_ms: float = 10.0,
                         title: str | None = None) -> Figure:
    """Model weight change against pairing frequency, one line per model and Δt = ±Δ, over
    the measured points with their s.e.m. (Pfister & Gerstner 2006, Fig. 5 layout).

    ``curves``: ``{label: (dw_plus, dw_minus)}`` relative changes; ``data``: keys
    ``frequencies_hz``, ``dw_plus``, ``sem_plus``, ``dw_minus``, ``sem_minus``.
    """
    f = np.asarray(frequencies, float)
    fig, ax = _figure(figsize=(6.8, 4.6))
    styles = ["-", "--", ":", "-."]
    for k, (label, (dp, dm)) in enumerate(curves.items()):
        tag = f" (E = {nmse[label]:.2f})" if nmse and label in nmse else ""
        ls = styles[k % len(styles)]
        ax.plot(f, 100 * np.asarray(dp, float), ls, color="C3", label=f"{label}, +{delta_t_ms:g} ms{tag}")
        ax.plot(f, 100 * np.asarray(dm, float), ls, color="C0", label=f"{label}, −{delta_t_ms:g} ms")
    fd = np.asarray(data["frequencies_hz"], float)
    ax.errorbar(fd, 100 * np.asarray(data["dw_plus"]), yerr=100 * np.asarray(data["sem_plus"]), fmt="o", color="C3",
                capsize=3, label=f"Sjöström et al. 2001, +{delta_t_ms:g} ms")
    ax.errorbar(fd, 100 * np.asarray(data["dw_minus"]), yerr=100 * np.asarray(data["sem_minus"]), fmt="s",
                color="C0", capsize=3, label=f"Sjöström et al. 2001, −{delta_t_ms:g} ms")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xlim(left=0)
    _label(ax, title or "Triplet STDP against the Sjöström et al. (2001) data", "pairing frequency (Hz)",
           "weight change (% of initial)")
    _legend(ax, loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig
