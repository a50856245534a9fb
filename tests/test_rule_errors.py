"""Bad rule input is reported by name (object, field, value) before any Brian2 object exists."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import brian2
import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.simulation import simulate
from bioplaus.spec import (BCM, LIF, Hebb, Modulator, NearestSTDP, NetworkSpec, Oja, PairSTDP, PoissonInput,
                           Population, Projection, RateUnit, RewardSTDP, SampleSequence, SynapticScaling,
                           TripletSTDP, WeightNormalization)
from bioplaus.spec.rules import RULES, Rule, make_rule, register_rule, rule_class


def _spiking(rule, **kw):
    return NetworkSpec(populations=[Population("inp", PoissonInput(rates="10 Hz"), 5), Population("out", LIF(), 2)],
                       projections=[Projection("ff", "inp", "out", rule=rule, weight_scale="0.1 nA")], **kw)


def _rate(rule):
    return NetworkSpec(populations=[Population("inp", SampleSequence([[0.5, 1.0]]), 2),
                                    Population("out", RateUnit(tau=None), 1)],
                       projections=[Projection("ff", "inp", "out", rule=rule)])


# (what to build, key path, value shown as the user wrote it, words the message must contain)
CASES = [
    (lambda: PairSTDP(tau_plus=20), "PairSTDP.tau_plus", "20", ["ms", "no unit"]),
    (lambda: PairSTDP(tau_plus="20 mV"), "PairSTDP.tau_plus", "'20 mV'", ["ms", "got unit V"]),
    (lambda: NearestSTDP(tau_minus="-5 ms"), "NearestSTDP.tau_minus", "'-5 ms'", ["positive"]),
    (lambda: TripletSTDP(tau_x="0 ms"), "TripletSTDP.tau_x", "'0 ms'", ["positive"]),
    (lambda: RewardSTDP(tau_c="-1 s"), "RewardSTDP.tau_c", "'-1 s'", ["positive"]),
    (lambda: BCM(tau_theta=0.1), "BCM.tau_theta", "0.1", ["ms", "no unit"]),
    (lambda: Oja(eta="0.1 ms"), "Oja.eta", "'0.1 ms'", ["Hz", "got unit s"]),
    (lambda: Hebb(decay="-1 Hz"), "Hebb.decay", "'-1 Hz'", [">= 0"]),
    (lambda: PairSTDP(w_min=1.0, w_max=0.5), "PairSTDP.w_max", "0.5", ["above w_min = 1.0"]),
    (lambda: BCM(w_min=0.0, w_max=0.0), "BCM.w_max", "0.0", ["above w_min = 0.0"]),
    (lambda: RewardSTDP(w_max=-1), "RewardSTDP.w_max", "-1.0", ["above w_min"]),
    (lambda: PairSTDP(bounds="sof"), "PairSTDP.bounds", "'sof'", ["'hard', 'soft'", "did you mean 'soft'"]),
    (lambda: PairSTDP(A_plus=float("nan")), "PairSTDP.A_plus", "nan", ["finite"]),
    (lambda: TripletSTDP(A3_minus=-1e-3), "TripletSTDP.A3_minus", "-0.001", [">= 0"]),
    (lambda: TripletSTDP(nearest="yes"), "TripletSTDP.nearest", "'yes'", ["true or false"]),
    (lambda: RewardSTDP(modulator=""), "RewardSTDP.modulator", "''", ["modulator"]),
    (lambda: WeightNormalization(total=0), "WeightNormalization.total", "0", ["positive"]),
    (lambda: SynapticScaling(target_rate="5 ms"), "SynapticScaling.target_rate", "'5 ms'", ["Hz"]),
    (lambda: rule_class("stpd"), "rule", "'stpd'", ["did you mean 'stdp'", "triplet_stdp"]),
    (lambda: rule_class("triplet"), "rule", "'triplet'", ["did you mean 'triplet_stdp'"]),
    (lambda: make_rule("oja", etaa="1 Hz"), "Oja.etaa", "'1 Hz'", ["a parameter of Oja", "did you mean 'eta'"]),
    (lambda: make_rule("stdp", tau_plus=20), "PairSTDP.tau_plus", "20", ["no unit"]),
    # rule kind against population kind
    (lambda: _spiking(Oja()), "projections.ff.pre", "'inp'", ["rate-based", "Oja", "spike-based"]),
    (lambda: _spiking(BCM()), "projections.ff.pre", "'inp'", ["rate-based", "BCM"]),
    (lambda: _rate(PairSTDP()), "projections.ff.pre", "'inp'", ["spike-based", "PairSTDP", "rate-based"]),
    # the modulator a rule names must exist
    (lambda: _spiking(RewardSTDP()), "projections.ff.rule.modulator", "'reward'", ["(none defined)"]),
    (lambda: _spiking(RewardSTDP(modulator="rewrad"), modulators=[Modulator("reward", times=["1 s"])]),
     "projections.ff.rule.modulator", "'rewrad'", ["did you mean 'reward'"]),
    (lambda: _spiking(PairSTDP(), modulators=[Modulator("dopamine")]).replace(
        projections=[Projection("ff", "inp", "out", rule=RewardSTDP(modulator="reward"), weight_scale="0.1 nA")]),
     "projections.ff.rule.modulator", "'reward'", ["dopamine"]),
]


@pytest.fixture
def no_brian2_objects(monkeypatch):
    """Fail loudly if anything creates a Brian2 group, synapse or network."""
    created = []

    def forbid(cls):
        original = cls.__init__

        def init(self, *a, **kw):
            created.append(cls.__name__)
            original(self, *a, **kw)

        monkeypatch.setattr(cls, "__init__", init)

    for cls in (brian2.NeuronGroup, brian2.Synapses, brian2.SpikeGeneratorGroup, brian2.PoissonGroup,
                brian2.Network):
        forbid(cls)
    return created


@pytest.mark.parametrize("make, key, value, words", CASES, ids=[c[1] + ":" + c[2] for c in CASES])
def test_bad_rule_input_is_named(make, key, value, words, no_brian2_objects):
    with pytest.raises(ConfigError) as info:
        spec = make()
        simulate(spec, "numpy")  # only reached if the mistake went unnoticed
    err = info.value
    assert err.key_path == key
    msg = str(err)
    assert msg.startswith(f"{key} = {value}: expected "), msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    assert no_brian2_objects == []


def test_error_messages_name_the_value_for_quantities():
    with pytest.raises(ConfigError) as info:
        PairSTDP(tau_plus=20)
    assert info.value.value == 20 and "tau_plus" in str(info.value)


def test_rule_without_builder_is_reported_before_building(no_brian2_objects):
    @dataclass(frozen=True)
    class Unbuilt(Rule):
        kind: ClassVar[str] = "spike"

    with pytest.raises(ConfigError, match="Unbuilt.*registered builder"):
        simulate(_spiking(Unbuilt()), "numpy")
    assert set(no_brian2_objects) <= {"Network"}  # at most the empty container, no group or synapse


def test_rule_name_collisions():
    with pytest.raises(ValueError, match="'stdp' is already registered"):
        @register_rule("stdp")
        @dataclass(frozen=True)
        class Impostor(Rule):
            x: Any = 1

    assert RULES["stdp"] is PairSTDP
    assert make_rule("nearest_stdp", A_plus=0.02) == NearestSTDP(A_plus=0.02)


def test_projection_rule_must_be_a_rule():
    with pytest.raises(ConfigError) as info:
        Projection("ff", "inp", "out", rule="stdp")
    assert info.value.key_path == "projections.ff.rule" and "stdp" in str(info.value)


def test_good_specs_still_pass():
    """The cases above fail for the stated reason only: their corrected versions are accepted."""
    _spiking(RewardSTDP(modulator="reward"), modulators=[Modulator("reward", times=np.array([]))])
    _rate(Oja())
    _spiking(PairSTDP(tau_plus="20 ms", w_min=0.0, w_max=0.5))
