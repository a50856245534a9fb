"""``fa_rate``: feedback alignment (or DFA) as rate dynamics in Brian2, trained on a dataset.

The whole training (every epoch, one sample per presentation window) is one
:func:`~bioplaus.simulation.simulate` run of the NetworkSpec of
:func:`bioplaus.networks.fa_rate.fa_rate_spec`; weight snapshots taken by the network at
each epoch's end are evaluated with the numpy forward pass. The numpy reference
(:class:`bioplaus.reference.credit.FA` / ``DFA``) is trained alongside from the same
initial weights, feedback matrices and sample order, and the largest weight
difference between the two is reported per epoch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..networks.fa_rate import ROUTINGS, FARateNetwork, schedule_dt
from ..spec.params import param, set_field
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, md_table, param_of, register_experiment

__all__ = ["FARateExperiment"]


@register_experiment("fa_rate")
class FARateExperiment(Experiment):
    """FA/DFA rate network in Brian2 on a dataset: learning curve, timings, agreement with numpy."""

    description = "feedback alignment as rate dynamics in Brian2: online training inside one run"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        """Parameters of the ``fa_rate`` experiment (validated; errors name ``params.<field>``).

        rule : ``fa``, ``dfa``, ``bp``, ``sign`` or ``kp`` (Kolen-Pollack, weight decay ``kp_decay``
        on the mirrored matrices); hidden : hidden-layer sizes; epochs; lr, momentum,
        weight_decay, batch_size : SGD settings (batch 1 = online); loss : ``cross_entropy``
        (softmax by a normalisation pool) or ``mse``; activation; present, rest, dt, tau :
        presentation schedule and rate dynamics (``tau`` unset = instantaneous units);
        dataset; n_train / n_test : subsets (unset = all); feedback_scale; reference :
        also train the numpy reference and report the weight difference.
        """

        rule: str = param("fa", choices=ROUTINGS)
        hidden: Any = (100,)
        epochs: int = param(20, integer=True, minimum=1)
        # the settings the network is built from: declared by FARateNetwork (its units, bounds and meaning)
        lr: Any = param_of(FARateNetwork, "lr", 0.03)
        momentum: Any = param_of(FARateNetwork, "momentum")
        weight_decay: Any = param_of(FARateNetwork, "weight_decay")
        batch_size: int = param_of(FARateNetwork, "batch_size")
        loss: str = param_of(FARateNetwork, "loss", "cross_entropy")
        activation: str = param_of(FARateNetwork, "activation")
        present: Any = param_of(FARateNetwork, "present")
        rest: Any = param_of(FARateNetwork, "rest")
        dt: Any = param_of(FARateNetwork, "dt")
        tau: Any = param_of(FARateNetwork, "tau")
        dataset: str = "digits"
        n_train: Any = param(None, integer=True, minimum=1, allow_none=True)
        n_test: Any = param(None, integer=True, minimum=1, allow_none=True)
        feedback_scale: Any = param(1.0, positive=True)
        kp_decay: Any = param(0.01, nonnegative=True,
                              doc="weight decay of the forward and mirrored feedback matrices under Kolen-Pollack")
        reference: bool = param(True, boolean=True)

        def __post_init__(self):
            from ..data import check_dataset_name

            super().__post_init__()
            p = "params"
            hidden = self.hidden
            if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
                hidden = (hidden,)
            if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)) or not hidden:
                raise ConfigError(f"{p}.hidden", self.hidden, "a list of hidden-layer sizes, e.g. [100]")
            if not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in hidden):
                raise ConfigError(f"{p}.hidden", self.hidden, "positive integers (hidden-layer sizes)")
            set_field(self, "hidden", tuple(int(h) for h in hidden))
            check_dataset_name(self.dataset, f"{p}.dataset")
            schedule_dt(p, self.present, self.rest, self.dt, self.tau)   # present, rest: whole time steps

        def network_spec(self, sizes):
            return FARateNetwork(sizes=tuple(sizes), rule=self.rule, lr=self.lr, momentum=self.momentum,
                                 weight_decay=self.weight_decay, batch_size=self.batch_size, loss=self.loss,
                                 activation=self.activation, present=self.present, rest=self.rest, dt=self.dt,
                                 tau=self.tau, name=f"{self.rule}_rate")

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..data import load_dataset
        from ..reference.credit import BP, DFA, FA, SignSymmetry, TrainSettings
        from ..reference.kolen_pollack import KolenPollack
        from ..reference.mlp import MLP, accuracy, loss_value

        ss = np.random.SeedSequence(ctx.seed)
        data_ss, init_ss, fb_ss, order_ss = ss.spawn(4)
        data = load_dataset(p.dataset, ctx.data_dir, seed=data_ss)
        if data.task == "regression" and p.loss != "mse":
            raise ConfigError("params.loss", p.loss, f"'mse' for the regression dataset {data.name!r}")
        x_tr, y_tr, x_te, y_te = data.x_train, data.y_train, data.x_test, data.y_test
        if p.n_train is not None:
            if p.n_train > len(x_tr):
                raise ConfigError("params.n_train", p.n_train, f"at most {len(x_tr)} (the training set of "
                                  f"{data.name})")
            keep = np.sort(np.random.default_rng(data_ss.spawn(1)[0]).permutation(len(x_tr))[:p.n_train])
            x_tr, y_tr = x_tr[keep], y_tr[keep]
        if p.n_test is not None:
            x_te, y_te = x_te[:p.n_test], y_te[:p.n_test]
        sizes = (data.n_features, *p.hidden, data.n_outputs)
        spec = p.network_spec(sizes)
        net0 = MLP.random(sizes, p.activation, p.loss, np.random.default_rng(init_ss))
        settings = TrainSettings(lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay,
                                 batch_size=p.batch_size, epochs=p.epochs, loss=p.loss)
        ref = {"fa": lambda: FA(feedback_scale=p.feedback_scale), "dfa": lambda: DFA(feedback_scale=p.feedback_scale),
               "bp": BP, "sign": lambda: SignSymmetry(scale=p.feedback_scale),
               "kp": lambda: KolenPollack(feedback_scale=p.feedback_scale, decay=p.kp_decay)}[p.rule]().learner()
        ref.init(net0.copy(), np.random.default_rng(fb_ss), settings)
        feedback = [b.copy() for b in ref.feedback] if ref.feedback is not None else []
        order_rng = np.random.default_rng(order_ss)
        orders = [order_rng.permutation(len(x_tr)) for _ in range(p.epochs)]
        targets = net0.targets(y_tr, sizes[-1])

        ctx.log(f"fa_rate: {p.rule} {'-'.join(map(str, sizes))} on {data.name} ({len(x_tr)} train samples), "
                f"{p.epochs} epochs in one Brian2 run on {ctx.backend}")
        from ..networks.fa_rate import train_fa_rate

        res = train_fa_rate(spec, net0.weights, net0.biases, feedback or None, x_tr, targets, orders, ctx.backend,
                            threads=ctx.threads, sign_scale=p.feedback_scale, kp_decay=p.kp_decay)
        n = len(x_tr)
        sim_s = res.timings.get("run_s", 0.0)
        build_s = res.timings.get("build_s", 0.0)

        rows: list[dict[str, Any]] = []
        ref_time = 0.0
        for epoch, (W, b) in enumerate(res.snapshots):
            net = MLP([w.copy() for w in W], [v.copy() for v in b], p.activation, p.loss)
            z_tr, z_te = net.predict(x_tr), net.predict(x_te)
            row: dict[str, Any] = {"epoch": epoch, "rule": p.rule, "backend": ctx.backend,
                                   "train_loss": loss_value(z_tr, y_tr, p.loss), "train_acc": accuracy(z_tr, y_tr),
                                   "test_loss": loss_value(z_te, y_te, p.loss), "test_acc": accuracy(z_te, y_te)}
            if epoch and res.outputs is not None:
                online = res.outputs[(epoch - 1) * n:epoch * n]
                row["online_train_acc"] = accuracy(online, y_tr[orders[epoch - 1]])
            else:
                row["online_train_acc"] = float("nan")
            if p.reference:
                if epoch:
                    t0 = time.perf_counter()
                    order = orders[epoch - 1]
                    for start in range(0, n, p.batch_size):
                        idx = order[start:start + p.batch_size]
                        ref.step(x_tr[idx], y_tr[idx])
                    ref_time += time.perf_counter() - t0
                row["reference_train_acc"] = accuracy(ref.net.predict(x_tr), y_tr)
                row["reference_test_acc"] = accuracy(ref.net.predict(x_te), y_te)
                diff = max(float(np.max(np.abs(w - r))) for w, r in zip(W + b, ref.net.weights + ref.net.biases))
                scale = max(float(np.max(np.abs(r))) for r in ref.net.weights)
                row["max_abs_dw_vs_reference"] = diff
                row["rel_dw_vs_reference"] = diff / scale
            rows.append(row)
            ctx.log(f"  epoch {epoch}: test_acc {row['test_acc']:.4f}" +
                    (f" (numpy reference {row['reference_test_acc']:.4f}, max |ΔW| {row['max_abs_dw_vs_reference']:.2e})"
                     if p.reference else ""))

        Wf, bf = res.weights, res.biases
        arrays: dict[str, Any] = {}
        for l, (w, b) in enumerate(zip(Wf, bf)):
            arrays[f"W{l + 1}"] = w
            arrays[f"b{l + 1}"] = b
            arrays[f"W{l + 1}_init"] = net0.weights[l]
        for l, B in enumerate(feedback):
            arrays[f"{'D' if p.rule == 'dfa' else 'B'}{l + 1}"] = B
        arrays["test_acc"] = np.array([r["test_acc"] for r in rows])
        arrays["train_acc"] = np.array([r["train_acc"] for r in rows])
        arrays["order"] = np.stack(orders)

        last = rows[-1]
        timing = {"build_s": build_s, "sim_s": sim_s, "sim_s_per_epoch": sim_s / p.epochs,
                  "samples_per_s": n * p.epochs / sim_s if sim_s > 0 else float("nan"),
                  "reference_s_per_epoch": ref_time / p.epochs if p.reference else float("nan")}
        table = [["Brian2 " + ctx.backend, last["train_acc"], last["test_acc"], timing["sim_s_per_epoch"],
                  timing["samples_per_s"]]]
        if p.reference:
            table.append(["numpy reference", last["reference_train_acc"], last["reference_test_acc"],
                          timing["reference_s_per_epoch"],
                          n / timing["reference_s_per_epoch"] if timing["reference_s_per_epoch"] > 0 else float("nan")])
        summary = (f"{p.rule.upper()} rate network {'-'.join(map(str, sizes))} ({p.activation}, {p.loss}), "
                   f"{data.name}: {len(x_tr)} training / {len(x_te)} test samples, {p.epochs} epochs, lr {p.lr}, "
                   f"batch {p.batch_size}, momentum {p.momentum}; "
                   f"{'instantaneous units' if p.tau is None else f'tau = {p.tau}'}, present {p.present}, "
                   f"rest {p.rest}, dt {spec.dt}.\n\n"
                   + md_table(["", "train acc", "test acc", "s/epoch", "samples/s"], table)
                   + f"\n\nBuild (code generation, compilation) {build_s:.1f} s; simulated training {sim_s:.2f} s.\n")
        if p.reference:
            worst = max(r["rel_dw_vs_reference"] for r in rows)
            summary += (f"\nLargest weight difference from the numpy reference over all epochs: "
                        f"{max(r['max_abs_dw_vs_reference'] for r in rows):.3g} "
                        f"({worst:.3g} relative to the largest weight).\n")
        fig = _learning_curve(rows, p, ctx.backend)
        return ExperimentResult(rows=rows, arrays=arrays, summary=summary, figures={"learning_curve": fig},
                                info={"timings": {**timing, **res.timings}, "final_test_acc": last["test_acc"]})


def _learning_curve(rows, p, backend):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ep = [r["epoch"] for r in rows]
    ax.plot(ep, [r["train_acc"] for r in rows], "o-", label=f"Brian2 ({backend}) train")
    ax.plot(ep, [r["test_acc"] for r in rows], "s-", label=f"Brian2 ({backend}) test")
    if p.reference:
        ax.plot(ep, [r["reference_test_acc"] for r in rows], "k--", lw=1, label="numpy reference test")
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("accuracy")
    ax.set_title(f"{p.rule.upper()} as rate dynamics: learning curve")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig
