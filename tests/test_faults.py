"""Faults a user meets: Ctrl-C, shared output directories, typos in sizes, damaged files, a killed sweep.

The interrupt and teardown tests drive the CLI as a subprocess in its own session
(``start_new_session=True``) and send real signals to its process group; every
wait is bounded, and each test kills what it started, whatever happens.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bioplaus.cli import main

ROOT = Path(__file__).resolve().parent.parent
BIOPLAUS = [sys.executable, "-m", "bioplaus"]

#: an Oja run whose Brian2 simulation lasts far longer than any test waits (500 s of 1 ms steps)
LONG_OJA = """experiment = "oja"
backend = "numpy"
seed = 0
[params]
dims = 3
n_samples = {n}
eta = "10 Hz"
present = "1 ms"
"""


def _cli(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().err


def _model(tmp_path: Path, n: int = 500_000, name: str = "long.toml") -> Path:
    p = tmp_path / name
    p.write_text(LONG_OJA.format(n=n))
    return p


def _session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            out.append(int(e))
    return out


@contextlib.contextmanager
def _spawn(argv, cwd, **kw):
    """A CLI process in its own session; on leaving, its whole session is killed and reaped."""
    proc = subprocess.Popen([*BIOPLAUS, *argv], cwd=cwd, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)
    try:
        yield proc
    finally:
        for pid in _session_pids(proc.pid) or [proc.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.communicate(timeout=30)


def _wait_for(pred, timeout: float, what: str, proc=None) -> None:
    t0 = time.monotonic()
    while not pred():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _status(d: Path) -> str:
    return json.loads((d / "provenance.json").read_text())["status"]


# --------------------------------------------------------------------------- 1. Ctrl-C

@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_a_brian2_run_ends_interrupted_never_ok(tmp_path, presses):
    """Brian2's first SIGINT only stops the run; the run must still end as interrupted (130), not ok (0)."""
    model, out = _model(tmp_path), tmp_path / "out"
    with _spawn(["run", str(model), "--out", str(out)], tmp_path) as proc:
        _wait_for(lambda: (out / "provenance.json").exists(), 120, "the run to start", proc)
        time.sleep(3.0)  # into the 500 s simulation
        for _ in range(presses):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.01)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _status(out) == "interrupted"
    assert not (out / "metrics.csv").exists() and not (out / "arrays.npz").exists()  # no truncated results
    assert "; results in" not in err and "Traceback" not in err


def test_run_started_with_sigint_ignored_keeps_ignoring_it(tmp_path):
    """A background job (SIGINT ignored) finished as if no Ctrl-C came: no TypeError, no shortened run."""
    model, out = _model(tmp_path, n=20_000), tmp_path / "out"
    with _spawn(["run", str(model), "--out", str(out)], tmp_path,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as proc:
        _wait_for(lambda: (out / "provenance.json").exists(), 120, "the run to start", proc)
        while proc.poll() is None:  # Ctrl-C all along the simulation
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.1)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "TypeError" not in err and "stop requested" not in err
    assert _status(out) == "ok" and (out / "arrays.npz").exists()


def test_ctrl_c_in_a_sweep_point_leaves_it_for_resume(tmp_path):
    from bioplaus.sweep import MARKER, expand_sweep, read_records

    model, out = _model(tmp_path), tmp_path / "study"
    with _spawn(["sweep", str(model), "--grid", "params.n_samples=200,500000", "--in-process", "--out", str(out)],
                tmp_path) as proc:
        _wait_for(lambda: len(list(out.glob("points/*/provenance.json"))) == 2, 180, "the second point", proc)
        time.sleep(3.0)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    first, second = sorted((out / "points").iterdir())
    assert json.loads((first / MARKER).read_text())["status"] == "ok"  # the finished point is kept
    assert not (second / MARKER).exists() and _status(second) == "interrupted"
    sweep = expand_sweep(model, {"params.n_samples": [200, 500000]})
    assert set(read_records(out, sweep)) == {first.name}  # --resume runs the interrupted point again


def test_a_point_marked_interrupted_is_not_finished(tmp_path):
    from bioplaus.sweep import MARKER, read_records

    d = tmp_path / "points" / "p0000-abc"
    d.mkdir(parents=True)
    (d / MARKER).write_text(json.dumps({"id": "p0000-abc", "status": "interrupted"}))
    assert read_records(tmp_path) == {}
    (d / MARKER).write_text(json.dumps({"id": "p0000-abc", "status": "ok"}))
    assert set(read_records(tmp_path)) == {"p0000-abc"}


# --------------------------------------------------------------------------- 5. a killed sweep

def test_sweep_workers_exit_when_the_sweep_is_killed(tmp_path):
    model, out = _model(tmp_path), tmp_path / "study"
    grid = "params.n_samples=" + ",".join(str(500_000 + k) for k in range(6))
    with _spawn(["sweep", str(model), "--grid", grid, "--jobs", "2", "--out", str(out)], tmp_path) as proc:
        _wait_for(lambda: any(out.glob("points/*/provenance.json")), 180, "a point to start", proc)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process only, as the OOM killer would
        proc.wait(timeout=30)
        _wait_for(lambda: not _session_pids(proc.pid), 30, "the workers to exit")
        # a point a worker had already been handed may write its provenance just after the kill;
        # nothing is handed out after it: at most one point per worker, and none of them finished
        started = {p.parent.name for p in out.glob("points/*/provenance.json")}
        assert 1 <= len(started) <= 2, started
        time.sleep(1.0)
        assert {p.parent.name for p in out.glob("points/*/provenance.json")} == started  # nothing new started
        assert not list(out.glob("points/*/point.json"))


# --------------------------------------------------------------------------- 2. output directories

def test_non_empty_output_directory_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.md").write_text("an earlier run")
    (out / "figures").mkdir()
    (out / "figures" / "old.png").write_bytes(b"png")
    rc, err = _cli(capsys, "run", "oja_pca", "--out", str(out))
    assert rc == 2 and "--overwrite" in err and str(out) in err
    assert (out / "summary.md").read_text() == "an earlier run"
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("not results")
    rc, err = _cli(capsys, "run", "oja_pca", "--out", str(other), "--overwrite")
    assert rc == 2 and "nothing was removed" in err and (other / "notes.txt").exists()


def test_compare_never_overwrites_and_overwrite_clears(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["compare", "--hidden", "4", "--epochs", "1", "--seeds", "1", "--rules", "bp", "--quiet"]
    assert main(args) == 0 and main(args) == 0
    runs = sorted((tmp_path / "results").iterdir())
    assert len(runs) == 2 and all((r / "metrics.csv").exists() for r in runs)
    (runs[0] / "figures" / "stale.png").write_bytes(b"old")
    capsys.readouterr()
    rc, err = _cli(capsys, *args, "--out", str(runs[0]))
    assert rc == 2 and "--overwrite" in err
    assert main([*args, "--out", str(runs[0]), "--overwrite"]) == 0
    assert not (runs[0] / "figures" / "stale.png").exists() and (runs[0] / "metrics.csv").exists()


def test_sweep_into_a_used_directory_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / "results.csv").write_text("point\nold\n")
    argv = ["sweep", str(_model(tmp_path, n=50)), "--grid", "params.n_samples=50,60", "--in-process", "--out", str(out)]
    rc, err = _cli(capsys, *argv)
    assert rc == 2 and "--overwrite" in err and (out / "results.csv").read_text() == "point\nold\n"
    rc, err = _cli(capsys, *argv, "--overwrite")
    assert rc == 0, err
    assert "old" not in (out / "results.csv").read_text() and len(list(out.glob("points/*/point.json"))) == 2


def test_default_names_never_collide(tmp_path):
    from bioplaus.results import new_output_dir

    made = [new_output_dir(tmp_path, "oja") for _ in range(200)]
    assert len(set(made)) == 200 and all(p.is_dir() for p in made)


def test_a_locked_directory_is_refused(tmp_path, capsys):
    from bioplaus.results import output_lock

    out = tmp_path / "study"
    with output_lock(out):
        rc, err = _cli(capsys, "sweep", "oja_pca", "--grid", "params.eta=5Hz,10Hz", "--out", str(out), "--resume")
        assert rc == 2 and "in use by another bioplaus process" in err and str(os.getpid()) in err
        rc, err = _cli(capsys, "compare", "--hidden", "4", "--epochs", "1", "--seeds", "1", "--rules", "bp",
                       "--out", str(out), "--quiet")
        assert rc == 2 and "in use" in err
    with output_lock(out):  # released when the holder is done
        pass


def test_result_files_follow_the_umask(tmp_path):
    from bioplaus.results import atomic_write_text

    old = os.umask(0o022)
    try:
        assert stat.S_IMODE(atomic_write_text(tmp_path / "a.txt", "x").stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(atomic_write_text(tmp_path / "b.txt", "x").stat().st_mode) == 0o600
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- 3. sizes

def _input_count_key() -> str:
    """The key of stdp_competition's number of plastic inputs (``n_inputs``, or ``n_exc`` in the full protocol)."""
    import dataclasses

    from bioplaus.experiments.base import experiment_class

    names = {f.name for f in dataclasses.fields(experiment_class("stdp_competition").Params)}
    return "params." + next(n for n in ("n_inputs", "n_exc") if n in names)


@pytest.mark.parametrize("argv, key", [
    (["run", "oja_pca", "--set", "params.dims=1e12"], "params.dims"),
    (["run", "stdp_competition", "--backend", "numpy", "--set", "{key}=1000000000000"], None),
    (["compare", "--hidden", "1000000000000", "--epochs", "1", "--seeds", "1", "--rules", "bp", "--quiet"],
     "compare.hidden"),
])
def test_sizes_that_cannot_fit_are_refused_before_building(tmp_path, capsys, monkeypatch, argv, key):
    monkeypatch.chdir(tmp_path)
    if key is None:
        key = _input_count_key()
        argv = [a.format(key=key) for a in argv]
    rc, err = _cli(capsys, *argv)
    assert rc == 2, err
    assert key in err and "by estimate" in err and "available" in err and "GiB" in err
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_bench_and_run_share_one_estimate():
    from bioplaus import bench, footprint

    assert bench._build_bytes(4000) == footprint.estimate_bytes(bench.SYNAPSES_PER_NEURON * 4000)
    small, _, _ = footprint.params_bytes(type("P", (), {})())
    assert small == footprint.BASE_BYTES


# --------------------------------------------------------------------------- 4. exit 2, one line

def test_binary_model_file_fails_fast_without_brian2(tmp_path):
    bad = tmp_path / "model.toml"
    bad.write_bytes(bytes(range(256)) * 4)
    code = ("import sys; from bioplaus.cli import main; rc = main(sys.argv[1:]); "
            "print(rc, 'brian2' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, "run", str(bad)], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.stdout.split() == ["2", "False"], r.stderr
    assert "UTF-8" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_binary_compare_config(tmp_path, capsys):
    bad = tmp_path / "c.toml"
    bad.write_bytes(b"\xff\xfe\x00" * 50)
    rc, err = _cli(capsys, "compare", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert rc == 2 and "UTF-8" in err


def test_override_errors_name_the_override(capsys):
    rc, err = _cli(capsys, "run", "oja_pca", "--set", "params.dims=-1")
    assert rc == 2 and err.startswith("bioplaus: error: --set: params.dims = -1") and "oja_pca.toml" not in err


def test_plot_names_a_damaged_or_foreign_arrays_file(tmp_path, capsys):
    d = tmp_path / "r"
    d.mkdir()
    (d / "provenance.json").write_text(json.dumps({"experiment": "oja", "status": "ok"}))
    buf = tmp_path / "good.npz"
    np.savez_compressed(buf, w=np.arange(6.0))
    (d / "arrays.npz").write_bytes(buf.read_bytes()[:120])  # cut short
    rc, err = _cli(capsys, "plot", str(d))
    assert rc == 2 and "arrays.npz" in err and "Traceback" not in err
    (d / "arrays.npz").write_bytes(np.random.default_rng(0).bytes(400))  # not an archive at all
    rc, err = _cli(capsys, "plot", str(d))
    assert rc == 2 and "arrays.npz" in err and "pickle" not in err


def test_random_bytes_as_a_dataset_never_suggest_allow_pickle(tmp_path, capsys):
    f = tmp_path / "data.npz"
    f.write_bytes(np.random.default_rng(1).bytes(500))
    rc, err = _cli(capsys, "compare", "--dataset", "mnist", "--data-dir", str(f), "--hidden", "4", "--epochs", "1",
                   "--seeds", "1", "--rules", "bp", "--quiet", "--out", str(tmp_path / "o"))
    assert rc == 2 and "data.npz" in err and "pickle" not in err


def test_truncated_metrics_are_plotted_with_a_warning(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--hidden", "4", "--epochs", "2", "--seeds", "2", "--rules", "bp", "--quiet",
                 "--out", str(out)]) == 0
    text = (out / "metrics.csv").read_text()
    lines = text.splitlines(keepends=True)
    (out / "metrics.csv").write_text("".join(lines[:len(lines) // 2]) + lines[len(lines) // 2][:7])
    capsys.readouterr()
    rc, err = _cli(capsys, "plot", str(out))
    assert rc == 0
    assert "warning" in err and "cut off" in err and "1 of 2 seeds" in err


def test_unwritable_figures_found_before_the_simulation(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.errors import BioplausError
    from bioplaus.runner import run_model

    out = tmp_path / "o"
    out.mkdir()
    (out / "figures").write_text("a file where the figures folder goes")
    cfg = load_model("oja_pca")
    with pytest.raises(BioplausError, match="figures"):
        run_model(cfg, out, progress=lambda m: None)
    assert not (out / "provenance.json").exists()  # nothing claims to be running


# --------------------------------------------------------------------------- smaller

def test_duplicate_grid_values_are_refused(capsys):
    rc, err = _cli(capsys, "sweep", "oja_pca", "--grid", "params.eta=5 Hz,10 Hz,5 Hz", "--dry-run", "--out", "x")
    assert rc == 2 and "more than once" in err and "5 Hz" in err


def test_an_npz_dataset_keeps_its_own_classes(tmp_path):
    from bioplaus.data import load_dataset

    rng = np.random.default_rng(0)
    f = tmp_path / "three.npz"
    np.savez(f, x_train=rng.random((30, 4)), y_train=np.arange(30) % 3, x_test=rng.random((9, 4)),
             y_test=np.arange(9) % 3)
    d = load_dataset("mnist", data_dir=f)
    assert d.n_classes == 3 and d.n_outputs == 3 and d.name == "three"


def test_list_prints_plain_text_and_describes_every_dataset(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert ":math:" not in text and "\\" not in text
    section = text.split("datasets:\n", 1)[1].split("\n\n", 1)[0]
    for line in section.splitlines():
        name, _, desc = line.strip().partition(" ")
        assert desc.strip(), f"dataset {name} has no description"


def test_bench_points_to_the_readme_not_a_private_path():
    import inspect

    from bioplaus import bench

    assert "/work/" not in inspect.getsource(bench)
    assert "## Choosing a backend" in (ROOT / "README.md").read_text()


def test_plot_draws_a_bench_directory(tmp_path, capsys):
    from bioplaus.bench import BenchConfig, BenchResult

    rows = [{"network": "coba", "backend": "numpy", "threads": None, "size": n, "neurons": n, "synapses": 80 * n,
             "sim_s": 0.1, "build_s": 1.0, "run_s": 0.01 * n, "run_per_sim_s": 0.1 * n, "status": "ok", "note": ""}
            for n in (100, 200)]
    BenchResult(BenchConfig(networks="coba", backends="numpy", sizes="100,200"), rows).write(tmp_path / "b")
    rc, err = _cli(capsys, "plot", str(tmp_path / "b"))
    assert rc == 0 and "bench" in err and (tmp_path / "b" / "figures" / "bench.png").stat().st_size > 1000
