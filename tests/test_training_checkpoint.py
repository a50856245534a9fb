"""Training N epochs equals training N/2, stopping, and resuming for N/2 from a checkpoint."""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus import (LIF, AdaptiveThreshold, NetworkSpec, PairSTDP, PoissonInput, Population, Projection,
                      WeightNormalization)
from bioplaus.errors import ConfigError
from bioplaus.training import train_epochs


def _net(name="plastic") -> NetworkSpec:
    # Brian2's own (unfrozen) Poisson draws, STDP traces, adaptive thresholds and refractoriness:
    # everything a checkpoint has to carry
    exc = LIF(t_ref="3 ms", adaptation=AdaptiveThreshold(theta_plus="1 mV", tau_theta="200 ms"))
    return NetworkSpec([Population("inp", PoissonInput(rates="40 Hz"), 30), Population("exc", exc, 4)],
                       [Projection("ff", "inp", "exc", rule=PairSTDP(), w_init=(0.2, 0.8), weight_scale="0.7 nA",
                                   homeostasis=WeightNormalization(total=15.0, interval="50 ms"))],
                       duration="200 ms", seed=11, name=name)


def _check_equal(a, b, rtol):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=1e-12 if rtol else 0, err_msg=k)


def _resumed(tmp_path, backend, n):
    full = train_epochs(_net(), n, backend)
    out = tmp_path / backend
    train_epochs(_net(), n // 2, backend, out=out, checkpoint_every=1)          # stop after N/2
    rest = train_epochs(_net(), n, backend, out=out, checkpoint_every=1, resume=True)
    assert rest.resumed_from == n // 2 and len(rest.results) == n - n // 2
    return full, rest


def test_resume_equals_uninterrupted_training_exactly_on_numpy(tmp_path):
    full, rest = _resumed(tmp_path, "numpy", 4)
    _check_equal(full.state, rest.state, rtol=0)
    assert {"ff.w", "ff.apre", "ff.lastupdate", "exc.v", "exc.theta", "exc.lastspike"} <= set(full.state)
    assert np.any(full.state["exc.theta"] > 0)                               # thresholds adapted
    assert not np.allclose(full.results[0].state["ff.w"], full.state["ff.w"])  # learning went on


@pytest.mark.standalone
def test_resume_equals_uninterrupted_training_on_cpp(tmp_path):
    full, rest = _resumed(tmp_path, "cpp", 2)
    _check_equal(full.state, rest.state, rtol=1e-9)


def test_resume_refuses_another_network(tmp_path):
    train_epochs(_net(), 1, "numpy", out=tmp_path, checkpoint_every=1)
    with pytest.raises(ConfigError, match="train.resume"):
        train_epochs(_net("other"), 2, "numpy", out=tmp_path, checkpoint_every=1, resume=True)
