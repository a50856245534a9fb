r"""Metrics of the comparison harness: angles, per-epoch rows, summaries over seeds.

Per epoch and per rule/seed the harness records (columns of ``metrics.csv``):

``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``
    mean loss and accuracy on the whole training and test sets (accuracy is NaN for
    regression);
``wall_time_s``
    seconds spent in that epoch's training (evaluation excluded);
``angle_update_l<k>``
    for hidden layer ``k``: the angle between the rule's update of the weights *into*
    that layer, :math:`\Delta W_k`, and the exact gradient :math:`\nabla_{W_k}\mathcal L`,
    both computed on the same fixed probe batch (the first 256 training samples of a
    seeded permutation, the same for every rule);
``angle_weights_l<k>``
    the angle between the matrix that carries error into hidden layer ``k`` and the one
    backpropagation would use: :math:`\angle(B_k, W_{k+1}^\top)` for FA and sign
    symmetry, and for DFA :math:`\angle(D_k, (W_L W_{L-1}\cdots W_{k+1})^\top)`, the
    product of transposed forward matrices from layer ``k`` to the output (derivative
    factors left out; :math:`W_L^\top` for the last hidden layer); 0 for BP;
``angle_signal_l<k>``
    the alignment measure of Lillicrap et al. (2016, Fig. 2): the angle between the
    teaching signal the rule delivers to the units of hidden layer ``k`` and the one
    backpropagation would deliver, *per sample*, averaged over the probe batch
    (:func:`signal_angle_deg`); the signals are the errors at the units' inputs,
    :math:`\delta_k = (B_k\,\delta_{k+1}) \odot f'(a_k)` against
    :math:`(W_{k+1}^\top\delta_{k+1}^{BP}) \odot f'(a_k)` (for DFA
    :math:`(D_k e) \odot f'(a_k)`), both from the same forward pass and output error;
    0 for BP, NaN for rules that do not route an error (Hebbian, Forward-Forward, ...);
``status``
    ``ok``, or ``diverged at epoch N``.

Angles are NaN where a rule has no such quantity (the Hebbian rule has no error
signal). Every angle is :func:`angle_deg` between the arrays taken as flat vectors.

Summaries (:func:`summarize`) take the final epoch of each seed: mean and sample
standard deviation (``ddof=1``; 0 for one seed) over the seeds that did not diverge,
and the gap of the mean to BP's mean.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "angle_deg",
    "signal_angle_deg",
    "metric_columns",
    "RuleSummary",
    "summarize",
    "summary_markdown",
    "mean_std",
    "as_float",
]


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    r"""Angle in degrees between two arrays taken as flat vectors.

    :math:`\theta = \arccos \dfrac{a\cdot b}{\lVert a\rVert\,\lVert b\rVert}`, computed as
    :math:`2\,\mathrm{atan2}(\lVert\hat a - \hat b\rVert, \lVert\hat a + \hat b\rVert)` with
    :math:`\hat a = a / \lVert a\rVert`, which stays accurate near 0 and 180 degrees;
    NaN if either is zero or not finite.

    >>> angle_deg(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    45.0
    >>> angle_deg(np.eye(2), -np.eye(2))
    180.0
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not (na > 0 and nb > 0 and math.isfinite(na) and math.isfinite(nb)):
        return float("nan")
    ua, ub = a / na, b / nb
    return round(math.degrees(2 * math.atan2(float(np.linalg.norm(ua - ub)), float(np.linalg.norm(ua + ub)))), 10)


def signal_angle_deg(signal: np.ndarray, reference: np.ndarray) -> float:
    r"""Mean over samples of the angle between two per-sample signals (rows), in degrees.

    :math:`\bar\theta = \frac{1}{|S|}\sum_{n \in S} \angle(s_n, r_n)` over the rows
    ``n`` where both vectors are non-zero (a sample whose signal vanishes has no
    direction); NaN if there is none. Unlike :func:`angle_deg` of the whole batch,
    this weighs every sample alike, as Lillicrap et al. (2016) measure alignment.

    >>> signal_angle_deg(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 1.0]]))
    22.5
    """
    a = np.asarray(signal, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"signal_angle_deg: expected two (samples, units) arrays of one shape; got {a.shape} "
                         f"and {b.shape}")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0) & np.isfinite(na) & np.isfinite(nb)
    if not ok.any():
        return float("nan")
    ua, ub = a[ok] / na[ok, None], b[ok] / nb[ok, None]
    ang = 2 * np.arctan2(np.linalg.norm(ua - ub, axis=1), np.linalg.norm(ua + ub, axis=1))
    return round(float(np.degrees(ang).mean()), 10)


def metric_columns(n_hidden: int) -> list[str]:
    """Column order of ``metrics.csv`` for a network with ``n_hidden`` hidden layers."""
    return (["rule", "seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "wall_time_s"]
            + [f"angle_update_l{k + 1}" for k in range(n_hidden)]
            + [f"angle_weights_l{k + 1}" for k in range(n_hidden)]
            + [f"angle_signal_l{k + 1}" for k in range(n_hidden)]
            + ["status"])


def as_float(v: Any) -> float:
    """A CSV cell or number as float (empty or unparsable cells are NaN)."""
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation of the finite values (std 0 for one value; NaNs if none)."""
    v = np.array([x for x in values if math.isfinite(x)], dtype=np.float64)
    if len(v) == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


@dataclass(frozen=True)
class RuleSummary:
    """One rule over all seeds, at the final epoch of each."""

    rule: str
    n_seeds: int
    n_ok: int
    test_acc: tuple[float, float]
    test_loss: tuple[float, float]
    gap_to_bp: float
    angle_update: tuple[float, ...]
    angle_weights: tuple[float, ...]
    time_per_epoch_s: float
    status: str
    diverged_at: tuple[int, ...] = field(default=())
    angle_signal: tuple[float, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        d = {"rule": self.rule, "n_seeds": self.n_seeds, "n_ok": self.n_ok,
             "test_acc_mean": self.test_acc[0], "test_acc_std": self.test_acc[1],
             "test_loss_mean": self.test_loss[0], "test_loss_std": self.test_loss[1],
             "gap_to_bp": self.gap_to_bp, "time_per_epoch_s": self.time_per_epoch_s, "status": self.status}
        for k, a in enumerate(self.angle_update):
            d[f"angle_update_l{k + 1}"] = a
        for k, a in enumerate(self.angle_weights):
            d[f"angle_weights_l{k + 1}"] = a
        for k, a in enumerate(self.angle_signal):
            d[f"angle_signal_l{k + 1}"] = a
        return d


def summarize(rows: Sequence[Mapping[str, Any]], rules: Sequence[str] | None = None,
              baseline: str = "bp", regression: bool | None = None) -> list[RuleSummary]:
    """Summaries per rule from tidy rows (as written to ``metrics.csv``, strings or numbers).

    ``gap_to_bp`` is the rule's mean final test accuracy minus the baseline's (for
    regression, test loss minus the baseline's); NaN without a baseline.
    """
    by_rule: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for r in rows:
        by_rule.setdefault(str(r["rule"]), {}).setdefault(str(r["seed"]), []).append(r)
    rules = list(rules) if rules is not None else list(by_rule)
    n_hidden = sum(1 for k in (rows[0] if rows else {}) if str(k).startswith("angle_update_l"))
    if regression is None:
        regression = bool(rows) and all(math.isnan(as_float(r.get("test_acc"))) for r in rows)
    out: list[RuleSummary] = []
    for rule in rules:
        seeds = by_rule.get(rule, {})
        finals, diverged, times = [], [], []
        for seed_rows in seeds.values():
            seed_rows = sorted(seed_rows, key=lambda r: int(as_float(r["epoch"])))
            last = seed_rows[-1]
            status = str(last.get("status", "ok"))
            times.extend(as_float(r["wall_time_s"]) for r in seed_rows if int(as_float(r["epoch"])) > 0
                         and str(r.get("status", "ok")) == "ok")
            if status.startswith("diverged"):
                diverged.append(int(as_float(last["epoch"])))
            else:
                finals.append(last)
        acc = mean_std(as_float(r["test_acc"]) for r in finals)
        loss = mean_std(as_float(r["test_loss"]) for r in finals)
        upd = tuple(mean_std(as_float(r[f"angle_update_l{k + 1}"]) for r in finals)[0] for k in range(n_hidden))
        wts = tuple(mean_std(as_float(r[f"angle_weights_l{k + 1}"]) for r in finals)[0] for k in range(n_hidden))
        sig = tuple(mean_std(as_float(r.get(f"angle_signal_l{k + 1}")) for r in finals)[0] for k in range(n_hidden))
        if not seeds:
            status = "not run"
        elif diverged:
            first = min(diverged)
            status = f"diverged at epoch {first}" + (f" ({len(diverged)}/{len(seeds)} seeds)" if len(seeds) > 1 else "")
        else:
            status = "ok"
        out.append(RuleSummary(rule, len(seeds), len(finals), acc, loss, float("nan"), upd, wts,
                               mean_std(times)[0], status, tuple(sorted(diverged)), sig))
    base = next((s for s in out if s.rule == baseline), None)
    if base is not None:
        ref = base.test_loss[0] if regression else base.test_acc[0]
        out = [RuleSummary(s.rule, s.n_seeds, s.n_ok, s.test_acc, s.test_loss,
                           (s.test_loss[0] if regression else s.test_acc[0]) - ref,
                           s.angle_update, s.angle_weights, s.time_per_epoch_s, s.status, s.diverged_at,
                           s.angle_signal)
               for s in out]
    return out


def _no_negative_zero(x: float, digits: int) -> float:
    return round(x, digits) + 0.0


def _fmt(x: float, spec: str) -> str:
    return "—" if not math.isfinite(x) else format(x, spec)


def summary_markdown(summaries: Sequence[RuleSummary], regression: bool = False, title: str | None = None) -> str:
    """Markdown table: rule, final test accuracy (or loss) mean ± std, gap to BP, final angles
    (update, feedback matrix, per-sample teaching signal),
    training time per epoch, status."""
    n_hidden = max((len(s.angle_update) for s in summaries), default=0)
    metric = "test MSE" if regression else "test acc"
    head = ["rule", f"{metric} (mean ± std)", "gap to BP"]
    head += [f"∠ update L{k + 1} (°)" for k in range(n_hidden)]
    head += [f"∠ feedback L{k + 1} (°)" for k in range(n_hidden)]
    head += [f"∠ signal L{k + 1} (°)" for k in range(n_hidden)]
    head += ["time/epoch (s)", "seeds", "status"]
    lines = []
    if title:
        lines += [f"# {title}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for s in summaries:
        m, sd = s.test_loss if regression else s.test_acc
        spec = ".4g" if regression else ".4f"
        cells = [s.rule, "—" if not math.isfinite(m) else f"{m:{spec}} ± {sd:{spec}}",
                 "—" if not math.isfinite(s.gap_to_bp) else f"{_no_negative_zero(s.gap_to_bp, 4):+{spec}}"]
        cells += [_fmt(a, ".1f") for a in s.angle_update] + ["—"] * (n_hidden - len(s.angle_update))
        cells += [_fmt(a, ".1f") for a in s.angle_weights] + ["—"] * (n_hidden - len(s.angle_weights))
        cells += [_fmt(a, ".1f") for a in s.angle_signal] + ["—"] * (n_hidden - len(s.angle_signal))
        cells += [_fmt(s.time_per_epoch_s, ".3f"), f"{s.n_ok}/{s.n_seeds}", s.status]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
