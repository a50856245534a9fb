"""``bioplaus compare --config`` reads the same model files as ``bioplaus run``."""
from __future__ import annotations

from pathlib import Path

import pytest

from bioplaus.errors import ConfigError
from bioplaus.harness import CompareConfig

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_shipped_comparison_model_file_is_a_compare_config():
    cfg = CompareConfig.from_toml(MODELS / "fa_dfa_digits.toml")
    assert list(cfg.rules) == ["bp", "fa", "dfa", "sign", "hebbian"]
    assert tuple(cfg.hidden) == (256,) and cfg.epochs == 30 and cfg.seeds == 3 and cfg.dataset == "digits"


def test_flags_override_the_model_file(tmp_path):
    model = tmp_path / "cmp.toml"
    model.write_text('experiment = "compare"\nseed = 4\n[params]\nrules = ["bp", "fa"]\nhidden = [32]\n'
                     'epochs = 7\n')
    cfg = CompareConfig.from_toml(model, epochs=2, hidden=None)
    assert cfg.epochs == 2 and tuple(cfg.hidden) == (32,) and list(cfg.rules) == ["bp", "fa"] and cfg.seed == 4


def test_model_file_errors_name_key_and_value(tmp_path):
    model = tmp_path / "cmp.toml"
    model.write_text('experiment = "compare"\n[params]\nepochz = 7\n')
    with pytest.raises(ConfigError, match=r"params\.epochz.*did you mean 'epochs'"):
        CompareConfig.from_toml(model)
    with pytest.raises(ConfigError, match=r"experiment.*oja.*'compare'"):
        CompareConfig.from_toml(MODELS / "oja_pca.toml")


def test_cli_compare_runs_a_model_file(tmp_path, capsys):
    from bioplaus.cli import main

    out = tmp_path / "cmp"
    rc = main(["compare", "--config", str(MODELS / "fa_dfa_digits.toml"), "--rules", "bp,fa", "--hidden", "16",
               "--epochs", "1", "--seeds", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    assert "| fa |" in capsys.readouterr().out.replace("`", "")
    assert (out / "metrics.csv").exists()
