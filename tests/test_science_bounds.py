"""Every rule with weight bounds is driven into them: the bound holds exactly, and is reached.

Rules: Hebb, BCM (clip to [w_min, w_max]); PairSTDP hard (clip) and soft (multiplicative,
approaches the bound and never crosses it); NearestSTDP; TripletSTDP; RewardSTDP (clip).
Each case pushes the weight far past the bound, so a lost clip shows as a weight outside it.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.reference.plasticity import pair_stdp_dw
from bioplaus.simulation import simulate
from bioplaus.spec import BCM, Hebb, Modulator, NearestSTDP, PairSTDP, RateUnit, RewardSTDP, TripletSTDP

from test_rules_rate import rate_net  # tests/ is on sys.path (rootdir conftest)
from test_rules_stdp import forced_pairs

EXACT = 1e-12


# --------------------------------------------------------------------------- rate rules

def test_hebb_is_clipped_at_w_min_and_w_max():
    """Positive input, output held at +2 / -2 by a bias: each weight is pushed to one bound."""
    up = simulate(rate_net(np.ones((300, 2)), Hebb(eta="10 Hz", w_min=-0.4, w_max=0.3), [0.1, 0.2],
                           post=RateUnit(tau=None, bias=2.0), weight_scale=0.0), "numpy")["ff.w"]
    down = simulate(rate_net(np.ones((300, 2)), Hebb(eta="10 Hz", w_min=-0.4, w_max=0.3), [0.1, 0.2],
                             post=RateUnit(tau=None, bias=-2.0), weight_scale=0.0), "numpy")["ff.w"]
    np.testing.assert_allclose(up, [0.3, 0.3], atol=EXACT)
    np.testing.assert_allclose(down, [-0.4, -0.4], atol=EXACT)


def test_bcm_is_clipped_at_w_max_and_w_min():
    """theta pinned (tau_theta = 1e6 s): at theta = 0 every active synapse grows until w_max; with the
    threshold far above the response every synapse shrinks until w_min."""
    x = np.ones((400, 3))
    grow = BCM(eta="20 Hz", tau_theta="1e9 ms", theta_init=0.0, w_min=0.05, w_max=0.7)
    shrink = BCM(eta="20 Hz", tau_theta="1e9 ms", theta_init=50.0, w_min=0.05, w_max=0.7)
    w_up = simulate(rate_net(x, grow, [0.2, 0.3, 0.4]), "numpy")["ff.w"]
    w_down = simulate(rate_net(x, shrink, [0.2, 0.3, 0.4]), "numpy")["ff.w"]
    np.testing.assert_allclose(w_up, 0.7, atol=EXACT)
    np.testing.assert_allclose(w_down, 0.05, atol=EXACT)


# --------------------------------------------------------------------------- spike rules

def _trains(n_pairs: int, delta: float, period: float = 0.05, t0: float = 0.02):
    """``n_pairs`` pairings, post - pre = ``delta`` seconds."""
    pre = t0 + np.arange(n_pairs) * period
    return [pre], [pre + delta]


@pytest.mark.parametrize("rule_cls", [PairSTDP, NearestSTDP], ids=["pair", "nearest"])
def test_hard_bound_stdp_is_clipped_at_both_bounds(rule_cls):
    rule = rule_cls(A_plus=0.05, A_minus=0.05, w_min=0.1, w_max=0.9)
    pre_up, post_up = _trains(20, +0.005, period=0.025)      # 20 causal pairs: about +0.04 each, past w_max
    pre_dn, post_dn = _trains(20, -0.005, period=0.025, t0=0.03)  # 20 acausal pairs
    net = forced_pairs(pre_up + pre_dn, post_up + post_dn, {"ff": rule}, w_init=np.diag([0.5, 0.5]))
    w = simulate(net, "numpy")["ff.w"]
    np.testing.assert_allclose(w, [0.9, 0.1], atol=EXACT)


def test_soft_bound_stdp_approaches_the_bounds_and_never_crosses_them():
    """Potentiation only (A_- = 0) on one projection, depression only on another: each weight is
    carried towards its bound by 30 pairings, the distance shrinking by a factor (1 - 0.2 a) each time."""
    up = PairSTDP(A_plus=0.2, A_minus=0.0, bounds="soft", w_min=0.1, w_max=0.9)
    dn = PairSTDP(A_plus=0.0, A_minus=0.2, bounds="soft", w_min=0.1, w_max=0.9)
    pre, post = _trains(30, +0.002, period=0.02)
    pre_a, post_a = _trains(30, -0.002, period=0.02, t0=0.03)
    r = simulate(forced_pairs(pre + pre_a, post + post_a, {"up": up, "dn": dn}, w_init=np.diag([0.5, 0.5])),
                 "numpy")
    w_up, w_dn = r["up.w"][0], r["dn.w"][1]
    # approached, never crossed (a lost factor (w_max - w) carries w past the bound within a few pairings)
    assert 0.9 - 0.01 < w_up < 0.9 and 0.1 < w_dn < 0.1 + 0.01, (w_up, w_dn)
    assert w_up == pytest.approx(0.5 + pair_stdp_dw(pre[0], post[0], up, w0=0.5), rel=1e-12)
    assert w_dn == pytest.approx(0.5 + pair_stdp_dw(pre_a[0], post_a[0], dn, w0=0.5), rel=1e-12)


def test_triplet_stdp_is_clipped_at_both_bounds():
    """50 Hz pairings potentiate for either order (Pfister & Gerstner 2006); 1 Hz post-before-pre depresses."""
    rule = TripletSTDP.visual_cortex(w_min=0.8, w_max=1.2)
    pre_up, post_up = _trains(40, +0.010, period=0.02)   # 50 Hz: about +45 % unbounded
    pre_dn, post_dn = _trains(5, -0.010, period=0.1, t0=0.03)  # 10 Hz post first: depression
    big = TripletSTDP(A2_minus=0.1, w_min=0.8, w_max=1.2)  # visual-cortex set, depression strong enough to pass w_min
    w_up = simulate(forced_pairs(pre_up, post_up, {"ff": rule}, w_init=1.0), "numpy")["ff.w"]
    w_dn = simulate(forced_pairs(pre_dn, post_dn, {"ff": big}, w_init=1.0), "numpy")["ff.w"]
    np.testing.assert_allclose(w_up, [1.2], atol=EXACT)
    np.testing.assert_allclose(w_dn, [0.8], atol=EXACT)


def test_reward_stdp_is_clipped_at_both_bounds():
    """A causal pairing (c > 0) and an acausal one (c < 0), then a large reward: one weight to each bound."""
    rule = RewardSTDP(A_plus=1.0, A_minus=1.05, tau_c="1 s", eta="200 Hz", w_min=0.2, w_max=0.8)
    pre = [[0.010], [0.030]]
    post = [[0.020], [0.020]]  # input 0 fires 10 ms before the post spike, input 1 10 ms after
    net = forced_pairs(pre, post, {"ff": rule}, w_init=np.diag([0.5, 0.5]), duration="600 ms",
                       modulators=[Modulator("reward", times=["100 ms"], tau_d="200 ms")])
    w = simulate(net, "numpy")["ff.w"]
    np.testing.assert_allclose(w, [0.8, 0.2], atol=EXACT)
