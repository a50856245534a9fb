"""The comparison harness as a model-file experiment (``experiment = "compare"``).

The ``[params]`` table takes the settings of :class:`~bioplaus.harness.CompareConfig`
(``dataset``, ``rules``, ``hidden``, ``epochs``, ``lr``...), so a comparison can be run,
overridden (``--set params.epochs=10``) and swept like any other model.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..spec.params import set_field
from .base import Experiment, ExperimentParams, ExperimentResult, RunContext, register_experiment

__all__ = ["CompareExperiment"]


@register_experiment("compare")
class CompareExperiment(Experiment):
    """Local credit-assignment rules beside backprop on one data split (numpy reference)."""

    description = "the comparison harness: rules side by side with backprop on one task, split and seed"
    backends = ("numpy", "cython", "cpp", "cuda")  # the numpy reference; Brian2 rules pick theirs in rule_params

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        dataset: str = "digits"
        rules: Any = ("bp", "fa", "dfa", "sign", "hebbian")
        hidden: Any = (256,)
        activation: str = "tanh"
        loss: Any = None
        epochs: int = 30
        batch_size: int = 16
        lr: Any = None
        momentum: float = 0.9
        weight_decay: float = 0.0
        seeds: int = 3
        rule_params: Any = None

        def __post_init__(self):
            cfg = self.config(seed=0)
            for f in dataclasses.fields(self):  # store the normalised values
                set_field(self, f.name, getattr(cfg, f.name) if f.name != "rule_params" else cfg.rule_params)

        def config(self, seed: int, data_dir: str | None = None):
            from ..harness import CompareConfig

            kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
            kw["rule_params"] = kw["rule_params"] or {}
            kw["rules"] = list(kw["rules"]) if not isinstance(kw["rules"], str) else kw["rules"]
            try:
                return CompareConfig(**kw, seed=seed, data_dir=data_dir)
            except ConfigError as exc:
                raise ConfigError("params." + exc.key_path.split(".", 1)[-1], exc.value, exc.expected) from None

    def run(self, p: Params, ctx: RunContext) -> ExperimentResult:
        from ..harness import compare
        from ..plots import plot_alignment, plot_learning_curves

        result = compare(p.config(ctx.seed, ctx.data_dir), progress=True)
        info: dict[str, Any] = {}
        for s in result.summary:  # scalar metrics, e.g. for a sweep's results table
            info[f"{s.rule}_test_acc"] = s.test_acc[0]
            info[f"{s.rule}_test_acc_std"] = s.test_acc[1]
        status = "ok" if all("diverged" not in str(r.get("status", "")) for r in result.rows) else \
            "ok (some rules diverged)"
        return ExperimentResult(rows=result.rows, arrays=result.weights, summary=result.markdown(),
                                figures={"learning_curves": plot_learning_curves(result),
                                         "alignment": plot_alignment(result)},
                                info=info, status=status)
