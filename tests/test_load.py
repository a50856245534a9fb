"""bioplaus.load on the four kinds of results directory, each made by the smallest real run; bench figures
through `bioplaus plot`; learning-curve axes that show epoch 0."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import bioplaus
from bioplaus.cli import main
from bioplaus.errors import BioplausError
from bioplaus.loader import _convert, load, numeric_value, split_unit


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """One directory of each kind, written by the CLI with the smallest settings."""
    root = tmp_path_factory.mktemp("kinds")
    d = {k: root / k for k in ("run", "compare", "sweep", "bench")}
    assert main(["run", "stdp_window", "--set", "params.n_points=5", "--out", str(d["run"]), "--quiet"]) == 0
    assert main(["compare", "--dataset", "xor", "--rules", "bp,fa", "--hidden", "4", "--epochs", "2", "--seeds", "2",
                 "--out", str(d["compare"]), "--quiet"]) == 0
    assert main(["sweep", "oja_pca", "--grid", "params.eta=5 Hz,20 Hz", "--set", "params.n_samples=150",
                 "--in-process", "--out", str(d["sweep"]), "--quiet"]) == 0
    assert main(["bench", "--networks", "coba", "--backends", "numpy", "--sizes", "100", "--duration", "10ms",
                 "--repeat", "1", "--no-handwritten", "--out", str(d["bench"]), "--quiet"]) == 0
    return d


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_kinds_are_recognised(dirs):
    for kind, path in dirs.items():
        r = bioplaus.load(path)
        assert r.kind == kind, (kind, r)
    assert bioplaus.load(dirs["sweep"] / "points" / load(dirs["sweep"]).points[0]).kind == "run"


def test_run_metrics_arrays_config_provenance(dirs):
    r = load(dirs["run"])
    rows = _csv_rows(dirs["run"] / "metrics.csv")
    assert len(r.metrics) == len(rows) == 4  # 5 points, the coincident pairing left out
    assert np.allclose(r.metrics["dw"], [float(x["dw"]) for x in rows])
    assert r.metrics["delta_t_ms"].dtype.kind == "f"  # numbers, not text
    assert r.arrays._cache == {}                      # nothing read before it is asked for
    with np.load(dirs["run"] / "arrays.npz") as z:
        assert set(r.arrays) == set(z.files)
        assert np.array_equal(r.arrays["dw"], z["dw"])
    assert list(r.arrays._cache) == ["dw"]            # only that one
    assert r.config["params"]["n_points"] == 5 and r.config["experiment"] == "stdp_window"
    assert r.provenance["experiment"] == "stdp_window" and r.status == "ok"
    assert "stdp_window" in r.summary and r.figures
    with pytest.raises(KeyError, match="delta_t_ms"):
        r.arrays["nope"]


def test_compare_metrics_carry_units_and_weights(dirs):
    r = load(dirs["compare"])
    m = r.metrics
    assert len(m) == 2 * 2 * 3  # rules x seeds x (epochs + untrained epoch 0)
    assert "angle_update_l1_deg" in m and "angle_update_l1" not in m and "wall_time_s" in m
    assert m.groupby("rule").size().to_dict() == {"bp": 6, "fa": 6}
    raw = _csv_rows(dirs["compare"] / "metrics.csv")
    assert np.allclose(m["test_loss"], [float(x["test_loss"]) for x in raw])
    assert r.arrays["fa/seed1/W1"].shape == (4, 2)  # hidden x inputs
    assert r.config["compare"]["rules"] == ["bp", "fa"]


def test_sweep_table_joins_swept_values_as_numbers_with_units(dirs):
    r = load(dirs["sweep"])
    m = r.metrics
    assert r.swept == {"params.eta": "params.eta_Hz"}
    assert m["params.eta_Hz"].tolist() == [5.0, 20.0] and m["params.eta_Hz"].dtype == float
    assert "params.eta" not in m
    assert (m["status"] == "ok").all() and m["seed"].dtype.kind == "i"
    # each row's metric is the one its point recorded
    for k, pid in enumerate(r.points):
        assert m["cos_pc1"][k] == pytest.approx(load(dirs["sweep"] / "points" / pid).provenance["cos_pc1"])
    pm = r.point_metrics()
    assert set(pm["params.eta_Hz"]) == {5.0, 20.0} and "t_s" in pm
    assert r.config["grid"]["params.eta"] == ["5 Hz", "20 Hz"]
    assert numeric_value(r.point(1).config["params"]["eta"]) == (20.0, "Hz")


def test_bench_metrics_and_figure(dirs, capsys):
    r = load(dirs["bench"])
    assert r.metrics["network"].tolist() == ["coba"] and r.metrics["run_per_sim_s"].iloc[0] > 0
    assert r.config["networks"] == ["coba"] or "coba" in str(r.config["networks"])
    assert main(["plot", str(dirs["bench"])]) == 0
    png = dirs["bench"] / "figures" / "bench.png"
    assert png.is_file() and png.stat().st_size > 5000
    assert str(png) in capsys.readouterr().out


def test_units_and_values():
    assert split_unit("params.tau_plus_ms") == ("params.tau_plus", "ms")
    assert split_unit("wall_time_s") == ("wall_time", "s")
    assert split_unit("cos_pc1") == ("cos_pc1", "")
    assert numeric_value("20 ms") == (20.0, "ms") and numeric_value("stdp") == (None, "stdp")
    nums, unit = _convert(["500 us", "2 ms"])  # mixed units of one dimension: in the first one's unit
    assert unit == "us" and nums == pytest.approx([500.0, 2000.0])
    assert _convert(["pair", "triplet"]) == (None, "")


def test_not_a_results_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BioplausError, match="notes.txt"):
        load(tmp_path)
    with pytest.raises(BioplausError, match="does not exist"):
        load(tmp_path / "missing")


def test_arrays_are_never_unpickled(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    (d / "provenance.json").write_text(json.dumps({"experiment": "x"}))
    np.savez(d / "arrays.npz", ok=np.arange(3), obj=np.array([{"a": 1}], dtype=object))
    r = load(d)
    assert r.arrays["ok"].tolist() == [0, 1, 2]
    with pytest.raises(BioplausError, match="unpickling"):
        r.arrays["obj"]


def test_learning_curve_axes_show_epoch_0():
    from bioplaus.plots import plot_learning_curves

    rows = []
    for rule, final in (("bp", 0.97), ("fa", 0.95)):
        for seed in (0, 1):
            for ep in range(8):
                acc = 0.1 if ep == 0 else final - 0.05 / ep
                rows.append(dict(rule=rule, seed=seed, epoch=ep, test_acc=acc, train_loss=2.3 / (ep + 1),
                                 test_loss=2.3 / (ep + 1)))
    fig = plot_learning_curves(rows)
    acc_ax, loss_ax = fig.axes[0], fig.axes[1]
    assert acc_ax.get_ylim()[0] <= 0.1       # the untrained network's accuracy is on the axis
    assert acc_ax.get_xlim()[0] == 0 and loss_ax.get_xlim()[0] == 0
    inset = [a for a in acc_ax.child_axes if a.get_title() == "epochs 1 and later"]
    assert inset and inset[0].get_ylim()[0] > 0.5  # the zoom tells the trained rules apart
