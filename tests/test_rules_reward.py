"""Reward-modulated STDP: eligibility traces turn into weight change only when a reward arrives.

One postsynaptic LIF is forced to fire at chosen times; input 0 fires 10 ms before
each postsynaptic spike (causal pairing), input 1 10 ms after it (acausal), input 2
far from any postsynaptic spike, input 3 never. The plastic projection transmits
nothing (``weight_scale = 0``), so the spike times are exactly the chosen ones.
"""
from __future__ import annotations

import numpy as np
from brian2 import second

from bioplaus.reference.plasticity import reward_stdp_dw
from bioplaus.simulation import simulate
from bioplaus.spec import LIF, Modulator, Monitor, NetworkSpec, Population, Projection, RewardSTDP, SpikeTrains

DT = 5e-4
POST = np.array([0.100, 0.600, 1.100])
PRE = [POST - 0.010, POST + 0.010, np.array([0.350, 0.850]), np.array([])]
RULE = RewardSTDP(A_plus=0.5, A_minus=0.525, tau_c="1 s", eta="1 Hz", w_min=0.0, w_max=1.0)
W0 = 0.5
DURATION = 1.5
TAU_D = 0.2


def reward_net(reward_times):
    idx = np.concatenate([np.full(len(t), k) for k, t in enumerate(PRE)]).astype(int)
    times = np.concatenate(PRE)
    return NetworkSpec(
        populations=[Population("inp", SpikeTrains(idx, times * second, n=4), 4),
                     Population("drv", SpikeTrains(np.zeros(len(POST), int), (POST - DT) * second, n=1), 1),
                     # a one-step current pulse (LIF's g_e decays exactly, by exp(-10) per step): one spike per drive
                     Population("post", LIF(tau_e=f"{DT * 1e2} ms", t_ref="1 ms"), 1)],
        projections=[Projection("drive", "drv", "post", w_init=1.0, weight_scale="100 nA"),
                     Projection("ff", "inp", "post", rule=RULE, w_init=W0, weight_scale="0 nA")],
        modulators=[Modulator("reward", times=[f"{t * 1e3} ms" for t in reward_times], tau_d=f"{TAU_D * 1e3} ms")],
        monitors=[Monitor("post", ("spikes",)), Monitor("ff", ("c",), dt="10 ms")],
        dt=f"{DT * 1e3} ms", duration=f"{DURATION * 1e3} ms")


def test_rewarded_pairing_grows_and_matches_oracle():
    rewards = POST + 0.050  # shortly after each pairing
    r = simulate(reward_net(rewards), "numpy")
    np.testing.assert_allclose(r["post.spikes.t"], POST, atol=DT / 10)
    dw = r["ff.w"] - W0
    assert dw[0] > 0.05, f"paired synapse changed by {dw[0]:.4f}"
    assert np.all(dw[1:] <= 1e-12), f"unpaired synapses grew: {dw[1:]}"
    oracle = np.array([reward_stdp_dw(pre, POST, rewards, RULE, DURATION, tau_d=TAU_D) for pre in PRE])
    assert oracle[0] > 0 and oracle[1] < 0 and oracle[3] == 0
    np.testing.assert_allclose(dw, oracle, rtol=0.02, atol=1e-4)


def test_no_reward_no_weight_change():
    r = simulate(reward_net([]), "numpy")
    np.testing.assert_array_equal(r["ff.w"], np.full(4, W0))
    c = r["ff.state.c"]  # (n_synapses, n_times): eligibility was there, only the reward was missing
    assert c[0].max() > 0.1 and c[1].min() < -0.1
    assert reward_stdp_dw(PRE[0], POST, [], RULE, DURATION) == 0.0
