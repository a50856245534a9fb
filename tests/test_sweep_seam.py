"""Sweeps without tricks: the explicit seam (Experiment.network + ctx.simulate), numeric unit columns in
results.csv, duplicate grid values."""
from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bioplaus import cli
from bioplaus.config import load_model
from bioplaus.errors import BioplausError, ConfigError, DivergedError
from bioplaus.experiments.base import RunContext
from bioplaus.runner import run_model
from bioplaus.sweep import (SharedBuildRun, expand_sweep, network_of, read_results, run_sweep, spec_digest,
                            value_columns)

from test_sweep import toy_model  # noqa: E402  (the fast test double, registered as "sweep_toy")

ROOT = Path(__file__).resolve().parent.parent


def quiet(_msg: str) -> None:
    pass


#: a user's study file whose run() simulates the one network its network() returns
PAIR_STUDY = '''
from dataclasses import dataclass

import numpy as np
from brian2 import ms

from bioplaus.experiments import Experiment, ExperimentParams, ExperimentResult
from bioplaus.spec import NetworkSpec, PairSTDP, Population, Projection, SpikeTrains
from bioplaus.spec.params import number, set_field


class PairStudy(Experiment):
    """Four pre -> post pairings 10 ms apart, one synapse each: dw = A_plus exp(-10 ms / tau_plus)."""

    @dataclass(frozen=True)
    class Params(ExperimentParams):
        A_plus: float = 0.01

        def __post_init__(self):
            set_field(self, "A_plus", number("params", "A_plus", self.A_plus, positive=True))

    def network(self, p, ctx):
        idx = np.arange(4)
        return NetworkSpec([Population("pre", SpikeTrains(indices=idx, times=(20 + 5 * idx) * ms), 4),
                            Population("post", SpikeTrains(indices=idx, times=(30 + 5 * idx) * ms), 4)],
                           [Projection("syn", "pre", "post", rule=PairSTDP(A_plus=p.A_plus, w_min=-1, w_max=1),
                                       connectivity="one_to_one", w_init=0.0)],
                           duration="100 ms", seed=ctx.seed, name="pair_study")

    def run(self, p, ctx):
        r = ctx.simulate(self.network(p, ctx))
        w = r["syn.w"][np.argsort(r["syn.i"])]
        return ExperimentResult(arrays={"w": w}, info={"w_mean": float(w.mean())})
'''


#: a small network model file (seed 0 in the file; the runs below use seed 3)
NET_FILE = """
seed = 0
duration = "100 ms"

[[populations]]
name = "inp"
size = 20
model = { type = "poisson", rates = "30 Hz", frozen = true }

[[populations]]
name = "out"
size = 2
model = { type = "LIF", I_ext = "0.15 nA" }

[[projections]]
name = "ff"
pre = "inp"
post = "out"
w_init = [0.2, 0.8]
weight_scale = "0.5 nA"
rule = { type = "stdp", preset = "song_abbott" }
"""


def _pair_study(tmp_path: Path) -> Path:
    (tmp_path / "pair_study.py").write_text(PAIR_STUDY)
    model = tmp_path / "pair.toml"
    model.write_text('experiment = "pair_study.py:PairStudy"\nseed = 0\n\n[params]\nA_plus = 0.01\n')
    return model


# --------------------------------------------------------------------------- the seam

def test_run_simulates_the_network_that_network_returns(tmp_path):
    """The promise sweeps rely on, for shipped experiments and a user's: run() hands ctx.simulate an
    equal spec (same digest) to the one network() returns for the same parameters and seed."""
    from bioplaus.simulation import simulate

    net_file = tmp_path / "net.toml"
    net_file.write_text(NET_FILE)
    cases = [(_pair_study(tmp_path), ["params.A_plus=0.02"]),
             (net_file, ["projections.ff.rule.tau_plus=30ms"]),
             ("stdp_window", ["params.n_points=5"]),
             ("oja_pca", ["params.n_samples=100"])]
    for k, (model, overrides) in enumerate(cases):
        cfg = load_model(model, overrides, seed=3)
        spec, why = network_of(cfg)
        assert spec is not None and why == "", (model, why)
        assert spec.seed == 3
        seen = []

        def recording(spec_, backend, **kw):
            seen.append(spec_digest(spec_))
            return simulate(spec_, backend, **kw)

        res = run_model(cfg, tmp_path / f"run{k}", progress=quiet, simulator=recording)
        assert res.status == "ok"
        assert seen == [spec_digest(spec)], model


def test_experiment_without_network_runs_per_point_and_says_why(tmp_path):
    """On cpp, an experiment with no network() cannot share a build: each point runs on its own, and the
    plan says so and why."""
    sw = expand_sweep(toy_model(tmp_path), {"params.x": [1.0, 2.0, 3.0]}, backend="cpp")
    cfg = sw.config(sw.points[0])
    spec, why = network_of(cfg)
    assert spec is None and "does not define network()" in why and "sweep_toy" in why
    msgs: list[str] = []
    rep = run_sweep(sw, tmp_path / "study", in_process=True, progress=msgs.append)
    assert rep.ok and rep.modes == {"build": 3}
    assert any("3 builds for 3 points" in m for m in msgs), msgs
    assert any("own build per point: 3 points, no shared build" in m and "does not define network()" in m
               for m in msgs), msgs
    assert any("3 builds for 3 points" in line for line in rep.plan)


def test_network_that_returns_none_is_a_stated_reason(tmp_path):
    (tmp_path / "s.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from bioplaus.experiments import Experiment, ExperimentParams, ExperimentResult

        class Sometimes(Experiment):
            @dataclass(frozen=True)
            class Params(ExperimentParams):
                x: float = 1.0

            def network(self, p, ctx):
                return None

            def run(self, p, ctx):
                return ExperimentResult(info={"x": p.x})
    '''))
    m = tmp_path / "m.toml"
    m.write_text('experiment = "s.py:Sometimes"\n')
    spec, why = network_of(load_model(m))
    assert spec is None and "returned None" in why


def test_shared_build_run_serves_only_the_promised_network():
    """The simulator a shared build passes in the run context returns the point's arrays for the network
    network() gave, once; another network, a second call or another backend is a clear error."""
    from bioplaus.spec import NetworkSpec, Population, Projection, SpikeTrains, PairSTDP

    from brian2 import ms

    def net(a_plus=0.01):
        idx = np.arange(2)
        return NetworkSpec([Population("pre", SpikeTrains(indices=idx, times=[10, 20] * ms), 2),
                            Population("post", SpikeTrains(indices=idx, times=[20, 30] * ms), 2)],
                           [Projection("syn", "pre", "post", rule=PairSTDP(A_plus=a_plus, w_min=-1, w_max=1),
                                       connectivity="one_to_one", w_init=0.0)], duration="50 ms", name="two")

    arrays = {"syn.w": np.array([0.1, 0.2]), "syn.i": np.array([0, 1]), "syn.j": np.array([0, 1])}

    def sim():
        return SharedBuildRun(spec_digest(net()), "cpp", arrays, {"run_binary_s": 0.01}, {"backend": "cpp"},
                              experiment="two")

    s = sim()
    r = RunContext(backend="cpp", simulator=s).simulate(net())
    assert np.array_equal(r["syn.w"], [0.1, 0.2]) and r.backend == "cpp" and s.used
    with pytest.raises(BioplausError, match="second network"):
        s(net(), "cpp")
    with pytest.raises(BioplausError, match="another network"):
        sim()(net(a_plus=0.02), "cpp")                      # another value than the build ran with
    with pytest.raises(BioplausError, match="another network"):
        sim()(net(), "cpp", duration="80 ms")               # simulate(duration=...) changes the network too
    with pytest.raises(BioplausError, match="backend 'numpy'"):
        sim()(net(), "numpy")
    bad = SharedBuildRun(spec_digest(net()), "cpp", {**arrays, "syn.w": np.array([np.inf, 0.0])}, {}, {})
    with pytest.raises(DivergedError, match="syn"):        # the same divergence check as simulate
        bad(net(), "cpp")


@pytest.mark.standalone
def test_user_experiment_with_network_gets_one_shared_cpp_build(tmp_path, monkeypatch, request):
    """A study file that defines network() is swept on cpp with one compilation; every point's run got its
    own A_plus (the analytic pair-STDP weight change)."""
    from brian2 import prefs
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    builds = []
    orig = CPPStandaloneDevice.build

    def counting_build(self, *a, **kw):
        builds.append(kw.get("directory"))
        return orig(self, *a, **kw)

    monkeypatch.setattr(CPPStandaloneDevice, "build", counting_build)
    old_flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O0"]  # what is tested is the reuse, not the optimiser
    request.addfinalizer(lambda: setattr(prefs.codegen.cpp, "extra_compile_args_gcc", old_flags))
    values = [0.01, 0.02, 0.035]
    sw = expand_sweep(_pair_study(tmp_path), {"params.A_plus": values}, backend="cpp")
    msgs: list[str] = []
    rep = run_sweep(sw, tmp_path / "study", jobs=2, in_process=True, progress=msgs.append)
    assert len(builds) == 1, builds
    assert rep.ok and rep.modes == {"run_args": 3}
    assert any("3 points share one cpp build" in m and "projections.syn.A_plus" in m for m in msgs), msgs
    for p, a in zip(sw.points, values):
        w = np.load(tmp_path / "study" / "points" / p.id / "arrays.npz")["w"]
        np.testing.assert_allclose(w, a * np.exp(-0.5), rtol=1e-9)     # dw = A+ exp(-10 ms / 20 ms)
        rec = json.loads((tmp_path / "study" / "points" / p.id / "point.json").read_text())
        assert rec["mode"] == "run_args" and rec["metrics"]["w_mean"] == pytest.approx(a * np.exp(-0.5))


# --------------------------------------------------------------------------- the results table

def test_quantities_are_numbers_with_the_unit_in_the_column_name(tmp_path):
    pd = pytest.importorskip("pandas")
    import bioplaus

    model = toy_model(tmp_path)
    drawn = expand_sweep(model, {"params.x": [1, 2]}, random={"params.tau": "1 ms:2 ms"}, samples=2)
    assert value_columns(drawn) == {"params.x": "params.x", "params.tau": "params.tau_ms"}  # random draws too
    sw = expand_sweep(model, {"params.x": [1, 2], "params.tau": ["5 ms", "0.02 s"]})
    out = tmp_path / "study"
    run_sweep(sw, out, in_process=True, progress=quiet)
    with open(out / "results.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:5] == ["point", "index", "params.x", "params.tau_ms", "seed"]
    df = pd.read_csv(out / "results.csv")                       # no parsing: pandas reads numbers
    assert df["params.tau_ms"].dtype == float and df["params.tau_ms"].tolist() == [5.0, 20.0, 5.0, 20.0]
    assert df["params.x"].tolist() == [1, 1, 2, 2]
    # the score used the value in seconds: 0.02 s is 20 ms, not 0.02 ms
    assert (df["score"] - df["noise"]).tolist() == pytest.approx([5.0, 20.0, 10.0, 40.0])
    r = bioplaus.load(out)
    assert r.swept == {"params.x": "params.x", "params.tau": "params.tau_ms"}
    assert r.metrics["params.tau_ms"].tolist() == [5.0, 20.0, 5.0, 20.0]
    assert 'columns' in (out / "sweep.toml").read_text()
    # text that is no quantity stays text, under the key
    texts = expand_sweep("stdp_window", {"params.rule": ["stdp", "nearest_stdp"]})
    assert value_columns(texts) == {"params.rule": "params.rule"}


def test_mixed_dimensions_stay_text():
    from bioplaus.sweep.table import _numeric

    assert _numeric(["10 ms", "2 Hz"]) is None
    assert _numeric(["500 us", "2 ms"]) == ([500.0, 2000.0], "us")
    assert _numeric(["1 nA", "0.5 nA"]) == ([1.0, 0.5], "nA")
    assert _numeric([1, "2 ms"]) is None and _numeric(["fast", "slow"]) is None


# --------------------------------------------------------------------------- duplicate grid values

@pytest.mark.parametrize("values, dup", [([1, 1, 2], 1), ([1.0, 2.0, 1], 1), (["5 ms", "10ms", "0.01 s"], "0.01 s"),
                                         (["20 ms", "20ms"], "20ms")])
def test_duplicate_grid_values_are_refused_naming_key_and_value(tmp_path, values, dup):
    key = "params.x" if isinstance(values[0], (int, float)) else "params.tau"
    with pytest.raises(ConfigError) as e:
        expand_sweep(toy_model(tmp_path), {key: values})
    assert e.value.key_path == key and e.value.value == dup and e.value.source == "--grid"
    assert "more than once" in str(e.value)


def test_distinct_values_in_other_units_are_kept(tmp_path):
    sw = expand_sweep(toy_model(tmp_path), {"params.tau": ["10 ms", "0.02 s", "10.5 ms"]})
    assert len(sw.points) == 3


def test_cli_refuses_duplicate_grid_values(tmp_path, capsys):
    model = toy_model(tmp_path)
    assert cli.main(["sweep", model, "--grid", "params.tau=10ms,0.01s", "--dry-run", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "params.tau" in err and "0.01s" in err and "10ms" in err


def test_read_results_rows_match_points(tmp_path):
    sw = expand_sweep(toy_model(tmp_path), {"params.tau": ["1 ms", "2 ms"]})
    run_sweep(sw, tmp_path / "s", in_process=True, progress=quiet)
    rows = read_results(tmp_path / "s")
    assert [float(r["params.tau_ms"]) for r in rows] == [1.0, 2.0]
