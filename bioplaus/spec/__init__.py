"""Inert, validated descriptions of networks (what), built by :mod:`bioplaus.build` (how)."""
from .network import Modulator, Monitor, NetworkSpec, Population, Projection
from .neurons import (AdaptiveThreshold, AdEx, Izhikevich, LIF, PoissonInput, RateUnit, SampleSequence,
                      SpikeTrains)
from .protocol import Phase, Protocol, ProtocolInput, SpikeCountReadout
from .rules import (BCM, Hebb, NearestSTDP, Oja, PairSTDP, RewardSTDP, RULES, Rule, Static, SynapticScaling,
                    TripletSTDP, WeightNormalization, register_rule)

__all__ = [
    "Modulator", "Monitor", "NetworkSpec", "Population", "Projection",
    "AdaptiveThreshold", "AdEx", "Izhikevich", "LIF", "PoissonInput", "RateUnit", "SampleSequence", "SpikeTrains",
    "BCM", "Hebb", "NearestSTDP", "Oja", "PairSTDP", "RewardSTDP", "RULES", "Rule", "Static", "SynapticScaling",
    "TripletSTDP", "WeightNormalization", "register_rule",
    "Phase", "Protocol", "ProtocolInput", "SpikeCountReadout",
]
