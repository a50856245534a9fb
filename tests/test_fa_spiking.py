"""Spiking feedback alignment (event-driven random backpropagation): error neurons carry the sign
of the error, event-driven updates reduce it, the random feedback stays fixed."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.networks.fa_spiking import SpikingFA, fa_schedule, predict_counts, run_fa_spec
from bioplaus.networks.stdp_classifier import Schedule

N_IN, N_HID, K = 8, 12, 2
FAST = dict(n_hidden=N_HID, present="60 ms", rest="10 ms", dt="1 ms", max_rate="200 Hz", target_rate="100 Hz")


def toy_data():
    """Two classes: the first or the second half of the inputs active."""
    x = np.zeros((2, N_IN))
    x[0, :N_IN // 2] = 1.0
    x[1, N_IN // 2:] = 1.0
    return x, np.array([0, 1])


@pytest.fixture(scope="module")
def trained():
    x, y = toy_data()
    rng = np.random.default_rng(0)
    train = np.tile([0, 1], 8)
    # before: an evaluation with plasticity off, then 3 epochs each followed by an evaluation
    parts = [("before", np.array([0, 1, 0, 1]), 0.0)]
    sch = fa_schedule(x, y, train, 3, {"eval": np.array([0, 1, 0, 1])}, rng, lr_decay=0.0)
    sch = Schedule.build(x, y, parts + [(n, sch.order[s], float(sch.plastic[s.start])) for n, s in sch.phases.items()])
    cfg = SpikingFA(**FAST, epochs=3, eta=0.01, w1_init=0.3, w2_init=0.05)
    return run_fa_spec(cfg, sch, K, "numpy", seed=1), sch, cfg


def test_error_neurons_fire_with_the_sign_of_the_error():
    x, y = toy_data()
    sch = Schedule.build(x, y, [("probe", np.array([0, 0, 0]), 0.0)])      # label: class 0 every time
    cfg = SpikingFA(**FAST, epochs=1)
    w1 = np.full((N_IN, N_HID), 0.4)                                      # hidden neurons fire
    w2 = np.zeros((N_HID, K))
    w2[:, 1] = 0.3                                                        # only the wrong output fires
    res = run_fa_spec(cfg, sch, K, "numpy", seed=0, w1=w1, w2=w2)
    out, err = res.counts["probe"].sum(axis=0), res.err_counts["probe"].sum(axis=0)
    assert out[1] > 10 and out[0] == 0
    e_plus, e_minus = err[:K], err[K:]
    assert e_plus[1] > 5 and e_minus[1] == 0          # output 1 too active: positive error
    assert e_minus[0] > 5 and e_plus[0] == 0          # output 0 silent but wanted: negative error
    np.testing.assert_array_equal(res.w1, w1)         # plasticity off: nothing learnt
    np.testing.assert_array_equal(res.w2, w2)


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_event_driven_updates_reduce_the_error(seed):
    """Output error |n_correct - target| + n_wrong (spike counts per presentation) falls from 6 to at most
    3.75 after 3 epochs at every seed 0-7 (the error neurons' own counts, 0-3 spikes, are too few to compare)."""
    x, y = toy_data()
    parts = [("before", np.array([0, 1, 0, 1]), 0.0)]
    sch = fa_schedule(x, y, np.tile([0, 1], 8), 3, {"eval": np.array([0, 1, 0, 1])}, np.random.default_rng(0),
                      lr_decay=0.0)
    sch = Schedule.build(x, y, parts + [(n, sch.order[s], float(sch.plastic[s.start])) for n, s in sch.phases.items()])
    cfg = SpikingFA(**FAST, epochs=3, eta=0.01, w1_init=0.3, w2_init=0.05)
    res = run_fa_spec(cfg, sch, K, "numpy", seed=seed)
    target = float(cfg.target_rate * cfg.present)

    def output_error(phase):
        c, lab = res.counts[phase], y[sch.order[sch.phases[phase]]]
        i = np.arange(len(c))
        return float(np.mean(np.abs(c[i, lab] - target) + c[i, 1 - lab]))

    assert output_error("before") == target  # silent outputs before learning
    assert output_error("eval2") < 0.75 * output_error("before")
    assert res.accuracy("eval2") == 1.0
    assert np.abs(res.w1 - res.w1_init).max() > 0 and np.abs(res.w2 - res.w2_init).max() > 0
    assert np.all(np.abs(res.w1) <= cfg.w_max) and np.all(np.abs(res.w2) <= cfg.w_max)


def test_feedback_matrix_stays_fixed(trained):
    res, sch, cfg = trained
    np.testing.assert_array_equal(res.feedback_after, res.feedback)
    rng = np.random.default_rng(np.random.SeedSequence([1, 0xFA]))
    rng.normal(size=(N_IN, N_HID)), rng.normal(size=(N_HID, K))          # W1, W2 are drawn first
    np.testing.assert_allclose(res.feedback, rng.normal(0.0, 1.0, size=(N_HID, K)) * cfg.feedback_scale)


def test_schedule_decays_the_learning_rate_per_epoch():
    x, y = toy_data()
    sch = fa_schedule(x, y, np.array([0, 1, 1]), 3, {"val": np.array([0])}, np.random.default_rng(0), lr_decay=0.5)
    assert list(sch.phases) == ["train0", "val0", "train1", "val1", "train2", "val2"]
    assert [float(sch.plastic[sch.phases[f"train{e}"]][0]) for e in range(3)] == [1.0, 1 / 1.5, 0.5]
    assert np.all(sch.plastic[sch.phases["val1"]] == 0)
    assert predict_counts(np.array([[0, 2], [1, 1], [0, 0]])).tolist() == [1, 0, -1]


@pytest.mark.parametrize("field, value, fragment", [
    ("n_hidden", 0, "integer >= 1"),
    ("b_high", -1.0, "above b_low"),
    ("tau_U", "5 mV", "ms"),
    ("eta", -1e-3, ">= 0"),
])
def test_bad_parameters_name_the_field(field, value, fragment):
    from bioplaus.experiments.fa_spiking import FASpikingExperiment

    with pytest.raises(ConfigError, match=fragment) as ei:
        FASpikingExperiment.Params.from_mapping({field: value})
    assert ei.value.key_path == f"params.{field}"


def test_experiment_outputs():
    from bioplaus.experiments.base import RunContext
    from bioplaus.experiments.fa_spiking import FASpikingExperiment

    p = FASpikingExperiment.Params.from_mapping(dict(n_hidden=8, n_train=10, n_test=6, validation_fraction=0.0,
                                                     epochs=1, present="30 ms", rest="10 ms", dt="1 ms",
                                                     raster_samples=2))
    res = FASpikingExperiment().run(p, RunContext(backend="numpy", seed=2, progress=lambda m: None))
    assert [r["epoch"] for r in res.rows] == [1] and "test_acc" in res.rows[0]
    assert res.arrays["w1"].shape == (64, 8) and res.arrays["feedback"].shape == (8, 10)
    assert res.info["feedback_fixed"] is True
    assert {"learning_curve", "confusion_test", "raster", "hidden_receptive_fields"} <= set(res.figures)


# --------------------------------------------------------------------------- the network as a NetworkSpec

def _fingerprint(res) -> str:
    """Digest of the output and error spikes (time steps of 0.1 ms, units) and the final weights."""
    import hashlib

    h = hashlib.sha1()
    for k in ("output", "err"):
        t, i = res.spikes[k]
        h.update(np.round(np.asarray(t) * 1e4).astype(np.int64).tobytes())
        h.update(np.asarray(i).astype(np.int64).tobytes())
    for a in (res.w1, res.w2):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


#: recorded from the hand-wired Brian2 network (run_fa of commit 0980675, numpy target, seed 1) before it was
#: removed; the spec-built network gave the same digest then (benchmarks/RESULTS.md, spiking FA before/after)
HAND_WIRED = {"digest": "5f86c65a47e35412", "spikes": {"output": 86, "err": 87},
              "w1_sum": 1.6614284326797915, "w2_sum": 2.125807167183884,
              "acc": {"train0": 0.125, "eval0": 0.5, "train1": 0.75, "eval1": 1.0, "train2": 1.0, "eval2": 1.0}}


@pytest.mark.slow
def test_spec_network_reproduces_the_hand_wired_network_spike_for_spike():
    """fa_spiking_spec built by the one builder: the same spikes and weights as the hand-wired network had."""
    x, y = toy_data()
    sch = fa_schedule(x, y, np.tile([0, 1], 8), 3, {"eval": np.array([0, 1])}, np.random.default_rng(0), lr_decay=0.5)
    cfg = SpikingFA(**FAST, epochs=3, eta=0.01, w1_init=0.3, w2_init=0.05)
    new = run_fa_spec(cfg, sch, K, "numpy", seed=1)
    assert {k: len(new.spikes[k][0]) for k in ("output", "err")} == HAND_WIRED["spikes"]
    assert np.abs(new.w1 - new.w1_init).max() > 0.05                       # it learnt...
    assert float(new.w1.sum()) == HAND_WIRED["w1_sum"] and float(new.w2.sum()) == HAND_WIRED["w2_sum"]
    assert _fingerprint(new) == HAND_WIRED["digest"]                       # ...exactly as before
    np.testing.assert_array_equal(new.feedback_after, new.feedback)        # the random feedback stayed fixed
    assert {p: new.accuracy(p) for p in sch.phases} == HAND_WIRED["acc"]


def test_spiking_credit_declarations_are_validated():
    from bioplaus.networks.fa_spiking import fa_spiking_spec
    from bioplaus.spec import NetworkSpec
    from bioplaus.spec.credit import Feedback, FixedFeedback

    x, y = toy_data()
    sch = Schedule.build(x, y, [("probe", np.array([0, 1]), 1.0)])
    net = fa_spiking_spec(SpikingFA(**FAST, epochs=1), sch, K)
    rest = dict(monitors=net.monitors, protocol=net.protocol, dt=net.dt)
    with pytest.raises(ConfigError, match=r"projections\.w1\.post = 'hidden'.*error compartment"):
        NetworkSpec(net.populations, net.projections, **rest)
    with pytest.raises(ConfigError, match=r"feedback\.err_hidden\.tau = None"):
        NetworkSpec(net.populations, net.projections, feedback=[Feedback("err_hidden", "err", "hidden",
                                                                         FixedFeedback(np.zeros((K, N_HID))))], **rest)
    with pytest.raises(ConfigError, match=r"feedback\.err_hidden\.weights\.matrix.*\(2, 12\)"):
        NetworkSpec(net.populations, net.projections, feedback=[Feedback("err_hidden", "err", "hidden",
                                                                         FixedFeedback(np.zeros((2 * K, N_HID))),
                                                                         tau="20 ms")], **rest)
    with pytest.raises(ConfigError, match=r"feedback\.err_hidden\.pre = 'output'.*SpikingError"):
        NetworkSpec(net.populations, net.projections, feedback=[Feedback("err_hidden", "output", "hidden",
                                                                         tau="20 ms")], **rest)


@pytest.mark.slow
def test_two_hidden_lif_layers_learn_from_random_feedback_into_each_dendrite():
    """Composability (a): a second hidden layer is one more Population, Projection and Feedback."""
    from bioplaus.networks.fa_spiking import fa_spiking_spec, run_fa_spec

    x, y = toy_data()
    cfg = SpikingFA(**FAST, n_hidden2=10, epochs=3, eta=0.01, w1_init=0.3, w2_init=0.05, lr_decay=0.0)
    sch = fa_schedule(x, y, np.tile([0, 1], 8), 3, {"eval": np.array([0, 1, 0, 1])}, np.random.default_rng(0))
    spec = fa_spiking_spec(cfg, sch, K, seed=1)
    assert [p.name for p in spec.projections] == ["w1", "w2", "w3"]
    assert [(f.pre, f.post) for f in spec.feedback] == [("err", "hidden"), ("err", "hidden2")]
    res = run_fa_spec(cfg, sch, K, "numpy", seed=1)
    assert res.accuracy("eval0") < 1.0 and res.accuracy("eval2") == 1.0
    assert res.err_counts["eval2"].sum(axis=1).mean() < 0.5 * res.err_counts["eval0"].sum(axis=1).mean()
    assert np.abs(res.w1 - res.w1_init).max() > 0.05          # the first hidden layer learnt too
    np.testing.assert_array_equal(res.feedback_after, res.feedback)


@pytest.mark.slow
def test_dfa_into_adex_dendrites_learns():
    """Composability (b): the hidden layer is AdEx (current synapses, volts); the same Feedback and
    ErrorTriggered specs put the error into its dendritic compartment U and gate learning on v."""
    from bioplaus.networks.fa_spiking import fa_spiking_spec, run_fa_spec

    x, y = toy_data()
    cfg = SpikingFA(**{**FAST, "dt": "0.2 ms"}, neuron="adex", adex_weight="800 pA", epochs=2, eta=0.01,
                    w1_init=0.3, w2_init=0.3, lr_decay=0.0)
    sch = fa_schedule(x, y, np.tile([0, 1], 4), 2, {"eval": np.array([0, 1])}, np.random.default_rng(0))
    sch = Schedule.build(x, y, [("before", np.array([0, 1]), 0.0)]
                         + [(n, sch.order[s], float(sch.plastic[s.start])) for n, s in sch.phases.items()])
    spec = fa_spiking_spec(cfg, sch, K, seed=1)
    assert type(spec.population("hidden").model).__name__ == "AdEx"
    assert str(spec.projection("w1").rule.b_high) == "-50. mV"             # the boxcar is in volts here
    res = run_fa_spec(cfg, sch, K, "numpy", seed=1)
    err = {p: res.err_counts[p].sum(axis=1).mean() for p in ("before", "eval1")}
    assert res.accuracy("eval1") == 1.0 and res.accuracy("before") < 1.0
    assert err["eval1"] < err["before"]
    assert np.abs(res.w1 - res.w1_init).max() > 0.05
    np.testing.assert_array_equal(res.feedback_after, res.feedback)


@pytest.mark.parametrize("model, hidden, neuron", [("fa_spiking_digits", ["hidden"], "NormalizedLIF"),
                                                   ("fa_spiking_two_hidden_digits", ["hidden", "hidden2"], "NormalizedLIF"),
                                                   ("dfa_adex_dendrite_digits", ["hidden"], "AdEx")])
def test_composed_model_files_declare_their_networks(model, hidden, neuron):
    """models/fa_spiking_two_hidden_digits.toml and models/dfa_adex_dendrite_digits.toml: the networks the
    tests above train (two LIF hidden layers; AdEx hidden units) come from the model files' parameters."""
    from bioplaus.config import load_model
    from bioplaus.networks.fa_spiking import fa_spiking_spec

    cfg = load_model(f"models/{model}.toml")
    x = np.random.default_rng(0).random((4, 64))
    sch = Schedule.build(x, np.array([0, 1, 2, 3]), [("train0", np.arange(4), 1.0)])
    spec = fa_spiking_spec(cfg.params.network(), sch, 10)
    assert [f.post for f in spec.feedback] == hidden                          # random feedback into each layer
    assert all(type(spec.population(h).model).__name__ == neuron for h in hidden)
    assert all("error" in p.rule.requires for p in spec.projections)
