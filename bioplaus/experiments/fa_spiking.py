"""``fa_spiking``: spiking feedback alignment (event-driven random backpropagation) on a dataset.

The network of :mod:`bioplaus.networks.fa_spiking` (a NetworkSpec built by :mod:`bioplaus.build`
and run by :func:`bioplaus.simulation.simulate`) trains epoch after epoch, each followed by
an evaluation of the validation and test samples with plasticity off, all inside one
``Network.run`` (one compiled binary on ``cpp``). Outputs: a learning curve per epoch
(accuracy during training, validation, test; error spikes per sample), the final and initial
weights and the fixed feedback matrix, figures (learning curve, confusion matrix, spike
raster of input/hidden/output/error populations, hidden receptive fields).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..networks.fa_spiking import SpikingFA
from ..spec.params import check_params, param
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, register_experiment
from .stdp_classifier import (check_split_params, confusion_matrix, figure_confusion, figure_images,
                              figure_learning_curve, figure_raster, load_split, md_table)

__all__ = ["FASpikingExperiment"]

_NET_FIELDS = tuple(f.name for f in dataclasses.fields(SpikingFA))


@register_experiment("fa_spiking")
class FASpikingExperiment(Experiment):
    """LIF network trained by spiking direct feedback alignment (eRBP), learning inside the simulator."""

    description = "spiking feedback alignment (event-driven random backpropagation): one simulation run"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams, SpikingFA):
        """Network fields as :class:`~bioplaus.networks.fa_spiking.SpikingFA`, plus:

        dataset; n_train / n_test : stratified random subsets (unset = all); validation_fraction :
        share of the training split held out for validation (tuning); raster_samples : test
        samples shown in the raster figure.
        """

        dataset: str = "digits"
        n_train: Any = None
        n_test: Any = None
        validation_fraction: Any = 0.2
        raster_samples: int = param(5, integer=True, minimum=0)

        def __post_init__(self):
            try:
                SpikingFA.__post_init__(self)
            except ConfigError as exc:
                field = exc.key_path.split(".", 1)[-1]
                raise ConfigError(f"params.{field}", exc.value, exc.expected) from None
            check_split_params(self)     # dataset, n_train, n_test, validation_fraction (shared with stdp_classifier)
            check_params(self)           # the param() fields declared here

        def network(self) -> SpikingFA:
            return SpikingFA(**{f: getattr(self, f) for f in _NET_FIELDS})

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..networks.fa_spiking import fa_schedule, predict_counts, run_fa_spec as run_fa

        ss = np.random.SeedSequence(ctx.seed)
        data_ss, order_ss, net_ss = ss.spawn(3)
        data, samples, labels, tr, va, te, shape = load_split(p, ctx, np.random.default_rng(data_ss))
        K = data.n_classes
        cfg = p.network()
        evaluate = {"val": va, "test": te} if len(va) else {"test": te}
        sch = fa_schedule(samples, labels, tr, cfg.epochs, evaluate, np.random.default_rng(order_ss), cfg.lr_decay)
        window = float(cfg.window)
        ctx.log(f"fa_spiking: {data.n_features}-{cfg.n_hidden}-{K} LIF network, {data.name} ({len(tr)} train / "
                f"{len(va)} validation / {len(te)} test), {cfg.epochs} epochs with evaluations = {len(sch)} windows "
                f"({len(sch) * window:.0f} s simulated) in one run on {ctx.backend}")
        net_seed = int(net_ss.generate_state(1)[0] % (2**31))
        res = run_fa(cfg, sch, K, ctx.backend, seed=net_seed, threads=ctx.threads)

        rows: list[dict[str, Any]] = []
        for e in range(cfg.epochs):
            row: dict[str, Any] = {"epoch": e + 1, "backend": ctx.backend, "n_hidden": cfg.n_hidden,
                                   "lr_factor": 1.0 / (1.0 + cfg.lr_decay * e)}
            ph = f"train{e}"
            y = sch.phase_labels(ph)
            row["train_acc_online"] = float(np.mean(predict_counts(res.counts[ph]) == y))
            row["error_spikes_per_sample"] = float(res.err_counts[ph].sum(axis=1).mean())
            for name in evaluate:
                row[f"{name}_acc"] = float(np.mean(predict_counts(res.counts[f"{name}{e}"]) ==
                                                  sch.phase_labels(f"{name}{e}")))
            rows.append(row)
            ctx.log(f"  epoch {e + 1}: " + ", ".join(f"{k} {row[k]:.4f}" for k in row if k.endswith("_acc")))
        last = rows[-1]
        ph_test = f"test{cfg.epochs - 1}"
        pred = predict_counts(res.counts[ph_test])
        C = confusion_matrix(sch.phase_labels(ph_test), pred, K)
        n_train_windows = cfg.epochs * len(tr)
        run_s = res.timings.get("run_s", float("nan"))
        train_s = run_s * n_train_windows / len(sch)
        timing = {**res.timings, "train_s_share": train_s,
                  "train_samples_per_s": n_train_windows / train_s if train_s > 0 else float("nan"),
                  "simulated_s": len(sch) * window}
        G_fixed = bool(np.array_equal(res.feedback, res.feedback_after))
        arrays: dict[str, Any] = {
            "w1": res.w1, "w2": res.w2, "w1_init": res.w1_init, "w2_init": res.w2_init, "feedback": res.feedback,
            "confusion_test": C, "test_pred": pred, "test_labels": sch.phase_labels(ph_test),
            "test_counts": res.counts[ph_test], "epoch": np.arange(1, cfg.epochs + 1),
            "test_acc": np.array([r["test_acc"] for r in rows]),
            "train_acc_online": np.array([r["train_acc_online"] for r in rows]),
        }
        if "val" in evaluate:
            arrays["val_acc"] = np.array([r["val_acc"] for r in rows])
        table = [["during training (last epoch)", last["train_acc_online"]]]
        if "val" in evaluate:
            table.append(["validation", last["val_acc"]])
        table.append(["test", last["test_acc"]])
        summary = (
            f"Event-driven random backpropagation (Neftci et al. 2017): {data.n_features}-{cfg.n_hidden}-{K} LIF "
            f"network, {2 * K} error neurons (E+/E-), label neurons at {cfg.target_rate}, fixed random feedback "
            f"(scale {cfg.feedback_scale}) into a dendritic compartment (tau_U {cfg.tau_U}); updates at "
            f"presynaptic spikes, eta {cfg.eta} decaying as 1/(1 + {cfg.lr_decay} epoch). {data.name}: {len(tr)} "
            f"training, {len(va)} validation, {len(te)} test samples; {cfg.epochs} epochs, present {cfg.present}, "
            f"rest {cfg.rest}, dt {cfg.dt}, input max rate {cfg.max_rate}.\n\n"
            + md_table(["samples", "accuracy"], table)
            + f"\n\nFeedback matrix unchanged by training: {G_fixed}. Mean |ΔW1| {np.abs(res.w1 - res.w1_init).mean():.4f}, "
            f"mean |ΔW2| {np.abs(res.w2 - res.w2_init).mean():.4f}; error spikes per training sample "
            f"{rows[0]['error_spikes_per_sample']:.1f} (epoch 1) -> {last['error_spikes_per_sample']:.1f} "
            f"(epoch {cfg.epochs}).\n\n"
            f"One `Network.run` of {len(sch)} windows ({len(sch) * window:.0f} s simulated) on `{ctx.backend}`: "
            + (f"code generation + compilation {res.timings.get('compile_s', 0.0):.1f} s, " if "compile_s" in
               res.timings else "")
            + f"run {run_s:.1f} s; training share {train_s:.1f} s = {timing['train_samples_per_s']:.1f} samples/s.\n")

        epochs = np.arange(1, cfg.epochs + 1)
        curves = {"during training (plastic)": (epochs, arrays["train_acc_online"])}
        if "val" in evaluate:
            curves["validation"] = (epochs, arrays["val_acc"])
        curves["test"] = (epochs, arrays["test_acc"])
        figures = {
            "learning_curve": figure_learning_curve(curves, "epoch", "Spiking feedback alignment: learning curve"),
            "confusion_test": figure_confusion(C, f"Test confusion (accuracy {last['test_acc']:.3f})"),
            "hidden_receptive_fields": figure_images(res.w1, shape, "Input weights W1 of hidden neurons",
                                                     max_images=49, cmap="RdBu_r", symmetric=True),
        }
        if p.raster_samples:
            k0 = sch.phases[ph_test].start
            n_show = min(p.raster_samples, len(te))
            t0, t1 = k0 * window, (k0 + n_show) * window
            groups = []
            if "hidden" in res.spikes:
                n_rec = int(res.spikes["hidden"][1].max()) + 1 if len(res.spikes["hidden"][1]) else 1
                groups.append(("hidden", *res.spikes["hidden"], max(n_rec, 1)))
            groups.append(("output", *res.spikes["output"], K))
            groups.append(("error E+ | E-", *res.spikes["err"], 2 * K))
            figures["raster"] = figure_raster(groups, t0, t1, window, float(cfg.present),
                                              [int(v) for v in sch.phase_labels(ph_test)[:n_show]],
                                              f"Spikes for the first {n_show} test samples after training "
                                              f"(plasticity off; labels above)")
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures=figures,
                                info={"timings": timing, "final_test_acc": last["test_acc"],
                                      "final_val_acc": last.get("val_acc"), "feedback_fixed": G_fixed})
