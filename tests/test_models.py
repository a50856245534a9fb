"""Model files, overrides and `bioplaus run`: every shipped model validates; bad input is named."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioplaus.cli import main
from bioplaus.config import list_models, load_model, parse_override, parse_value
from bioplaus.errors import ConfigError
from bioplaus.results import read_csv

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_model_validates(path):
    cfg = load_model(path)
    assert cfg.experiment
    assert cfg.backend in ("numpy", "cython", "cpp", "cuda")
    assert cfg.to_dict()["params"]  # resolved parameters are recorded


def test_list_models_finds_shipped_files():
    names = {p.stem for p in list_models()}
    assert {"stdp_window", "oja_pca", "triplet_frequency"} <= names


def test_override_values_are_data_never_code():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("__import__('os').system('false')") == "__import__('os').system('false')"
    assert parse_override("params.eta=20 Hz") == ("params.eta", "20 Hz")
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("params.eta")


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "m.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, key, fragment", [
    ('experiment = "oja"\n[params]\ndimz = 3\n', "params.dimz", "did you mean 'dims'"),
    ('experiment = "ojaa"\n', "experiment", "did you mean 'oja'"),
    ('experiment = "oja"\nbackend = "gpu"\n', "backend", "one of"),
    ('experiment = "oja"\nseed = -1\n', "seed", "integer >= 0"),
    ('experiment = "oja"\n[params]\neta = 5\n', "params.eta", "got no unit"),
    ('experiment = "oja"\n[params]\neta = "5 mV"\n', "params.eta", "Hz"),
    ('experiment = "oja"\n[params]\npresent = "-1 ms"\n', "params.present", "positive"),
    ('experiment = "oja"\n[params]\ndims = "many"\n', "params.dims", "integer"),
    ('experimnt = "oja"\n', "experimnt", "did you mean 'experiment'"),
    ('experiment = "oja"\n[params\n', "(file)", "valid TOML"),
])
def test_bad_model_files_name_file_key_and_value(tmp_path, text, key, fragment):
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        load_model(p)
    err = ei.value
    assert err.key_path == key
    assert fragment in str(err)
    assert str(p) in str(err)


def test_set_override_reaches_params_and_is_validated():
    cfg = load_model(MODELS / "oja_pca.toml", ["params.dims=3", "params.n_samples=50"])
    assert cfg.params.dims == 3 and cfg.params.n_samples == 50
    with pytest.raises(ConfigError, match="params.dims"):
        load_model(MODELS / "oja_pca.toml", ["params.dims=0"])
    with pytest.raises(ConfigError, match="did you mean 'params'"):
        load_model(MODELS / "oja_pca.toml", ["param.dims=3"])


def test_run_writes_a_complete_results_directory(tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(["run", str(MODELS / "stdp_window.toml"), "--set", "params.n_points=9", "--out", str(out)])
    assert rc == 0
    for f in ("config.toml", "metrics.csv", "summary.md", "arrays.npz", "provenance.json", "figures/stdp_window.png"):
        assert (out / f).exists(), f
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["status"] == "ok" and prov["seed"] == 0 and prov["backend"] == "numpy"
    assert prov["brian2"] == "2.10.1"
    rows = read_csv(out / "metrics.csv")
    assert len(rows) == 8  # Δt = 0 is excluded
    dw = np.array([float(r["dw"]) for r in rows])
    analytic = np.array([float(r["analytic"]) for r in rows])
    np.testing.assert_allclose(dw, analytic, rtol=1e-6)
    assert "n_points = 9" in (out / "config.toml").read_text()
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    rc = main(["run", str(MODELS / "oja_pca.toml"), "--set", "params.eta=fast", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and "params.eta" in err[0] and "'fast'" in err[0]
    assert not (tmp_path / "x").exists()  # validation happens before anything is written


def test_run_unknown_model_name(capsys):
    assert main(["run", "oja_pcaa"]) == 2
    assert "did you mean 'oja_pca'" in capsys.readouterr().err


def test_oja_model_finds_first_principal_component(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "oja_pca.toml", ["params.dims=4", "params.n_samples=2000"])
    res = run_model(cfg, tmp_path / "oja", progress=lambda m: None)
    assert res.info["cos_pc1"] > 0.99
    assert abs(res.info["norm"] - 1) < 0.02
    w_t = res.arrays["w_t"]
    assert np.linalg.norm(w_t[:, -1] - w_t[:, 0]) > 0.1  # learning happened


def test_list_command(capsys):
    assert main(["list", "rules"]) == 0
    out = capsys.readouterr().out
    assert "triplet_stdp" in out and "oja" in out


def test_compare_model_file_runs_the_harness(tmp_path):
    cfg = load_model(MODELS / "fa_dfa_digits.toml",
                     ["params.epochs=2", "params.seeds=1", 'params.rules=["bp", "fa"]', "params.hidden=[16]"])
    from bioplaus.runner import run_model

    res = run_model(cfg, tmp_path / "c", progress=lambda m: None)
    assert res.status == "ok"
    assert 0.5 < res.info["bp_test_acc"] <= 1 and 0.5 < res.info["fa_test_acc"] <= 1
    rows = read_csv(tmp_path / "c" / "metrics.csv")
    assert {r["rule"] for r in rows} == {"bp", "fa"} and len(rows) == 2 * 3
    with pytest.raises(ConfigError, match="params.rules"):
        load_model(MODELS / "fa_dfa_digits.toml", ['params.rules=["bp", "fax"]'])
