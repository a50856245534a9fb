"""Unsupervised STDP classifier (Diehl & Cook 2015): one run for the whole training loop,
plasticity and homeostasis inside the simulator, label assignment, learning on a toy problem."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.networks.stdp_classifier import (DiehlCook, Schedule, assign_labels, classifier_schedule, predict,
                                               run_classifier, running_accuracy, window_counts)

# two classes with disjoint active inputs: a competitive network separates them without labels
N_IN = 16
TOY = dict(n_exc=4, max_rate="160 Hz", norm_total=8.0, nu_post=0.2, theta_plus="0.5 mV", present="100 ms",
           rest="40 ms", dt="0.5 ms", epochs=1, w_init=(0.2, 0.8))


def toy_data(n_per_class: int, rng: np.random.Generator):
    x = np.zeros((2 * n_per_class, N_IN))
    y = np.repeat([0, 1], n_per_class)
    x[y == 0, :N_IN // 2] = 1.0
    x[y == 1, N_IN // 2:] = 1.0
    x *= rng.uniform(0.8, 1.0, size=x.shape)
    return x, y


def toy_schedule(seed: int = 0) -> tuple[Schedule, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = toy_data(8, rng)                                   # 16 samples
    train, test = np.arange(0, 16, 2)[:8], np.arange(1, 16, 2)  # both classes in each half
    train = np.concatenate([train, train])                   # 16 training presentations
    sch = classifier_schedule(x, y, train, 1, {"test": test}, rng, assign=np.arange(0, 16, 2))
    return sch, x, y


@pytest.fixture(scope="module")
def toy_run():
    import brian2

    calls = []
    original = brian2.Network.run

    def run(self, *a, **kw):
        calls.append(a[0] if a else kw.get("duration"))
        return original(self, *a, **kw)

    brian2.Network.run = run
    try:
        sch, x, y = toy_schedule()
        cfg = DiehlCook(**TOY)
        res = run_classifier(cfg, sch, "numpy", seed=3)
    finally:
        brian2.Network.run = original
    return res, sch, cfg, calls


# ---------------------------------------------------------------------- pure functions

def test_assign_labels_on_synthetic_responses():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    pref = np.array([2, 0, 1, 1, 2, 0])           # neuron k answers to class pref[k]
    counts = rng.poisson(0.3, size=(60, 6))
    for k, c in enumerate(pref):
        counts[labels == c, k] += 5
    counts[:, 5] = 0                              # a neuron that never fires
    a = assign_labels(counts, labels, 3)
    assert a[:5].tolist() == pref[:5].tolist()
    assert a[5] == -1
    # class means, not sums: a class with more samples must not win by numbers
    uneven = np.array([[1], [1], [1], [2]])
    assert assign_labels(uneven, np.array([0, 0, 0, 1]), 2).tolist() == [1]


def test_predict_uses_mean_response_of_assigned_neurons():
    a = np.array([0, 0, 0, 1])
    counts = np.array([[1, 1, 1, 2],    # class 0 mean 1 < class 1 mean 2
                       [3, 0, 0, 0],    # class 0 mean 1 > 0
                       [0, 0, 0, 0]])   # silent
    assert predict(counts, a, 2).tolist() == [1, 0, -1]
    # a class without neurons is never predicted
    assert predict(np.array([[0, 0, 0, 1]]), np.array([0, 0, 0, 0]), 3).tolist() == [0]


def test_window_counts_and_running_accuracy():
    t = np.array([0.01, 0.02, 0.26, 0.74, 0.76])
    i = np.array([0, 0, 1, 1, 0])
    c = window_counts(t, i, 0.25, 4, 2)
    assert c.tolist() == [[2, 0], [0, 1], [0, 1], [1, 0]]
    assert window_counts(t, i, 0.25, 2, 2, start=2).tolist() == [[0, 1], [1, 0]]
    counts = np.tile(np.eye(2, dtype=int), (10, 1))
    labels = np.tile([0, 1], 10)
    seen, acc = running_accuracy(counts, labels, 2, 4)
    assert seen.tolist() == [8, 12, 16, 20] and np.all(acc == 1.0)


def test_schedule_phases_and_learning_flags():
    sch, x, y = toy_schedule()
    assert list(sch.phases) == ["train0", "assign", "test"]
    assert len(sch) == 16 + 8 + 8
    assert np.all(sch.plastic[sch.phases["train0"]] == 1) and np.all(sch.plastic[16:] == 0)
    assert np.array_equal(sch.labels, y[sch.order])


@pytest.mark.parametrize("field, value, fragment", [
    ("n_exc", 0, "integer >= 1"),
    ("present", "1.25 ms", "multiple of dt"),
    ("rule", "tripplet", "did you mean 'triplet'"),
    ("w_init", (0.5, 2.0), "w_max"),
    ("max_rate", 60, "got no unit"),
])
def test_bad_parameters_name_the_field(field, value, fragment):
    from bioplaus.experiments.stdp_classifier import STDPClassifierExperiment

    with pytest.raises(ConfigError, match=fragment) as ei:
        STDPClassifierExperiment.Params.from_mapping({field: value})
    assert ei.value.key_path == f"params.{field}"
    with pytest.raises(ConfigError) as ei:
        STDPClassifierExperiment.Params.from_mapping({"n_exe": 10})
    assert ei.value.key_path == "params.n_exe" and "n_exc" in str(ei.value)


# ---------------------------------------------------------------------- the simulation (numpy backend)

def test_training_loop_is_a_single_run(toy_run):
    res, sch, cfg, calls = toy_run
    assert len(calls) == 1                                    # training + assignment + test: one Network.run
    assert abs(float(calls[0]) - len(sch) * float(cfg.window)) < 1e-9


def test_weights_learn_and_normalisation_holds(toy_run):
    res, sch, cfg, _ = toy_run
    W = res.weights
    rng = np.random.default_rng(np.random.SeedSequence([3, 0xDC]))
    W0 = rng.uniform(*cfg.w_init, size=W.shape)
    W0 = W0 * cfg.norm_total / W0.sum(axis=0)
    assert np.abs(W - W0).max() > 0.05                        # STDP changed the weights
    np.testing.assert_allclose(W.sum(axis=0), cfg.norm_total, rtol=1e-9)
    assert W.min() >= 0


def test_adaptive_thresholds_increase_where_neurons_fired(toy_run):
    res, sch, cfg, _ = toy_run
    fired = res.counts["train0"].sum(axis=0) > 0
    assert fired.any()
    assert np.all(res.theta[fired] > 0) and np.all(res.theta[~fired] == 0)
    # theta grows by theta_plus per training spike only (decay negligible, frozen afterwards)
    n_train_spikes = res.counts["train0"].sum(axis=0)
    np.testing.assert_allclose(res.theta, n_train_spikes * float(cfg.theta_plus), rtol=0.02)


def test_two_class_toy_problem_is_learnt(toy_run):
    """Network seeds 3 (the shared run), 0 and 5. With 1-4 spikes per test sample one miss in 8 is
    common (accuracy 0.875 at seeds 3, 5, 8 of 0-9, 1.0 at the others): each seed must reach 0.75 and
    the three together 0.8 (chance: 0.5)."""
    res, sch, cfg, _ = toy_run
    correct = 0
    for seed in (3, 0, 5):
        r = res if seed == 3 else run_classifier(cfg, sch, "numpy", seed=seed)
        a = assign_labels(r.counts["assign"], sch.phase_labels("assign"), 2)
        assert set(a[a >= 0]) == {0, 1}, f"seed {seed}: assignments {a}"  # specialised on both classes
        hits = predict(r.counts["test"], a, 2) == sch.phase_labels("test")
        assert hits.mean() >= 0.75, f"seed {seed}: test accuracy {hits.mean()}"
        correct += int(hits.sum())
    assert correct / (3 * len(hits)) >= 0.8


def test_plasticity_off_freezes_weights_and_thresholds():
    sch, x, y = toy_schedule()
    frozen = Schedule.build(x, y, [("test", np.arange(6), 0.0)])
    cfg = DiehlCook(**{**TOY, "present": "50 ms", "rest": "20 ms"})
    res = run_classifier(cfg, frozen, "numpy", seed=3)
    rng = np.random.default_rng(np.random.SeedSequence([3, 0xDC]))
    W0 = rng.uniform(*cfg.w_init, size=res.weights.shape)
    np.testing.assert_allclose(res.weights, W0 * cfg.norm_total / W0.sum(axis=0), rtol=1e-9)
    assert res.counts["test"].sum() > 0 and np.all(res.theta == 0)


def test_classifier_is_composed_of_ordinary_specs(toy_run):
    """Diehl & Cook as a NetworkSpec: nothing but generic pieces, built by the one builder."""
    from bioplaus.networks.stdp_classifier import classifier_spec
    from bioplaus.spec.neurons import AdaptiveThreshold
    from bioplaus.spec.protocol import ProtocolInput, SpikeCountReadout
    from bioplaus.spec.rules import TripletSTDP, WeightNormalization

    res, sch, cfg, _ = toy_run
    spec = classifier_spec(cfg, sch, seed=3)
    assert isinstance(spec.population("input").model, ProtocolInput)
    assert isinstance(spec.population("exc").model.adaptation, AdaptiveThreshold)
    ff = spec.projection("input_exc")
    assert isinstance(ff.rule, TripletSTDP) and isinstance(ff.homeostasis, WeightNormalization) and ff.homeostasis.tracked
    assert spec.projection("inh_exc").connectivity == "all_but_self" and spec.projection("inh_exc").receptor == "inh"
    assert [(type(r), r.population, r.assign) for r in spec.readouts] == [(SpikeCountReadout, "exc", "assign")]
    assert len(spec.protocol) == len(sch) and float(spec.duration) == pytest.approx(len(sch) * float(cfg.window))
    # the read-out computed by simulate() is the assignment and prediction of the counts per phase
    r = res.readout
    a = assign_labels(res.counts["assign"], sch.phase_labels("assign"), 2)
    assert r["assignments"].tolist() == a.tolist()
    assert r["accuracy"]["test"] == np.mean(predict(res.counts["test"], a, 2) == sch.phase_labels("test"))
    assert np.array_equal(r["counts"]["train0"], res.counts["train0"])


def test_networks_module_does_not_drive_brian2():
    import ast
    import inspect

    import bioplaus.networks.stdp_classifier as mod

    tree = ast.parse(inspect.getsource(mod))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brian2"):
            assert node.module == "brian2" and {a.name for a in node.names} <= {"Hz", "mV", "ms", "nS", "pF"}, \
                ast.dump(node)
        assert not (isinstance(node, ast.Import) and any(a.name.startswith("brian2") for a in node.names))


def _gated_net(learn_in_rest: bool):
    """Plastic background synapses onto a neuron driven by a protocol: learning follows the gate."""
    from bioplaus.spec import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection
    from bioplaus.spec.protocol import Phase, Protocol, ProtocolInput

    proto = Protocol(samples=np.ones((1, 4)), phases=[Phase("train", [0, 0], 1.0), Phase("test", [0], 0.0)],
                     labels=[0], present="40 ms", rest="40 ms", learn_in_rest=learn_in_rest)
    return NetworkSpec(
        [Population("x", ProtocolInput(max_rate="200 Hz"), 4), Population("bg", PoissonInput(rates="80 Hz"), 4),
         Population("y", LIF(), 1)],
        [Projection("drive", "x", "y", w_init=1.0, weight_scale="3 nA"),
         Projection("plastic", "bg", "y", rule=PairSTDP(A_plus=0.02, A_minus=0.021), w_init=0.5,
                    weight_scale="0.5 nA")],
        monitors=[Monitor("plastic", ("w",), dt="1 ms"), Monitor("y")], dt="0.1 ms", duration=proto.duration,
        protocol=proto, seed=2)


def test_gated_windows_learn_only_while_a_sample_is_shown():
    from bioplaus.simulation import simulate

    r = simulate(_gated_net(learn_in_rest=False), "numpy")
    t, w = r["plastic.state.t"], r["plastic.state.w"]            # (4,) synapses x times
    steps = np.abs(np.diff(w, axis=1)).max(axis=0)
    tt = t[1:]
    phase_t = tt % 0.08
    train = tt < 0.16
    present = (phase_t > 0.0015) & (phase_t < 0.0385)
    rest = (phase_t > 0.0415) & (phase_t < 0.0785)
    assert steps[train & present].max() > 1e-3                  # learning while presented
    assert steps[train & rest].max() == 0                        # the post neuron still fires in rest: frozen
    assert steps[tt > 0.1615].max() == 0                         # test phase: learn = 0
    assert r.spike_counts("y")[0] > 0
    # with learn_in_rest the same activity changes the weights during the rest too
    r2 = simulate(_gated_net(learn_in_rest=True), "numpy")
    steps2 = np.abs(np.diff(r2["plastic.state.w"], axis=1)).max(axis=0)
    assert steps2[train & rest].max() > 1e-3 and steps2[tt > 0.1615].max() == 0


def test_protocol_and_readout_errors_name_the_field():
    from bioplaus.spec import LIF, Monitor, NetworkSpec, Population
    from bioplaus.spec.protocol import Phase, Protocol, ProtocolInput, SpikeCountReadout

    with pytest.raises(ConfigError) as ei:
        Protocol(samples=np.ones((3, 2)), phases=[Phase("train", [0, 3])])
    assert ei.value.key_path == "phases.train.indices" and "[0, 2]" in str(ei.value)
    proto = Protocol(samples=np.ones((3, 2)), phases=[Phase("train", [0, 1]), Phase("assign", [2], 0.0)],
                     labels=[0, 1, 0], present="10 ms", rest="5 ms")
    pops = [Population("x", ProtocolInput(), 2), Population("y", LIF(), 3)]
    with pytest.raises(ConfigError, match="a network with a protocol"):
        NetworkSpec(pops)
    with pytest.raises(ConfigError, match=r"multiple of dt") as ei:
        NetworkSpec(pops, dt="0.3 ms", protocol=proto)
    assert ei.value.key_path == "protocol.present"
    with pytest.raises(ConfigError, match=r"Monitor\('y'\)") as ei:
        NetworkSpec(pops, protocol=proto, readouts=[SpikeCountReadout("y")])
    assert ei.value.key_path == "readouts.readout.population"
    with pytest.raises(ConfigError, match="a phase of the protocol: train, assign"):
        NetworkSpec(pops, monitors=[Monitor("y")], protocol=proto, readouts=[SpikeCountReadout("y", assign="labels")])


def test_experiment_outputs(tmp_path):
    from bioplaus.experiments.base import RunContext
    from bioplaus.experiments.stdp_classifier import STDPClassifierExperiment

    p = STDPClassifierExperiment.Params.from_mapping(dict(
        n_exc=6, n_train=20, n_test=10, validation_fraction=0.0, epochs=1, present="40 ms", rest="20 ms",
        curve_block=5, raster_samples=3))
    res = STDPClassifierExperiment().run(p, RunContext(backend="numpy", seed=1, progress=lambda m: None))
    kinds = [r["kind"] for r in res.rows]
    assert "test" in kinds and "running_train" in kinds
    assert res.arrays["weights"].shape == (64, 6) and res.arrays["theta"].shape == (6,)
    assert res.arrays["assignments"].shape == (6,) and res.arrays["confusion_test"].sum() == 10
    assert {"receptive_fields", "confusion_test", "raster", "learning_curve"} <= set(res.figures)
    assert "accuracy" in res.summary
    np.savez(tmp_path / "a.npz", **res.arrays)                # npz-able


@pytest.mark.standalone
def test_classifier_trains_on_cpp():
    """Same toy problem as one compiled cpp_standalone run: learns, and matches numpy in kind."""
    sch, x, y = toy_schedule()
    cfg = DiehlCook(**TOY)
    res = run_classifier(cfg, sch, "cpp", seed=3)
    assert res.timings["run_s"] > 0
    a = assign_labels(res.counts["assign"], sch.phase_labels("assign"), 2)
    acc = np.mean(predict(res.counts["test"], a, 2) == sch.phase_labels("test"))
    assert acc >= 0.85
    np.testing.assert_allclose(res.weights.sum(axis=0), cfg.norm_total, rtol=1e-9)
    assert np.all(res.theta[res.counts["train0"].sum(axis=0) > 0] > 0)


def test_triplet_without_A3_minus_drops_the_r2_trace_unless_recorded():
    """Diehl & Cook's rule (A3_minus = 0) needs no r2 trace; a monitor of r2 or A3_minus > 0 keeps it."""
    from bioplaus.backends import session
    from bioplaus.build.network import build_network
    from bioplaus.spec import LIF, Monitor, NetworkSpec, PoissonInput, Population, Projection, TripletSTDP

    def syn_vars(rule, monitors=()):
        net = NetworkSpec([Population("x", PoissonInput(rates="10 Hz"), 3), Population("y", LIF(), 2)],
                          [Projection("ff", "x", "y", rule=rule, weight_scale="1 nA")], monitors=monitors)
        with session("numpy"):
            return set(build_network(net).synapses["ff"].variables)

    dc = TripletSTDP(A2_plus=0.0, A3_minus=0.0, nearest=True)
    assert "r2" not in syn_vars(dc) and {"r1", "o1", "o2"} <= syn_vars(dc)
    assert "r2" in syn_vars(dc, [Monitor("ff", ("r2",))])
    assert "r2" in syn_vars(TripletSTDP())
