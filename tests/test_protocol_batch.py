"""Mini-batches of a training protocol (``Protocol.batch``), built once for every rule (numpy target).

A rate network with instantaneous linear units, ``y = W^T x``, and Hebbian learning
(``dw_ij = dt * eta * x_i * y_j`` per time step while a sample is shown) has a closed form:

- ``batch = N`` over ``N`` samples: the weights stay at ``W0`` during the batch, so
  ``W = W0 + eta * present * sum_k x_k (W0^T x_k)^T``, the sum of the single-sample updates
  computed from the same starting weights;
- ``batch = 1`` (online): ``W <- W + dt * eta * x (W^T x)^T`` at every time step.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus import simulate
from bioplaus.errors import ConfigError
from bioplaus.spec import NetworkSpec, Population, Projection, RateUnit
from bioplaus.spec.protocol import Phase, Protocol, ProtocolInput
from bioplaus.spec.rules import Hebb, Oja, TripletSTDP

ETA, DT, PRESENT, REST = 20.0, 1e-3, 5e-3, 2e-3   # Hz, s, s, s


def _data(n_samples=4, n_in=3, n_out=2, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, size=(n_samples, n_in)), rng.uniform(-0.5, 0.5, size=(n_in, n_out))


def _network(samples, w0, order, batch, rule=None, bounds=(-1e9, 1e9)):
    proto = Protocol(samples=samples, phases=[Phase("train", np.asarray(order), 1.0)], present=f"{PRESENT * 1e3} ms",
                     rest=f"{REST * 1e3} ms", batch=batch)
    rule = rule or Hebb(eta=f"{ETA} Hz", w_min=bounds[0], w_max=bounds[1])
    pops = [Population("x", ProtocolInput(encoding="rate"), samples.shape[1]),
            Population("y", RateUnit(tau=None, transfer="linear"), w0.shape[1])]
    return NetworkSpec(pops, [Projection("ff", "x", "y", rule=rule, w_init=w0)], dt=f"{DT * 1e3} ms",
                       duration=proto.duration, protocol=proto)


def _weights(spec) -> np.ndarray:
    return simulate(spec, "numpy").weight_matrix("ff")


def test_batch_of_n_equals_the_sum_of_n_single_sample_updates_from_the_same_weights():
    samples, w0 = _data()
    order = [2, 0, 3, 1]
    w_batch = _weights(_network(samples, w0, order, batch=4))
    # oracle: every sample's update computed from W0, summed, applied once
    expected = w0 + ETA * PRESENT * sum(np.outer(samples[k], w0.T @ samples[k]) for k in order)
    assert np.abs(w_batch - w0).max() > 1e-3                       # learning happened
    np.testing.assert_allclose(w_batch, expected, rtol=1e-12, atol=1e-14)
    # the same from the simulator itself: one run per sample, each starting at W0 with its update applied
    singles = [_weights(_network(samples, w0, [k], batch=4)) - w0 for k in order]
    np.testing.assert_allclose(w_batch, w0 + sum(singles), rtol=1e-12, atol=1e-14)


def test_two_batches_apply_the_first_before_the_second_starts():
    samples, w0 = _data()
    order = [0, 1, 2, 3]
    w = _weights(_network(samples, w0, order, batch=2))
    expected = w0.copy()
    for block in (order[:2], order[2:]):
        expected = expected + ETA * PRESENT * sum(np.outer(samples[k], expected.T @ samples[k]) for k in block)
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-14)


def test_batch_one_is_online_learning_step_by_step():
    samples, w0 = _data()
    order = [1, 3]
    w = _weights(_network(samples, w0, order, batch=1))
    online = w0.copy()
    for k in order:
        for _ in range(int(round(PRESENT / DT))):
            online = online + DT * ETA * np.outer(samples[k], online.T @ samples[k])
    np.testing.assert_allclose(w, online, rtol=1e-12, atol=1e-14)
    batched = w0 + ETA * PRESENT * sum(np.outer(samples[k], w0.T @ samples[k]) for k in order)
    assert np.abs(online - batched).max() > 1e-4     # the two schedules are distinguishable here


def test_batch_clips_the_summed_update_once():
    samples, w0 = _data()
    w0 = np.abs(w0)
    w = _weights(_network(samples, w0, [0, 1, 2, 3], batch=4, bounds=(0.0, 0.4)))
    free = w0 + ETA * PRESENT * sum(np.outer(samples[k], w0.T @ samples[k]) for k in range(4))
    assert (free > 0.4).any() and (free < 0.4).any()
    np.testing.assert_allclose(w, np.clip(free, 0.0, 0.4), rtol=1e-12, atol=1e-14)


def test_batch_size_is_validated_and_unbatchable_compositions_are_named():
    samples, w0 = _data()
    with pytest.raises(ConfigError, match=r"Protocol\.batch = 0: expected an integer >= 1"):
        _network(samples, w0, [0], batch=0)
    with pytest.raises(ConfigError, match=r"Protocol\.batch = 2\.5"):
        _network(samples, w0, [0], batch=2.5)
    assert Protocol(samples=samples, phases=[Phase("a", [0])]).batch == 1
    # a rule that sets w other than by increments: Oja is w = w + ..., batchable
    _weights(_network(samples, w0, [0, 1], batch=2, rule=Oja(eta="1 Hz")))


def test_batch_refuses_tracked_weight_sums():
    from bioplaus.build.protocol import batch_rule_code
    from bioplaus.build.registry import Code
    from bioplaus.spec.rules import WeightNormalization

    class Ctx:
        spec = _network(*_data(), [0, 1], batch=2)

    proj = Projection("ff", "x", "y", rule=TripletSTDP(), weight_scale="1 nA",
                      homeostasis=WeightNormalization(tracked=True))
    with pytest.raises(ConfigError, match=r"projections\.ff\.homeostasis\.tracked"):
        batch_rule_code(Code(on_pre=["w = clip(w - o1*A2_minus, w_min, w_max)"]), proj, Ctx)
    proj = Projection("ff", "x", "y", rule=TripletSTDP(), weight_scale="1 nA")
    with pytest.raises(ConfigError, match=r"projections\.ff\.rule = 'TripletSTDP'.*increments"):
        batch_rule_code(Code(on_pre=["w = 2*w"]), proj, Ctx)
    with pytest.raises(ConfigError, match=r"one pair of weight bounds"):
        batch_rule_code(Code(on_pre=["w = clip(w - 1, w_min, w_max)"], on_post=["w = clip(w + 1, 0, w_max)"]),
                        proj, Ctx)


def test_model_file_protocol_table_takes_batch():
    from bioplaus.netfile import protocol_from_table

    table = {"dataset": "digits", "n_train": 12, "n_test": 4}
    assert protocol_from_table(table, seed=0).batch == 1
    assert protocol_from_table({**table, "batch": 4}, seed=0).batch == 4
    with pytest.raises(ConfigError, match=r"^protocol\.batch = 0: expected an integer >= 1"):
        protocol_from_table({**table, "batch": 0}, seed=0)
