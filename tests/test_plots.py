"""Figures: every plot renders with Agg from small synthetic inputs into a non-blank PNG with a
title and axis labels; ``bioplaus plot`` draws the figures that fit each kind of results
directory, writes only figures, and refuses a directory that is not a bioplaus result."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from bioplaus import plots as P
from bioplaus.cli import main
from bioplaus.results import write_csv, write_json, write_npz

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- checks

def check_png(path: Path, min_std: float = 0.03) -> None:
    """A written, decodable, non-blank image."""
    assert path.is_file() and path.stat().st_size > 5000, path
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200, img.shape
    assert float(img[..., :3].std()) > min_std, f"{path.name} looks blank"


def check_labels(fig) -> None:
    """A title (axes or figure), and x and y labels on some axes (or the figure)."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    sup = fig._suptitle.get_text() if fig._suptitle is not None else ""
    assert sup or any(ax.get_title() for ax in axes), "no title"
    supx = fig._supxlabel.get_text() if getattr(fig, "_supxlabel", None) is not None else ""
    supy = fig._supylabel.get_text() if getattr(fig, "_supylabel", None) is not None else ""
    assert supx or any(ax.get_xlabel() for ax in axes), "no x label"
    assert supy or any(ax.get_ylabel() for ax in axes), "no y label"


def render(fig, tmp_path: Path, name: str) -> Path:
    check_labels(fig)
    path = P.save_figure(fig, tmp_path / f"{name}.png", dpi=80)
    check_png(path)
    return path


# --------------------------------------------------------------------------- synthetic inputs

def spikes(rng, n=40, rate=20.0, T=0.5, name="exc"):
    k = rng.poisson(rate * T * n)
    return {f"{name}.spikes.t": np.sort(rng.uniform(0, T, k)), f"{name}.spikes.i": rng.integers(0, n, k)}


def harness_rows(rng, rules=("bp", "fa", "dfa"), seeds=2, epochs=4, layers=2):
    rows = []
    for rule in rules:
        for s in range(seeds):
            for e in range(epochs + 1):
                r = dict(rule=rule, seed=s, epoch=e, train_loss=2.3 * np.exp(-e) + 0.05 * rng.random(),
                         train_acc=1 - np.exp(-e), test_loss=2.3 * np.exp(-e) + 0.1,
                         test_acc=0.1 + 0.8 * (1 - np.exp(-e)) - 0.02 * s, wall_time_s=0.01, status="ok")
                for l in range(1, layers + 1):
                    r[f"angle_update_l{l}"] = 0.0 if rule == "bp" else 90 - 10 * e + rng.random()
                    r[f"angle_weights_l{l}"] = 0.0 if rule == "bp" else 90 - 8 * e
                rows.append(r)
    return rows


def sweep_rows(two_keys=True):
    rows = []
    i = 0
    for a in ("0.005", "0.01", "0.02"):
        for tau in (['"10 ms"', '"20 ms"'] if two_keys else [None]):
            for seed in (0, 1):
                r = {"point": f"p{i:04d}", "index": i, "params.A_plus": a}
                if tau:
                    r["params.tau_plus"] = tau
                tv = float(tau.strip('"').split()[0]) if tau else 10.0
                r.update(seed=seed, status="ok", mode="run", wall_time_s=0.5,
                         max_rel_error=float(a) * tv * (1 + 0.1 * seed), n_points=9, error="")
                rows.append(r)
                i += 1
    return rows


def _figures(rng):
    dts = np.linspace(-100, 100, 11)
    dts = dts[dts != 0]
    an = np.where(dts > 0, 0.01 * np.exp(-dts / 20), -0.0105 * np.exp(dts / 20))
    t = np.arange(0, 0.1, 1e-4)
    wt = np.clip(0.5 + np.cumsum(rng.normal(scale=0.03, size=(200, 30)), axis=1), 0, 1)
    y = rng.integers(0, 10, 300)
    yp = np.where(rng.random(300) < 0.7, y, rng.integers(0, 10, 300))
    rows = harness_rows(rng)
    return {
        "raster": lambda: P.plot_raster({**spikes(rng), **spikes(rng, 10, 40.0, name="inh")}),
        "raster_tuple": lambda: P.plot_raster((rng.uniform(0, 2, 300), rng.integers(0, 30, 300))),
        "membrane": lambda: P.plot_membrane({"n.state.t": t, "n.state.v": -0.07 + 0.01 * np.sin(
            np.outer(np.arange(1, 4), t) * 100)}, threshold=-0.055),
        "weight_matrix": lambda: P.plot_weight_matrix(rng.normal(size=(20, 10))),
        "receptive_fields_digits": lambda: P.plot_receptive_fields(rng.normal(size=(64, 12)), labels=list(range(12))),
        "receptive_fields_mnist": lambda: P.plot_receptive_fields(rng.random((9, 784))),
        "receptive_fields_rules": lambda: P.plot_receptive_fields({r: rng.normal(size=(16, 64)) for r in ("bp", "fa")}),
        "weight_histograms": lambda: P.plot_weight_histograms(wt, np.linspace(0, 5, 30)),
        "weight_distribution": lambda: P.plot_weight_distribution(wt[:, -1], {"a": np.arange(200) < 100,
                                                                             "b": np.arange(200) >= 100}),
        "weight_bars": lambda: P.plot_weight_bars(rng.random(12), highlight=[3], initial=0.5),
        "stdp_window": lambda: P.plot_stdp_window(dts, an * (1 + 0.05 * rng.normal(size=dts.size)), an),
        "triplet_frequency": lambda: P.plot_triplet_frequency([1, 10, 20, 40], [0.01, 0.03, 0.05, 0.08],
                                                              [-0.05, -0.04, 0.0, 0.06]),
        "oja": lambda: P.plot_oja_convergence(np.linspace(0, 3, 50), np.linspace(0.2, 1, 50),
                                              np.linspace(0.1, 1, 50)),
        "bcm": lambda: P.plot_bcm_selectivity(np.eye(3) * 2 + 0.1 * rng.random((3, 3))),
        "learning_curves": lambda: P.plot_learning_curves(rows),
        "rule_metric": lambda: P.plot_rule_metric(rows, "test_acc"),
        "alignment": lambda: P.plot_alignment(rows),
        "confusion": lambda: P.plot_confusion_matrix(y_true=y, y_pred=yp),
        "sweep_line": lambda: P.plot_sweep(sweep_rows(two_keys=False)),
        "sweep_heatmap": lambda: P.plot_sweep(sweep_rows()),
        "sweep_line_grouped": lambda: P.plot_sweep_line(sweep_rows(), "params.A_plus", "max_rel_error",
                                                        group="params.tau_plus"),
    }


NAMES = list(_figures(np.random.default_rng(0)))


@pytest.mark.parametrize("name", NAMES)
def test_plot_renders(name, tmp_path):
    fig = _figures(np.random.default_rng(1))[name]()
    render(fig, tmp_path, name)


def test_legends_where_several_series(tmp_path):
    rng = np.random.default_rng(2)
    for fig in (P.plot_learning_curves(harness_rows(rng)), P.plot_raster({**spikes(rng), **spikes(rng, name="inh")}),
                P.plot_sweep_line(sweep_rows(), "params.A_plus", "max_rel_error", group="params.tau_plus")):
        assert fig.legends or any(ax.get_legend() is not None for ax in fig.axes)


def test_sweep_units_and_seed_statistics():
    entries = P.sweep_summary(sweep_rows(), "max_rel_error", ["params.A_plus", "params.tau_plus"])
    e = next(e for e in entries if e["params.A_plus"] == "0.01" and e["params.tau_plus"] == '"20 ms"')
    assert e["n"] == 2 and e["params.tau_plus:value"] == 20.0
    assert e["mean"] == pytest.approx(0.01 * 20 * 1.05) and e["std"] == pytest.approx(np.std([0.2, 0.22], ddof=1))
    fig = P.plot_sweep_heatmap(sweep_rows(), "params.A_plus", "params.tau_plus", "max_rel_error")
    assert fig.axes[0].get_ylabel() == "tau_plus (ms)"


def test_receptive_field_orientation():
    W = np.arange(64 * 5, dtype=float).reshape(64, 5)  # Brian2 layout: inputs x neurons
    fig = P.plot_receptive_fields(W)
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (8, 8) and np.array_equal(np.asarray(img).ravel(), W[:, 0])
    fig = P.plot_receptive_fields(W.T, layout="out_in")
    assert np.array_equal(np.asarray(fig.axes[1].images[0].get_array()).ravel(), W[:, 1])


def test_bad_inputs_name_what_is_expected():
    from bioplaus.errors import BioplausError

    with pytest.raises(BioplausError, match="not a square image"):
        P.plot_receptive_fields(np.zeros((10, 3)))
    with pytest.raises(BioplausError, match="spikes.t"):
        P.plot_raster({"w.w": np.zeros(3)})
    with pytest.raises(BioplausError, match="2 labels but 3 predictions"):
        P.confusion_matrix([0, 1], [0, 1, 1])


# --------------------------------------------------------------------------- bioplaus plot

def snapshot(d: Path) -> dict[str, str]:
    """Digest of every file outside figures/."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and p.relative_to(d).parts[0] != "figures"}


def plot_cli(d: Path, capsys, *extra) -> list[Path]:
    before = snapshot(d)
    assert main(["plot", str(d), *extra]) == 0
    out = capsys.readouterr().out.split()
    assert snapshot(d) == before  # nothing but figures written
    paths = [Path(p) for p in out]
    for p in paths:
        assert p.suffix == ".png"
        check_png(p)
    return paths


def test_plot_compare_dir(tmp_path, capsys):
    d = tmp_path / "cmp"
    assert main(["compare", "--rules", "bp,fa", "--hidden", "12", "--epochs", "2", "--seeds", "2",
                 "--out", str(d), "--quiet"]) == 0
    for f in (d / "figures").iterdir():
        f.unlink()
    capsys.readouterr()
    paths = plot_cli(d, capsys)
    assert {p.name for p in paths} == {"learning_curves.png", "alignment.png", "receptive_fields.png"}
    assert all(p.parent == d / "figures" for p in paths)
    other = plot_cli(d, capsys, "--out", str(tmp_path / "elsewhere"))
    assert {p.parent for p in other} == {tmp_path / "elsewhere"}


def test_plot_stdp_window_run(tmp_path, capsys):
    d = tmp_path / "window"
    assert main(["run", str(REPO / "models" / "stdp_window.toml"), "--set", "params.n_points=9",
                 "--out", str(d)]) == 0
    (d / "figures" / "stdp_window.png").unlink()
    capsys.readouterr()
    paths = plot_cli(d, capsys)
    assert [p.name for p in paths] == ["stdp_window.png"]


def _experiment_dir(d: Path, experiment: str, arrays: dict, rows: list[dict], params: dict | None = None) -> Path:
    d.mkdir()
    write_json(d / "provenance.json", {"experiment": experiment, "seed": 0, "status": "ok"})
    if arrays:
        write_npz(d / "arrays.npz", arrays)
    if rows:
        write_csv(d / "metrics.csv", rows)
    from bioplaus.results import write_toml

    write_toml(d / "config.toml", {"experiment": experiment, "params": params or {}})
    return d


def test_plot_zoo_and_other_experiment_dirs(tmp_path, capsys):
    rng = np.random.default_rng(3)
    dts = np.array([-40.0, -20.0, 20.0, 40.0])
    cases = {
        "triplet_frequency": ({"frequencies": np.array([1.0, 20.0]), "dw_plus": np.array([0.01, 0.05]),
                               "dw_minus": np.array([-0.05, 0.02])}, [], {"delta_t": "10 ms"},
                              {"triplet_frequency.png"}),
        "oja": ({"w": rng.random(3)}, [{"t_s": t, "cos_pc1": c, "norm": n} for t, c, n in
                                       zip(np.linspace(0, 1, 20), np.linspace(0.1, 1, 20), np.linspace(0.1, 1, 20))],
                {}, {"oja_convergence.png"}),
        "bcm": ({"responses": np.eye(3) + 0.1}, [], {}, {"bcm_selectivity.png"}),
        "stdp_competition": ({"w": rng.random(50), "correlated": np.arange(50) < 25}, [], {},
                             {"weight_histogram.png"}),
        "reward_stdp": ({"w": rng.random(10)}, [], {"rewarded": 2}, {"weights.png"}),
        "stdp_window": ({"delta_t_ms": dts, "dw": -np.sign(dts) * 0 + np.sign(dts) * np.exp(-abs(dts) / 20),
                         "analytic": np.sign(dts) * np.exp(-abs(dts) / 20)}, [], {}, {"stdp_window.png"}),
        "stdp_classifier": ({"weights": rng.random((64, 9)), "assignments": np.arange(9) % 3 - 1,
                             "confusion_test": rng.integers(0, 5, (3, 3))}, [], {},
                            {"receptive_fields.png", "confusion_test.png"}),
        # an experiment without registered figures: what its arrays and rows allow
        "something_new": ({**spikes(rng), "W1": rng.normal(size=(8, 64)), "y_true": np.array([0, 1, 1]),
                           "y_pred": np.array([0, 1, 0])},
                          [{"epoch": e, "rule": "fa", "test_acc": 0.5 + 0.1 * e, "train_loss": 1.0 / (e + 1)}
                           for e in range(4)], {},
                          {"learning_curves.png", "raster.png", "confusion_matrix.png", "receptive_fields_W1.png"}),
    }
    for exp, (arrays, rows, params, expected) in cases.items():
        d = _experiment_dir(tmp_path / exp, exp, arrays, rows, params)
        paths = plot_cli(d, capsys)
        assert {p.name for p in paths} == expected, exp


def test_plot_sweep_dir(tmp_path, capsys):
    d = tmp_path / "sweep"
    d.mkdir()
    write_csv(d / "results.csv", sweep_rows())
    (d / "sweep.toml").write_text('model = "stdp_window"\nexperiment = "stdp_window"\n\n[grid]\n'
                                  '"params.A_plus" = [0.005, 0.01, 0.02]\n"params.tau_plus" = ["10 ms", "20 ms"]\n')
    paths = plot_cli(d, capsys)
    assert {p.name for p in paths} == {"sweep_max_rel_error.png", "sweep_n_points.png"}


@pytest.mark.parametrize("layout", ["missing", "file", "empty", "other", "metrics_without_rule"])
def test_plot_refuses_what_is_not_a_result(layout, tmp_path, capsys):
    d = tmp_path / "x"
    if layout == "file":
        d.write_text("hello")
    elif layout != "missing":
        d.mkdir()
        if layout == "other":
            (d / "notes.txt").write_text("not a result")
        if layout == "metrics_without_rule":
            write_csv(d / "metrics.csv", [{"a": 1}])
    before = sorted(p.name for p in d.iterdir()) if d.is_dir() else None
    assert main(["plot", str(d)]) == 2
    err = capsys.readouterr().err
    assert str(d) in err and "expected" in err and err.count("\n") == 1
    assert (sorted(p.name for p in d.iterdir()) if d.is_dir() else None) == before
