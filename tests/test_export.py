"""NWB export: spikes, recorded state and weights of a real run, read back with pynwb and compared with
arrays.npz value for value."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bioplaus.cli import main
from bioplaus.experiments.base import Experiment, ExperimentParams, ExperimentResult, register_experiment
from bioplaus.export import nwb_layout

pynwb = pytest.importorskip("pynwb")


@register_experiment("export_toy")
class ExportToy(Experiment):
    """A small plastic spiking network: Poisson inputs -> 3 LIF neurons with pair STDP, spikes and v recorded."""

    description = "export test network"

    @dataclass(frozen=True, eq=False)
    class Params(ExperimentParams):
        pass

    def run(self, p, ctx):
        from bioplaus import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection, simulate

        net = NetworkSpec(
            populations=[Population("inp", PoissonInput(rates="30 Hz", frozen=True), 30),
                         Population("out", LIF(), 3)],
            projections=[Projection("ff", "inp", "out", rule=PairSTDP.song_abbott(), w_init=(0.2, 0.8),
                                    weight_scale="1 nA")],
            monitors=[Monitor("inp"), Monitor("out", ("spikes", "v"), indices=[0, 2])],
            duration="100 ms", seed=ctx.seed)
        r = simulate(net, ctx.backend)
        return ExperimentResult(rows=[{"epoch": 0, "spikes": int(r["out.spikes.t"].size)}],
                                arrays={**r.arrays, "W_dense": r.weight_matrix("ff")})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    model = root / "toy.toml"
    model.write_text('experiment = "export_toy"\nbackend = "numpy"\nseed = 2\n')
    out = root / "run"
    assert main(["run", str(model), "--out", str(out), "--quiet"]) == 0
    return out


def test_nwb_round_trip_equals_the_arrays(run_dir, capsys):
    assert main(["export", str(run_dir), "--format", "nwb"]) == 0
    path = run_dir / "export" / "run.nwb"
    assert str(path) in capsys.readouterr().out
    with np.load(run_dir / "arrays.npz") as z:
        a = {k: z[k] for k in z.files}
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        units = f.units.to_dataframe()
        # spikes: one unit per neuron that fired, with its population and index
        for pop in ("inp", "out"):
            t, i = a[f"{pop}.spikes.t"], a[f"{pop}.spikes.i"]
            assert t.size > 0
            sub = units[units.population == pop]
            assert sorted(sub.neuron) == sorted(np.unique(i).tolist())
            for _, u in sub.iterrows():
                assert np.array_equal(np.asarray(u.spike_times), np.sort(t[i == u.neuron]))
        # state: time-first TimeSeries with the recorded times
        ts = f.acquisition["out.state.v"]
        assert ts.unit == "volts"
        assert np.array_equal(ts.data[:], a["out.state.v"].T) and np.array_equal(ts.timestamps[:], a["out.state.t"])
        # weights: one table per projection
        table = f.processing["synapses"]["ff"]
        assert np.array_equal(table["pre"].data[:], a["ff.i"]) and np.array_equal(table["post"].data[:], a["ff.j"])
        assert np.array_equal(table["weight"].data[:], a["ff.w"])
        assert not np.allclose(a["ff.w"], a["ff.w"][0])  # plastic weights, not one value
        # the rest as scratch data, the metrics table beside it
        assert np.array_equal(f.scratch["W_dense"].data[:], a["W_dense"], equal_nan=True)
        assert "spikes" in str(f.scratch["metrics.csv"].data)
        assert "export_toy" in f.session_description


def test_export_refuses_what_it_cannot_or_must_not_write(run_dir, tmp_path, capsys):
    target = tmp_path / "x.nwb"
    assert main(["export", str(run_dir), "--out", str(target)]) == 0
    capsys.readouterr()
    assert main(["export", str(run_dir), "--out", str(target)]) == 2   # never overwritten silently
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--out", str(target), "--overwrite"]) == 0
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_layout_of_single_neuron_traces():
    """Firing-pattern style arrays (one neuron: P.spikes, P.t, P.v) map to a unit and a TimeSeries."""
    t = np.linspace(0, 0.1, 11)
    lay = nwb_layout({"rs.spikes": np.array([0.01, 0.05]), "rs.t": t, "rs.v": np.sin(t), "rs.I": np.ones(11),
                      "labels": np.arange(3)})
    assert list(lay["units"]) == ["rs"] and lay["units"]["rs"][1].tolist() == [0, 0]
    assert set(lay["series"]) == {"rs.v", "rs.I"} and np.array_equal(lay["series"]["rs.v"][0], t)
    assert list(lay["scratch"]) == ["labels"] and not lay["synapses"]
