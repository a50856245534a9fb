"""Claim 4 (BPTT's memory against e-prop's) and claim 5 (perturbation learning for a fixed compute budget)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.reference.eprop import LIFNet, bptt_gradients, eprop_gradients, eprop_online, poisson_input, sine_target

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.mark.parametrize("feedback", ["random", "symmetric"])
def test_streaming_eprop_equals_eprop_from_the_stored_trace(feedback):
    rng = np.random.default_rng(3)
    net = LIFNet.random(12, 30, 2, rng, feedback=feedback, w_in=2.0, w_rec=1.5)
    x = poisson_input(12, 400, 0.05, rng)
    y = sine_target(400, 120, n_out=2)
    loss, g, tr, _ = eprop_gradients(net, x, y)
    assert tr.z.mean() > 0.01 and np.abs(g["W_rec"]).max() > 0  # spikes, recurrent credit
    # rows read once from generators: nothing of length T is handed over
    loss_s, g_s = eprop_online(net, (row for row in x), (row for row in y))
    assert loss_s == pytest.approx(loss, rel=1e-12)
    for k in g:
        np.testing.assert_allclose(g_s[k], g[k], rtol=1e-10, atol=1e-15, err_msg=k)
    assert np.all(np.diag(g_s["W_rec"]) == 0)
    # and it is e-prop, not BPTT: with recurrence the two differ
    g_b = bptt_gradients(net, x, y, reset_grad=True)[1]
    assert not np.allclose(g_b["W_rec"], g_s["W_rec"], rtol=1e-3)
    with pytest.raises(ConfigError, match="eprop_online.x"):
        eprop_online(net, [], [])


def test_claim_bptt_memory_exponents_and_verdict(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_bptt_memory.toml",
                     ["params.lengths=[100, 200, 400, 800]", "params.n_in=20", "params.n_rec=20", "params.repeats=1"])
    res = run_model(cfg, tmp_path / "c4", progress=lambda m: None)
    assert res.status == "ok"
    ex = res.info["exponents"]
    assert 0.85 < ex["bptt"]["mem_long"] < 1.1  # memory linear in T
    assert abs(ex["eprop-online"]["mem_long"]) < 0.05  # constant
    assert ex["eprop-offline"]["mem_long"] > 0.8  # e-prop from a stored trace pays like BPTT
    assert res.info["held"] is True
    peaks = res.info["peak_bytes"]["eprop-online"]
    assert max(peaks) - min(peaks) < 0.02 * max(peaks)
    text = (tmp_path / "c4" / "summary.md").read_text()
    assert "**Result: the claim held.**" in text
    assert (tmp_path / "c4" / "figures" / "claim_bptt_memory.png").exists()
    with pytest.raises(ConfigError, match="params.lengths"):
        load_model(MODELS / "claim_bptt_memory.toml", ["params.lengths=[10, 20, 20]"])
    with pytest.raises(ConfigError, match="params.feedback"):
        load_model(MODELS / "claim_bptt_memory.toml", ['params.feedback="mirror"'])
