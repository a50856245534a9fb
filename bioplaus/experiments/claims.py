r"""Claims made for biologically plausible learning, each measured and given a verdict.

============================  =================================================================
``claim_any_direction``       "any incremental update, regardless of direction, works equally
                              well": BP, the sign of the gradient, FA, random descent
                              directions and random directions, all steps of BP's norm (the
                              controls of :mod:`bioplaus.reference.direction`), one learning
                              rate, one epoch budget
``claim_nondifferentiable``   "if the activation is non-differentiable or unknown,
                              backpropagation grinds to a halt": step and staircase hidden units
                              (:mod:`bioplaus.reference.nondiff`); BP with the true (zero)
                              derivative, FA/DFA with a straight-through pseudo-derivative,
                              node perturbation with none; BP with the pseudo-derivative and BP
                              on tanh units as controls
``claim_depth``               "vanishing and exploding gradients": per-layer update norms and
                              accuracy of BP, FA and DFA from 2 to 16 hidden layers
``claim_bptt_memory``         "BPTT unfolds the network in time, at a memory cost the brain does
                              not pay": peak memory (tracemalloc) and time of one gradient by
                              BPTT, by e-prop from a stored trace and by streaming e-prop
                              against the sequence length, with fitted log-log exponents
``claim_perturbation_budget`` "reinforcement-style learning has variance that becomes unwieldy
                              for large networks": accuracy of node and weight perturbation
                              against BP for one budget of forward passes as the width grows
``claim_unsupervised``        "unsupervised learning without an objective": Krotov-Hopfield
                              features against the same random features and BP, one readout
============================  =================================================================

The summary of each run states whether the claim held under the stated criterion.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from ..spec.params import number, param, set_field
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, register_experiment
from .beyond import _names, _sizes, _subplots

__all__ = ["ClaimAnyDirection", "ClaimNonDifferentiable", "ClaimDepth", "ClaimUnsupervised", "ClaimBPTTMemory",
           "ClaimPerturbationBudget", "peak_memory", "loglog_slope", "passes_per_step", "epochs_for_budget"]


def _pm(v: tuple[float, float] | np.ndarray) -> str:
    a = np.asarray(v, float)
    return f"{a.mean():.4f} ± {a.std():.4f}" if a.ndim else f"{float(a):.4f}"


# --------------------------------------------------------------------------- claim 1
@register_experiment("claim_any_direction")
class ClaimAnyDirection(Experiment):
    """Does the direction of an update matter? BP vs sign vs FA vs random directions at BP's step size."""

    description = ("claim: any incremental update works equally well; BP, sign of the gradient, FA, random "
                   "descent and random directions with BP's norm, same learning rate and budget")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        rules: Any = ("bp", "sign-grad", "fa", "random-descent", "random-dir")
        hidden: Any = (256,)
        epochs: int = param(20, integer=True, minimum=1)
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(3, integer=True, minimum=1)
        lr: Any = param(0.05, positive=True)  # one learning rate for every rule
        tolerance: Any = param(0.02, nonnegative=True,
                               doc="largest accuracy gap to BP under which the claim counts as held")

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            from ..data import check_dataset_name

            check_dataset_name(self.dataset, "params.dataset")
            set_field(self, "rules", _names(o, "rules", self.rules))
            if "bp" not in self.rules:
                raise ConfigError("params.rules", list(self.rules), "a list that includes 'bp' (the reference)")
            set_field(self, "hidden", _sizes(o, "hidden", self.hidden))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..harness import CompareConfig, compare

        cfg = CompareConfig(dataset=p.dataset, data_dir=ctx.data_dir, rules=p.rules, hidden=p.hidden,
                            epochs=p.epochs, batch_size=p.batch_size, seeds=p.seeds, seed=ctx.seed, lr=p.lr,
                            threads=ctx.threads or 1)

        def progress(ev):
            if ev.get("kind") == "run":
                ctx.log(f"{ev['rule']} seed {ev['seed']}: test_acc {ev['test_acc']:.4f}")

        res = compare(cfg, progress=progress)
        acc = {r: res.final(r) for r in p.rules}
        loss = {r: res.final(r, "train_loss") for r in p.rules}
        ang = {r: res.final(r, "angle_update_l1") for r in p.rules}
        init_acc = float(np.mean(res.curve("bp", "test_acc")[:, 0]))
        bp = float(acc["bp"].mean())
        gaps = {r: float(acc[r].mean()) - bp for r in p.rules}
        outside = [r for r in p.rules if abs(gaps[r]) > p.tolerance]
        held = not outside
        rows = [[r, _pm(acc[r]), f"{gaps[r]:+.4f}", _pm(loss[r]), f"{float(np.nanmean(ang[r])):.1f}"]
                for r in p.rules]
        summary = (f"{res.dataset}, hidden {'-'.join(map(str, p.hidden))} tanh, {p.epochs} epochs, batch "
                   f"{p.batch_size}, SGD with momentum 0.9 at one learning rate ({p.lr:g}) for every rule, "
                   f"{p.seeds} seed(s). random-dir, random-descent and sign-grad take steps of exactly BP's "
                   "norm per layer; FA's steps are its own. Accuracy before training: "
                   f"{init_acc:.3f}.\n\n")
        summary += md_table(["rule", "test acc", "gap to BP", "train loss", "∠ update L1 to BP (°)"], rows) + "\n"
        summary += (f"\n**Criterion**: the claim holds if every rule ends within {p.tolerance:g} of BP's test "
                    "accuracy (mean over seeds).\n\n")
        if held:
            summary += "**Result: the claim held** here: every rule ended within the tolerance of BP.\n"
        else:
            summary += ("**Result: the claim did not hold.** Outside the tolerance: "
                        + ", ".join(f"{r} ({gaps[r]:+.4f})" for r in outside) + ".\n")
        fig, (ax1, ax2) = _subplots(2)
        ep = np.arange(p.epochs + 1)
        for k, r in enumerate(p.rules):
            for ax, col in ((ax1, "test_acc"), (ax2, "train_loss")):
                c = res.curve(r, col)
                ax.plot(ep, np.nanmean(c, axis=0), color=f"C{k}", label=r)
                if len(c) > 1:
                    ax.fill_between(ep, np.nanmin(c, axis=0), np.nanmax(c, axis=0), color=f"C{k}", alpha=0.2)
        ax1.set_ylabel("test accuracy")
        ax2.set_ylabel("training loss")
        ax2.set_yscale("log")
        for ax in (ax1, ax2):
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"Same step size, different directions: claim {'held' if held else 'did not hold'}")
        fig.tight_layout()
        info = {"held": held, "test_acc": {r: float(acc[r].mean()) for r in p.rules}, "gap_to_bp": gaps}
        return ExperimentResult(rows=res.rows, summary=summary, figures={"claim_any_direction": fig}, info=info)


# --------------------------------------------------------------------------- claim 2
#: (label, rule, derivative the learner sees, units: None = those of the study, "tanh" = control)
_RUNS = (
    ("bp, true f' (0)", "bp", "true", None),
    ("fa, pseudo f'", "fa", "ste", None),
    ("dfa, pseudo f'", "dfa", "ste", None),
    ("np, no f'", "np", "true", None),
    ("bp, pseudo f' (control)", "bp", "ste", None),
    ("bp on tanh (control)", "bp", None, "tanh"),
)


@register_experiment("claim_nondifferentiable")
class ClaimNonDifferentiable(Experiment):
    """Step and black-box hidden units: BP (true derivative), FA/DFA (pseudo-derivative), node perturbation."""

    description = ("claim: with non-differentiable or unknown hidden units backprop halts; step and staircase "
                   "units, BP (true f'=0), FA/DFA (straight-through f'), node perturbation (no f')")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        units: Any = ("step", "staircase")  # hidden-unit types: step (Heaviside), staircase (quantised tanh)
        hidden: int = param(256, integer=True, minimum=1)  # hidden units
        epochs: int = param(20, integer=True, minimum=1)
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(3, integer=True, minimum=1)
        lr: Any = param(0.05, positive=True)
        np_lr: Any = param(0.001, positive=True)  # node perturbation's learning rate
        np_sigma: Any = param(0.3, positive=True)  # node perturbation's noise on the pre-activations
        np_samples: int = param(4, integer=True, minimum=1)  # node perturbations averaged per mini-batch

        def __post_init__(self):
            super().__post_init__()
            from ..data import check_dataset_name
            from ..reference.nondiff import UNITS

            check_dataset_name(self.dataset, "params.dataset")
            units = self.units
            if isinstance(units, str):
                units = [units]
            if not isinstance(units, (list, tuple)) or not units or any(u not in UNITS for u in units):
                raise ConfigError("params.units", self.units, "a non-empty list from " + ", ".join(UNITS))
            set_field(self, "units", tuple(units))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..data import load_dataset
        from ..reference.credit import TrainSettings, make_credit_rule
        from ..reference.mlp import MLP
        from ..reference.nondiff import with_units

        ss = lambda *k: np.random.SeedSequence(ctx.seed, spawn_key=k)  # noqa: E731
        data = load_dataset(p.dataset, ctx.data_dir, seed=ss(0))
        loss = data.default_loss
        sizes = (data.n_features, p.hidden, data.n_outputs)
        rows: list[dict[str, Any]] = []
        curves: dict[tuple[str, str], np.ndarray] = {}
        final: dict[tuple[str, str], list[float]] = {}
        change: dict[tuple[str, str], list[float]] = {}
        t0 = time.perf_counter()
        studies = [(u, lab, rule, der, cu) for u in p.units for lab, rule, der, cu in _RUNS if cu is None]
        studies += [("tanh", lab, rule, der, cu) for lab, rule, der, cu in _RUNS if cu == "tanh"]
        for units, label, rule_name, deriv, _ in studies:
            key = (units, label)
            curves[key] = np.full((p.seeds, p.epochs + 1), np.nan)
            for i in range(p.seeds):
                net0 = MLP.random(sizes, "tanh", loss, np.random.default_rng(ss(1, i, 0)))
                net = net0.copy() if units == "tanh" else with_units(net0, units, deriv)
                params = {"sigma": p.np_sigma, "samples": p.np_samples} if rule_name == "np" else {}
                rule = make_credit_rule(rule_name, **params)
                learner = rule.learner()
                lr = p.np_lr if rule_name == "np" else p.lr
                learner.init(net, np.random.default_rng(ss(1, i, 2, len(label))),
                             TrainSettings(lr=lr, batch_size=p.batch_size, epochs=p.epochs, loss=loss))
                shuffle = np.random.default_rng(ss(1, i, 1))
                w0 = net.weights[0].copy()
                for epoch in range(p.epochs + 1):
                    if epoch:
                        learner.train_epoch(data.x_train, data.y_train, shuffle)
                    te_loss, te_acc = net.evaluate(data.x_test, data.y_test)
                    tr_loss, _ = net.evaluate(data.x_train, data.y_train)
                    dW1 = float(np.linalg.norm(net.weights[0] - w0) / np.linalg.norm(w0))
                    curves[key][i, epoch] = te_acc
                    rows.append(dict(units=units, run=label, rule=rule_name, derivative=deriv or "exact", seed=i,
                                     epoch=epoch, test_acc=te_acc, test_loss=te_loss, train_loss=tr_loss,
                                     hidden_weight_change=dW1))
                final.setdefault(key, []).append(te_acc)
                change.setdefault(key, []).append(dW1)
            ctx.log(f"{units} / {label}: test_acc {np.mean(final[key]):.4f}, |ΔW1|/|W1| {np.mean(change[key]):.3g}")
        labels = [lab for lab, *_ in _RUNS]
        ctrl = ("tanh", "bp on tanh (control)")
        summary = (f"{data.name}, one hidden layer of {p.hidden} units, {p.epochs} epochs, batch {p.batch_size}, "
                   f"SGD with momentum 0.9 at lr {p.lr:g} (node perturbation: lr {p.np_lr:g}, sigma "
                   f"{p.np_sigma:g}, {p.np_samples} sample(s) per batch), {p.seeds} seed(s). *pseudo f'* is the "
                   "straight-through derivative 1; *|ΔW1|/|W1|* the relative change of the hidden layer's "
                   "weights over training.\n\n")
        head = ["units", "run", "test acc", "|ΔW1|/|W1|"]
        tab = [[u, lab, _pm(np.array(final[(u, lab)])), f"{np.mean(change[(u, lab)]):.3g}"]
               for u, lab, *_ in studies]
        summary += md_table(head, tab) + "\n"
        verdicts = {}
        for u in p.units:
            halted = max(change[(u, labels[0])]) == 0.0
            bp_acc = float(np.mean(final[(u, labels[0])]))
            others = {lab: float(np.mean(final[(u, lab)])) for lab in labels[1:4]}
            better = [lab for lab, a in others.items() if a > bp_acc + 0.01]
            ste_bp = float(np.mean(final[(u, labels[4])]))
            verdicts[u] = dict(bp_hidden_frozen=halted, bp_true_acc=bp_acc, others=others, bp_pseudo_acc=ste_bp)
            summary += (f"\n**{u} units.** BP with the true derivative "
                        + ("changed no hidden weight (|ΔW1| = 0): its hidden layer stayed a fixed random layer and "
                           f"only the readout learned, reaching {bp_acc:.3f}. " if halted else
                           f"changed the hidden weights (|ΔW1|/|W1| = {np.mean(change[(u, labels[0])]):.3g}). ")
                        + "Rules that did better than it by more than 0.01: "
                        + (", ".join(f"{lab} ({others[lab]:.3f})" for lab in better) or "none") + ". "
                        + f"BP given the same pseudo-derivative reached {ste_bp:.3f}. ")
            held = halted and bool(better)
            verdicts[u]["held"] = held
            if held:
                summary += ("**The claim held**: backprop with the true derivative stops learning the hidden "
                            "layer, and rules that do not need that derivative learn it and do better. ")
            elif halted:
                summary += ("**The claim held only in part**: backprop's hidden layer did stop, but on this task "
                            "that cost nothing measurable (a readout on the fixed random units did as well as "
                            "the rules that learn the hidden layer). ")
            else:
                summary += "**The claim did not hold**: backprop's hidden layer kept learning. "

            summary += ("It is the derivative, not backprop's weight transport, that stops it: with the "
                        "pseudo-derivative BP learns as well" if ste_bp >= max(others.values()) - 0.01 else
                        "With the pseudo-derivative BP does not reach the best of the other rules") + ".\n"
        summary += (f"\nControl: BP on differentiable tanh units reaches {np.mean(final[ctrl]):.3f}.\n")
        fig, axes = _subplots(len(p.units))
        ep = np.arange(p.epochs + 1)
        for ax, u in zip(axes, p.units):
            for k, lab in enumerate(labels):
                key = ctrl if lab == ctrl[1] else (u, lab)
                c = curves[key]
                ax.plot(ep, c.mean(axis=0), color=f"C{k}", label=lab, ls="--" if "control" in lab else "-")
            ax.set_title(f"{u} hidden units")
            ax.set_xlabel("epoch")
            ax.set_ylabel("test accuracy")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        info = {"verdicts": verdicts, "study_time_s": time.perf_counter() - t0}
        return ExperimentResult(rows=rows, summary=summary, figures={"claim_nondifferentiable": fig}, info=info)


# --------------------------------------------------------------------------- claim 3
@register_experiment("claim_depth")
class ClaimDepth(Experiment):
    """Depth: per-layer update norms at initialisation and accuracy of BP, FA and DFA from 2 to 16 hidden layers."""

    description = ("claim: backprop's gradients vanish or explode with depth while direct feedback does not; "
                   "per-layer update norms and accuracy of BP, FA, DFA for 2-16 hidden layers")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        depths: Any = (2, 4, 8, 16)  # numbers of hidden layers compared
        width: int = param(64, integer=True, minimum=1)  # units per hidden layer
        rules: Any = ("bp", "fa", "dfa")
        activation: str = "tanh"
        epochs: int = param(10, integer=True, minimum=1)
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(2, integer=True, minimum=1)
        lr: Any = param(0.02, positive=True)

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            from ..data import check_dataset_name
            from ..reference.mlp import check_activation

            check_dataset_name(self.dataset, "params.dataset")
            set_field(self, "depths", _sizes(o, "depths", self.depths))
            set_field(self, "rules", _names(o, "rules", self.rules))
            check_activation(self.activation, "params.activation")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..data import load_dataset
        from ..harness import PROBE_SIZE, CompareConfig, compare
        from ..reference.credit import TrainSettings, make_credit_rule
        from ..reference.mlp import MLP

        ss = lambda *k: np.random.SeedSequence(ctx.seed, spawn_key=k)  # noqa: E731
        data = load_dataset(p.dataset, ctx.data_dir, seed=ss(0))
        probe = np.sort(np.random.default_rng(ss(0, 1)).permutation(len(data.x_train))[:PROBE_SIZE])
        xp, yp = data.x_train[probe], data.y_train[probe]
        rows: list[dict[str, Any]] = []
        norms: dict[tuple[int, str], np.ndarray] = {}
        acc: dict[tuple[int, str], np.ndarray] = {}
        peak: dict[tuple[int, str], float] = {}  # best epoch of the seed-mean test accuracy
        for d in p.depths:
            hidden = (p.width,) * d
            sizes = (data.n_features, *hidden, data.n_outputs)
            for rule in p.rules:
                per_seed = []
                for i in range(p.seeds):  # the harness's initial network of seed i
                    net0 = MLP.random(sizes, p.activation, data.default_loss, np.random.default_rng(ss(1, i, 0)))
                    learner = make_credit_rule(rule).learner()
                    learner.init(net0, np.random.default_rng(ss(1, i, 2, 99)), TrainSettings(lr=p.lr))
                    g = learner.updates(xp, yp)
                    per_seed.append([float(np.linalg.norm(w)) for w in g.dW])
                norms[d, rule] = np.mean(per_seed, axis=0)
                for l, v in enumerate(norms[d, rule]):
                    rows.append(dict(kind="norm_at_init", depth=d, rule=rule, layer=l + 1, update_norm=float(v)))
            res = compare(CompareConfig(dataset=p.dataset, data_dir=ctx.data_dir, rules=p.rules, hidden=hidden,
                                        activation=p.activation, epochs=p.epochs, batch_size=p.batch_size,
                                        seeds=p.seeds, seed=ctx.seed, lr=p.lr, threads=ctx.threads or 1),
                          progress=False)
            for rule in p.rules:
                acc[d, rule] = res.final(rule)
                peak[d, rule] = float(np.nanmax(np.nanmean(res.curve(rule, "test_acc"), axis=0)))
                rows.append(dict(kind="accuracy", depth=d, rule=rule, test_acc=float(np.mean(acc[d, rule])),
                                 test_acc_std=float(np.std(acc[d, rule])), status=res.summary_of(rule).status))
            ctx.log(f"depth {d}: " + ", ".join(f"{r} {np.mean(acc[d, r]):.3f}" for r in p.rules))
        ratio = {(d, r): float(norms[d, r][0] / norms[d, r][d - 1]) for d in p.depths for r in p.rules}
        summary = (f"{data.name}, {p.activation} hidden layers of {p.width}, {p.epochs} epochs, batch {p.batch_size}, "
                   f"momentum 0.9, lr {p.lr:g} for every rule, {p.seeds} seed(s). Update norms: ‖ΔW_l‖ of each "
                   f"rule on the {PROBE_SIZE}-sample probe batch at initialisation (mean over seeds); *first/last* "
                   "= ‖ΔW_1‖ / ‖ΔW_H‖ (first against last hidden layer's input weights).\n\n")
        head = ["depth"] + [f"{r} test acc" for r in p.rules] + [f"{r} first/last" for r in p.rules]
        tab = [[d] + [_pm(acc[d, r]) for r in p.rules] + [f"{ratio[d, r]:.3g}" for r in p.rules]
               for d in p.depths]
        summary += md_table(head, tab) + "\n"
        dmin, dmax = min(p.depths), max(p.depths)
        verdict = {}
        if "bp" in p.rules and "dfa" in p.rules and dmax > dmin:
            bp_fall = ratio[dmax, "bp"] / ratio[dmin, "bp"]
            dfa_fall = ratio[dmax, "dfa"] / ratio[dmin, "dfa"]
            vanish = ratio[dmax, "bp"] < 0.1
            dfa_ok = float(np.mean(acc[dmax, "dfa"])) >= float(np.mean(acc[dmax, "bp"])) - 0.01
            verdict = dict(bp_first_over_last=ratio[dmax, "bp"], dfa_first_over_last=ratio[dmax, "dfa"],
                           vanishing=vanish, dfa_at_least_bp=dfa_ok, held=vanish and dfa_ok)
            summary += (f"\nAt depth {dmax}, BP's first-layer update is {ratio[dmax, 'bp']:.3g} times its last hidden "
                        f"layer's ({bp_fall:.3g}x the depth-{dmin} ratio); DFA's {ratio[dmax, 'dfa']:.3g} "
                        f"({dfa_fall:.3g}x). Test accuracy at depth {dmax}: BP {np.mean(acc[dmax, 'bp']):.3f}, "
                        f"DFA {np.mean(acc[dmax, 'dfa']):.3f}.\n\n**Criterion**: the claim holds if BP's first-layer "
                        "update falls below a tenth of its last hidden layer's at the largest depth and DFA is at "
                        "least as accurate there (within 0.01). ")
            late = [r for r in p.rules if peak[dmax, r] - float(np.mean(acc[dmax, r])) > 0.05]
            if late:
                summary += ("Learned, then lost (best epoch against final test accuracy at depth "
                            f"{dmax}): " + ", ".join(f"{r} {peak[dmax, r]:.3f} -> {np.mean(acc[dmax, r]):.3f}"
                                                     for r in late) + ". ")
            why = ([] if vanish else ["BP's updates did not vanish at this depth"]) + (
                [] if dfa_ok else ["DFA was less accurate than BP"])
            summary += ("**Result: the claim held.**\n" if verdict["held"] else
                        "**Result: the claim did not hold**: " + "; ".join(why) + ".\n")
        fig, (ax1, ax2) = _subplots(2)
        styles = {r: f"C{k}" for k, r in enumerate(p.rules)}
        for d, ls in zip(p.depths, ("-", "--", "-.", ":", (0, (1, 3)))):
            for r in p.rules:
                ax1.plot(np.arange(1, d + 2), norms[d, r], ls=ls, marker=".", color=styles[r],
                         label=f"{r}, {d} hidden" if r == p.rules[0] or d == dmax else None)
        ax1.set_yscale("log")
        ax1.set_xlabel("layer (1 = input weights)")
        ax1.set_ylabel("‖ΔW_l‖ at initialisation")
        ax1.set_title("Update norm per layer")
        for r in p.rules:
            ax2.errorbar(p.depths, [np.mean(acc[d, r]) for d in p.depths], yerr=[np.std(acc[d, r]) for d in p.depths],
                         marker="o", color=styles[r], label=r, capsize=3)
        ax2.set_xscale("log", base=2)
        ax2.set_xlabel("hidden layers")
        ax2.set_ylabel(f"test accuracy after {p.epochs} epochs")
        ax2.set_title("Accuracy against depth")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
        fig.tight_layout()
        return ExperimentResult(rows=rows, summary=summary, figures={"claim_depth": fig},
                                info={"verdict": verdict,
                                      "peak_test_acc": {f"{d}/{r}": v for (d, r), v in peak.items()},
                                      "first_over_last": {f"{d}/{r}": v for (d, r), v in ratio.items()}})


# --------------------------------------------------------------------------- claim 6
@register_experiment("claim_unsupervised")
class ClaimUnsupervised(Experiment):
    """Features learned without an objective (Krotov-Hopfield) against random features and BP, same readout."""

    description = ("claim: learning without an objective gives no useful features; Krotov-Hopfield Hebbian "
                   "features vs the same random features (eps0 = 0) vs BP, linear readout, MNIST subset")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "mnist-subset"
        hidden: int = param(256, integer=True, minimum=1)
        epochs: int = param(10, integer=True, minimum=1)
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(1, integer=True, minimum=1)
        margin: Any = param(0.01, nonnegative=True,
                            doc="accuracy by which learned features must beat random ones to refute the claim")
        bp_lr: Any = param(0.05, positive=True,
                           doc="backprop's learning rate (its default 0.1 overshoots on the MNIST subset)")

        def __post_init__(self):
            super().__post_init__()
            from ..data import check_dataset_name

            check_dataset_name(self.dataset, "params.dataset")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..harness import CompareConfig, compare

        common = dict(dataset=p.dataset, data_dir=ctx.data_dir, hidden=(p.hidden,), epochs=p.epochs,
                      batch_size=p.batch_size, seeds=p.seeds, seed=ctx.seed, threads=ctx.threads or 1)
        learned = compare(CompareConfig(rules=("bp", "hebbian"), lr={"bp": p.bp_lr}, **common), progress=False)
        ctx.log("bp and hebbian done")
        random = compare(CompareConfig(rules=("hebbian",), rule_params={"hebbian": {"eps0": 0.0}}, **common),
                         progress=False)
        runs = {"bp": learned.final("bp"), "hebbian": learned.final("hebbian"),
                "random features": random.final("hebbian")}
        curves = {"bp": learned.curve("bp", "test_acc"), "hebbian": learned.curve("hebbian", "test_acc"),
                  "random features": random.curve("hebbian", "test_acc")}
        rows = [dict(r, run=r["rule"]) for r in learned.rows]
        rows += [dict(r, run="random features") for r in random.rows]
        m = {k: float(np.mean(v)) for k, v in runs.items()}
        summary = (f"{learned.dataset}, one hidden layer of {p.hidden} units, {p.epochs} epochs, batch {p.batch_size}, "
                   f"{p.seeds} seed(s). *hebbian*: Krotov-Hopfield competing hidden units (no objective, no label) "
                   "with a linear softmax readout trained alongside; *random features*: the same features and "
                   "readout with the Hebbian rate eps0 = 0 (weights stay at their random start); *bp*: the whole "
                   f"tanh network trained by backprop (lr {p.bp_lr:g}; the readouts' lr 0.02).\n\n")
        summary += md_table(["run", "test acc"], [[k, _pm(v)] for k, v in runs.items()]) + "\n"
        gain = m["hebbian"] - m["random features"]
        held = gain <= p.margin
        summary += (f"\n**Claim tested**: features learned without an objective are no better than random ones "
                    f"(criterion: Hebbian features beat random ones by at most {p.margin:g}). Hebbian minus random: "
                    f"{gain:+.4f}; BP minus Hebbian: {m['bp'] - m['hebbian']:+.4f}. ")
        summary += ("**Result: the claim held.**\n" if held else "**Result: the claim did not hold**: the "
                    "objective-free features are better than random ones with the same readout.\n")
        fig, (ax,) = _subplots(1)
        ep = np.arange(p.epochs + 1)
        for k, (name, c) in enumerate(curves.items()):
            ax.plot(ep, np.nanmean(c, axis=0), marker=".", color=f"C{k}", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"Features without an objective ({learned.dataset})")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        return ExperimentResult(rows=rows, summary=summary, figures={"claim_unsupervised": fig},
                                info={"held": held, "test_acc": m})


# --------------------------------------------------------------------------- claim 4
def peak_memory(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated while ``fn()`` runs, above what was allocated before (``tracemalloc``,
    which sees numpy's array buffers), and ``fn``'s return value."""
    import gc
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    gc.collect()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()
    return peak, out


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (the exponent of a power law ``y ~ x^s``)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if len(lx) < 2 or np.ptp(lx) == 0:
        raise ConfigError("loglog_slope.x", list(np.asarray(x).tolist()), "at least two distinct values")
    return float(np.polyfit(lx, ly, 1)[0])


#: method label -> what it computes (claim 4)
_MEMORY_METHODS = ("bptt", "eprop-offline", "eprop-online")


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a.ravel() @ b.ravel() / (na * nb)) if na > 0 and nb > 0 else float("nan")


@register_experiment("claim_bptt_memory")
class ClaimBPTTMemory(Experiment):
    """Peak memory and time of BPTT against e-prop on a recurrent LIF network as the sequence grows."""

    description = ("claim: BPTT unfolds the network in time at a memory cost the brain does not pay; peak "
                   "memory and time of BPTT against online e-prop against the sequence length, fitted exponents")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        lengths: Any = (50, 100, 200, 400, 800, 1600, 3200)  # sequence lengths T (steps of 1 ms)
        n_in: int = param(100, integer=True, minimum=1)  # input neurons
        n_rec: int = param(100, integer=True, minimum=1)  # recurrent LIF neurons
        n_out: int = param(2, integer=True, minimum=1)  # leaky readouts
        rate: Any = param(0.02, low=0.0, high=1.0)  # input spike probability per step (20 Hz)
        period: Any = param(250.0, positive=True)  # period of the sine targets (steps)
        feedback: str = param("symmetric", choices=("symmetric", "random"),
                              doc="e-prop's learning-signal weights: 'symmetric' (W_out^T) or 'random'")
        repeats: int = param(3, integer=True, minimum=1)  # timing: the fastest of this many runs
        max_slope: Any = param(0.1, nonnegative=True)  # e-prop's memory exponent must stay below this ...
        min_slope: Any = param(0.9, positive=True,
                               doc="... and BPTT's reach this (fitted on the longer half of the lengths)")

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            set_field(self, "lengths", tuple(sorted(set(_sizes(o, "lengths", self.lengths)))))
            if len(self.lengths) < 4:
                raise ConfigError("params.lengths", list(self.lengths), "at least four distinct lengths")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..reference.eprop import (LIFNet, bptt_gradients, eprop_gradients, eprop_online, poisson_input,
                                       sine_target)

        ss = lambda *k: np.random.SeedSequence(ctx.seed, spawn_key=k)  # noqa: E731
        net = LIFNet.random(p.n_in, p.n_rec, p.n_out, np.random.default_rng(ss(0)), feedback=p.feedback)
        calls = {"bptt": lambda x, y: bptt_gradients(net, x, y, reset_grad=True)[:2],
                 "eprop-offline": lambda x, y: eprop_gradients(net, x, y)[:2],
                 "eprop-online": lambda x, y: eprop_online(net, x, y)}
        rows: list[dict[str, Any]] = []
        mem: dict[str, list[int]] = {m: [] for m in _MEMORY_METHODS}
        sec: dict[str, list[float]] = {m: [] for m in _MEMORY_METHODS}
        cos: dict[str, list[float]] = {"W_in": [], "W_rec": []}
        for T in p.lengths:
            # input and target exist before the measurement: neither method is charged for them
            x = poisson_input(p.n_in, T, p.rate, np.random.default_rng(ss(1, T)))
            y = sine_target(T, p.period, n_out=p.n_out)
            grads = {}
            for m in _MEMORY_METHODS:
                peak, (loss, g) = peak_memory(lambda: calls[m](x, y))
                best = math.inf
                for _ in range(p.repeats):
                    t0 = time.perf_counter()
                    calls[m](x, y)
                    best = min(best, time.perf_counter() - t0)
                grads[m] = g
                mem[m].append(peak)
                sec[m].append(best)
                rows.append(dict(method=m, T=T, peak_bytes=peak, time_s=best, loss=loss))
            for k in cos:
                cos[k].append(_cosine(grads["eprop-online"][k], grads["bptt"][k]))
            rows.append(dict(method="eprop-online vs bptt", T=T, cos_W_in=cos["W_in"][-1],
                             cos_W_rec=cos["W_rec"][-1],
                             online_equals_offline=bool(all(np.allclose(grads["eprop-online"][k],
                                                                        grads["eprop-offline"][k], rtol=1e-9,
                                                                        atol=1e-14) for k in grads["bptt"]))))
            ctx.log(f"T={T}: " + ", ".join(f"{m} {mem[m][-1] / 1024:.0f} KiB {sec[m][-1] * 1e3:.1f} ms"
                                           for m in _MEMORY_METHODS))
        L = np.array(p.lengths, float)
        tail = slice(len(L) // 2, None)  # the longer half (at least two points)
        slope = {m: dict(mem_all=loglog_slope(L, mem[m]), mem_long=loglog_slope(L[tail], np.array(mem[m])[tail]),
                         time_all=loglog_slope(L, sec[m]), time_long=loglog_slope(L[tail], np.array(sec[m])[tail]))
                 for m in _MEMORY_METHODS}
        per_step = float(np.polyfit(L, np.array(mem["bptt"], float), 1)[0])
        ratio = np.array(mem["bptt"], float) / np.array(mem["eprop-online"], float)
        above = np.nonzero(ratio > 1)[0]
        held = slope["bptt"]["mem_long"] >= p.min_slope and abs(slope["eprop-online"]["mem_long"]) <= p.max_slope
        summary = (f"Recurrent network of {p.n_rec} LIF neurons (τ_m = τ_out = 20 steps), {p.n_in} Poisson inputs "
                   f"({p.rate:g} spikes per step), {p.n_out} leaky readouts regressing sines of period {p.period:g} "
                   f"steps; one gradient of the loss over a sequence of T steps "
                   f"(:mod:`bioplaus.reference.eprop`). *bptt*: exact backpropagation through time "
                   "(pseudo-derivative for the spike, reset differentiated), which must keep the whole trajectory; "
                   "*eprop-offline*: e-prop computed from a stored forward trace; *eprop-online*: the streaming "
                   f"form (`eprop_online`), one pass forward in time; {p.feedback} feedback. Peak memory: "
                   "tracemalloc's peak above the baseline during one call (input and target allocated before, "
                   f"charged to neither); time: fastest of {p.repeats} calls, one thread.\n\n")
        head = ["T"] + [f"{m} peak (KiB)" for m in _MEMORY_METHODS] + [f"{m} time (ms)" for m in _MEMORY_METHODS] + [
            "cos(e-prop, BPTT) W_in", "W_rec"]
        tab = [[T] + [f"{mem[m][i] / 1024:,.0f}" for m in _MEMORY_METHODS]
               + [f"{sec[m][i] * 1e3:.1f}" for m in _MEMORY_METHODS]
               + [f"{cos['W_in'][i]:.3f}", f"{cos['W_rec'][i]:.3f}"] for i, T in enumerate(p.lengths)]
        summary += md_table(head, tab) + "\n\n"
        summary += md_table(["method", "memory exponent (all T)", f"memory exponent (T ≥ {int(L[tail][0])})",
                             "time exponent (all T)", f"time exponent (T ≥ {int(L[tail][0])})"],
                            [[m] + [f"{slope[m][k]:.3f}" for k in ("mem_all", "mem_long", "time_all", "time_long")]
                             for m in _MEMORY_METHODS]) + "\n"
        summary += (f"\nBPTT's memory grows by {per_step / 1024:.2f} KiB per step (linear fit); online e-prop holds "
                    f"{np.mean(mem['eprop-online']) / 1024:,.0f} KiB whatever T (its eligibility traces, "
                    f"{p.n_rec} × ({p.n_in} + {p.n_rec}) numbers, and the gradient sums). "
                    + (f"BPTT needs more memory than online e-prop from T = {p.lengths[above[0]]} on; at "
                       f"T = {p.lengths[-1]} it needs {ratio[-1]:.1f}x. " if len(above) else
                       "BPTT needed less memory than online e-prop at every measured length. ")
                    + "Both take time linear in T. The price of e-prop's constant memory is the gradient it "
                    f"computes: its cosine with BPTT's is {np.mean(cos['W_in']):.3f} (W_in) and "
                    f"{np.mean(cos['W_rec']):.3f} (W_rec) on average over the lengths.\n")
        summary += (f"\n**Criterion**: the claim holds if BPTT's peak memory grows with an exponent of at least "
                    f"{p.min_slope:g} in T and online e-prop's stays within ±{p.max_slope:g} (fitted on T ≥ "
                    f"{int(L[tail][0])}). ")
        summary += ("**Result: the claim held.**\n" if held else
                    f"**Result: the claim did not hold** (exponents: BPTT {slope['bptt']['mem_long']:.3f}, "
                    f"online e-prop {slope['eprop-online']['mem_long']:.3f}).\n")
        fig, (ax1, ax2, ax3) = _subplots(3, width=4.6)
        for k, m in enumerate(_MEMORY_METHODS):
            ax1.plot(L, np.array(mem[m]) / 2 ** 20, "o-", color=f"C{k}",
                     label=f"{m} (exponent {slope[m]['mem_long']:.2f})")
            ax2.plot(L, np.array(sec[m]) * 1e3, "o-", color=f"C{k}",
                     label=f"{m} (exponent {slope[m]['time_long']:.2f})")
        ax3.plot(L, cos["W_in"], "o-", label="W_in")
        ax3.plot(L, cos["W_rec"], "s-", label="W_rec")
        for ax, lab in ((ax1, "peak memory (MiB)"), (ax2, "time per gradient (ms)")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_ylabel(lab)
        ax3.set_xscale("log")
        ax3.set_ylabel("cos(online e-prop, BPTT gradient)")
        for ax in (ax1, ax2, ax3):
            ax.set_xlabel("sequence length T (steps)")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
        fig.suptitle(f"BPTT against e-prop: claim {'held' if held else 'did not hold'}")
        fig.tight_layout()
        info = {"held": held, "exponents": slope, "bptt_bytes_per_step": per_step,
                "peak_bytes": {m: [int(v) for v in mem[m]] for m in _MEMORY_METHODS},
                "time_s": sec, "cos_W_in": cos["W_in"], "cos_W_rec": cos["W_rec"]}
        return ExperimentResult(rows=rows, summary=summary, figures={"claim_bptt_memory": fig}, info=info)


# --------------------------------------------------------------------------- claim 5
#: rules that estimate the gradient from loss differences (the rest backpropagate an error)
_PERTURBATION_RULES = ("np", "wp")


def passes_per_step(rule: str, samples: int = 1) -> int:
    """Forward-pass equivalents one mini-batch step costs per sample (claim 5's compute unit).

    A perturbation rule runs one clean and ``samples`` perturbed forward passes; a rule that sends
    an error back runs one forward and one backward pass, the backward charged as two forward
    passes (it multiplies by each weight matrix twice: once for the error, once for the update).

    >>> passes_per_step("bp"), passes_per_step("np"), passes_per_step("wp", samples=4)
    (3, 2, 5)
    """
    if rule in _PERTURBATION_RULES:
        return 1 + samples
    return 3


def epochs_for_budget(budget: int, rule: str, samples: int = 1) -> int:
    """Whole epochs that fit in ``budget`` forward-pass equivalents per training sample (at least one).

    >>> epochs_for_budget(60, "bp"), epochs_for_budget(60, "np"), epochs_for_budget(60, "wp", samples=3)
    (20, 30, 15)
    """
    return max(1, budget // passes_per_step(rule, samples))


def _lr_grid(owner: str, value: Any, rules: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{owner}.lrs", value, "a table {rule = [learning rates]}")
    out = {}
    for r in rules:
        v = value.get(r)
        if v is None:
            raise ConfigError(f"{owner}.lrs.{r}", None, "a non-empty list of positive learning rates for every rule")
        v = [v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if not isinstance(v, (list, tuple)) or not v:
            raise ConfigError(f"{owner}.lrs.{r}", v, "a non-empty list of positive learning rates")
        out[r] = tuple(number(owner, f"lrs.{r}[{k}]", x, positive=True) for k, x in enumerate(v))
    extra = set(value) - set(rules)
    if extra:
        raise ConfigError(f"{owner}.lrs.{sorted(extra)[0]}", value[sorted(extra)[0]], "a rule listed in params.rules")
    return out


@register_experiment("claim_perturbation_budget")
class ClaimPerturbationBudget(Experiment):
    """Accuracy of node and weight perturbation against BP for a fixed number of forward passes, as width grows."""

    description = ("claim: reinforcement-style learning has variance that becomes unwieldy for large networks; "
                   "accuracy of node/weight perturbation vs BP for one budget of forward passes, against width")
    backends = ("numpy",)

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        widths: Any = (16, 64, 256, 1024)  # hidden-layer widths
        rules: Any = ("bp", "np", "wp")
        budget: int = param(60, integer=True, minimum=1,
                            doc="forward-pass equivalents per training sample (BP: 3 per step, np/wp: 1 + samples)")
        samples: int = param(1, integer=True, minimum=1)  # perturbations per mini-batch for np and wp
        sigma: Any = param(1e-3, positive=True)  # perturbation noise
        lrs: Any = None  # {rule = [learning rates]}: each width takes the rate with the lowest training loss
        batch_size: int = param(16, integer=True, minimum=1)
        seeds: int = param(2, integer=True, minimum=1)
        variance_samples: int = param(20, integer=True, minimum=1,
                                      doc="estimates per width for the relative variance at initialisation")
        margin: Any = param(0.02, nonnegative=True,
                            doc="the gap to BP must grow by more than this from the smallest to the largest width")

        def __post_init__(self):
            super().__post_init__()
            o = "params"
            from ..data import check_dataset_name

            check_dataset_name(self.dataset, "params.dataset")
            set_field(self, "widths", tuple(sorted(set(_sizes(o, "widths", self.widths)))))
            if len(self.widths) < 2:
                raise ConfigError("params.widths", list(self.widths), "at least two distinct widths")
            set_field(self, "rules", _names(o, "rules", self.rules))
            if "bp" not in self.rules or not set(self.rules) & set(_PERTURBATION_RULES):
                raise ConfigError("params.rules", list(self.rules), "'bp' and at least one of 'np', 'wp'")
            default = {"bp": (0.1, 0.03), "np": (1e-2, 3e-3, 1e-3, 3e-4, 1e-4), "wp": (3e-3, 1e-3, 3e-4, 1e-4, 3e-5)}
            lrs = {r: default.get(r, (0.05,)) for r in self.rules} if self.lrs is None else self.lrs
            set_field(self, "lrs", _lr_grid(o, lrs, self.rules))

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..data import load_dataset
        from ..harness import CompareConfig, compare
        from ..reference.mlp import MLP
        from ..reference.perturbation import estimator_deviation, node_perturbation_grads, weight_perturbation_grads

        ss = lambda *k: np.random.SeedSequence(ctx.seed, spawn_key=k)  # noqa: E731
        data = load_dataset(p.dataset, ctx.data_dir, seed=ss(0))  # the harness's split for this root seed
        rows: list[dict[str, Any]] = []
        best: dict[tuple[int, str], dict[str, Any]] = {}
        var: dict[tuple[int, str], float] = {}
        perturb = [r for r in p.rules if r in _PERTURBATION_RULES]
        t0 = time.perf_counter()
        for w in p.widths:
            # relative variance of single estimates at initialisation (one batch of 32)
            net = MLP.random((data.n_features, w, data.n_outputs), "tanh", data.default_loss,
                             np.random.default_rng(ss(5, w, 0)))
            rng = np.random.default_rng(ss(5, w, 1))
            idx = rng.choice(len(data.x_train), min(32, len(data.x_train)), replace=False)
            xb, yb = data.x_train[idx], data.y_train[idx]
            true = net.gradients(xb, yb)[1]
            est = {"np": node_perturbation_grads, "wp": weight_perturbation_grads}
            for r in perturb:
                e = [est[r](net, xb, yb, p.sigma, rng, p.samples) for _ in range(p.variance_samples)]
                var[w, r] = estimator_deviation(e, true)["rel_var"]
            for r in p.rules:
                epochs = epochs_for_budget(p.budget, r, p.samples)
                params = {r: {"sigma": p.sigma, "samples": p.samples}} if r in _PERTURBATION_RULES else {}
                for lr in p.lrs[r]:
                    res = compare(CompareConfig(dataset=p.dataset, data_dir=ctx.data_dir, rules=(r,), hidden=(w,),
                                                epochs=epochs, batch_size=p.batch_size, seeds=p.seeds, seed=ctx.seed,
                                                lr=lr, rule_params=params, threads=ctx.threads or 1),
                                  progress=False)
                    acc, loss = res.final(r), res.final(r, "train_loss")
                    status = res.summary_of(r).status
                    tr = float(np.mean(loss)) if np.all(np.isfinite(loss)) else math.inf
                    row = dict(width=w, rule=r, lr=lr, epochs=epochs,
                               passes=epochs * passes_per_step(r, p.samples), test_acc=float(np.mean(acc)),
                               test_acc_std=float(np.std(acc)), train_loss=tr, status=status,
                               rel_var_at_init=var.get((w, r), 0.0))
                    rows.append(row)
                    if (w, r) not in best or tr < best[w, r]["train_loss"]:
                        best[w, r] = row
            ctx.log(f"width {w}: " + ", ".join(f"{r} {best[w, r]['test_acc']:.3f} (lr {best[w, r]['lr']:g})"
                                             for r in p.rules))
        for r in best.values():
            r["selected"] = True
        wmin, wmax = p.widths[0], p.widths[-1]
        gap = {(w, r): best[w, "bp"]["test_acc"] - best[w, r]["test_acc"] for w in p.widths for r in perturb}
        grew = {r: gap[wmax, r] - gap[wmin, r] > p.margin for r in perturb}
        held = all(grew.values())
        summary = (f"{data.name}, one hidden layer of tanh units, batch {p.batch_size}, momentum 0.9, {p.seeds} "
                   f"seed(s). **Budget**: {p.budget} forward-pass equivalents per training sample for every rule "
                   f"and width; a BP step costs 3 (forward, and a backward pass charged as two), a perturbation step "
                   f"1 + {p.samples} (clean and perturbed forward passes), so BP trains "
                   f"{epochs_for_budget(p.budget, 'bp')} epochs and node/weight perturbation "
                   f"{epochs_for_budget(p.budget, 'np', p.samples)} (σ = {p.sigma:g}). Each rule's learning rate is "
                   "chosen per width from its grid by the lowest final training loss (mean over seeds): "
                   + "; ".join(f"{r} {', '.join(f'{x:g}' for x in p.lrs[r])}" for r in p.rules)
                   + ". *rel. var.*: variance of one estimate of the whole gradient relative to ‖g‖² at "
                   f"initialisation ({p.variance_samples} estimates on one batch of 32).\n\n")
        head = ["width"] + [f"{r} test acc (lr)" for r in p.rules] + [f"{r} gap to BP" for r in perturb] + [
            f"{r} rel. var." for r in perturb]
        tab = [[w] + [f"{best[w, r]['test_acc']:.4f} ± {best[w, r]['test_acc_std']:.4f} ({best[w, r]['lr']:g})"
                      for r in p.rules]
               + [f"{gap[w, r]:+.4f}" for r in perturb] + [f"{var[w, r]:,.0f}" for r in perturb] for w in p.widths]
        summary += md_table(head, tab) + "\n"
        edge = [f"{r} at {w} ({best[w, r]['lr']:g})" for w in p.widths for r in p.rules
                if len(p.lrs[r]) > 1 and best[w, r]["lr"] in (min(p.lrs[r]), max(p.lrs[r]))]
        if edge:
            summary += ("\nSelected rate at the edge of its grid (a better one may lie outside): "
                        + ", ".join(edge) + ".\n")
        summary += (f"\n**Criterion**: the claim holds for a rule if its accuracy gap to BP at the same budget grows "
                    f"by more than {p.margin:g} from width {wmin} to width {wmax}. "
                    + " ".join(f"{r}: gap {gap[wmin, r]:+.4f} at {wmin}, {gap[wmax, r]:+.4f} at {wmax} "
                               f"({'grew' if grew[r] else 'did not grow'})." for r in perturb) + " ")
        if held:
            summary += "**Result: the claim held** for " + ", ".join(perturb) + ".\n"
        elif any(grew.values()):
            summary += ("**Result: the claim held only in part**: it held for "
                        + ", ".join(r for r in perturb if grew[r]) + " and not for "
                        + ", ".join(r for r in perturb if not grew[r]) + ".\n")
        else:
            summary += "**Result: the claim did not hold.**\n"
        fig, (ax1, ax2) = _subplots(2)
        for k, r in enumerate(p.rules):
            ax1.errorbar(p.widths, [best[w, r]["test_acc"] for w in p.widths],
                         yerr=[best[w, r]["test_acc_std"] for w in p.widths], marker="o", capsize=3, color=f"C{k}",
                         label=f"{r} ({epochs_for_budget(p.budget, r, p.samples)} epochs)")
            if r in perturb:
                ax2.plot(p.widths, [var[w, r] for w in p.widths], "o-", color=f"C{k}", label=r)
        ax1.set_ylabel(f"test accuracy, {p.budget} passes per sample")
        ax2.set_ylabel("relative variance of one estimate")
        ax2.set_yscale("log")
        for ax in (ax1, ax2):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("hidden units")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
        verdict = "held" if held else "held in part" if any(grew.values()) else "did not hold"
        fig.suptitle(f"Same compute, growing width: claim {verdict}")
        fig.tight_layout()
        info = {"held": held, "grew": grew, "lr_at_grid_edge": edge,
                "gap_to_bp": {f"{w}/{r}": v for (w, r), v in gap.items()},
                "selected": {f"{w}/{r}": {k: best[w, r][k] for k in ("lr", "epochs", "passes", "test_acc")}
                             for (w, r) in best},
                "rel_var_at_init": {f"{w}/{r}": v for (w, r), v in var.items()},
                "study_time_s": time.perf_counter() - t0}
        return ExperimentResult(rows=rows, summary=summary, figures={"claim_perturbation_budget": fig}, info=info)
