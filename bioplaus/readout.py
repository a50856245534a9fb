"""Spike-count read-outs: label assignment and prediction (Diehl & Cook 2015), in numpy.

Used by :func:`bioplaus.simulation.simulate` for the
:class:`~bioplaus.spec.protocol.SpikeCountReadout` objects of a network; usable on their
own for any spike counts ``(n_windows, n_neurons)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["window_counts", "assign_labels", "predict", "running_accuracy", "evaluate_readout"]


def window_counts(spike_t: np.ndarray, spike_i: np.ndarray, window: float, n_windows: int, n: int,
                  start: int = 0) -> np.ndarray:
    """Spike counts ``(n_windows, n)`` per window of length ``window`` (seconds), from window ``start``."""
    k = np.floor(np.asarray(spike_t) / window + 1e-9).astype(np.int64) - start
    keep = (k >= 0) & (k < n_windows)
    out = np.zeros((n_windows, n), dtype=np.int64)
    np.add.at(out, (k[keep], np.asarray(spike_i)[keep]), 1)
    return out


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Label each neuron with the class of highest mean response (Diehl & Cook 2015).

    ``counts``: ``(n_samples, n_neurons)`` spike counts; ``labels``: ``(n_samples,)``.
    Returns ``(n_neurons,)`` class indices, ``-1`` for neurons that never fired.

    >>> assign_labels(np.array([[3, 0], [0, 1], [2, 0]]), np.array([0, 1, 0]), 2).tolist()
    [0, 1]
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels, dtype=int)
    rates = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        sel = labels == c
        if sel.any():
            rates[c] = counts[sel].mean(axis=0)
    out = np.argmax(rates, axis=0)
    out[rates.max(axis=0) <= 0] = -1
    return out


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int) -> np.ndarray:
    """Class whose assigned neurons fire most on average; ``-1`` for a sample without spikes.

    >>> predict(np.array([[0, 4, 1], [5, 0, 0], [0, 0, 0]]), np.array([0, 1, 1]), 2).tolist()
    [1, 0, -1]
    """
    counts = np.asarray(counts, dtype=float)
    assignments = np.asarray(assignments)
    scores = np.full((counts.shape[0], n_classes), -np.inf)
    for c in range(n_classes):
        sel = assignments == c
        if sel.any():
            scores[:, c] = counts[:, sel].mean(axis=1)
    pred = np.argmax(scores, axis=1)
    pred[counts.sum(axis=1) == 0] = -1
    return pred


def running_accuracy(counts: np.ndarray, labels: np.ndarray, n_classes: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy during training: block ``b`` is classified with labels assigned on block ``b-1``.

    Returns ``(samples_seen, accuracy)`` per block (from the second block on), as the
    performance curve of Diehl & Cook's code.
    """
    n = len(labels)
    seen, acc = [], []
    for start in range(block, n - block + 1, block):
        a = assign_labels(counts[start - block:start], labels[start - block:start], n_classes)
        p = predict(counts[start:start + block], a, n_classes)
        seen.append(start + block)
        acc.append(float(np.mean(p == labels[start:start + block])))
    return np.array(seen), np.array(acc)


def evaluate_readout(readout, spec, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Counts, assignments, predictions and accuracy per phase for one read-out of a run.

    Returns ``{"assignments": (n,), "n_classes": K, "counts": {phase: (n_windows, n)},
    "labels": {phase: ...}, "predictions": {phase: ...}, "accuracy": {phase: float},
    "silent_fraction": {phase: float}}``.
    """
    proto = spec.protocol
    n = spec.population(readout.population).size
    t = arrays[f"{readout.population}.spikes.t"]
    i = arrays[f"{readout.population}.spikes.i"]
    window = float(proto.window)
    K = int(proto.labels.max()) + 1 if proto.labels.size else 0
    counts = {name: window_counts(t, i, window, sl.stop - sl.start, n, start=sl.start)
              for name, sl in proto.slices.items()}
    labels = {p.name: proto.labels[p.indices] for p in proto.phases}
    assignments = assign_labels(counts[readout.assign], labels[readout.assign], K)
    preds = {name: predict(c, assignments, K) for name, c in counts.items()}
    acc = {name: float(np.mean(preds[name] == labels[name])) if len(labels[name]) else float("nan") for name in preds}
    silent = {name: float(np.mean(preds[name] < 0)) if len(preds[name]) else float("nan") for name in preds}
    return {"assignments": assignments, "n_classes": K, "counts": counts, "labels": labels, "predictions": preds,
            "accuracy": acc, "silent_fraction": silent}
