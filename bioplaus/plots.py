"""Figures of results, one function per figure, each returning a matplotlib ``Figure``.

Every function takes arrays or results (a :class:`~bioplaus.harness.CompareResult`,
or the rows of ``metrics.csv`` as :func:`bioplaus.results.read_csv` returns them)
and draws with the non-interactive Agg backend; :func:`save_figure` writes a figure
atomically.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .metrics import as_float  # noqa: E402

__all__ = ["save_figure", "plot_learning_curves", "plot_alignment", "rule_curves"]

_LOSS_LABEL = {"cross_entropy": "cross-entropy (nats)", "mse": "half squared error"}


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG (or the format of the suffix) atomically, then close it."""
    from .results import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def _rows(data: Any) -> list[Mapping[str, Any]]:
    rows = getattr(data, "rows", data)
    return list(rows)


def rule_curves(rows: Any, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{rule: (epochs, values)}`` with ``values`` of shape ``(seeds, len(epochs))`` (NaN where missing)."""
    rows = _rows(rows)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rules: list[str] = []
    for r in rows:
        if str(r["rule"]) not in rules:
            rules.append(str(r["rule"]))
    for rule in rules:
        rr = [r for r in rows if str(r["rule"]) == rule]
        seeds = sorted({str(r["seed"]) for r in rr})
        epochs = np.array(sorted({int(as_float(r["epoch"])) for r in rr}))
        vals = np.full((len(seeds), len(epochs)), np.nan)
        for r in rr:
            vals[seeds.index(str(r["seed"])), np.searchsorted(epochs, int(as_float(r["epoch"])))] = as_float(r.get(column))
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


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def plot_learning_curves(results: Any, loss: str | None = None, title: str | None = None) -> Figure:
    """Test accuracy (or test loss for regression) and training loss against epoch, per rule.

    Lines are means over seeds, bands ± one standard deviation (clipped to the range
    of the seeds); epoch 0 is the untrained network. The accuracy axis starts just
    below the lowest mean accuracy after the first epoch, so that the trained rules
    can be told apart. ``loss`` names the loss for the
    axis label (taken from ``results.loss`` when it has one).
    """
    rows = _rows(results)
    if loss is None:
        loss = getattr(results, "loss", None)
    acc = rule_curves(rows, "test_acc")
    regression = all(not np.isfinite(v).any() for _, v in acc.values())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    top = rule_curves(rows, "test_loss") if regression else acc
    for rule, (ep, vals) in top.items():
        _band(ax1, ep, vals, rule)
    ax1.set_xlabel("epoch")
    if regression:
        ax1.set_ylabel("test loss (" + _LOSS_LABEL.get(loss or "mse", "loss") + ")")
        ax1.set_yscale("log")
        ax1.set_title("Test loss")
    else:
        ax1.set_ylabel("test accuracy (fraction correct)")
        ax1.set_title("Test accuracy")
        # zoom on the trained range: the untrained epoch 0 (near chance) may fall below the axis
        with np.errstate(all="ignore"), _quiet():
            later = [np.nanmean(v[:, ep >= 1], axis=0) for ep, v in acc.values() if (ep >= 1).any()]
            low = np.nanmin(np.concatenate(later)) if later else np.nan
        if np.isfinite(low):
            ax1.set_ylim(max(0.0, low - 0.02), 1.0 + 0.005)
    for rule, (ep, vals) in rule_curves(rows, "train_loss").items():
        _band(ax2, ep, vals, rule)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("training loss (" + _LOSS_LABEL.get(loss or "", "loss") + ")")
    ax2.set_yscale("log")
    ax2.set_title("Training loss")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(title="rule", fontsize=8)
    fig.suptitle(title or "Learning curves (mean ± std over seeds)")
    fig.tight_layout()
    return fig


def plot_alignment(results: Any, title: str | None = None) -> Figure:
    """Angles against epoch, per rule and hidden layer.

    Left: angle between each rule's weight update and the exact gradient on the same
    batch. Right: angle between the feedback matrix and the transposed forward
    weights (for DFA the product of forward matrices, see :mod:`bioplaus.metrics`).
    Rules with no angle (NaN throughout) are listed in the title instead.
    """
    rows = _rows(results)
    cols = list(rows[0].keys()) if rows else []
    n_hidden = sum(1 for c in cols if str(c).startswith("angle_update_l"))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
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
    for ax in (ax1, ax2):
        ax.axhline(90, color="0.5", linewidth=0.8, linestyle=":")
        ax.set_xlabel("epoch")
        ax.set_ylim(-3, 180 if any(np.nanmax(v) > 95 for _, v in rule_curves(rows, "angle_update_l1").values()
                                   if np.isfinite(v).any()) else 95)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(title="rule", fontsize=8)
    ax1.set_ylabel("angle (degrees)")
    none = sorted(without - drawn)
    sub = f" — no angles for: {', '.join(none)}" if none else ""
    fig.suptitle((title or "Alignment with backpropagation (mean ± std over seeds)") + sub)
    fig.tight_layout()
    return fig
