"""The papers' protocols in the numpy harness, and Lillicrap et al.'s (2016) alignment measure."""
import math
from pathlib import Path

import numpy as np
import pytest

from bioplaus.harness import CompareConfig, _signal_angles, compare
from bioplaus.metrics import angle_deg, signal_angle_deg
from bioplaus.reference.credit import TrainSettings, make_credit_rule
from bioplaus.reference.mlp import MLP


def test_signal_angle_is_a_mean_over_samples_not_the_angle_of_the_batch():
    a = np.array([[1.0, 0.0], [0.0, 100.0]])
    b = np.array([[0.0, 1.0], [0.0, 100.0]])
    # per sample: 90 and 0 degrees; the flattened batch is dominated by the large second row
    assert signal_angle_deg(a, b) == pytest.approx(45.0)
    assert angle_deg(a, b) < 1.0
    # a vanishing sample has no direction and is left out
    assert signal_angle_deg(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])) == 0.0
    assert math.isnan(signal_angle_deg(np.zeros((2, 2)), np.ones((2, 2))))
    with pytest.raises(ValueError, match="shape"):
        signal_angle_deg(np.ones((2, 3)), np.ones((3, 2)))


def test_signal_angle_of_fa_recomputed_by_hand():
    rng = np.random.default_rng(0)
    net = MLP.random((6, 5, 3), "tanh", "cross_entropy", rng)
    x, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    fa = make_credit_rule("fa").learner()
    fa.init(net, np.random.default_rng(1), TrainSettings(lr=0.05))
    B = fa.feedback[0]  # (5, 3): carries the output error to the hidden layer
    fp = net.forward(x)
    e = net.output_error(fp.z, y)
    fprime = net.derivative(fp.h[1])
    d_fa, d_bp = (e @ B.T) * fprime, (e @ net.weights[1]) * fprime
    want = np.mean([angle_deg(d_fa[n], d_bp[n]) for n in range(40)])
    (got,) = _signal_angles(fa, x, y, 1)
    assert got == pytest.approx(want, abs=1e-8) and 30 < got < 150
    bp = make_credit_rule("bp").learner()
    bp.init(net, np.random.default_rng(1), TrainSettings(lr=0.1))
    assert _signal_angles(bp, x, y, 1) == (0.0,)
    # FA whose feedback is the transposed forward matrix is backprop: angle 0
    fa.feedback = [net.weights[1].T.copy()]
    assert _signal_angles(fa, x, y, 1)[0] == pytest.approx(0.0, abs=1e-6)


def test_harness_records_the_signal_angle_beside_the_update_angle():
    res = compare(CompareConfig(rules=("bp", "fa", "hebbian"), hidden=(32,), epochs=2, seeds=1), progress=False)
    last = {r["rule"]: r for r in res.rows if r["epoch"] == 2}
    assert last["bp"]["angle_signal_l1"] == 0.0
    assert 0 < last["fa"]["angle_signal_l1"] < 90 and 0 < last["fa"]["angle_update_l1"] < 90
    assert math.isnan(last["hebbian"]["angle_signal_l1"])
    s = {x.rule: x for x in res.summary}
    assert s["fa"].angle_signal[0] == last["fa"]["angle_signal_l1"]
    assert "∠ signal L1 (°)" in res.markdown()


# ---------------------------------------------------------------------- the papers' protocols
from bioplaus.cli import main  # noqa: E402
from bioplaus.errors import ConfigError  # noqa: E402
from bioplaus.experiments.papers import PAPERS  # noqa: E402
from bioplaus.results import read_csv  # noqa: E402

# The papers' numbers (test error in %, permutation-invariant MNIST), restated from the papers:
DOCUMENTED = {
    # Lillicrap, Cownden, Tweed & Akerman 2016, Nat. Commun. 7:13276, Fig. 2a (784-1000-10)
    "lillicrap2016": {("bp", "test_error"): 2.4, ("fa", "test_error"): 2.1, ("fa", "signal_angle"): 90.0},
    # Nøkland 2016, NeurIPS, Table 1, row 7x240 tanh
    "nokland2016": {("bp", "test_error"): 2.16, ("fa", "test_error"): 2.20, ("dfa", "test_error"): 2.32},
    # Hinton 2022, arXiv:2212.13345, section 3.3 (4 x 2000 ReLU, 60 epochs)
    "hinton2022": {("bp", "test_error"): 1.4, ("ff", "test_error"): 1.36},
    # Krotov & Hopfield 2019, PNAS 116:7723 (2000 hidden units)
    "krotov2019": {("bp", "test_error"): 1.5, ("hebbian", "test_error"): 1.46},
}
ARCHITECTURE = {"lillicrap2016": ((1000,), "tanh"), "nokland2016": ((240,) * 7, "tanh"),
                "hinton2022": ((2000,) * 4, "relu"), "krotov2019": ((2000,), "relu")}


def test_paper_values_are_the_documented_ones():
    assert set(PAPERS) == set(DOCUMENTED)
    for key, want in DOCUMENTED.items():
        got = {(v.rule, v.metric): v.value for v in PAPERS[key].values}
        assert got == want, key
        assert all(v.where for v in PAPERS[key].values)
        assert (PAPERS[key].hidden, PAPERS[key].activation) == ARCHITECTURE[key]


def _table(summary: str):
    lines = [l for l in summary.splitlines() if l.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    end = next((i for i, l in enumerate(lines[1:], 1) if l.startswith("| rule ")), len(lines))
    return head, [[c.strip() for c in l.strip("|").split("|")] for l in lines[1:end]]


#: the shipped paper model files (each run below, shortened)
PAPER_MODELS = ("paper_hinton2022", "paper_krotov2019", "paper_lillicrap2016", "paper_nokland2016")


def test_every_documented_paper_has_its_model_file():
    assert sorted(f"paper_{k}" for k in DOCUMENTED) == list(PAPER_MODELS)
    assert all((Path(__file__).resolve().parent.parent / "models" / f"{m}.toml").exists() for m in PAPER_MODELS)


@pytest.mark.parametrize("key", sorted(DOCUMENTED))
def test_model_file_shortened_prints_paper_beside_bioplaus(key, tmp_path, capsys):
    pytest.importorskip("mlxtend")
    small = {"nokland2016": "[8, 8]", "hinton2022": "[16, 16]"}.get(key, "[16]")
    out = tmp_path / key
    rc = main(["run", f"models/paper_{key}.toml", "--set", "params.epochs=1", "--set", "params.seeds=1",
               "--set", f"params.hidden={small}", "--out", str(out), "--quiet"])
    assert rc == 0
    head, rows = _table((out / "summary.md").read_text())
    assert head == ["result", "paper", "bioplaus", "gap", "seeds", "data", "source"]
    assert len(rows) == len(DOCUMENTED[key])
    for (rule, metric), value in DOCUMENTED[key].items():
        row = next(r for r in rows if r[0].lower().startswith(rule) and
                   ("error" in r[0]) == (metric == "test_error"))
        assert row[1] == (f"{value:.2f}" if metric == "test_error" else f"< {value:g}")
        assert row[4] == "1/1" and "mnist-subset 4000/1000" in row[5] and "1 epochs" in row[5]
        assert row[6].startswith(key + ":")
        if row[2] != "—":
            ours = float(row[2].split("±")[0])
            assert float(row[3]) == pytest.approx(ours - value, abs=0.06)
            if metric == "test_error":  # = 100 (1 - accuracy) of the rule's last epoch in metrics.csv
                acc = [float(r["test_acc"]) for r in read_csv(out / "metrics.csv") if r["rule"] == rule][-1]
                assert ours == pytest.approx(100 * (1 - acc), abs=0.006)


def test_unknown_paper_is_refused_with_a_suggestion(tmp_path):
    from bioplaus.experiments.papers import PaperProtocol

    with pytest.raises(ConfigError, match="did you mean 'hinton2022'"):
        PaperProtocol.Params(paper="hinton2023")
