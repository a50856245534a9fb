r"""Beyond feedback alignment: synthetic gradients, Forward-Forward, perturbation learning, e-prop.

=========================  ==================================================================
``beyond_digits``          the comparison harness on one dataset with the rules of this study
                           (default ``bp, fa, sg, ff, np``): accuracy, update angles, curves
``perturbation_variance``  how far node/weight-perturbation gradient estimates lie from the
                           true gradient as the hidden layer grows, beside FA's and BP's;
                           accuracy of each rule under the same epoch budget
``eprop``                  a recurrent LIF network learns a sine by e-prop in Brian2; the same
                           network trained by the numpy reference's e-prop and BPTT
=========================  ==================================================================
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Hz, ms

from ..errors import ConfigError
from ..networks.eprop import EpropNetwork
from ..spec.params import integer, param, set_field
from .base import (Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, param_of,
                   register_experiment)

__all__ = ["BeyondDigits", "PerturbationVariance", "EpropSine", "perturbation_variance_table"]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    return md_table(header, rows) + "\n"


def _subplots(n: int = 1, width: float = 5.5):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(width * n, 4.2))
    return fig, (axes if n > 1 else [axes])


def _names(owner: str, field: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{owner}.{field}", value, "a non-empty list of rule names")
    from ..reference.credit import CREDIT_RULES
    from ..errors import did_you_mean

    for v in value:
        if v not in CREDIT_RULES:
            raise ConfigError(f"{owner}.{field}", v, "one of " + ", ".join(CREDIT_RULES) + did_you_mean(v, CREDIT_RULES))
    return tuple(value)


def _sizes(owner: str, field: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{owner}.{field}", value, "a non-empty list of positive integers")
    return tuple(integer(owner, f"{field}[{k}]", v, minimum=1) for k, v in enumerate(value))


def _table_of_tables(owner: str, field: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{owner}.{field}", value, "a table {rule = ...}")
    return dict(value)


# --------------------------------------------------------------------------- digits comparison

@register_experiment("beyond_digits")
class BeyondDigits(Experiment):
    """The comparison harness with the rules beyond feedback alignment (numpy reference)."""

    description = "BP, FA, synthetic gradients, Forward-Forward and node perturbation on one data split"
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        rules: Any = ("bp", "fa", "sg", "ff", "np")
        hidden: Any = (256,)
        activation: str = "tanh"
        epochs: int = param(30, integer=True, minimum=1)
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(3, integer=True, minimum=1)
        lr: Any = None
        rule_params: Any = None

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            set_field(self, "rules", _names(o, "rules", self.rules))
            set_field(self, "hidden", _sizes(o, "hidden", self.hidden))
            set_field(self, "rule_params", _table_of_tables(o, "rule_params", self.rule_params))
            if isinstance(self.lr, dict):
                set_field(self, "lr", dict(self.lr))
            self.config(0)  # validates everything else through the harness

        def config(self, seed: int, data_dir: str | None = None, threads: int | None = 1):
            from ..harness import CompareConfig

            try:
                return CompareConfig(dataset=self.dataset, data_dir=data_dir, rules=self.rules, hidden=self.hidden,
                                     activation=self.activation, epochs=self.epochs, batch_size=self.batch_size,
                                     seeds=self.seeds, seed=seed, lr=self.lr, rule_params=self.rule_params,
                                     threads=threads)
            except ConfigError as exc:
                raise ConfigError("params." + exc.key_path.split(".", 1)[-1], exc.value, exc.expected) from None

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..harness import compare
        from ..plots import plot_alignment, plot_learning_curves

        cfg = p.config(ctx.seed, ctx.data_dir, ctx.threads or 1)

        def progress(ev):
            if ev.get("kind") == "run":
                ctx.log(f"{ev['rule']} seed {ev['seed']}: test_acc {ev['test_acc']:.4f} ({ev['status']})")

        res = compare(cfg, progress=progress)
        arrays = {k.replace("/", "."): v for k, v in res.weights.items()}
        info = {s.rule: {"test_acc_mean": s.test_acc[0], "test_acc_std": s.test_acc[1]} for s in res.summary}
        return ExperimentResult(rows=res.rows, arrays=arrays, summary=res.markdown(),
                                figures={"learning_curves": plot_learning_curves(res),
                                         "alignment": plot_alignment(res)},
                                info={"summary": info})


# --------------------------------------------------------------------------- perturbation variance

def perturbation_variance_table(widths, samples: int = 100, batch_size: int = 32, sigma: float = 1e-3,
                                warmup_epochs: int = 2, seed: int = 0, data_dir: str | None = None,
                                dataset: str = "digits", log=lambda msg: None) -> list[dict[str, Any]]:
    r"""Deviation of each rule's gradient estimate from the true gradient, per hidden-layer width.

    For each width a network is initialised (seeded) and trained by FA for ``warmup_epochs``
    (so that FA's feedback has begun to align); at that point, on one fixed batch, the
    true gradient :math:`g` (BP) is compared with FA's update and with ``samples``
    independent node- and weight-perturbation estimates (noise ``sigma``). Rows give, for
    the hidden layer's weights (``layer="W1"``) and for all parameters (``"all"``),
    :func:`~bioplaus.reference.perturbation.estimator_deviation`'s ``rel_mse``,
    ``rel_var``, ``cos`` and ``cos_mean``.
    """
    from ..data import load_dataset
    from ..reference.credit import TrainSettings, make_credit_rule
    from ..reference.mlp import MLP
    from ..reference.perturbation import estimator_deviation, node_perturbation_grads, weight_perturbation_grads

    data = load_dataset(dataset, data_dir, seed=np.random.SeedSequence(seed, spawn_key=(0,)))
    rows = []
    for w in widths:
        ss = np.random.SeedSequence(seed, spawn_key=(7, int(w)))
        init_rng, fa_rng, shuffle_rng, noise_rng, batch_rng = (np.random.default_rng(s) for s in ss.spawn(5))
        net = MLP.random((data.n_features, w, data.n_outputs), "tanh", data.default_loss, init_rng)
        fa = make_credit_rule("fa").learner()
        fa.init(net, fa_rng, TrainSettings(lr=make_credit_rule("fa").default_lr, batch_size=16))
        for _ in range(warmup_epochs):
            fa.train_epoch(data.x_train, data.y_train, shuffle_rng)
        idx = batch_rng.choice(len(data.x_train), batch_size, replace=False)
        x, y = data.x_train[idx], data.y_train[idx]
        true = net.gradients(x, y)[1]
        t0 = time.perf_counter()
        est = {"bp": [true], "fa": [fa.updates(x, y)],
               "np": [node_perturbation_grads(net, x, y, sigma, noise_rng) for _ in range(samples)],
               "wp": [weight_perturbation_grads(net, x, y, sigma, noise_rng) for _ in range(samples)]}
        n_params = sum(a.size + b.size for a, b in zip(net.weights, net.biases))
        for rule, e in est.items():
            for layer, layers in (("W1", [0]), ("all", None)):
                d = estimator_deviation(e, true, layers)
                rows.append(dict(width=int(w), rule=rule, layer=layer, samples=len(e), n_params=n_params,
                                 n_units=w + data.n_outputs, **d))
        log(f"width {w}: estimates in {time.perf_counter() - t0:.1f} s")
    return rows


@register_experiment("perturbation_variance")
class PerturbationVariance(Experiment):
    """Variance of node/weight-perturbation gradient estimates against width, beside FA and BP."""

    description = ("node and weight perturbation: gradient-estimate variance grows with the hidden layer; "
                   "FA's and BP's deviation from the true gradient and every rule's accuracy beside")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        widths: Any = (16, 64, 256, 1024)
        samples: int = param(100, integer=True, minimum=2)
        batch_size: int = param(32, integer=True, minimum=1)
        sigma: Any = param(1e-3, positive=True)
        warmup_epochs: int = param(2, integer=True, minimum=0)
        rules: Any = ("bp", "fa", "np", "wp")
        epochs: int = param(10, integer=True, minimum=0)
        seeds: int = param(1, integer=True, minimum=1)

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            from ..data import check_dataset_name

            check_dataset_name(self.dataset, "params.dataset")
            set_field(self, "widths", _sizes(o, "widths", self.widths))
            set_field(self, "rules", _names(o, "rules", self.rules))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..harness import CompareConfig, compare

        rows = perturbation_variance_table(p.widths, p.samples, p.batch_size, p.sigma, p.warmup_epochs, ctx.seed,
                                           ctx.data_dir, p.dataset, ctx.log)
        for r in rows:
            r["kind"] = "estimate"
        acc: dict[tuple[int, str], tuple[float, float]] = {}
        if p.epochs:
            for w in p.widths:
                res = compare(CompareConfig(dataset=p.dataset, data_dir=ctx.data_dir, rules=p.rules, hidden=(w,),
                                            epochs=p.epochs, seeds=p.seeds, seed=ctx.seed, threads=ctx.threads or 1),
                              progress=False)
                for s in res.summary:
                    acc[w, s.rule] = s.test_acc
                    rows.append(dict(kind="accuracy", width=w, rule=s.rule, test_acc=s.test_acc[0],
                                     test_acc_std=s.test_acc[1], epochs=p.epochs, seeds=p.seeds,
                                     angle_update_l1=s.angle_update[0], status=s.status))
                ctx.log(f"width {w}: " + ", ".join(f"{r} {acc[w, r][0]:.3f}" for r in p.rules))
        est = [r for r in rows if r["kind"] == "estimate"]
        rules = list(dict.fromkeys(r["rule"] for r in est))
        # summary tables
        head = ["width"] + [f"{r} rel. MSE" for r in rules] + [f"{r} cos" for r in rules]
        lines = []
        for w in p.widths:
            sel = {r["rule"]: r for r in est if r["width"] == w and r["layer"] == "W1"}
            lines.append([w] + [sel[r]["rel_mse"] for r in rules] + [sel[r]["cos"] for r in rules])
        summary = (f"Gradient estimates for the hidden layer's weights W1 on one batch of {p.batch_size} "
                   f"(after {p.warmup_epochs} epochs of FA), {p.samples} perturbation samples per width, "
                   f"sigma = {p.sigma:g}. *rel. MSE* = mean ||ĝ − g||² / ||g||² over single estimates "
                   "(the relative variance for the unbiased perturbation estimates, the squared bias for FA, "
                   "0 for BP); *cos* = mean cosine of a single estimate with the true gradient.\n\n")
        summary += _table(head, lines)
        if acc:
            summary += (f"\nTest accuracy after {p.epochs} epochs (mean ± std over {p.seeds} seed(s), each rule "
                        "at its default learning rate):\n\n")
            summary += _table(["width"] + list(p.rules),
                              [[w] + [f"{acc[w, r][0]:.4f} ± {acc[w, r][1]:.4f}" for r in p.rules] for w in p.widths])
        figs = {"perturbation_variance": self._figure(est, p), }
        if acc:
            fig, (ax,) = _subplots(1)
            for k, r in enumerate(p.rules):
                ax.errorbar(p.widths, [acc[w, r][0] for w in p.widths], yerr=[acc[w, r][1] for w in p.widths],
                            marker="o", label=r, color=f"C{k}", capsize=3)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("hidden units")
            ax.set_ylabel(f"test accuracy after {p.epochs} epochs")
            ax.set_title("Accuracy under the same epoch budget")
            ax.grid(alpha=0.3)
            ax.legend()
            fig.tight_layout()
            figs["perturbation_accuracy"] = fig
        return ExperimentResult(rows=rows, summary=summary, figures=figs,
                                arrays={"widths": np.array(p.widths)})

    @staticmethod
    def _figure(est, p):
        fig, (ax1, ax2) = _subplots(2)
        rules = list(dict.fromkeys(r["rule"] for r in est))
        for k, rule in enumerate(rules):
            for layer, ls in (("W1", "-"), ("all", "--")):
                sel = [r for r in est if r["rule"] == rule and r["layer"] == layer]
                w = [r["width"] for r in sel]
                if rule != "bp":
                    ax1.plot(w, [r["rel_mse"] for r in sel], ls, marker="o", color=f"C{k}",
                             label=f"{rule} ({'hidden W1' if layer == 'W1' else 'all weights'})")
                ax2.plot(w, [r["cos"] for r in sel], ls, marker="o", color=f"C{k}",
                         label=f"{rule} ({'W1' if layer == 'W1' else 'all'})")
        ax1.set_xscale("log", base=2)
        ax1.set_yscale("log")
        ax1.set_xlabel("hidden units")
        ax1.set_ylabel("E‖ĝ − g‖² / ‖g‖²")
        ax1.set_title("Deviation from the true gradient (BP: 0)")
        ax2.set_xscale("log", base=2)
        ax2.set_xlabel("hidden units")
        ax2.set_ylabel("mean cos(ĝ, g) of one estimate")
        ax2.set_title("Alignment of a single estimate")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
        fig.suptitle(f"Gradient estimates on one batch ({p.samples} samples of each perturbation)")
        fig.tight_layout()
        return fig


# --------------------------------------------------------------------------- e-prop

@register_experiment("eprop")
class EpropSine(Experiment):
    """A recurrent LIF network learns a sine with e-prop in Brian2; numpy e-prop and BPTT beside it."""

    description = ("e-prop in Brian2 (recurrent LIF, eligibility traces, random feedback) against the numpy "
                   "reference's e-prop and BPTT on the same network: sine-wave regression")

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        n_in: int = param(20, integer=True, minimum=1)
        n_rec: int = param(50, integer=True, minimum=2)
        rate: Any = param("50 Hz", unit=Hz, nonnegative=True)
        duration: Any = param("500 ms", unit=ms, positive=True)
        period: Any = param("250 ms", unit=ms, positive=True)
        amplitude: Any = param(1.0, nonnegative=True)
        trials: int = param(200, integer=True, minimum=1)
        dt: Any = param_of(EpropNetwork, "dt")        # declared by the network network() builds
        tau_m: Any = param_of(EpropNetwork, "tau_m")
        tau_out: Any = param_of(EpropNetwork, "tau_out")
        v_th: Any = param_of(EpropNetwork, "v_th")
        gamma: Any = param_of(EpropNetwork, "gamma")
        w_in: Any = param(1.0, nonnegative=True)
        w_rec: Any = param(1.0, nonnegative=True)
        lr: Any = param_of(EpropNetwork, "lr")
        feedback: str = param_of(EpropNetwork, "feedback")
        bptt: bool = param(True, boolean=True)

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            if float(self.rate) * float(self.dt) > 1:
                raise ConfigError(f"{o}.rate", self.rate, f"at most one spike per step (<= {1 / self.dt})")
            if self.steps < 2:
                raise ConfigError(f"{o}.duration", self.duration, f"at least two steps of dt = {self.dt}")

        @property
        def steps(self) -> int:
            return int(round(float(self.duration) / float(self.dt)))

        def network(self):
            return EpropNetwork(tau_m=self.tau_m, tau_out=self.tau_out, dt=self.dt, v_th=self.v_th,
                                gamma=self.gamma, feedback=self.feedback, lr=self.lr)

    @staticmethod
    def _task(p: Params, ctx: RunContext):
        """Recipe parameters, input spikes, target and initial network, all from ``ctx.seed``."""
        from ..reference.eprop import LIFNet, poisson_input, sine_target

        spec = p.network()
        ss = np.random.SeedSequence(ctx.seed)
        in_rng, w_rng = (np.random.default_rng(s) for s in ss.spawn(2))
        x = poisson_input(p.n_in, p.steps, float(p.rate) * float(p.dt), in_rng)
        target = sine_target(p.steps, float(p.period) / float(p.dt), p.amplitude)
        dt_ms, tm, to = (float(q) * 1e3 for q in (p.dt, p.tau_m, p.tau_out))
        net0 = LIFNet.random(p.n_in, p.n_rec, 1, w_rng, dt=dt_ms, tau_m=tm, tau_out=to, v_th=p.v_th, gamma=p.gamma,
                             w_in=p.w_in, w_rec=p.w_rec, feedback=p.feedback)
        net0.alpha, net0.kappa = spec.alpha, spec.kappa
        return spec, x, target, net0

    def network(self, p: Params, ctx: RunContext):
        """The e-prop network :meth:`run` simulates (:func:`bioplaus.networks.eprop.eprop_spec`)."""
        from ..networks.eprop import eprop_spec

        spec, x, target, net0 = self._task(p, ctx)
        return eprop_spec(spec, net0.params(), x, target, p.trials, B=net0.B, seed=ctx.seed)

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..networks.eprop import eprop_results
        from ..reference.eprop import bptt_gradients, eprop_gradients, lif_forward, train_recurrent
        from ..metrics import angle_deg

        spec, x, target, net0 = self._task(p, ctx)
        T = p.steps
        dt_ms = float(p.dt) * 1e3

        ctx.log(f"Brian2 e-prop on {ctx.backend}: {p.trials} trials of {T} steps")
        b2 = eprop_results(ctx.simulate(self.network(p, ctx)))
        curves = {"brian2_eprop": b2.losses}
        times = {"brian2_eprop_s": b2.timings.get("total_s", math.nan)}
        runs = [("numpy_eprop", "eprop", net0, False)]
        sym = None
        if p.feedback == "random":
            sym = net0.copy()
            sym.B = None
            runs.append(("numpy_eprop_symmetric", "eprop", sym, False))
        if p.bptt:
            runs += [("numpy_bptt", "bptt", net0, True), ("numpy_bptt_no_reset", "bptt", net0, False)]
        trained = {}
        for name, method, n, reset_grad in runs:
            t0 = time.perf_counter()
            curves[name], trained[name] = train_recurrent(n, x, target, p.trials, method, p.lr, reset_grad)
            times[f"{name}_s"] = time.perf_counter() - t0
            ctx.log(f"{name}: loss {curves[name][0]:.4f} -> {curves[name][-1]:.4f}")
        # gradient agreement at the initial network
        _, ge, tr0, _ = eprop_gradients(net0, x, target)
        grads = {p.feedback: ge}
        if sym is not None:
            grads["symmetric"] = eprop_gradients(sym, x, target)[1]
        angles, norms = {}, {"eprop": float(np.linalg.norm(ge["W_in"]))}
        for reset_grad, label in ((True, "BPTT"), (False, "BPTT without reset gradient")):
            gb = bptt_gradients(net0, x, target, reset_grad)[1]
            norms[label] = float(np.linalg.norm(gb["W_in"]))
            for fb, g in grads.items():
                angles[f"e-prop ({fb} feedback) vs {label}"] = {k: angle_deg(g[k], gb[k]) for k in ("W_in", "W_rec")}
        match = float(np.max(np.abs(curves["brian2_eprop"] - curves["numpy_eprop"])))

        rows = [dict(trial=i, **{k: float(v[i]) for k, v in curves.items()}) for i in range(p.trials)]
        last = max(1, p.trials // 10)
        summ_rows = [[k, float(v[0]), float(np.min(v)), float(np.mean(v[-last:]))] for k, v in curves.items()]
        rate = float(tr0.z.mean()) / float(p.dt)
        summary = (f"Sine regression (period {float(p.period) * 1e3:g} ms, amplitude {p.amplitude:g}) by the readout "
                   f"of {p.n_rec} recurrent LIF neurons driven by {p.n_in} frozen Poisson inputs at "
                   f"{float(p.rate):g} Hz; trials of {T} steps of {dt_ms:g} ms, Adam (lr {p.lr:g}) after every "
                   f"trial, {p.feedback} feedback for e-prop. Loss = ½ mean over time of the squared error "
                   f"(the target's own mean square / 2 = {0.25 * p.amplitude ** 2:g}). Initial firing rate "
                   f"{rate:.1f} Hz.\n\n")
        summary += _table(["run", "first trial", "best", f"mean of last {last}"], summ_rows)
        summary += (f"\nBrian2 ({ctx.backend}) against the numpy reference's e-prop: largest per-trial loss "
                    f"difference {match:.2e}.\n\n*numpy_bptt* differentiates everything (with the pseudo-derivative "
                    "for the spike), *numpy_bptt_no_reset* leaves out the reset term as e-prop does (the convention "
                    "under which e-prop is exact without recurrence). Gradients at the initial network "
                    "(angles between the W_in and W_rec gradients; the readout's gradients are identical):\n\n")
        summary += _table(["pair", "∠ W_in (°)", "∠ W_rec (°)"],
                          [[k, v["W_in"], v["W_rec"]] for k, v in angles.items()])
        summary += ("\n‖∇W_in‖: " + ", ".join(f"{k} {v:.3g}" for k, v in norms.items()) + "\n")

        fig, (ax1, ax2) = _subplots(2)
        labels = {"brian2_eprop": f"e-prop, Brian2 ({ctx.backend})", "numpy_eprop": "e-prop, numpy reference",
                  "numpy_eprop_symmetric": "e-prop, symmetric feedback (numpy)", "numpy_bptt": "BPTT (numpy)",
                  "numpy_bptt_no_reset": "BPTT without reset gradient (numpy)"}
        styles = {"brian2_eprop": dict(lw=2.5, alpha=0.6), "numpy_eprop": dict(ls="--")}
        for k, v in curves.items():
            ax1.plot(np.arange(1, p.trials + 1), v, label=labels[k], **styles.get(k, {}))
        ax1.set_yscale("log")
        ax1.set_xlabel("trial")
        ax1.set_ylabel("loss (½ mean squared error)")
        ax1.set_title("Learning curves")
        ax1.legend(fontsize=8)
        ax1.grid(alpha=0.3, which="both")
        t_ms = np.arange(T) * dt_ms
        ax2.plot(t_ms, target[:, 0], "k-", lw=1, label="target")
        b2net = net0.copy()
        for k, v in b2.weights.items():
            setattr(b2net, k, np.asarray(v, float).reshape(getattr(b2net, k).shape))
        ax2.plot(t_ms, lif_forward(b2net, x, target).y[:, 0], label="e-prop (Brian2 weights)")
        if "numpy_bptt" in trained:
            ax2.plot(t_ms, lif_forward(trained["numpy_bptt"], x, target).y[:, 0], label="BPTT")
        ax2.set_xlabel("time in trial (ms)")
        ax2.set_ylabel("readout")
        ax2.set_title(f"After {p.trials} trials")
        ax2.legend(fontsize=8)
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        arrays = {f"loss_{k}": v for k, v in curves.items()}
        arrays.update({f"brian2_{k}": v for k, v in b2.weights.items()})
        arrays.update(input_spikes=x, target=target)
        info = dict(b2.timings, **times, brian2_vs_numpy_max_loss_diff=match, gradient_angles_at_init=angles,
                    gradient_norm_W_in_at_init=norms)
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures={"eprop_loss": fig}, info=info)
