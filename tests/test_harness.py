"""The comparison harness end to end: files, determinism, divergence, interruption, CLI."""
import doctest
import json
import math
import tomllib

import numpy as np
import pytest

from bioplaus import harness as harness_mod
from bioplaus import metrics as metrics_mod
from bioplaus.cli import main
from bioplaus.errors import ConfigError
from bioplaus.harness import CompareConfig, compare
from bioplaus.metrics import metric_columns, summarize
from bioplaus.plots import plot_alignment, plot_learning_curves
from bioplaus.results import read_csv

TINY = dict(hidden=(16,), epochs=2, seeds=2, batch_size=32)


def _strip_time(rows):
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]


def _same(a, b):
    return all(x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a.values(), b.values()))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "run"
    cfg = CompareConfig(rules=("bp", "fa", "dfa", "sign", "hebbian"), out=str(out),
                        rule_params={"hebbian": {"hebb_passes": 1}}, **TINY)
    return compare(cfg, progress=False), out


def test_writes_every_file(tiny_run):
    res, out = tiny_run
    for name in ("config.toml", "metrics.csv", "summary.md", "arrays.npz", "provenance.json",
                 "figures/learning_curves.png", "figures/alignment.png"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0
    assert (out / "figures/alignment.png").read_bytes()[:4] == b"\x89PNG"
    rows = read_csv(out / "metrics.csv")
    assert list(rows[0]) == metric_columns(1) == [
        "rule", "seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "wall_time_s",
        "angle_update_l1", "angle_weights_l1", "angle_signal_l1", "status"]
    assert len(rows) == 5 * 2 * 3  # rules x seeds x (epochs + 1)
    assert {r["status"] for r in rows} == {"ok"}
    cfg = tomllib.loads((out / "config.toml").read_text())["compare"]
    assert cfg["lr"] == {"bp": 0.1, "fa": 0.05, "dfa": 0.05, "sign": 0.05, "hebbian": 0.02}
    assert cfg["loss"] == "cross_entropy" and cfg["hidden"] == [16] and cfg["rule_params"]["hebbian"]["hebb_passes"] == 1
    summary = (out / "summary.md").read_text()
    assert "| rule | test acc (mean ± std) | gap to BP |" in summary and "| hebbian |" in summary
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["dataset"] == "digits" and "numpy" in prov
    with np.load(out / "arrays.npz") as f:
        assert {"bp/seed0/W1", "fa/seed1/W2", "hebbian/seed1/W1"} <= set(f.files)
        assert f["bp/seed0/W1"].shape == (16, 64)


def test_rows_angles_and_summary(tiny_run):
    res, out = tiny_run
    s = {x.rule: x for x in res.summary}
    assert s["bp"].angle_update[0] == pytest.approx(0, abs=1e-4) and s["bp"].gap_to_bp == 0
    assert 0 < s["fa"].angle_weights[0] < 90 and 0 < s["sign"].angle_update[0] < 90
    assert math.isnan(s["hebbian"].angle_update[0])
    for rule in ("bp", "fa", "dfa", "sign", "hebbian"):
        assert s[rule].test_acc[0] > (0.3 if rule == "hebbian" else 0.6) and s[rule].n_ok == 2  # chance: 0.1
    # same initial forward network per seed for every error-routing rule: identical epoch-0 rows
    e0 = {r["rule"]: r for r in res.rows if r["epoch"] == 0 and r["seed"] == 1}
    assert e0["bp"]["train_loss"] == e0["fa"]["train_loss"] == e0["dfa"]["train_loss"] == e0["sign"]["train_loss"]
    assert res.curve("fa", "test_acc").shape == (2, 3)
    # the summary from the CSV (strings) equals the in-memory one
    again = summarize(read_csv(out / "metrics.csv"))
    assert len(again) == len(res.summary)
    assert all(_same(x.as_dict(), y.as_dict()) for x, y in zip(again, res.summary))


def test_same_seed_same_metrics_other_seed_differs(tmp_path):
    cfg = CompareConfig(rules=("fa", "bp"), out=str(tmp_path / "a"), **TINY)
    a = compare(cfg, progress=False)
    # the resolved config.toml of a results directory reproduces the run
    again = CompareConfig.from_toml(tmp_path / "a" / "config.toml", out=str(tmp_path / "b"))
    b = compare(again, progress=False)
    assert _strip_time(a.rows) == _strip_time(b.rows)
    c = compare(CompareConfig(rules=("fa", "bp"), seed=1, **TINY), progress=False)
    assert _strip_time(a.rows) != _strip_time(c.rows)
    # the rule order does not change a rule's numbers
    d = compare(CompareConfig(rules=("bp", "fa"), **TINY), progress=False)
    key = lambda r: (r["rule"], r["seed"], r["epoch"])  # noqa: E731
    assert sorted(_strip_time(a.rows), key=key) == sorted(_strip_time(d.rows), key=key)


def test_a_diverging_rule_is_stopped_and_the_others_finish(tmp_path):
    cfg = CompareConfig(rules=("bp", "fa"), lr={"bp": 1e7}, out=str(tmp_path / "div"), **TINY)
    res = compare(cfg, progress=False)
    bp = [r for r in res.rows if r["rule"] == "bp"]
    assert [r["epoch"] for r in bp if r["seed"] == 0] == [0, 1]
    assert bp[-1]["status"] == "diverged at epoch 1"
    assert res.summary_of("bp").status == "diverged at epoch 1 (2/2 seeds)"
    assert res.summary_of("fa").status == "ok" and res.summary_of("fa").test_acc[0] > 0.5
    assert "diverged at epoch 1" in (tmp_path / "div" / "summary.md").read_text()
    assert len(read_csv(tmp_path / "div" / "metrics.csv")) == 2 * 2 + 2 * 3


def test_an_interrupted_run_keeps_what_finished(tmp_path):
    out = tmp_path / "int"
    runs = []

    def progress(event):
        if event["kind"] == "run":
            runs.append(event)
            if len(runs) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare(CompareConfig(rules=("bp", "fa", "sign"), out=str(out), **TINY), progress=progress)
    rows = read_csv(out / "metrics.csv")
    assert {r["rule"] for r in rows} == {"bp"}  # the first finished run; the second was cut before writing
    assert (out / "summary.md").is_file() and "interrupted" in (out / "summary.md").read_text()


def test_progress_lines_on_stderr(capsys):
    compare(CompareConfig(rules=("bp",), hidden=(8,), epochs=1, seeds=1), progress=True)
    err = capsys.readouterr().err
    assert "[1/1] bp seed 0: test_acc" in err and "s/epoch" in err


def test_regression_and_two_hidden_layers(tmp_path):
    res = compare(CompareConfig(dataset="teacher", rules=("bp", "dfa"), hidden=(12, 8), epochs=2, seeds=1,
                                out=str(tmp_path / "reg")), progress=False)
    assert res.regression and res.loss == "mse"
    assert "angle_update_l2" in res.rows[0] and "angle_weights_l2" in res.rows[0]
    assert math.isnan(res.rows[-1]["test_acc"]) and res.rows[-1]["test_loss"] < res.rows[0]["test_loss"]
    assert "test MSE" in (tmp_path / "reg" / "summary.md").read_text()
    dfa = [r for r in res.rows if r["rule"] == "dfa"][-1]
    assert 0 < dfa["angle_weights_l1"] < 180 and 0 < dfa["angle_update_l2"] < 180
    with pytest.raises(ConfigError, match="compare.loss"):
        compare(CompareConfig(dataset="teacher", loss="cross_entropy", rules=("bp",), epochs=1, seeds=1),
                progress=False)


@pytest.mark.parametrize("kwargs,key", [
    (dict(rules="bp,fx"), "compare.rules"),
    (dict(rules=()), "compare.rules"),
    (dict(rules=("bp", "bp")), "compare.rules"),
    (dict(hidden=(16, 0)), "compare.hidden"),
    (dict(hidden="a,b"), "compare.hidden"),
    (dict(epochs=0), "compare.epochs"),
    (dict(batch_size=2.5), "compare.batch_size"),
    (dict(lr=-0.1), "compare.lr"),
    (dict(lr={"bp": 0.1, "fq": 0.1}), "compare.lr.fq"),
    (dict(momentum=1.0), "compare.momentum"),
    (dict(activation="tanhh"), "compare.activation"),
    (dict(loss="hinge"), "compare.loss"),
    (dict(seeds=0), "compare.seeds"),
    (dict(seed=-1), "compare.seed"),
    (dict(dataset="mnst"), "compare.dataset"),
    (dict(rule_params={"fa": {"feedback_scale": -1}}), "FA.feedback_scale"),
    (dict(rule_params={"dfa": {}}, rules=("bp",)), "compare.rule_params.dfa"),
])
def test_config_errors_name_the_field(kwargs, key):
    with pytest.raises(ConfigError) as info:
        CompareConfig(**kwargs)
    assert info.value.key_path == key


def test_config_normalises_its_inputs():
    c = CompareConfig(rules="bp, fa", hidden="32,16", lr={"fa": 0.2}, loss="ce")
    assert c.rules == ("bp", "fa") and c.hidden == (32, 16) and c.loss == "cross_entropy"
    rules = c.make_rules()
    assert c.lr_for(rules[0]) == 0.1 and c.lr_for(rules[1]) == 0.2
    assert CompareConfig(hidden=64).hidden == (64,)
    with pytest.raises(ConfigError, match="did you mean 'sign'"):
        CompareConfig(rules=("sgn",))


def test_plots_accept_rows_read_back_from_csv(tiny_run):
    _, out = tiny_run
    rows = read_csv(out / "metrics.csv")
    for fig in (plot_learning_curves(rows, loss="cross_entropy"), plot_alignment(rows)):
        assert fig._suptitle.get_text()
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() == "epoch" and (ax.get_legend() is not None or fig.legends)
        assert "degrees" in fig.axes[0].get_ylabel() or "accuracy" in fig.axes[0].get_ylabel()


# ---------------------------------------------------------------------- CLI
def test_cli_compare_writes_results_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["compare", "--rules", "bp,fa", "--hidden", "8,8", "--epochs", "1", "--seeds", "1",
               "--lr", "bp=0.05", "--batch-size", "64", "--out", str(out), "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("| rule |") and "| fa |" in stdout
    cfg = tomllib.loads((out / "config.toml").read_text())["compare"]
    assert cfg["hidden"] == [8, 8] and cfg["lr"]["bp"] == 0.05 and cfg["batch_size"] == 64


def test_cli_reads_a_toml_config_and_flags_override_it(tmp_path, capsys):
    path = tmp_path / "cmp.toml"
    path.write_text('[compare]\nrules = ["bp", "sign"]\nhidden = [8]\nepochs = 3\nseeds = 1\n'
                    '[compare.lr]\nsign = 0.01\n')
    out = tmp_path / "from-toml"
    assert main(["compare", "--config", str(path), "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    cfg = tomllib.loads((out / "config.toml").read_text())["compare"]
    assert cfg["rules"] == ["bp", "sign"] and cfg["epochs"] == 1 and cfg["lr"]["sign"] == 0.01
    capsys.readouterr()
    path.write_text("[compare]\nrules = [\"bp\"]\nepochz = 3\n")
    assert main(["compare", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(path) in err and "compare.epochz" in err and "did you mean 'epochs'" in err


@pytest.mark.parametrize("argv,needle", [
    (["--rules", "bp,fx"], "compare.rules = 'fx'"),
    (["--dataset", "digts"], "did you mean 'digits'"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent-dir"], "train-images-idx3-ubyte"),
    (["--hidden", "0"], "compare.hidden"),
    (["--lr", "fa=-1"], "compare.lr.fa"),
    (["--config", "/nonexistent.toml"], "an existing TOML file"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, needle):
    rc = main(["compare", "--epochs", "1", "--seeds", "1", "--hidden", "4", "--out", str(tmp_path / "x"), *argv])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bioplaus: error:") and err.count("\n") == 0 and needle in err


def test_doctests():
    for mod in (metrics_mod, harness_mod):
        assert doctest.testmod(mod).failed == 0
