"""Network model files: a whole NetworkSpec in TOML, its errors, overrides, sweeps and shipped claims."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from bioplaus.config import load_model
from bioplaus.errors import ConfigError
from bioplaus.runner import run_model
from bioplaus.spec.network import Explicit, FixedInDegree

MODELS = Path(__file__).resolve().parent.parent / "models"

SMALL = '''
description = "two Poisson inputs onto LIF neurons through pair STDP"
seed = 3
duration = "300 ms"

[[populations]]
name = "inp"
size = 40
model = { type = "poisson", rates = "30 Hz", frozen = true }

[[populations]]
name = "out"
size = 4
model = { type = "LIF", I_ext = "0.15 nA" }

[[projections]]
name = "ff"
pre = "inp"
post = "out"
w_init = [0.2, 0.8]
weight_scale = "0.5 nA"
rule = { type = "stdp", preset = "song_abbott", tau_plus = "20 ms" }
'''


def _quiet(_m):
    pass


def _write(tmp_path: Path, text: str, name: str = "net.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_network_file_runs_and_reports_rates_weights_and_figures(tmp_path):
    cfg = load_model(_write(tmp_path, SMALL))
    assert cfg.experiment == "network"
    spec = cfg.params.spec
    assert [p.name for p in spec.populations] == ["inp", "out"] and spec.seed == 3
    rule = spec.projection("ff").rule
    assert rule.A_plus == 0.005 and rule.A_minus == pytest.approx(0.00525)     # the preset, then the file's keys
    res = run_model(cfg, tmp_path / "out", progress=_quiet)
    pop = [r for r in res.rows if r["kind"] == "population"]
    assert [r["name"] for r in pop] == ["out"]            # default monitors: spiking neuron populations
    spikes = res.arrays["out.spikes.t"]
    assert pop[0]["rate_Hz"] == pytest.approx(len(spikes) / (4 * 0.3)) and len(spikes) > 0
    w = res.arrays["ff.w"]
    proj = [r for r in res.rows if r["kind"] == "projection"][0]
    assert proj["w_mean"] == pytest.approx(float(np.mean(w)))
    assert not np.allclose(np.sort(w), np.sort(np.random.default_rng(0).uniform(0.2, 0.8, w.size)))  # learned
    assert {"raster.png", "weights_ff.png"} <= {f.name for f in (tmp_path / "out" / "figures").iterdir()}
    # the results directory's config.toml is itself a network model file giving the same network
    again = load_model(tmp_path / "out" / "config.toml")
    assert again.params == cfg.params and again.params.spec.to_dict() == spec.to_dict()


def test_overrides_address_tables_by_name(tmp_path):
    path = _write(tmp_path, SMALL)
    cfg = load_model(path, ["projections.ff.rule.tau_plus=10ms", "populations.out.size=7", "duration=0.1s"])
    spec = cfg.params.spec
    assert float(spec.projection("ff").rule.tau_plus) == pytest.approx(0.010)
    assert spec.population("out").size == 7 and float(spec.duration) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match=r"projections\.fff\.rule\.tau_plus.*did you mean 'ff'"):
        load_model(path, ["projections.fff.rule.tau_plus=10ms"])
    with pytest.raises(ConfigError, match=r"projections\.ff\.rule\.tau_plus.*10 kg"):
        load_model(path, ["projections.ff.rule.tau_plus=10 kg"])


@pytest.mark.parametrize("change, key, fragment", [
    (('tau_plus = "20 ms"', 'tau_pluss = "20 ms"'), "projections[0].rule.tau_pluss", "did you mean 'tau_plus'"),
    (('tau_plus = "20 ms"', 'tau_plus = "-20 ms"'), "projections[0].rule.tau_plus", "positive"),
    (('type = "stdp"', 'type = "stdpp"'), "projections[0].rule.type", "did you mean 'stdp'"),
    (('preset = "song_abbott"', 'preset = "song_abot"'), "projections[0].rule.preset", "did you mean 'song_abbott'"),
    (('type = "LIF"', 'type = "LIFF"'), "populations[1].model.type", "did you mean 'LIF'"),
    (('I_ext = "0.15 nA"', 'I_ext = "0.15 mV"'), "populations[1].model.I_ext", "nA"),
    (('post = "out"', 'post = "ou"'), "projections[0].post", "did you mean 'out'"),
    (('name = "out"\nsize = 4', 'name = "out"\nsize = 0'), "populations[1].size", ">= 1"),
    (('w_init = [0.2, 0.8]', 'w_init = [0.8, 0.2]'), "projections[0].w_init", "low <= high"),
    (('weight_scale = "0.5 nA"', 'weight_scal = "0.5 nA"'), "projections[0].weight_scal", "did you mean"),
    (('duration = "300 ms"', 'duration = "300"'), "duration", "unit"),
    (('name = "out"\nsize = 4', 'name = "out"\nsize = 4\ninit = { vv = "-60 mV" }'), "populations[1].init.vv",
     "did you mean 'v'"),
])
def test_errors_name_the_place_in_the_file_and_the_value(tmp_path, change, key, fragment):
    path = _write(tmp_path, SMALL.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_model(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and f"{key} = " in msg and fragment in msg, msg


def test_network_keys_belong_to_network_files(tmp_path):
    path = _write(tmp_path, 'experiment = "oja"\n[[populations]]\nname = "a"\n')
    with pytest.raises(ConfigError, match=r"populations.*network keys need experiment"):
        load_model(path)


def test_initial_states_and_connectivity_tables(tmp_path):
    np.savez(tmp_path / "syn.npz", i=np.array([0, 1, 2]), j=np.array([3, 3, 0]))
    np.save(tmp_path / "w.npy", np.arange(40 * 4, dtype=float).reshape(40, 4) / 200)
    text = SMALL.replace('w_init = [0.2, 0.8]', 'w_init = { file = "w.npy" }\nconnectivity = { file = "syn.npz" }')
    text = text.replace('name = "out"\nsize = 4', 'name = "out"\nsize = 4\ninit = { v = ["-70 mV", "-55 mV"], '
                        'g_e = { normal = ["1 nA", "2 nA"] } }')
    cfg = load_model(_write(tmp_path, text))
    spec = cfg.params.spec
    c = spec.projection("ff").connectivity
    assert isinstance(c, Explicit) and list(c.i) == [0, 1, 2] and list(c.j) == [3, 3, 0]
    assert set(spec.population("out").init) == {"v", "g_e"}
    from bioplaus.build.network import connectivity_indices

    i, j = connectivity_indices(spec.projection("ff"), 40, 4, np.random.default_rng(0))
    assert list(i) == [0, 1, 2] and list(j) == [3, 3, 0]
    bad = text.replace('file = "syn.npz"', 'file = "nothere.npz"')
    with pytest.raises(ConfigError, match=r"projections\[0\]\.connectivity\.file.*no "):
        load_model(_write(tmp_path, bad, "bad.toml"))


def test_initial_value_draws_follow_their_distribution():
    from bioplaus.spec.init import initial_value

    rng = np.random.default_rng(1)
    u = initial_value("x", ["-70 mV", "-50 mV"]).draw(rng, 20000)
    assert float(u.min()) >= -0.070 and float(u.max()) <= -0.050
    assert float(np.mean(u)) == pytest.approx(-0.060, abs=2e-4)                    # mean of U(a, b)
    assert float(np.std(u)) == pytest.approx(0.020 / np.sqrt(12), rel=0.03)        # (b - a) / sqrt(12)
    g = initial_value("g", {"normal": ["40 nS", "15 nS"]}).draw(rng, 20000, nonnegative=True)
    assert float(np.mean(g)) == pytest.approx(40e-9, rel=0.01) and float(np.std(g)) == pytest.approx(15e-9, rel=0.03)
    clipped = initial_value("g", {"normal": ["0 nS", "1 nS"]}).draw(rng, 1000, nonnegative=True)
    assert float(clipped.min()) == 0.0                                               # no negative conductance


def test_fixed_degrees_are_exact_and_uniform():
    from bioplaus.build.network import connectivity_indices
    from bioplaus.spec import Population, Projection
    from bioplaus.spec.network import FixedOutDegree, NetworkSpec
    from bioplaus.spec.neurons import LIF

    pops = [Population("a", LIF(), 50), Population("b", LIF(), 30)]
    p_in = Projection("x", "a", "b", connectivity={"in_degree": 10}, weight_scale="1 nA")
    p_self = Projection("s", "a", "a", connectivity=FixedInDegree(49, allow_self=False), weight_scale="1 nA")
    p_out = Projection("y", "a", "b", connectivity={"out_degree": 5}, weight_scale="1 nA")
    NetworkSpec(pops, [p_in, p_self, p_out])
    rng = np.random.default_rng(0)
    i, j = connectivity_indices(p_in, 50, 30, rng)
    assert np.all(np.bincount(j, minlength=30) == 10)
    assert all(len(set(i[j == k])) == 10 for k in range(30))                        # distinct partners
    i, j = connectivity_indices(p_self, 50, 50, rng)
    assert not np.any(i == j) and np.all(np.bincount(j, minlength=50) == 49)
    i, j = connectivity_indices(p_out, 50, 30, rng)
    assert np.all(np.bincount(i, minlength=50) == 5)
    # over many draws every presynaptic unit is chosen equally often (uniform choice)
    counts = np.zeros(50)
    for s in range(200):
        i, _ = connectivity_indices(p_in, 50, 30, np.random.default_rng(s))
        counts += np.bincount(i, minlength=50)
    expected = 200 * 30 * 10 / 50
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 90                                                                 # chi2(49) 99.99th pct ~ 90
    with pytest.raises(ConfigError, match=r"projections\.z\.connectivity\.in_degree = 51.*at most 50"):
        NetworkSpec(pops, [Projection("z", "a", "b", connectivity={"in_degree": 51}, weight_scale="1 nA")])
    with pytest.raises(ConfigError, match=r"connectivity\.out_degree"):
        Projection("w", "a", "b", connectivity=FixedOutDegree(-1), weight_scale="1 nA")


# ----------------------------------------------------------------------------------- shipped network files

@pytest.mark.slow
def test_shipped_coba_network_sustains_irregular_activity(tmp_path):
    """models/coba_network.toml's claim: self-sustained activity, rate 10-40 Hz, ISI CV > 0.5."""
    cfg = load_model(MODELS / "coba_network.toml", ["duration=600ms"], backend="numpy")
    res = run_model(cfg, tmp_path / "coba", progress=_quiet)
    exc = next(r for r in res.rows if r.get("name") == "exc")
    assert 10 < exc["rate_Hz"] < 40 and exc["isi_cv"] > 0.5, exc
    t = res.arrays["exc.spikes.t"]
    assert np.sum(t > 0.5) > 0.005 * 3200       # still active at the end: sustained, not a transient


@pytest.mark.slow
def test_shipped_reward_network_credits_the_rewarded_pairing(tmp_path):
    """models/reward_stdp_network.toml's claim, over two seeds, and the no-reward control."""
    for seed in (0, 1):
        cfg = load_model(MODELS / "reward_stdp_network.toml", seed=seed)
        res = run_model(cfg, tmp_path / f"r{seed}", progress=_quiet)
        cue, bg = float(res.arrays["cue_syn.w"][0]), res.arrays["bg_syn.w"]
        assert cue > 0.9 and abs(float(bg.mean()) - 0.5) < 0.05 and float(bg.max()) < cue - 0.2, (cue, bg)
    cfg = load_model(MODELS / "reward_stdp_network.toml", ["modulators.dopamine.times=[]"])
    res = run_model(cfg, tmp_path / "none", progress=_quiet)
    assert float(res.arrays["cue_syn.w"][0]) == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.standalone
def test_shipped_song_network_normalises_the_output_rate(tmp_path):
    """models/song_stdp_network.toml's claim, shortened to 20 s on cpp: STDP lowers the output rate."""
    cfg = load_model(MODELS / "song_stdp_network.toml", ["duration=20s"], backend="cpp")
    res = run_model(cfg, tmp_path / "song", progress=_quiet)
    t = res.arrays["neuron.spikes.t"]
    first, last = np.sum(t < 5) / 5, np.sum(t > 15) / 5
    assert first > 150 and last < 0.85 * first, (first, last)
    assert float(res.arrays["exc.w"].mean()) < 0.9                                   # depressed from g_max


@pytest.mark.standalone
def test_network_sweep_on_cpp_shares_one_build(tmp_path):
    from bioplaus.sweep import expand_sweep, read_results, run_sweep

    path = _write(tmp_path, SMALL)
    sweep = expand_sweep(path, {"projections.ff.rule.tau_plus": ["10 ms", "40 ms"]}, backend="cpp")
    msgs: list[str] = []
    rep = run_sweep(sweep, tmp_path / "sweep", progress=msgs.append)
    assert rep.ok and rep.counts == {"ok": 2}
    rows = read_results(tmp_path / "sweep")
    assert {r["mode"] for r in rows} == {"run_args"}, rows
    w = [np.load(tmp_path / "sweep" / "points" / r["point"] / "arrays.npz")["ff.w"] for r in rows]
    assert not np.allclose(w[0], w[1])                                               # the value reached the run
    ref = run_model(load_model(path, ["projections.ff.rule.tau_plus=40ms"]), tmp_path / "numpy", progress=_quiet)
    np.testing.assert_allclose(w[1], ref.arrays["ff.w"], rtol=1e-9, atol=1e-12)       # = numpy, same value


def test_protocol_table_becomes_phases_and_errors_are_named(tmp_path):
    path = MODELS / "stdp_classifier_network.toml"
    cfg = load_model(path, ["protocol.n_train=20", "protocol.n_test=10", "protocol.epochs=2"])
    proto = cfg.params.spec.protocol
    assert [p.name for p in proto.phases] == ["train0", "train1", "assign", "test"]
    assert [len(p) for p in proto.phases] == [20, 20, 20, 10]
    assert set(proto.phase("train0").indices) == set(range(20)) == set(proto.phase("assign").indices)
    assert set(proto.phase("test").indices) == set(range(20, 30))          # held out: disjoint from training
    assert proto.phase("train0").learn == 1 and proto.phase("test").learn == 0
    assert float(proto.samples.min()) == 0.0 and float(proto.samples.max()) == 1.0
    assert cfg.params.spec.duration == 70 * proto.window and cfg.params.spec.readouts[0].population == "exc"
    for override, fragment in (("protocol.n_train=5000", r"protocol\.n_train = 5000.*\[1, 1347\]"),
                               ("protocol.epoch=2", r"protocol\.epoch = 2.*did you mean 'epochs'"),
                               ("readouts.readout.population=inh2", r"population")):
        with pytest.raises(ConfigError, match=fragment):
            load_model(path, [override])


@pytest.mark.slow
@pytest.mark.standalone
def test_shipped_classifier_network_learns_above_chance(tmp_path):
    """models/stdp_classifier_network.toml, shortened (30 neurons, 150 training samples) on cpp: well
    above chance (0.1) already; the full file's accuracy is in README's models table."""
    cfg = load_model(MODELS / "stdp_classifier_network.toml",
                     ["populations.exc.size=30", "populations.inh.size=30", "protocol.n_train=150",
                      "protocol.n_test=100"], backend="cpp")
    res = run_model(cfg, tmp_path / "dc", progress=_quiet)
    acc = {r["phase"]: r["accuracy"] for r in res.rows if r["kind"] == "readout"}
    assert set(acc) == {"train0", "assign", "test"}
    assert acc["test"] > 0.2, acc                                                   # chance is 0.1 (measured 0.33)
    w = res.arrays["input_exc.w"]
    assert float(np.std(w)) > 0.1 and float(w.max()) > 0.5                          # receptive fields formed


def test_shipped_network_files_validate():
    for name in ("coba_network", "song_stdp_network", "reward_stdp_network", "stdp_classifier_network"):
        cfg = load_model(MODELS / f"{name}.toml")
        assert cfg.experiment == "network" and cfg.params.spec.populations
        raw = tomllib.loads((MODELS / f"{name}.toml").read_text())
        assert raw["description"] and "Claim" in (MODELS / f"{name}.toml").read_text()
