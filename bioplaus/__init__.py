"""bioplaus: biologically plausible learning on Brian2 backends, compared with backpropagation.

The public API is importable from the top level. Names are loaded lazily, so the
numpy-only parts (the comparison harness) do not import Brian2.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "BioplausError": "errors", "ConfigError": "errors", "BackendUnavailable": "errors",
    "DataError": "errors", "DivergedError": "errors",
    # spec
    "NetworkSpec": "spec", "Population": "spec", "Projection": "spec", "Modulator": "spec", "Monitor": "spec",
    "LIF": "spec", "AdEx": "spec", "Izhikevich": "spec", "RateUnit": "spec", "AdaptiveThreshold": "spec",
    "PoissonInput": "spec", "SpikeTrains": "spec", "SampleSequence": "spec",
    "Rule": "spec", "Static": "spec", "Hebb": "spec", "Oja": "spec", "BCM": "spec", "PairSTDP": "spec",
    "NearestSTDP": "spec", "TripletSTDP": "spec", "RewardSTDP": "spec", "WeightNormalization": "spec",
    "SynapticScaling": "spec", "RULES": "spec", "register_rule": "spec",
    "Protocol": "spec", "Phase": "spec", "ProtocolInput": "spec", "SpikeCountReadout": "spec",
    # build / run
    "build_network": "build", "BuiltNetwork": "build", "register": "build.registry",
    "simulate": "simulation", "SimResult": "simulation", "Simulation": "simulation",
    "session": "backends", "availability": "backends", "BACKENDS": "backends", "check_backend": "backends",
    "NEURONS": "spec.neurons", "INPUTS": "spec.neurons", "neuron_class": "spec.neurons",
    "make_rule": "spec.rules",
    # model files, experiments, results
    "load_model": "config", "run_model": "runner", "ModelConfig": "config",
    "save_checkpoint": "checkpoint", "load_checkpoint": "checkpoint", "train_epochs": "training",
    # comparison harness (numpy only)
    "CompareConfig": "harness", "CompareResult": "harness", "compare": "harness",
    "Dataset": "data", "load_dataset": "data", "MLP": "reference.mlp",
    "Learner": "reference.credit", "NumpyLearner": "reference.credit", "CreditRule": "reference.credit",
    "TrainSettings": "reference.credit", "Alignment": "reference.credit", "CREDIT_RULES": "reference.credit",
    "register_credit_rule": "reference.credit", "make_credit_rule": "harness",
    "angle_deg": "metrics", "summarize": "metrics",
    # parameter studies
    "expand_sweep": "sweep", "run_sweep": "sweep", "sweep_network": "sweep",
    # reading results back, export
    "load": "loader", "Results": "loader",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'bioplaus' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
