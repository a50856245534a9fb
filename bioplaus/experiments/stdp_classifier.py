"""``stdp_classifier``: unsupervised STDP digit classifier (Diehl & Cook 2015), one run on the backend.

The network (:mod:`bioplaus.networks.stdp_classifier`) trains for ``epochs`` passes over the
training samples, then shows the training samples again with plasticity off to label each
excitatory neuron, then the validation and test samples; all of it in one ``Network.run``
(one compiled binary on ``cpp``). The validation split is carved out of the training split,
so parameters can be tuned without looking at the test set.

Outputs: metrics (running training accuracy per block, final train/validation/test accuracy),
arrays (weights, thresholds, assignments, confusion matrix, spike counts), figures (receptive
fields, confusion matrix, spike raster, learning curve).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..networks.stdp_classifier import DiehlCook
from ..spec.params import integer, number, set_field
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, register_experiment

__all__ = ["STDPClassifierExperiment", "load_split", "check_split_params", "confusion_matrix", "md_table",
           "figure_confusion", "figure_learning_curve", "figure_images", "figure_raster"]


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def check_split_params(p, prefix: str = "params") -> None:
    """Validate the dataset fields shared by the spiking classifier experiments."""
    from ..data import check_dataset_name

    check_dataset_name(p.dataset, f"{prefix}.dataset")
    for name in ("n_train", "n_test"):
        if getattr(p, name) is not None:
            set_field(p, name, integer(prefix, name, getattr(p, name), minimum=2))
    set_field(p, "validation_fraction", number(prefix, "validation_fraction", p.validation_fraction,
                                               low=0.0, high=0.9))


def load_split(p, ctx: RunContext, rng: np.random.Generator):
    """Samples and labels (train + test stacked) and the train / validation / test indices.

    The validation split is a stratified ``validation_fraction`` of the (possibly subsampled)
    training split; ``n_train`` / ``n_test`` keep random stratified subsets.
    """
    from ..data import load_dataset, stratified_split

    data = load_dataset(p.dataset, ctx.data_dir, seed=int(rng.integers(2**31)))
    if data.task != "classification":
        raise ConfigError("params.dataset", p.dataset, "a classification dataset (digits, mnist, fashion-mnist)")
    x_tr, y_tr, x_te, y_te = data.x_train, data.y_train, data.x_test, data.y_test
    if np.min(x_tr) < 0 or np.max(x_tr) > 1.0 + 1e-9:
        raise ConfigError("params.dataset", p.dataset, "inputs in [0, 1] (they become firing rates)")
    tr = np.arange(len(x_tr))
    if p.n_train is not None:
        if p.n_train > len(x_tr):
            raise ConfigError("params.n_train", p.n_train, f"at most {len(x_tr)} (the training split of {data.name})")
        if p.n_train < len(x_tr):
            _, tr = stratified_split(y_tr, p.n_train / len(x_tr), rng)
    te = np.arange(len(x_te))
    if p.n_test is not None:
        if p.n_test > len(x_te):
            raise ConfigError("params.n_test", p.n_test, f"at most {len(x_te)} (the test split of {data.name})")
        if p.n_test < len(x_te):
            _, te = stratified_split(y_te, p.n_test / len(x_te), rng)
    va = np.array([], dtype=int)
    if p.validation_fraction > 0:
        keep, hold = stratified_split(y_tr[tr], p.validation_fraction, rng)
        tr, va = tr[keep], tr[hold]
    samples = np.vstack([x_tr, x_te])
    labels = np.concatenate([y_tr, y_te]).astype(int)
    shape = data.image_shape or _square(data.n_features)
    return data, samples, labels, tr, va, len(x_tr) + te, shape


def _square(n: int):
    r = int(round(np.sqrt(n)))
    return (r, r) if r * r == n else (1, n)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[true, predicted]`` counts; predictions of ``-1`` (no spikes) go to an extra last column.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, -1]), 2).tolist()
    [[1, 0, 0], [0, 1, 1]]
    """
    C = np.zeros((n_classes, n_classes + 1), dtype=np.int64)
    np.add.at(C, (np.asarray(y), np.where(np.asarray(pred) < 0, n_classes, pred)), 1)
    return C


# ---------------------------------------------------------------------- figures

def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_images(W: np.ndarray, shape, title: str, max_images: int = 100, labels: np.ndarray | None = None,
                  cmap: str = "hot_r", symmetric: bool = False):
    """Columns of ``W`` (``(n_pixels, n_units)``) drawn as images, e.g. receptive fields."""
    plt = _plt()
    n = min(W.shape[1], max_images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols + 0.5, 1.1 * rows + 0.7), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        img = W[:, k].reshape(shape)
        if symmetric:
            m = np.max(np.abs(img)) or 1.0
            ax.imshow(img, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, vmin=0, interpolation="nearest")
        if labels is not None:
            ax.set_title(str(labels[k]) if labels[k] >= 0 else "-", fontsize=7, pad=1)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_confusion(C: np.ndarray, title: str):
    plt = _plt()
    n = C.shape[0]
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    norm = C / np.maximum(C.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(C.shape[1]):
            if C[i, j]:
                ax.text(j, i, int(C[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(C.shape[1]))
    ax.set_xticklabels([str(k) for k in range(n)] + (["none"] if C.shape[1] > n else []), fontsize=8)
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of class")
    fig.tight_layout()
    return fig


def figure_learning_curve(curves: dict[str, tuple[np.ndarray, np.ndarray]], xlabel: str, title: str,
                          hlines: dict[str, float] | None = None):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (x, y) in curves.items():
        ax.plot(x, y, "o-", ms=3, label=name)
    for k, (name, v) in enumerate((hlines or {}).items()):
        ax.axhline(v, ls="--", lw=1, color=f"C{k + len(curves)}", label=f"{name} {v:.3f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_raster(groups: list[tuple[str, np.ndarray, np.ndarray, int]], t0: float, t1: float, window: float,
                  present: float, labels: list[int], title: str):
    """Spike raster of several populations between ``t0`` and ``t1`` (seconds), samples marked."""
    plt = _plt()
    heights = [max(n, 4) for _, _, _, n in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 1.2 + 0.02 * sum(heights) + 1.0 * len(groups)),
                             sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, (name, t, i, n) in zip(axes[:, 0], groups):
        sel = (t >= t0) & (t < t1)
        ax.plot((t[sel] - t0) * 1e3, i[sel], "|", ms=3, color="k")
        ax.set_ylabel(name, fontsize=8)
        ax.set_ylim(-0.5, n - 0.5)
        for k in range(int(round((t1 - t0) / window))):
            ax.axvspan(k * window * 1e3, (k * window + present) * 1e3, color="C0", alpha=0.07, lw=0)
    ax0 = axes[0, 0]
    for k, lab in enumerate(labels):
        ax0.text((k * window + present / 2) * 1e3, 1.02, str(lab), transform=ax0.get_xaxis_transform(),
                 ha="center", fontsize=8)
    axes[-1, 0].set_xlabel("time (ms) from the first sample shown")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- experiment

_NET_FIELDS = tuple(f.name for f in dataclasses.fields(DiehlCook))


def network_params(cls, data: dict[str, Any], spec_cls: type, source: str | None = None, prefix: str = "params"):
    """``cls.from_mapping`` for experiment parameters that hold a network spec in ``network``.

    Model files may give the spec's fields flat (``n_exc = 200`` in ``[params]``, as before) or
    as a ``[params.network]`` table (as a resolved configuration writes them); either way they
    become one ``spec_cls`` object, and its errors name ``params.<field>``.
    """
    from ..errors import did_you_mean

    data = dict(data)
    fields = {f.name for f in dataclasses.fields(spec_cls)}
    names = ({f.name for f in dataclasses.fields(cls)} | fields) - {"network"}
    for key in data:
        if key not in names and key != "network":
            raise ConfigError(f"{prefix}.{key}", data[key], f"a parameter of {cls.__qualname__.split('.')[0]} or "
                              f"its {spec_cls.__name__} network: " + ", ".join(sorted(names))
                              + did_you_mean(key, names), source=source)
    net = data.pop("network", None)
    if net is not None and not isinstance(net, (dict, spec_cls)):
        raise ConfigError(f"{prefix}.network", net, f"a table of {spec_cls.__name__} parameters", source=source)
    net = dict(net) if isinstance(net, dict) else ({} if net is None else net)
    if isinstance(net, dict):
        net.pop("type", None)
        for key in [k for k in data if k in fields]:
            net[key] = data.pop(key)
        unknown = [k for k in net if k not in fields]
        if unknown:
            raise ConfigError(f"{prefix}.{unknown[0]}", net[unknown[0]], f"a parameter of {spec_cls.__name__}: "
                              + ", ".join(sorted(fields)) + did_you_mean(unknown[0], fields), source=source)
        try:
            net = spec_cls(**net)
        except ConfigError as exc:
            raise ConfigError(f"{prefix}.{exc.key_path.split('.', 1)[-1]}", exc.value, exc.expected,
                              source=source) from None
    return super(cls, cls).from_mapping({**data, "network": net}, source, prefix)


@register_experiment("stdp_classifier")
class STDPClassifierExperiment(Experiment):
    """Unsupervised STDP + lateral inhibition + adaptive thresholds; neurons labelled after training."""

    description = "unsupervised STDP classifier (Diehl & Cook 2015): whole training loop in one simulation run"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        """The network, a :class:`~bioplaus.networks.stdp_classifier.DiehlCook` (its fields may be
        given flat in ``[params]``), plus:

        dataset : ``digits`` (shipped) or ``mnist`` / ``fashion-mnist`` (with ``data_dir``);
        n_train / n_test : stratified random subsets (unset = all); validation_fraction : share of
        the training split held out for validation (tuning); curve_block : samples per point of
        the running training accuracy; raster_samples : test samples shown in the raster figure.
        """

        network: DiehlCook = dataclasses.field(default_factory=DiehlCook)
        dataset: str = "digits"
        n_train: Any = None
        n_test: Any = None
        validation_fraction: Any = 0.2
        curve_block: int = 100
        raster_samples: int = 6
        paper: Any = None   # e.g. "diehl_cook2015": print the paper's accuracy for n_exc beside ours

        @classmethod
        def from_mapping(cls, data: dict[str, Any], source: str | None = None, prefix: str = "params"):
            return network_params(cls, data, DiehlCook, source, prefix)

        def __post_init__(self):
            if not isinstance(self.network, DiehlCook):
                raise ConfigError("params.network", self.network, "a DiehlCook network")
            check_split_params(self)
            set_field(self, "curve_block", integer("params", "curve_block", self.curve_block, minimum=2))
            set_field(self, "raster_samples", integer("params", "raster_samples", self.raster_samples, minimum=0))
            if self.paper is not None:
                from .papers import classifier_paper

                classifier_paper(self.paper)

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..networks.stdp_classifier import (assign_labels, classifier_schedule, predict, run_classifier,
                                                running_accuracy)

        ss = np.random.SeedSequence(ctx.seed)
        data_ss, order_ss, net_ss = ss.spawn(3)
        data, samples, labels, tr, va, te, shape = load_split(p, ctx, np.random.default_rng(data_ss))
        K = data.n_classes
        cfg = p.network
        evaluate = {"val": va, "test": te} if len(va) else {"test": te}
        sch = classifier_schedule(samples, labels, tr, cfg.epochs, evaluate, np.random.default_rng(order_ss))
        window = float(cfg.window)
        ctx.log(f"stdp_classifier: {cfg.n_exc} excitatory neurons, {data.name} ({len(tr)} train / {len(va)} "
                f"validation / {len(te)} test), {cfg.epochs} epochs + assignment + evaluation = {len(sch)} "
                f"windows ({len(sch) * window:.0f} s simulated) in one run on {ctx.backend}")
        net_seed = int(net_ss.generate_state(1)[0] % (2**31))
        res = run_classifier(cfg, sch, ctx.backend, seed=net_seed, threads=ctx.threads)

        # the network's SpikeCountReadout: labels from the assignment pass, predictions per phase
        ro = res.readout
        if ro is not None and ro["n_classes"] == K:
            assignments = ro["assignments"]
            preds = {name: ro["predictions"][name] for name in ("assign", *evaluate)}
        else:   # a class missing from every sample shown: classify with the dataset's K classes
            assignments = assign_labels(res.counts["assign"], sch.phase_labels("assign"), K)
            preds = {name: predict(res.counts[name], assignments, K) for name in ("assign", *evaluate)}
        acc = {name: float(np.mean(pr == sch.phase_labels(name))) for name, pr in preds.items()}
        silent = {name: float(np.mean(pr < 0)) for name, pr in preds.items()}

        train_counts = np.vstack([res.counts[f"train{e}"] for e in range(cfg.epochs)])
        train_labels = np.concatenate([sch.phase_labels(f"train{e}") for e in range(cfg.epochs)])
        block = min(p.curve_block, max(2, len(tr) // 2))
        seen, run_acc = running_accuracy(train_counts, train_labels, K, block)

        n_train_windows = cfg.epochs * len(tr)
        run_s = res.timings.get("run_s", float("nan"))
        # the share of the single run spent on training, by simulated time (the binary runs it all)
        train_s = run_s * n_train_windows / len(sch)
        rows: list[dict[str, Any]] = []
        for s_, a_ in zip(seen, run_acc):
            rows.append({"kind": "running_train", "epoch": int((s_ - 1) // len(tr)), "samples_seen": int(s_),
                         "accuracy": a_, "silent_fraction": float("nan"), "backend": ctx.backend, "n_exc": cfg.n_exc})
        for name, label in (("assign", "train"), ("val", "val"), ("test", "test")):
            if name in acc:
                rows.append({"kind": label, "epoch": cfg.epochs, "samples_seen": n_train_windows,
                             "accuracy": acc[name], "silent_fraction": silent[name], "backend": ctx.backend,
                             "n_exc": cfg.n_exc})

        C = confusion_matrix(sch.phase_labels("test"), preds["test"], K)
        arrays: dict[str, Any] = {
            "weights": res.weights, "theta": res.theta, "assignments": assignments, "confusion_test": C,
            "test_pred": preds["test"], "test_labels": sch.phase_labels("test"), "test_counts": res.counts["test"],
            "curve_samples": seen, "curve_accuracy": run_acc, "train_order": sch.order[:n_train_windows],
        }
        if "val" in preds:
            arrays.update(val_pred=preds["val"], val_labels=sch.phase_labels("val"))

        timing = {**res.timings, "train_s_share": train_s,
                  "train_samples_per_s": n_train_windows / train_s if train_s > 0 else float("nan"),
                  "simulated_s": len(sch) * window}
        table = [["train (plasticity off)", acc["assign"], silent["assign"]]]
        if "val" in acc:
            table.append(["validation", acc["val"], silent["val"]])
        table.append(["test", acc["test"], silent["test"]])
        summary = (
            f"Diehl & Cook (2015) network: {data.n_features} Poisson inputs (max rate {cfg.max_rate}), "
            f"{cfg.n_exc} excitatory + {cfg.n_exc} inhibitory LIF neurons, rule `{cfg.rule}` "
            f"(nu_post {cfg.nu_post}, nu_pre {cfg.nu_pre}), adaptive threshold (+{cfg.theta_plus} per spike), "
            f"weights normalised to {cfg.norm_total} per neuron. {data.name}: {len(tr)} training, {len(va)} "
            f"validation, {len(te)} test samples; {cfg.epochs} epochs, present {cfg.present}, rest {cfg.rest}, "
            f"dt {cfg.dt}.\n\n"
            + md_table(["samples", "accuracy", "no-spike fraction"], table)
            + f"\n\nAssigned neurons per class: {np.bincount(assignments[assignments >= 0], minlength=K).tolist()}"
            f" ({int(np.sum(assignments < 0))} never fired). Thresholds theta: mean {1e3 * res.theta.mean():.2f} mV, "
            f"max {1e3 * res.theta.max():.2f} mV.\n\n"
            f"One `Network.run` of {len(sch)} windows ({len(sch) * window:.0f} s simulated) on `{ctx.backend}`: "
            + (f"code generation + compilation {res.timings.get('compile_s', 0.0):.1f} s, " if "compile_s" in
               res.timings else "")
            + f"run {run_s:.1f} s; training share {train_s:.1f} s = "
            f"{timing['train_samples_per_s']:.1f} samples/s.\n")

        info: dict[str, Any] = {"timings": timing, "accuracy": acc, "silent_fraction": silent}
        if p.paper is not None:
            from .papers import _data_label, classifier_paper, classifier_paper_table

            pap = classifier_paper(p.paper)
            label = _data_label(data.name, len(tr), len(te))
            prow, tidy = classifier_paper_table(pap, cfg.n_exc, [acc["test"]], label, cfg.epochs)
            summary += (f"\n**{pap.citation}**\n\nTest accuracy = share of the {len(te)} test images classified "
                        "correctly; gap = bioplaus − paper.\n\n"
                        + md_table(["result", "paper", "bioplaus", "gap", "seeds", "data", "source"], prow) + "\n")
            info["side_by_side"] = [tidy]

        figures = {
            "receptive_fields": figure_images(res.weights, shape, f"Receptive fields (input weights) of "
                                              f"{min(cfg.n_exc, 100)} excitatory neurons, with assigned class",
                                              labels=assignments),
            "confusion_test": figure_confusion(C, f"Test confusion (accuracy {acc['test']:.3f})"),
            "learning_curve": figure_learning_curve(
                {f"running training accuracy (blocks of {block})": (seen, run_acc)}, "training samples seen",
                "STDP classifier: learning curve",
                hlines={k: v for k, v in (("validation", acc.get("val")), ("test", acc["test"])) if v is not None}),
        }
        if p.raster_samples:
            k0 = sch.phases["test"].start
            n_show = min(p.raster_samples, len(te))
            t0, t1 = k0 * window, (k0 + n_show) * window
            groups = [("exc", res.spike_t, res.spike_i, cfg.n_exc)]
            figures["raster"] = figure_raster(groups, t0, t1, window, float(cfg.present),
                                              [int(v) for v in sch.phase_labels("test")[:n_show]],
                                              f"Excitatory spikes for the first {n_show} test samples (labels above)")
        ctx.log(f"  test accuracy {acc['test']:.4f}" + (f", validation {acc['val']:.4f}" if "val" in acc else ""))
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures=figures, info=info)
