"""Experiment tracking: callbacks on compare, run and sweep receive each epoch's metrics; the TensorBoard
writer's event files read back to the same numbers; off by default."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bioplaus.cli import main
from bioplaus.config import load_model
from bioplaus.experiments.base import Experiment, ExperimentParams, ExperimentResult, register_experiment
from bioplaus.harness import CompareConfig, compare
from bioplaus.runner import run_model
from bioplaus.spec.params import integer, number, set_field
from bioplaus.sweep import expand_sweep, run_sweep
from bioplaus.tracking import Callback, TensorBoard, read_scalars

pytest.importorskip("tensorboardX")


@register_experiment("tracking_toy")
class TrackingToy(Experiment):
    """Test double: a loss that falls as rate**epoch, one row per epoch (no simulation)."""

    description = "tracking test double"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        rate: float = 0.5
        epochs: int = 3

        def __post_init__(self):
            set_field(self, "rate", number("params", "rate", self.rate))
            set_field(self, "epochs", integer("params", "epochs", self.epochs, minimum=1))

    def run(self, p, ctx):
        rows = [{"epoch": e, "loss": p.rate ** e, "phase": "train"} for e in range(p.epochs + 1)]
        return ExperimentResult(rows=rows, info={"final_loss": p.rate ** p.epochs})


def toy_model(tmp_path: Path) -> str:
    f = tmp_path / "toy.toml"
    f.write_text('experiment = "tracking_toy"\nseed = 0\n\n[params]\nrate = 0.5\nepochs = 3\n')
    return str(f)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_start(self, kind, name, config, out):
        self.calls.append(("start", kind, name))

    def on_epoch(self, run, step, metrics):
        self.calls.append(("epoch", run, step, dict(metrics)))

    def on_end(self, status):
        self.calls.append(("end", status))

    def epochs(self):
        return [c[1:] for c in self.calls if c[0] == "epoch"]


def test_compare_calls_back_every_epoch_of_every_rule_and_seed(tmp_path):
    rec = Recorder()
    cfg = CompareConfig(dataset="xor", rules=("bp", "fa"), hidden=(4,), epochs=2, seeds=2, out=str(tmp_path / "c"))
    res = compare(cfg, progress=False, callbacks=[rec])
    assert rec.calls[0] == ("start", "compare", "xor") and rec.calls[-1] == ("end", "ok")
    ep = rec.epochs()
    assert len(ep) == len(res.rows) == 2 * 2 * 3
    for (run, step, metrics), row in zip(ep, res.rows):
        assert run == f"{row['rule']}/seed{row['seed']}" and step == row["epoch"]
        assert metrics["test_acc"] == row["test_acc"] and metrics["train_loss"] == row["train_loss"]
        assert "status" not in metrics and "epoch" not in metrics
    assert not (tmp_path / "c" / "tensorboard").exists()  # off by default


def test_run_and_sweep_hand_their_rows_over(tmp_path):
    rec = Recorder()
    cfg = load_model(toy_model(tmp_path))
    run_model(cfg, tmp_path / "run", progress=lambda m: None, callbacks=[rec])
    assert rec.calls[0] == ("start", "run", "tracking_toy") and rec.calls[-1] == ("end", "ok")
    assert rec.epochs() == [("tracking_toy", e, {"loss": 0.5 ** e}) for e in range(4)]

    rec2 = Recorder()
    sw = expand_sweep(toy_model(tmp_path), {"params.rate": [0.5, 0.25]})
    run_sweep(sw, tmp_path / "sw", in_process=True, progress=lambda m: None, callbacks=[rec2])
    assert rec2.calls[0][:2] == ("start", "sweep") and rec2.calls[-1] == ("end", "ok")
    by_run = {}
    for run, step, metrics in rec2.epochs():
        by_run.setdefault(run, []).append((step, metrics))
    ids = [p.id for p in sw.points]
    for pid, rate in zip(ids, (0.5, 0.25)):
        assert by_run[pid] == [(e, {"loss": rate ** e}) for e in range(4)]
        assert by_run[f"{pid}/final"][0][1]["final_loss"] == rate ** 3


def test_tensorboard_event_file_reads_back(tmp_path):
    cfg = CompareConfig(dataset="xor", rules=("bp",), hidden=(4,), epochs=3, seeds=1, out=str(tmp_path / "c"))
    res = compare(cfg, progress=False, callbacks=[TensorBoard()])
    scalars = read_scalars(tmp_path / "c" / "tensorboard")
    acc = scalars["bp/seed0/test_acc"]
    assert [s for s, _ in acc] == [0, 1, 2, 3]
    assert np.allclose([v for _, v in acc], [r["test_acc"] for r in res.rows], atol=1e-6)
    loss = [v for _, v in scalars["bp/seed0/train_loss"]]
    assert np.allclose(loss, [r["train_loss"] for r in res.rows], rtol=1e-6)  # float32 in the file


def test_cli_track_option(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--dataset", "xor", "--rules", "bp", "--hidden", "4", "--epochs", "1", "--seeds", "1",
                 "--out", str(out), "--quiet", "--track", "tensorboard"]) == 0
    assert "bp/seed0/test_acc" in read_scalars(out / "tensorboard")
    logdir = tmp_path / "tb"
    assert main(["run", toy_model(tmp_path), "--out", str(tmp_path / "r"), "--quiet",
                 "--track", f"tensorboard:{logdir}"]) == 0
    assert [s for s, _ in read_scalars(logdir)["tracking_toy/loss"]] == [0, 1, 2, 3]
    capsys.readouterr()
    assert main(["compare", "--dataset", "xor", "--out", str(tmp_path / "x"), "--track", "wandb"]) == 2
    assert "--track" in capsys.readouterr().err
