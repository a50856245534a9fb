"""An experiment defined in the user's own Python file runs, sweeps and fails like a built-in one."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bioplaus.config import load_model
from bioplaus.errors import ConfigError
from bioplaus.runner import run_model
from bioplaus.sweep import expand_sweep, read_results, run_sweep

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "lif_rate.toml"


def _quiet(_msg):
    pass


def _copy_study(tmp_path: Path) -> Path:
    """The shipped example copied elsewhere, so relative paths resolve against the model file's folder."""
    (tmp_path / "studies").mkdir()
    shutil.copy(ROOT / "models" / "studies" / "lif_rate.py", tmp_path / "studies" / "lif_rate.py")
    model = tmp_path / "lif_rate.toml"
    model.write_text(MODEL.read_text())
    return model


def test_user_experiment_runs_and_matches_the_closed_form(tmp_path, monkeypatch):
    model = _copy_study(tmp_path)
    monkeypatch.chdir(ROOT)                      # elsewhere than the model file: the path is the file's
    cfg = load_model(model, ["params.current=0.5nA", "params.duration=1s"])
    assert cfg.experiment == f"{(tmp_path / 'studies' / 'lif_rate.py').resolve()}:LifRate"
    res = run_model(cfg, tmp_path / "out", progress=_quiet)
    row = res.rows[0]
    assert row["theory_Hz"] > 100                # well above rheobase (0.2 nA)
    # the README's claim for the example: simulated and analytic rates agree within 2 % at dt = 0.1 ms
    assert row["rate_Hz"] == pytest.approx(row["theory_Hz"], rel=0.02)
    # the resolved config in the results directory runs again from anywhere
    again = load_model(tmp_path / "out" / "config.toml")
    assert again.experiment == cfg.experiment and again.params == cfg.params


def test_below_rheobase_is_silent_in_both(tmp_path):
    cfg = load_model(_copy_study(tmp_path), ["params.current=0.1nA", "params.duration=500ms"])
    row = run_model(cfg, tmp_path / "out", progress=_quiet).rows[0]
    assert row["rate_Hz"] == 0 and row["theory_Hz"] == 0


def test_user_experiment_sweeps_in_worker_processes(tmp_path):
    model = _copy_study(tmp_path)
    sweep = expand_sweep(model, {"params.current": ["0.3 nA", "0.6 nA"]}, overrides=["params.duration=500ms"])
    rep = run_sweep(sweep, tmp_path / "sweep", jobs=2, progress=_quiet)
    assert rep.ok and rep.counts == {"ok": 2}
    rows = read_results(tmp_path / "sweep")
    rates = {float(r["params.current_nA"]): r["rate_Hz"] for r in rows}    # swept quantities as numbers
    assert float(rates[0.6]) > float(rates[0.3]) > 0


def _model_naming(tmp_path: Path, experiment: str) -> Path:
    m = tmp_path / "m.toml"
    m.write_text(f'experiment = "{experiment}"\n')
    return m


@pytest.mark.parametrize("source, ref, expected", [
    (None, "nowhere.py:Study", "no file"),
    ("class Study:\n    pass\n", "s.py:Study", "subclass of bioplaus.experiments.Experiment"),
    ("def broken(:\n", "s.py:Study", "SyntaxError at line 1"),
    ("raise RuntimeError('boom')\n", "s.py:Study", "RuntimeError"),
    ("""
        from bioplaus.experiments import Experiment
        class Study(Experiment):
            pass
     """, "s.py:Studdy", "did you mean 'Study'"),
    ("""
        from bioplaus.experiments import Experiment
        class Study(Experiment):
            pass
     """, "s.py:Study", "Params"),
])
def test_bad_user_experiments_name_the_key_and_value(tmp_path, source, ref, expected):
    if source is not None:
        (tmp_path / "s.py").write_text(textwrap.dedent(source))
    with pytest.raises(ConfigError) as err:
        load_model(_model_naming(tmp_path, ref))
    msg = str(err.value)
    assert "experiment" in msg and ref in msg and expected in msg, msg


@pytest.mark.slow
def test_user_experiment_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    model = _copy_study(tmp_path)
    sweep = expand_sweep(model, {"params.current": ["0.3 nA", "0.6 nA"]}, overrides=["params.duration=300ms"])
    run_sweep(sweep, tmp_path / "local", in_process=True, progress=_quiet)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cl:
        rep = run_sweep(sweep, tmp_path / "dask", scheduler=cl.scheduler_address, progress=_quiet)
    assert rep.ok and rep.counts == {"ok": 2}
    local, remote = read_results(tmp_path / "local"), read_results(tmp_path / "dask")
    assert [r["rate_Hz"] for r in remote] == [r["rate_Hz"] for r in local]
    assert float(local[1]["rate_Hz"]) > float(local[0]["rate_Hz"]) > 0


def test_readme_worked_example_prints_what_the_readme_says(tmp_path):
    """The README's worked example: the line it says ``bioplaus run models/lif_rate.toml`` prints,
    the study file's length it states, and the code it quotes are the shipped file's."""
    import re

    readme = (ROOT / "README.md").read_text()
    said = re.search(r"`bioplaus run models/lif_rate.toml --out results/lif` prints `([^`]+)`", readme)
    assert said, "README no longer quotes the worked example's output"
    result = run_model(load_model(MODEL), tmp_path / "lif", progress=_quiet)
    assert result.summary.strip() == said.group(1)
    study = (ROOT / "models" / "studies" / "lif_rate.py").read_text()
    n_lines = int(re.search(r"`models/studies/lif_rate.py` \((\d+) lines\)", readme).group(1))
    assert n_lines == len(study.splitlines())
    block = readme.split("measures a LIF neuron's rate against the closed form:", 1)[1].split("```python", 1)[1]
    quoted = [ln.strip() for ln in block.split("```", 1)[0].splitlines() if ln.strip() and ln.strip() != "..."]
    missing = [ln for ln in quoted if ln not in {s.strip() for s in study.splitlines()}]
    assert not missing, f"README quotes lines the study file does not have: {missing}"
