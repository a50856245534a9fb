"""Runaway learning stops with a clear 'diverged at' status; the study goes on."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioplaus import Hebb, Monitor, NetworkSpec, Population, Projection, RateUnit, SampleSequence, simulate
from bioplaus.config import load_model
from bioplaus.errors import DivergedError
from bioplaus.runner import run_model

MODELS = Path(__file__).resolve().parent.parent / "models"


def _hebb_net(eta: str) -> NetworkSpec:
    # plain Hebb without decay on a linear unit grows exponentially: w' = eta * x^2 * w
    return NetworkSpec([Population("x", SampleSequence(samples=np.ones((200, 2)), present="1 ms")),
                        Population("y", RateUnit(tau=None), 1)],
                       [Projection("ff", "x", "y", rule=Hebb(eta=eta), w_init=0.5)],
                       monitors=[Monitor("ff", ("w",), dt="10 ms")], dt="1 ms", duration="200 ms")


def test_runaway_hebbian_weights_raise_diverged_with_time():
    with pytest.raises(DivergedError) as ei:
        simulate(_hebb_net("1000 Hz"))
    msg = str(ei.value)
    assert "weights of projection 'ff'" in msg and "diverged at t = " in msg
    t_bad = float(ei.value.where.split("=")[1].split()[0])
    assert 0 < t_bad < 0.2


def test_stable_learning_is_not_flagged():
    r = simulate(_hebb_net("1 Hz"))
    assert np.all(np.isfinite(r["ff.w"])) and r["ff.w"][0] > 0.5  # it learned, and stayed bounded


def test_diverged_experiment_is_recorded_not_raised(tmp_path):
    cfg = load_model(MODELS / "oja_pca.toml", ["params.eta=1e9 Hz", "params.n_samples=200", "params.dims=3"])
    res = run_model(cfg, tmp_path / "d", progress=lambda m: None)
    assert res.status.startswith("diverged at t")
    prov = json.loads((tmp_path / "d" / "provenance.json").read_text())
    assert prov["status"] == res.status
    assert "Diverged" in (tmp_path / "d" / "summary.md").read_text()
    assert (tmp_path / "d" / "config.toml").exists()
