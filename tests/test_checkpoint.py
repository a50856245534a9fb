"""Checkpoints: training N epochs equals training N/2, stopping, and resuming for N/2."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from bioplaus.cli import main
from bioplaus.errors import BioplausError, ConfigError
from bioplaus.harness import CompareConfig, compare

SETTINGS = dict(dataset="digits", rules=("bp", "fa", "hebbian"), hidden=(24,), epochs=4, seeds=1, batch_size=32)


def _table(rows):
    """Rows without wall time, NaN made comparable (angles are NaN for rules without one)."""
    return [{k: ("nan" if isinstance(v, float) and v != v else v) for k, v in r.items() if k != "wall_time_s"}
            for r in rows]


class _StopAfter:
    """Progress callback that interrupts the run like Ctrl-C after ``n`` epoch rows."""

    def __init__(self, n):
        self.n = n

    def __call__(self, event):
        if event.get("kind") == "epoch":
            self.n -= 1
            if self.n < 0:
                raise KeyboardInterrupt


def test_interrupted_comparison_resumes_to_the_identical_result(tmp_path):
    full = compare(CompareConfig(**SETTINGS, out=str(tmp_path / "full")), progress=False)

    out = str(tmp_path / "cut")
    # bp finishes (5 rows: epochs 0..4), fa is cut after its epoch 2 (checkpoint at epoch 2)
    with pytest.raises(KeyboardInterrupt):
        compare(CompareConfig(**SETTINGS, out=out, checkpoint_every=1), progress=_StopAfter(5 + 3))
    assert latest_checkpoint(tmp_path / "cut" / "checkpoints" / "fa-seed0").name == "checkpoint-2.npz"
    resumed = compare(CompareConfig(**SETTINGS, out=out, checkpoint_every=1, resume=True), progress=False)

    assert _table(resumed.rows) == _table(full.rows)
    for k, v in full.weights.items():
        np.testing.assert_array_equal(resumed.weights[k], v)
    # the metrics table on disk has each rule/epoch exactly once
    import csv
    with open(tmp_path / "cut" / "metrics.csv") as fh:
        keys = [(r["rule"], r["epoch"]) for r in csv.DictReader(fh)]
    assert len(keys) == len(set(keys)) == 3 * 5


def test_resume_refuses_a_different_comparison(tmp_path):
    out = str(tmp_path / "r")
    compare(CompareConfig(**SETTINGS, out=out, checkpoint_every=2), progress=False)
    with pytest.raises(ConfigError, match="hidden was"):
        compare(CompareConfig(**{**SETTINGS, "hidden": (8,)}, out=out, checkpoint_every=2, resume=True),
                progress=False)


def test_checkpoint_settings_are_validated():
    with pytest.raises(ConfigError, match="compare.checkpoint_every"):
        CompareConfig(checkpoint_every=-1, out="x")
    with pytest.raises(ConfigError, match="compare.out"):
        CompareConfig(checkpoint_every=2)


def test_cli_resume_flag(tmp_path, capsys):
    args = ["compare", "--rules", "bp", "--hidden", "8", "--epochs", "2", "--seeds", "1", "--quiet",
            "--checkpoint-every", "1", "--out", str(tmp_path / "c")]
    assert main(args) == 0
    assert main(args + ["--resume"]) == 0  # everything finished: nothing rerun, same table
    assert main(args[:-2] + ["--out", str(tmp_path / "c"), "--resume", "--epochs", "3"]) == 2
    assert "compare.resume" in capsys.readouterr().err


def test_corrupt_checkpoint_is_reported_not_trusted(tmp_path):
    p = tmp_path / "checkpoint-1.npz"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(BioplausError, match="not a readable bioplaus checkpoint"):
        load_checkpoint(p)
    save_checkpoint(p, epoch=1, arrays={"x": np.arange(3)})
    assert load_checkpoint(p).epoch == 1
    with pytest.raises(BioplausError, match="no random generator named 'batch'"):
        load_checkpoint(p).restore_rng("batch")


def test_brian2_rules_are_known_to_the_cli_without_importing_brian2_first(capsys):
    import subprocess
    import sys

    code = ("import sys; from bioplaus.harness import credit_rule_names; "
            "n = credit_rule_names(); print('fa-brian2' in n, 'brian2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]
    assert main(["compare", "--rules", "fa-brain2", "--out", "x"]) == 2
    assert "did you mean 'fa-brian2'" in capsys.readouterr().err
