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


def test_compute_budget_charges_forward_passes():
    from bioplaus.experiments.claims import epochs_for_budget, passes_per_step

    # BP: one forward pass and a backward pass worth two; perturbation: one clean + `samples` noisy passes
    assert [passes_per_step(r) for r in ("bp", "fa", "np", "wp")] == [3, 3, 2, 2]
    assert passes_per_step("np", samples=4) == 5
    assert [epochs_for_budget(60, r) for r in ("bp", "np", "wp")] == [20, 30, 30]
    assert epochs_for_budget(60, "wp", samples=3) == 15 and epochs_for_budget(2, "bp") == 1


def test_claim_perturbation_budget_same_passes_per_width_and_a_verdict(tmp_path):
    from bioplaus.config import load_model
    from bioplaus.runner import run_model

    cfg = load_model(MODELS / "claim_perturbation_budget.toml",
                     ["params.widths=[8, 32]", "params.budget=6", "params.seeds=1", "params.variance_samples=10",
                      "params.lrs={bp = [0.1], np = [3e-3, 1e-3], wp = [3e-4]}"])
    res = run_model(cfg, tmp_path / "c5", progress=lambda m: None)
    assert res.status == "ok"
    sel = res.info["selected"]
    assert {k: v["epochs"] for k, v in sel.items()} == {"8/bp": 2, "8/np": 3, "8/wp": 3, "32/bp": 2, "32/np": 3,
                                                          "32/wp": 3}
    assert all(v["passes"] == 6 for v in sel.values())  # every rule spent the whole budget, none more
    from bioplaus.results import read_csv

    rows = read_csv(tmp_path / "c5" / "metrics.csv")
    for w in (8, 32):  # the selected rate is the one with the lowest training loss
        npr = [r for r in rows if r["rule"] == "np" and int(r["width"]) == w]
        assert len(npr) == 2
        assert float(sel[f"{w}/np"]["lr"]) == float(min(npr, key=lambda r: float(r["train_loss"]))["lr"])
    v = res.info["rel_var_at_init"]
    assert v["32/np"] > 1.3 * v["8/np"] and v["32/wp"] > 1.3 * v["8/wp"]  # variance grows with the network
    assert v["8/wp"] > 10 * v["8/np"]
    assert sel["32/bp"]["test_acc"] > 0.8 and isinstance(res.info["held"], bool)
    assert "**Result: the claim" in (tmp_path / "c5" / "summary.md").read_text()
    assert (tmp_path / "c5" / "figures" / "claim_perturbation_budget.png").exists()
    with pytest.raises(ConfigError, match="params.lrs.wp"):
        load_model(MODELS / "claim_perturbation_budget.toml", ["params.lrs={bp = [0.1], np = [1e-3]}"])
    with pytest.raises(ConfigError, match="params.rules"):
        load_model(MODELS / "claim_perturbation_budget.toml", ['params.rules=["np", "wp"]'])
