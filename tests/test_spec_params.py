"""Fields declared once with :func:`bioplaus.spec.params.param`: arrays, spec-typed fields, owners.

Each bad value raises a ConfigError naming the object's key (``projections.ff.delay``,
``PoissonInput.rates[1]``), the value as written, and what was expected.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from brian2 import Hz, mV, ms

from bioplaus.describe import describe_class
from bioplaus.errors import ConfigError
from bioplaus.spec import (LIF, Modulator, Monitor, NetworkSpec, PoissonInput, Population, Projection, SampleSequence,
                           SpikeTrains)
from bioplaus.spec.protocol import Phase, Protocol

CASES = {
    "rate list element below 0": (lambda: PoissonInput(rates=["1 Hz", "-2 Hz"]), "PoissonInput.rates[1]", "-2 Hz",
                                  ">= 0"),
    "rate list element without unit": (lambda: PoissonInput(rates=["1 Hz", 3]), "PoissonInput.rates[1]", 3,
                                       "got no unit"),
    "rate array in mV": (lambda: PoissonInput(rates=[1, 2] * mV), "PoissonInput.rates", "mvolt", "got unit V"),
    "rate array element below 0": (lambda: PoissonInput(rates=[1, -2] * Hz), "PoissonInput.rates[1]", "-2. Hz",
                                   ">= 0"),
    "fractional spike index": (lambda: SpikeTrains(indices=[0, 1.5], times=["1 ms", "2 ms"]),
                               "SpikeTrains.indices[1]", "1.5", "an integer"),
    "negative spike index": (lambda: SpikeTrains(indices=[0, -1], times=["1 ms", "2 ms"]),
                             "SpikeTrains.indices[1]", "-1", ">= 0"),
    "one time short": (lambda: SpikeTrains(indices=[0, 1], times=["1 ms"]), "SpikeTrains.times", "1 times",
                       "one time per index"),
    "index beyond n": (lambda: SpikeTrains(indices=[0, 3], times=["1 ms", "2 ms"], n=3), "SpikeTrains.indices", 3,
                       "indices < n = 3"),
    "non-finite sample": (lambda: SampleSequence(samples=[[0.1, float("nan")]]), "SampleSequence.samples[0, 1]",
                          "nan", "a finite value"),
    "samples not a table": (lambda: SampleSequence(samples=[0.1, 0.2]), "SampleSequence.samples", "shape (2,)",
                            "an array with 2 dimensions"),
    "negative delay": (lambda: Projection("ff", "a", "b", delay="-1 ms"), "projections.ff.delay", "-1 ms", ">= 0"),
    "receptor misspelt": (lambda: Projection("ff", "a", "b", receptor="exh"), "projections.ff.receptor", "exh",
                          "did you mean 'exc'"),
    "rule given as a name": (lambda: Projection("ff", "a", "b", rule="stdp"), "projections.ff.rule", "stdp",
                             "a plasticity rule"),
    "homeostasis of a wrong type": (lambda: Projection("ff", "a", "b", homeostasis=LIF()),
                                    "projections.ff.homeostasis", "LIF", "WeightNormalization"),
    "negative reward time": (lambda: Modulator("reward", times=["1 ms", "-2 ms"]), "modulators.reward.times[1]",
                             "-2 ms", ">= 0"),
    "amounts do not match times": (lambda: Modulator("reward", times=["1 ms", "2 ms"], amounts=[1.0]),
                                   "modulators.reward.amounts", "1 amounts", "one amount per time (2)"),
    "non-finite amount": (lambda: Modulator("reward", times=["1 ms"], amounts=[float("inf")]),
                          "modulators.reward.amounts[0]", "inf", "a finite value"),
    "zero monitor interval": (lambda: Monitor("out", dt="0 ms"), "monitors.out.dt", "0 ms", "positive"),
    "negative seed": (lambda: NetworkSpec([Population("a", LIF(), 1)], seed=-1), "network.seed", "-1", ">= 0"),
    "fractional phase index": (lambda: Phase("train", indices=[0, 1.5]), "phases.train.indices[1]", "1.5",
                               "an integer"),
    "negative learning factor": (lambda: Phase("train", indices=[0], learn=-1), "phases.train.learn", "-1", ">= 0"),
    "labels one short": (lambda: Protocol(samples=[[0.1], [0.2]], phases=[Phase("a", [0])], labels=[1]),
                         "Protocol.labels", "1 labels", "2 integer class labels"),
    "negative label": (lambda: Protocol(samples=[[0.1], [0.2]], phases=[Phase("a", [0])], labels=[1, -1]),
                       "Protocol.labels[1]", "-1", ">= 0"),
    "adaptation of a wrong type": (lambda: LIF(adaptation="yes"), "LIF.adaptation", "yes",
                                   "an AdaptiveThreshold or None"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_field_names_owner_field_and_value(case):
    make, key_path, value, expected = CASES[case]
    with pytest.raises(ConfigError) as exc:
        make()
    err = exc.value
    assert err.key_path == key_path, str(err)
    assert value in repr(err.value) if isinstance(value, str) else err.value == value, str(err)
    assert expected in err.expected, str(err)
    assert str(err).startswith(f"{key_path} = ") and "\n" not in str(err)


def test_array_fields_are_normalised_read_only_and_survive_replace():
    p = PoissonInput(rates=["1 Hz", "2.5 Hz"])
    assert np.allclose(np.asarray(p.rates / Hz), [1, 2.5]) and p.size() == 2
    assert float(PoissonInput(rates="4 Hz").rates / Hz) == 4 and PoissonInput().size() is None
    s = SpikeTrains(indices=[1, 0], times=["2 ms", "1 ms"])
    assert s.indices.dtype == np.int64 and np.allclose(np.asarray(s.times / ms), [2, 1]) and s.size() == 2
    with pytest.raises(ValueError):
        s.indices[0] = 5
    m = Modulator("reward", times=["100 ms", "2 s"])
    assert np.allclose(np.asarray(m.times / ms), [100, 2000]) and m.amounts.tolist() == [1.0, 1.0]
    # normalised values validate again: replace() keeps every other field
    m2 = m.replace(tau_d="50 ms")
    assert np.array_equal(m2.times, m.times) and float(m2.tau_d / ms) == 50
    s2 = s.replace(n=4)
    assert s2.size() == 4 and np.array_equal(s2.indices, s.indices)
    proj = Projection("ff", "a", "b", delay="2 ms", receptor="inh")
    assert proj.replace(w_init=0.1).delay == proj.delay


def test_bounds_of_declared_fields_are_listed_for_params():
    rows = {r["parameter"]: r for r in describe_class(SpikeTrains)}
    assert rows["times"]["unit"] == "ms" and rows["times"]["bounds"] == ">= 0"
    assert rows["indices"]["bounds"] == "integer >= 0"
    rows = {r["parameter"]: r for r in describe_class(LIF)}
    assert "AdaptiveThreshold" in rows["adaptation"]["bounds"]
    rows = {r["parameter"]: r for r in describe_class(Protocol)}
    assert rows["batch"]["default"] == "1" and rows["batch"]["bounds"] == "integer >= 1"


def test_every_declared_default_is_valid():
    from bioplaus.spec import neurons, network, protocol, rules

    checked = 0
    for mod in (neurons, network, protocol, rules):
        for cls in vars(mod).values():
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == mod.__name__):
                continue
            fields = dataclasses.fields(cls)
            if any(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields):
                continue
            if any("param" in f.metadata for f in fields):
                cls()
                checked += 1
    assert checked >= 15
