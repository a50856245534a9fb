"""Malformed input, tried deliberately through the CLI: one clear line, exit code 2, nothing half-written.

Each case names what it breaks; the message must carry the offending key path (or file)
and value, and the results directory must not be left with partial output.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from bioplaus.cli import main
from bioplaus.data import write_idx
from bioplaus.errors import ConfigError

MODELS = Path(__file__).resolve().parent.parent / "models"
OJA = str(MODELS / "oja_pca.toml")
WINDOW = str(MODELS / "stdp_window.toml")


def _cli(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return rc, (err[-1] if err else "")


def _mnist_dir(tmp_path: Path, n=30, bad: str | None = None) -> Path:
    d = tmp_path / "mnist"
    d.mkdir()
    rng = np.random.default_rng(0)
    for split, m in (("train", n), ("t10k", n // 2)):
        x = rng.integers(0, 256, size=(m, 28, 28), dtype=np.uint8)
        y = np.tile(np.arange(10, dtype=np.uint8), m // 10 + 1)[:m]
        if bad == "labels" and split == "train":
            y[3] = 12
        write_idx(d / f"{split}-images-idx3-ubyte", x)
        write_idx(d / f"{split}-labels-idx1-ubyte", y)
    return d


# --------------------------------------------------------------------------- model files and overrides
@pytest.mark.parametrize("text, fragments", [
    ('experiment = "oja"\n[params\n', ["valid TOML"]),
    ('experiment = "oja"\n[params]\ndimz = 3\n', ["params.dimz", "did you mean 'dims'"]),
    ('experiment = "oja"\n[params]\ndims = "three"\n', ["params.dims", "'three'", "integer"]),
    ('experiment = "oja"\n[params]\neta = 10\n', ["params.eta", "no unit"]),
    ('experiment = "oja"\n[params]\neta = "10 mV"\n', ["params.eta", "Hz"]),
    ('experiment = "oja"\n[params]\npresent = "0 ms"\n', ["params.present", "positive"]),
    ('experiment = "oja"\n[params]\nn_samples = -5\n', ["params.n_samples", ">= 1"]),
    ('experiment = "oja"\nbackend = "gpu"\n', ["backend", "'gpu'"]),
    ('experiment = "stdp_competition"\n[params]\ncorrelated_fraction = 1.5\n', ["params.correlated_fraction", "[0.0, 1.0]"]),
])
def test_bad_model_file(tmp_path, capsys, text, fragments):
    model = tmp_path / "bad.toml"
    model.write_text(text)
    out = tmp_path / "res"
    rc, line = _cli(capsys, "run", str(model), "--out", str(out))
    assert rc == 2
    assert line.startswith("bioplaus: error: ") and str(model) in line
    for f in fragments:
        assert f in line, line
    assert not out.exists()


@pytest.mark.parametrize("override, fragment", [
    ("params.eta=__import__('os').getcwd()", "params.eta"),   # data, never evaluated
    ("params.dims=[1, 2]", "params.dims"),
    ("nonsense", "key.path=value"),
])
def test_bad_overrides(tmp_path, capsys, override, fragment):
    rc, line = _cli(capsys, "run", OJA, "--set", override, "--out", str(tmp_path / "r"))
    assert rc == 2 and fragment in line
    assert not (tmp_path / "r").exists()


def test_results_directory_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    rc, line = _cli(capsys, "run", WINDOW, "--set", "params.n_points=5", "--out", str(blocker / "res"))
    assert rc == 2 and "cannot be created" in line and str(blocker / "res") in line


# --------------------------------------------------------------------------- data
def test_dataset_directory_without_files(tmp_path, capsys):
    rc, line = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(tmp_path), "--rules", "bp",
                    "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "o"), "--quiet")
    assert rc == 2 and "train-images-idx3-ubyte" in line and str(tmp_path) in line


def test_corrupt_idx_and_truncated_gzip(tmp_path, capsys):
    d = _mnist_dir(tmp_path)
    (d / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")  # header cut short
    rc, line = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(d), "--rules", "bp",
                    "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "o"), "--quiet")
    assert rc == 2 and "train-images-idx3-ubyte" in line
    (d / "train-images-idx3-ubyte").unlink()
    (d / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 7)[:-6])
    rc, line = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(d), "--rules", "bp",
                    "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "o2"), "--quiet")
    assert rc == 2 and "train-images-idx3-ubyte" in line


def test_labels_out_of_range(tmp_path, capsys):
    d = _mnist_dir(tmp_path, bad="labels")
    rc, line = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(d), "--rules", "bp",
                    "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "o"), "--quiet")
    assert rc == 2 and "12" in line and "label" in line.lower()


def test_nan_in_npz_data(tmp_path, capsys):
    d = tmp_path / "npz"
    d.mkdir()
    x = np.random.default_rng(0).random((20, 784))
    x[5, 7] = np.nan
    np.savez(d / "mnist.npz", x_train=x, y_train=np.arange(20) % 10, x_test=x[:10], y_test=np.arange(10))
    rc, line = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(d), "--rules", "bp",
                    "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "o"), "--quiet")
    assert rc == 2 and ("nan" in line.lower() or "finite" in line.lower())


# --------------------------------------------------------------------------- sweeps
def test_sweep_value_that_does_not_parse(tmp_path, capsys):
    rc, line = _cli(capsys, "sweep", WINDOW, "--grid", "params.n_points=5,lots", "--out", str(tmp_path / "s"))
    assert rc == 2 and "params.n_points" in line and "lots" in line
    assert not (tmp_path / "s" / "results.csv").exists()


def test_sweep_resume_pointed_at_a_different_model(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", WINDOW, "--grid", "params.n_points=5,7", "--in-process", "--out", str(out)]) == 0
    before = (out / "results.csv").read_bytes()
    rc, line = _cli(capsys, "sweep", OJA, "--grid", "params.dims=2,3", "--resume", "--out", str(out))
    assert rc == 2 and "resume" in line.lower()
    assert (out / "results.csv").read_bytes() == before  # finished results untouched


# --------------------------------------------------------------------------- networks (Python API)
def test_network_level_mistakes_are_named_before_building():
    from bioplaus import LIF, NetworkSpec, PoissonInput, Population, Projection

    with pytest.raises(ConfigError, match=r"populations.out.size = 0"):
        Population("out", LIF(), 0)
    with pytest.raises(ConfigError, match=r"projections.ff.connectivity = 1.5"):
        Projection("ff", "inp", "out", connectivity=1.5)
    with pytest.raises(ConfigError, match=r"LIF.tau_e = '-5 ms'"):
        LIF(tau_e="-5 ms")
    with pytest.raises(ConfigError, match=r"backend = 'gpu'"):
        from bioplaus.backends import check_backend
        check_backend("gpu")
    with pytest.raises(ConfigError, match="weight_scale"):
        NetworkSpec([Population("inp", PoissonInput(), 3), Population("out", LIF(), 2)],
                    [Projection("ff", "inp", "out", weight_scale="1 nS")])  # nS into a current-based LIF
