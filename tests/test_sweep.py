"""Parameter sweeps: expansion, validation, the results table, failures, resume, run_args reuse."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bioplaus import cli
from bioplaus.errors import BackendUnavailable, ConfigError
from bioplaus.experiments.base import Experiment, ExperimentParams, ExperimentResult, register_experiment
from bioplaus.spec.params import integer, number, quantity, set_field
from bioplaus.sweep import (RandomRange, analyse_network, apply_spec_overrides, expand_sweep, parse_grid,
                            parse_random, read_results, run_sweep, split_values, sweep_network)

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- a fast experiment (no Brian2 run)

@register_experiment("sweep_toy")
class SweepToy(Experiment):
    """Test double: a score from x, tau and the seed; can fail, kill its process or be interrupted."""

    description = "sweep test double"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        x: float = 1.0
        tau: Any = "10 ms"
        n: int = 3
        fail_at: float = -1.0        # raise RuntimeError when x == fail_at
        exit_at: float = -1.0        # the process dies (os._exit) when x == exit_at
        interrupt_at: float = -1.0   # KeyboardInterrupt when x == interrupt_at and interrupt_flag exists (once)
        interrupt_flag: str = ""
        calls: str = ""              # a file that gets one line per run
        sleep_s: float = 0.0

        def __post_init__(self):
            from brian2 import ms

            set_field(self, "x", number("params", "x", self.x))
            set_field(self, "tau", quantity("params", "tau", self.tau, ms, positive=True))
            set_field(self, "n", integer("params", "n", self.n, minimum=1))

    def run(self, p, ctx):
        time.sleep(p.sleep_s)
        if p.calls:
            with open(p.calls, "a") as fh:
                fh.write(f"{p.x} {ctx.seed}\n")
        if p.x == p.fail_at:
            raise RuntimeError(f"toy failure at x={p.x}")
        if p.x == p.exit_at:
            os._exit(3)
        if p.x == p.interrupt_at and p.interrupt_flag and os.path.exists(p.interrupt_flag):
            os.remove(p.interrupt_flag)
            raise KeyboardInterrupt
        noise = float(np.random.default_rng(ctx.seed).normal())
        return ExperimentResult(rows=[{"k": k, "y": p.x * k} for k in range(p.n)],
                                info={"score": p.x * float(p.tau) * 1e3 + noise, "noise": noise, "n": p.n,
                                      "elapsed_s": 0.01, "label": "toy"})


def toy_model(tmp_path: Path, **params) -> str:
    lines = ['experiment = "sweep_toy"', "seed = 0", "", "[params]", "x = 1.0"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in params.items()]
    f = tmp_path / "toy.toml"
    f.write_text("\n".join(lines) + "\n")
    return str(f)


def quiet(_msg: str) -> None:
    pass


def rows_of(out: Path) -> list[dict[str, str]]:
    return read_results(out)


# --------------------------------------------------------------------------- parsing and expansion

def test_split_and_parse_values_are_data():
    assert split_values('0.5,"20 ms",[1, 2], 3') == ["0.5", '"20 ms"', "[1, 2]", "3"]
    assert parse_grid("params.eta=0.5,1,'2 Hz',true") == ("params.eta", [0.5, 1, "2 Hz", True])
    assert parse_grid("params.tau=5ms,__import__('os')")[1] == ["5ms", "__import__('os')"]  # strings, never code
    r = parse_random("params.tau=5 ms:20 ms")
    assert (r.low, r.high, r.log) == ("5 ms", "20 ms", False)
    assert parse_random("params.eta=0.1:10:log").log
    for bad, opt in [("params.eta", "--grid"), ("params.eta=", "params.eta"), ("1x=2", "--grid"),
                     ("seed=1,2", "--grid")]:
        with pytest.raises(ConfigError) as e:
            parse_grid(bad)
        assert e.value.key_path == opt
    with pytest.raises(ConfigError, match="same unit"):
        parse_random("params.tau=5 ms:2 s")
    with pytest.raises(ConfigError, match="LOW <= HIGH"):
        parse_random("params.x=3:1")


def test_grid_expansion_order_and_stable_ids(tmp_path):
    model = toy_model(tmp_path)
    grid = {"params.x": [1.0, 2.0, 3.0], "params.tau": ["5 ms", "10 ms"]}
    s1 = expand_sweep(model, grid, seeds=2)
    s2 = expand_sweep(model, grid, seeds=2)
    assert len(s1.points) == 3 * 2 * 2
    assert [p.id for p in s1.points] == [p.id for p in s2.points]          # stable
    assert len({p.id for p in s1.points}) == len(s1.points)                 # unique
    assert all(p.id.startswith(f"p{p.index:04d}-") and len(p.id) == 14 for p in s1.points)
    # last grid key fastest, seeds innermost
    assert [(p.values["params.x"], p.values["params.tau"], p.seed) for p in s1.points[:5]] == [
        (1.0, "5 ms", 0), (1.0, "5 ms", 1), (1.0, "10 ms", 0), (1.0, "10 ms", 1), (2.0, "5 ms", 0)]
    # the id depends on the values, not only on the position
    other = expand_sweep(model, {"params.x": [1.0, 2.5, 3.0], "params.tau": ["5 ms", "10 ms"]}, seeds=2)
    assert other.points[0].id == s1.points[0].id and other.points[4].id != s1.points[4].id
    cfg = s1.config(s1.points[3])
    assert cfg.params.x == 1.0 and abs(float(cfg.params.tau) - 0.010) < 1e-12 and cfg.seed == 1


def test_random_samples_are_seeded_and_in_range(tmp_path):
    model = toy_model(tmp_path)
    rnd = [RandomRange("params.x", 0.5, 2.0), RandomRange("params.tau", "1 ms", "100 ms", log=True),
           RandomRange("params.n", 2, 4)]
    a = expand_sweep(model, {"params.fail_at": [-1.0, -2.0]}, rnd, samples=5)
    b = expand_sweep(model, {"params.fail_at": [-1.0, -2.0]}, rnd, samples=5)
    c = expand_sweep(model, {"params.fail_at": [-1.0, -2.0]}, rnd, samples=5, sample_seed=7)
    assert len(a.points) == 2 * 5
    assert [p.values for p in a.points] == [p.values for p in b.points]
    assert [p.values for p in a.points] != [p.values for p in c.points]
    # the same samples are combined with every grid point
    assert [p.values["params.x"] for p in a.points[:5]] == [p.values["params.x"] for p in a.points[5:]]
    for p in a.points:
        assert 0.5 <= p.values["params.x"] <= 2.0
        num, unit = p.values["params.tau"].split()
        assert unit == "ms" and 1.0 <= float(num) <= 100.0
        assert isinstance(p.values["params.n"], int) and 2 <= p.values["params.n"] <= 4
    with pytest.raises(ConfigError) as e:
        expand_sweep(model, random=rnd, samples=0)
    assert e.value.key_path == "--samples"


def test_bad_value_is_a_config_error_naming_key_before_anything_runs(tmp_path):
    out = tmp_path / "study"
    with pytest.raises(ConfigError) as e:
        sw = expand_sweep("oja_pca", {"params.eta": ["5 Hz", "fast"]})
        run_sweep(sw, out, progress=quiet)
    assert e.value.key_path == "params.eta" and e.value.value == "fast"
    assert "sweep point p0001-" in str(e.value)
    with pytest.raises(ConfigError) as e:
        expand_sweep("oja_pca", {"params.etaa": [1]})
    assert e.value.key_path == "params.etaa" and "did you mean 'eta'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        expand_sweep("oja_pca", {"params.dims": [3, 0]})
    assert e.value.key_path == "params.dims" and e.value.value == 0
    assert not out.exists()


# --------------------------------------------------------------------------- running, the table, failures

def test_results_csv_is_tidy_and_complete(tmp_path):
    model = toy_model(tmp_path)
    sw = expand_sweep(model, {"params.x": [1.0, 2.0], "params.tau": ["5 ms", "10 ms"]}, seeds=2)
    out = tmp_path / "study"
    rep = run_sweep(sw, out, in_process=True, progress=quiet)
    assert rep.ok and rep.ran == 8 and rep.counts == {"ok": 8} and rep.modes == {"runtime": 8}
    rows = rows_of(out)
    assert [r["point"] for r in rows] == [p.id for p in sw.points]
    assert list(rows[0]) == ["point", "index", "params.x", "params.tau_ms", "seed", "status", "mode", "wall_time_s",
                             "score", "noise", "n", "error"]  # numbers only; timings (*_s) and strings left out
    for r, p in zip(rows, sw.points):
        assert float(r["params.x"]) == p.values["params.x"]
        assert float(r["params.tau_ms"]) == float(p.values["params.tau"].split()[0])  # "5 ms" -> 5.0 in _ms
        assert int(r["seed"]) == p.seed and r["status"] == "ok" and r["error"] == ""
        noise = float(np.random.default_rng(p.seed).normal())
        tau_ms = float(p.values["params.tau"].split()[0])
        assert float(r["score"]) == pytest.approx(p.values["params.x"] * tau_ms + noise)
        d = out / "points" / p.id
        assert {"config.toml", "metrics.csv", "summary.md", "provenance.json", "point.json"} <= {
            f.name for f in d.iterdir()}
        assert json.loads((d / "provenance.json").read_text())["status"] == "ok"
    study = (out / "sweep.toml").read_text()
    assert 'experiment = "sweep_toy"' in study and "fingerprint" in study and "params.x" in study


def test_failing_point_is_recorded_and_the_others_finish(tmp_path):
    model = toy_model(tmp_path, fail_at=2.0)
    sw = expand_sweep(model, {"params.x": [1.0, 2.0, 3.0]})
    out = tmp_path / "study"
    rep = run_sweep(sw, out, in_process=True, progress=quiet)
    assert rep.counts == {"ok": 2, "failed": 1} and not rep.ok
    rows = {float(r["params.x"]): r for r in rows_of(out)}
    assert rows[2.0]["status"] == "failed" and "RuntimeError: toy failure at x=2.0" in rows[2.0]["error"]
    assert rows[1.0]["status"] == rows[3.0]["status"] == "ok"


def test_point_that_kills_its_worker_is_recorded_failed(tmp_path):
    model = toy_model(tmp_path, exit_at=2.0)
    sw = expand_sweep(model, {"params.x": [1.0, 2.0, 3.0, 4.0]})
    out = tmp_path / "study"
    rep = run_sweep(sw, out, jobs=2, progress=quiet)
    rows = {float(r["params.x"]): r for r in rows_of(out)}
    assert len(rows) == 4 and rep.counts == {"ok": 3, "failed": 1}
    assert rows[2.0]["status"] == "failed" and "worker process died" in rows[2.0]["error"]
    assert all(rows[x]["status"] == "ok" for x in (1.0, 3.0, 4.0))


def test_interrupted_sweep_resumes_only_missing_points(tmp_path):
    flag, calls = tmp_path / "interrupt-once", tmp_path / "calls.txt"
    flag.write_text("")
    model = toy_model(tmp_path, interrupt_at=3.0, interrupt_flag=str(flag), calls=str(calls))
    sw = expand_sweep(model, {"params.x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = tmp_path / "study"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out, in_process=True, progress=quiet)
    assert [float(r["params.x"]) for r in rows_of(out)] == [1.0, 2.0]     # finished points kept, in the table
    before = {p: (out / "points" / p / "point.json").read_text() for p in (sw.points[0].id, sw.points[1].id)}
    with pytest.raises(ConfigError, match="--resume"):                   # never silently mixed into
        run_sweep(sw, out, in_process=True, progress=quiet)
    rep = run_sweep(expand_sweep(model, {"params.x": [1.0, 2.0, 3.0, 4.0, 5.0]}), out, in_process=True,
                    resume=True, progress=quiet)
    assert rep.ran == 3 and rep.skipped == 2 and rep.counts == {"ok": 5}
    rows = rows_of(out)
    assert [r["point"] for r in rows] == [p.id for p in sw.points]        # each point exactly once
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["1.0", "2.0", "3.0", "3.0", "4.0", "5.0"]
    assert before == {p: (out / "points" / p / "point.json").read_text() for p in before}
    rep = run_sweep(sw, out, in_process=True, resume=True, progress=quiet)  # nothing left
    assert rep.ran == 0 and len(rows_of(out)) == 5


def test_killed_cli_sweep_resumes(tmp_path):
    """Kill a running ``bioplaus sweep`` (main process, worker, forkserver) after its first point; resume."""
    calls = tmp_path / "calls.txt"
    model = toy_model(tmp_path, sleep_s=0.25, calls=str(calls))
    out = tmp_path / "study"
    args = ["sweep", model, "--grid", "params.x=1,2,3,4,5,6", "--out", str(out)]
    main = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_sweep; "
            "from bioplaus.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", main, *args], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None and not list(out.glob("points/*/point.json")):
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its worker and its forkserver
        proc.wait()
    finished = {f.parent.name for f in out.glob("points/*/point.json")}
    assert 1 <= len(finished) < 6
    assert {r["point"] for r in rows_of(out)} <= finished
    assert cli.main([*args, "--resume", "--in-process"]) == 0
    rows = rows_of(out)
    assert len(rows) == 6 and len({r["point"] for r in rows}) == 6 and all(r["status"] == "ok" for r in rows)
    runs = [line.split()[0] for line in calls.read_text().splitlines()]
    assert sorted(set(runs)) == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]
    assert len(runs) <= 6 + 1  # only the point running when it was killed ran twice


def test_resume_refuses_another_model_or_grid(tmp_path):
    model = toy_model(tmp_path)
    out = tmp_path / "study"
    run_sweep(expand_sweep(model, {"params.x": [1.0, 2.0]}), out, in_process=True, progress=quiet)
    with pytest.raises(ConfigError, match="grid differs"):
        run_sweep(expand_sweep(model, {"params.x": [1.0, 3.0]}), out, in_process=True, resume=True,
                  progress=quiet)
    with pytest.raises(ConfigError, match="model differs"):
        run_sweep(expand_sweep(model, {"params.x": [1.0, 2.0]}, overrides=["params.n=5"]), out,
                  in_process=True, resume=True, progress=quiet)
    other = tmp_path / "other"
    other.mkdir()
    m2 = toy_model(other, n=4)
    with pytest.raises(ConfigError, match="model differs"):
        run_sweep(expand_sweep(m2, {"params.x": [1.0, 2.0]}), out, in_process=True, resume=True, progress=quiet)
    assert cli.main(["sweep", "oja_pca", "--grid", "params.eta=5Hz,10Hz", "--out", str(out), "--resume",
                     "--in-process"]) == 2
    assert len(rows_of(out)) == 2


def test_same_seed_gives_identical_metrics(tmp_path):
    a = expand_sweep("oja_pca", {"params.eta": ["5 Hz", "20 Hz"]}, seeds=2, overrides=["params.n_samples=200"])
    b = expand_sweep("oja_pca", {"params.eta": ["20 Hz"]}, seeds=1, overrides=["params.n_samples=200"])
    run_sweep(a, tmp_path / "a", in_process=True, progress=quiet)
    run_sweep(b, tmp_path / "b", in_process=True, progress=quiet)
    ra, rb = rows_of(tmp_path / "a"), rows_of(tmp_path / "b")
    assert all(r["status"] == "ok" for r in ra + rb)
    for x, y in zip(ra[2:], rb):  # the same values and seed in another study: the same numbers
        assert (x["params.eta_Hz"], x["seed"], x["cos_pc1"], x["norm"]) == (y["params.eta_Hz"], y["seed"],
                                                                               y["cos_pc1"], y["norm"])
    assert ra[0]["cos_pc1"] != ra[1]["cos_pc1"]  # another seed, another input: the seed is used
    assert ra[0]["norm"] != ra[2]["norm"]        # another eta, another result


def test_cli_exit_codes(tmp_path, capsys):
    model = toy_model(tmp_path, fail_at=3.0)
    assert cli.main(["sweep", model, "--grid", "params.x=1,2", "--in-process", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["sweep", model, "--grid", "params.x=2,3", "--in-process", "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "1 failed" in err and "every point runs through run_model" in err
    assert cli.main(["sweep", "oja_pca", "--grid", "params.eta=fast", "--out", str(tmp_path / "c")]) == 2
    assert "params.eta = 'fast'" in capsys.readouterr().err and not (tmp_path / "c").exists()
    assert cli.main(["sweep", model, "--grid", "params.x", "--out", str(tmp_path / "d")]) == 2
    assert cli.main(["sweep", model, "--samples", "3", "--out", str(tmp_path / "d")]) == 2
    assert cli.main(["sweep", model, "--jobs", "0", "--out", str(tmp_path / "d")]) == 2
    assert cli.main(["sweep", model, "--scheduler", "localhost", "--out", str(tmp_path / "d")]) == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["sweep", model, "--dask", "--scheduler", "tcp://h:1", "--out", str(tmp_path / "d")])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["sweep", model, "--grid", "params.x=1"])  # no --out
    assert e.value.code == 2
    assert cli.main(["sweep", model, "--grid", "params.x=1,2", "--dry-run", "--out", str(tmp_path / "e")]) == 0
    assert "params.x=2.0 seed=0" in capsys.readouterr().out.replace("params.x=2 ", "params.x=2.0 ")


def test_missing_dask_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    sw = expand_sweep(toy_model(tmp_path), {"params.x": [1.0]})
    with pytest.raises(BackendUnavailable, match=r"pip install 'bioplaus\[dask\]'"):
        run_sweep(sw, tmp_path / "s", dask=True, progress=quiet)
    assert cli.main(["sweep", toy_model(tmp_path), "--dask", "--out", str(tmp_path / "t")]) == 2


# --------------------------------------------------------------------------- network level

def _stdp_net(n: int = 4, seed: int = 0):
    from brian2 import ms

    from bioplaus.spec import NetworkSpec, PairSTDP, Population, Projection, SpikeTrains

    idx = np.arange(n)
    pre = SpikeTrains(indices=idx, times=(20 + 5 * idx) * ms)
    post = SpikeTrains(indices=idx, times=(30 + 5 * idx) * ms)
    return NetworkSpec([Population("pre", pre, n), Population("post", post, n)],
                       [Projection("syn", "pre", "post", rule=PairSTDP(w_min=-1, w_max=1), connectivity="one_to_one",
                                   w_init=0.0)], duration="100 ms", seed=seed, name="stdp_pair")


def test_network_analysis_separates_parameters_from_structure():
    base = _stdp_net()
    a0 = analyse_network(base)
    same = analyse_network(apply_spec_overrides(base, {"projections.syn.A_plus": 0.02,
                                                       "projections.syn.rule.tau_minus": "30 ms"}))
    assert same.structure == a0.structure and same.digest != a0.digest
    assert same.params["projections.syn.A_plus"] == 0.02 and a0.params["projections.syn.A_plus"] == 0.01
    assert abs(float(same.params["projections.syn.tau_minus"]) - 0.030) < 1e-12
    # anything compiled into the binary is structure: initial weights, seed, duration, sizes
    for change in ({"projections.syn.w_init": 0.5}, {"network.seed": 3}, {"network.duration": "200 ms"}):
        assert analyse_network(apply_spec_overrides(base, change)).structure != a0.structure, change
    assert analyse_network(_stdp_net(n=5)).structure != a0.structure
    with pytest.raises(ConfigError) as e:
        apply_spec_overrides(base, {"projections.syn.A_plsu": 0.1})
    assert e.value.key_path == "projections.syn.A_plsu" and "did you mean 'A_plus'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        apply_spec_overrides(base, {"projections.syn.tau_plus": "fast"})
    assert e.value.key_path == "projections.syn.tau_plus" and e.value.value == "fast"
    with pytest.raises(ConfigError):
        apply_spec_overrides(base, {"projections.nosuch.A_plus": 0.1})


def test_sweep_network_runtime_equals_simulate():
    from bioplaus.simulation import simulate

    base = _stdp_net()
    points = [{"projections.syn.A_plus": 0.01}, {"projections.syn.A_plus": 0.03}]
    res = sweep_network(base, points, backend="numpy")
    assert [r.compiler_flags["sweep.mode"] for r in res] == ["runtime", "runtime"]
    ref = simulate(apply_spec_overrides(base, points[1]), "numpy")
    np.testing.assert_array_equal(res[1]["syn.w"], ref["syn.w"])
    assert np.all(res[1]["syn.w"] > 0) and np.allclose(res[1]["syn.w"], 3 * res[0]["syn.w"])


@pytest.mark.standalone
def test_cpp_sweep_compiles_once_and_matches_numpy(tmp_path, monkeypatch, request):
    request_finalizer = request.addfinalizer
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    builds = []
    orig = CPPStandaloneDevice.build

    def counting_build(self, *a, **kw):
        builds.append(kw.get("directory"))
        return orig(self, *a, **kw)

    monkeypatch.setattr(CPPStandaloneDevice, "build", counting_build)
    from brian2 import prefs

    old_flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O0"]  # what is tested is the reuse, not the optimiser
    request_finalizer(lambda: setattr(prefs.codegen.cpp, "extra_compile_args_gcc", old_flags))
    grid = {"params.A_plus": [0.005, 0.02], "params.tau_plus": ["20 ms", "10 ms"]}
    fixed = ["params.n_points=5", 'params.period="250 ms"']
    cpp = expand_sweep("stdp_window", grid, overrides=fixed, backend="cpp")
    msgs: list[str] = []
    rep = run_sweep(cpp, tmp_path / "cpp", jobs=2, in_process=True, progress=msgs.append)
    assert len(builds) == 1, builds                                   # four points, one compilation
    assert rep.modes == {"run_args": 4} and rep.counts == {"ok": 4}
    assert any("4 points share one cpp build" in m and "projections.syn.A_plus" in m and "tau_plus" in m
               for m in msgs)
    recs = [json.loads((tmp_path / "cpp" / "points" / p.id / "point.json").read_text()) for p in cpp.points]
    assert len({r["build"] for r in recs}) == 1
    ref = expand_sweep("stdp_window", grid, overrides=fixed, backend="numpy")
    run_sweep(ref, tmp_path / "np", in_process=True, progress=quiet)
    dws = []
    for pc, pn in zip(cpp.points, ref.points):
        assert pc.values == pn.values
        a = np.load(tmp_path / "cpp" / "points" / pc.id / "arrays.npz")
        b = np.load(tmp_path / "np" / "points" / pn.id / "arrays.npz")
        np.testing.assert_allclose(a["dw"], b["dw"], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(a["dw"], a["analytic"], rtol=1e-6)  # each run used its own A_plus, tau_plus
        dws.append(a["dw"])
    assert all(np.abs(d).max() > 0 for d in dws)                           # learning happened
    assert len({tuple(np.round(d, 12)) for d in dws}) == 4                 # and differed per point
