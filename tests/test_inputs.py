"""Input populations: Poisson statistics, exact spike replay, sample schedules (numpy backend)."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.simulation import simulate
from bioplaus.spec import Monitor, NetworkSpec, Population, PoissonInput, SampleSequence, SpikeTrains
from bioplaus.spec.neurons import INPUTS, NEURONS, neuron_class


def poisson_net(frozen: bool, seed: int = 1, duration="500 ms"):
    rates = ["10 Hz"] * 200 + ["40 Hz"] * 200
    return NetworkSpec([Population("inp", PoissonInput(rates=rates, frozen=frozen))],
                       monitors=[Monitor("inp")], duration=duration, seed=seed)


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "brian2"])
def test_poisson_rates_and_statistics(frozen):
    r = simulate(poisson_net(frozen), "numpy")
    counts = r.spike_counts("inp")
    T = 0.5
    for block, rate in ((slice(0, 200), 10.0), (slice(200, 400), 40.0)):
        c = counts[block]
        expected = rate * T
        se = np.sqrt(expected / c.size)
        assert abs(c.mean() - expected) < 4 * se, (rate, c.mean())
        # Poisson: variance equals the mean (Fano factor 1)
        assert 0.7 < c.var(ddof=1) / c.mean() < 1.3
    # exponential inter-spike intervals: coefficient of variation ~ 1
    isi = np.concatenate([np.diff(r.spike_times("inp", k)) for k in range(200, 400)])
    assert 0.9 < isi.std() / isi.mean() < 1.1
    # at most one spike per unit and time step, all inside the run
    t, i = r["inp.spikes.t"], r["inp.spikes.i"]
    assert t.min() >= 0 and t.max() < T
    steps = np.round(t / 1e-4).astype(np.int64)
    assert np.unique(steps * 1000 + i).size == t.size


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "brian2"])
def test_poisson_reproducible_from_seed(frozen):
    a = simulate(poisson_net(frozen, seed=4, duration="100 ms"), "numpy")
    b = simulate(poisson_net(frozen, seed=4, duration="100 ms"), "numpy")
    c = simulate(poisson_net(frozen, seed=5, duration="100 ms"), "numpy")
    np.testing.assert_array_equal(a["inp.spikes.t"], b["inp.spikes.t"])
    np.testing.assert_array_equal(a["inp.spikes.i"], b["inp.spikes.i"])
    assert a["inp.spikes.t"].size != c["inp.spikes.t"].size or not np.array_equal(a["inp.spikes.i"],
                                                                                  c["inp.spikes.i"])


def test_frozen_poisson_covers_a_longer_run():
    """simulate(duration=...) longer than spec.duration: frozen input is drawn for the whole run."""
    net = NetworkSpec([Population("inp", PoissonInput(rates="50 Hz", frozen=True), 50)], monitors=[Monitor("inp")],
                      duration="50 ms")
    r = simulate(net, "numpy", duration="200 ms")
    t = r["inp.spikes.t"]
    assert t.max() > 0.15
    assert abs(t.size / (50 * 0.2) - 50) < 4 * np.sqrt(50 / (50 * 0.2))


def test_spike_trains_replay_exact_times():
    times_ms = [1.0, 2.5, 2.5, 7.3, 12.0, 0.0]
    indices = [0, 2, 1, 0, 3, 1]
    net = NetworkSpec([Population("st", SpikeTrains(indices=indices, times=[f"{t} ms" for t in times_ms]))],
                      monitors=[Monitor("st")], duration="20 ms")
    assert net.population("st").size == 4
    r = simulate(net, "numpy")
    got = sorted(zip(np.round(r["st.spikes.t"] * 1e3, 9), r["st.spikes.i"]))
    assert got == sorted(zip(times_ms, indices))


def test_spike_trains_accept_quantity_arrays_and_explicit_size():
    from brian2 import ms

    model = SpikeTrains(indices=np.array([0, 4]), times=np.array([3.0, 4.2]) * ms, n=6)
    net = NetworkSpec([Population("st", model)], monitors=[Monitor("st")], duration="10 ms")
    assert net.population("st").size == 6
    r = simulate(net, "numpy")
    np.testing.assert_allclose(r["st.spikes.t"], [3e-3, 4.2e-3], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(r["st.spikes.i"], [0, 4])


def test_spike_trains_two_spikes_in_one_time_step_are_reported_by_name():
    model = SpikeTrains(indices=[0, 1, 0], times=["1 ms", "1 ms", "1.02 ms"])
    with pytest.raises(ConfigError) as exc:
        NetworkSpec([Population("st", model)], duration="10 ms")
    assert exc.value.key_path == "populations.st.model.times"
    assert "unit 0" in exc.value.expected and "0.1 ms" in exc.value.expected


def test_sample_sequence_rate_encoding_presents_each_sample_in_its_window():
    rng = np.random.default_rng(0)
    samples = rng.uniform(0, 1, size=(5, 3))
    seq = SampleSequence(samples=samples, present="20 ms", rest="10 ms", encoding="rate", scale=2.0)
    net = NetworkSpec([Population("x", seq)], monitors=[Monitor("x", ("r",))],
                      duration=f"{float(seq.duration) * 1e3 + 15} ms")
    r = simulate(net, "numpy")
    t, rr = r["x.state.t"], r["x.state.r"]
    step = np.round(t / float(net.dt)).astype(int)
    n_present, n_window = 200, 300
    for k in range(samples.shape[0]):
        on = (step >= k * n_window) & (step < k * n_window + n_present)
        off = (step >= k * n_window + n_present) & (step < (k + 1) * n_window)
        assert on.sum() == n_present and off.sum() == n_window - n_present
        np.testing.assert_allclose(rr[:, on], np.repeat(2.0 * samples[k][:, None], on.sum(), axis=1), rtol=1e-12)
        assert np.all(rr[:, off] == 0)
    # after the whole dataset: silence
    assert np.all(rr[:, step >= samples.shape[0] * n_window] == 0)


def test_sample_sequence_poisson_counts_proportional_to_values():
    values = np.array([1.0, 0.25, 0.0, 0.5])
    samples = np.repeat(values[:, None], 100, axis=1)
    samples[:, :10] = 0.0  # units that are never driven
    seq = SampleSequence(samples=samples, present="100 ms", rest="50 ms", encoding="poisson", max_rate="200 Hz")
    net = NetworkSpec([Population("x", seq)], monitors=[Monitor("x")], duration=seq.duration, seed=2)
    r = simulate(net, "numpy")
    t, i = r["x.spikes.t"], r["x.spikes.i"]
    assert not np.any(np.isin(i, np.arange(10)))
    window = 0.15
    k = np.floor(t / window + 1e-9).astype(int)
    in_rest = (t - k * window) >= 0.1 - 1e-9
    assert not np.any(in_rest), "spikes during rest periods"
    means = []
    for s, v in enumerate(values):
        counts = np.bincount(i[k == s], minlength=100)[10:]
        expected = v * 200 * 0.1
        means.append(counts.mean())
        assert abs(counts.mean() - expected) <= 4 * np.sqrt(max(expected, 1e-9) / counts.size) + 1e-12
    # proportional: mean count / value is the same for every driven sample
    ratios = np.array(means)[values > 0] / values[values > 0]
    assert ratios.std() / ratios.mean() < 0.1


def test_neuron_and_input_names():
    assert neuron_class("lif") is NEURONS["lif"]
    assert neuron_class("AdEx") is NEURONS["adex"]
    assert neuron_class("RateUnit") is NEURONS["rate"]
    assert neuron_class("poisson") is INPUTS["poisson"] is PoissonInput
    assert neuron_class("samples") is SampleSequence
    with pytest.raises(ConfigError, match="did you mean 'izhikevich'"):
        neuron_class("izhikevic")
    with pytest.raises(ConfigError):
        neuron_class("poisson", inputs=False)


def test_frozen_poisson_draw_in_blocks_equals_one_draw():
    from bioplaus.build.neurons import frozen_poisson_steps

    p = np.array([0.01, 0.2, 0.0, 0.5])
    whole = np.nonzero(np.random.default_rng(3).random((1000, 4)) < p)
    blocks = frozen_poisson_steps(p, 1000, np.random.default_rng(3), chunk_bytes=8 * 4 * 7)  # 7 steps a block
    np.testing.assert_array_equal(blocks[0], whole[0])
    np.testing.assert_array_equal(blocks[1], whole[1])
