"""Bad network descriptions fail while the spec is constructed: a ConfigError naming object, field and value.

Every case below only constructs spec objects (nothing is built or compiled), so
the error reaches the user before any Brian2 object exists.
"""
from __future__ import annotations

import pytest

from bioplaus.errors import ConfigError
from bioplaus.spec import (LIF, AdaptiveThreshold, AdEx, Izhikevich, Monitor, NetworkSpec, Oja, PairSTDP,
                           PoissonInput, Population, Projection, RateUnit, SampleSequence)
from bioplaus.spec.neurons import neuron_class


def spiking(*, projections=(), monitors=(), out=None, extra=()):
    pops = [Population("inp", PoissonInput(rates="10 Hz"), 10), Population("out", out or LIF(), 5), *extra]
    return NetworkSpec(pops, projections=projections, monitors=monitors, duration="10 ms")


def rate(*, projections=(), monitors=()):
    pops = [Population("x", SampleSequence(samples=[[0.1, 0.2, 0.3]])), Population("y", RateUnit(), 2)]
    return NetworkSpec(pops, projections=projections, monitors=monitors, duration="10 ms")


FF = dict(rule=PairSTDP(), weight_scale="0.5 nA")

CASES = {
    # unknown names
    "unknown neuron name": (lambda: neuron_class("lif2"), "model", "lif2", "did you mean 'lif'"),
    "unknown projection end": (lambda: spiking(projections=[Projection("ff", "inp", "uot", **FF)]),
                               "projections.ff.post", "uot", "did you mean 'out'"),
    # missing and wrong-unit parameters
    "missing weight_scale": (lambda: spiking(projections=[Projection("ff", "inp", "out", rule=PairSTDP())]),
                             "projections.ff.weight_scale", None, "a quantity in A"),
    "missing capacitance": (lambda: LIF(C_m=None), "LIF.C_m", None, "a quantity in pF"),
    "number without unit": (lambda: LIF(C_m=200), "LIF.C_m", 200, "got no unit"),
    "time constant in mV": (lambda: LIF(tau_e="5 mV"), "LIF.tau_e", "5 mV", "got unit V"),
    "unparseable quantity": (lambda: AdEx(a="four nS"), "AdEx.a", "four nS", "a quantity in nS"),
    "Izhikevich input in nA": (lambda: Izhikevich(I_ext="1 nA"), "Izhikevich.I_ext", "1 nA", "mV/ms"),
    "rate gain with a unit": (lambda: RateUnit(gain="2 Hz"), "RateUnit.gain", "2 Hz", "a number"),
    "unknown transfer": (lambda: RateUnit(transfer="softplus"), "RateUnit.transfer", "softplus", "'relu'"),
    "Izhikevich conductance": (lambda: Izhikevich(synapse="conductance"), "Izhikevich.synapse", "conductance",
                               "'current'"),
    # negative time constants
    "negative tau_e": (lambda: LIF(tau_e="-5 ms"), "LIF.tau_e", "-5", "positive"),
    "negative refractory": (lambda: LIF(t_ref="-1 ms"), "LIF.t_ref", "-1", ">= 0"),
    "negative tau_w": (lambda: AdEx(tau_w="-100 ms"), "AdEx.tau_w", "-100", "positive"),
    "negative rate tau": (lambda: RateUnit(tau="-10 ms"), "RateUnit.tau", "-10", "positive"),
    "zero tau_theta": (lambda: AdaptiveThreshold(tau_theta="0 ms"), "AdaptiveThreshold.tau_theta", "0", "positive"),
    "negative dt": (lambda: NetworkSpec([Population("a", LIF(), 1)], dt="-0.1 ms"), "network.dt", "-0.1 ms",
                    "positive"),
    "negative rate": (lambda: PoissonInput(rates="-5 Hz"), "PoissonInput.rates", "-5", ">= 0"),
    # sizes
    "empty population": (lambda: Population("out", LIF(), 0), "populations.out.size", 0, ">= 1"),
    "no size": (lambda: Population("out", LIF()), "populations.out.size", None, "positive number"),
    "fractional size": (lambda: Population("out", LIF(), 2.5), "populations.out.size", 2.5, "integer"),
    "no populations": (lambda: NetworkSpec([]), "network.populations", [], "at least one"),
    # connectivity
    "probability above 1": (lambda: Projection("ff", "inp", "out", connectivity=1.5, **FF),
                            "projections.ff.connectivity", 1.5, "[0.0, 1.0]"),
    "probability below 0": (lambda: Projection("ff", "inp", "out", connectivity=-0.1, **FF),
                            "projections.ff.connectivity", -0.1, "[0.0, 1.0]"),
    "unknown connectivity": (lambda: Projection("ff", "inp", "out", connectivity="all_to_all", **FF),
                             "projections.ff.connectivity", "all_to_all", "'all'"),
    "one_to_one sizes differ": (lambda: spiking(projections=[Projection("ff", "inp", "out",
                                                                        connectivity="one_to_one", **FF)]),
                                "projections.ff.connectivity", "one_to_one", "pre 'inp' has 10, post 'out' has 5"),
    # incompatible populations
    "rate into spiking": (lambda: spiking(extra=[Population("r", RateUnit(), 5)],
                                          projections=[Projection("p", "r", "out", weight_scale="1 nA")]),
                          "projections.p.pre", "r", "spike-based"),
    "spike rule on rate units": (lambda: rate(projections=[Projection("p", "x", "y", rule=PairSTDP())]),
                                 "projections.p.pre", "x", "spike-based population for rule PairSTDP"),
    "rate rule on spiking": (lambda: spiking(projections=[Projection("ff", "inp", "out", rule=Oja(),
                                                                     weight_scale="1 nA")]),
                             "projections.ff.pre", "inp", "rate-based population for rule Oja"),
    "nS into current-based LIF": (lambda: spiking(projections=[Projection("ff", "inp", "out", rule=PairSTDP(),
                                                                          weight_scale="0.5 nS")]),
                                  "projections.ff.weight_scale", "0.5 nS", "in A, e.g. '10 A' (got unit S)"),
    "nA into conductance LIF": (lambda: spiking(out=LIF(synapse="conductance"),
                                                projections=[Projection("ff", "inp", "out", **FF)]),
                                "projections.ff.weight_scale", "0.5 nA", "(got unit A)"),
    "projection into an input": (lambda: spiking(projections=[Projection("back", "out", "inp", **FF)]),
                                 "projections.back.post", "inp", "inputs cannot receive"),
    "delay on a rate projection": (lambda: rate(projections=[Projection("p", "x", "y", delay="1 ms")]),
                                   "projections.p.delay", "1", "None for a rate projection"),
    # names
    "duplicate population": (lambda: NetworkSpec([Population("a", LIF(), 1), Population("a", LIF(), 2)]),
                             "populations.a.name", "a", "unique"),
    "duplicate projection": (lambda: spiking(projections=[Projection("ff", "inp", "out", **FF),
                                                          Projection("ff", "inp", "out", **FF)]),
                             "projections.ff.name", "ff", "unique"),
    "projection named like a population": (lambda: spiking(projections=[Projection("out", "inp", "out", **FF)]),
                                           "projections.out.name", "out", "not used by a population"),
    "invalid name": (lambda: Population("2nd layer", LIF(), 1), "Population.name", "2nd layer", "identifier"),
    # monitors
    "monitor unknown variable": (lambda: spiking(monitors=[Monitor("out", ("spikes", "vm"))]),
                                 "monitors.out.variables", "vm", "did you mean 'v'"),
    "monitor AdEx variable on LIF": (lambda: spiking(monitors=[Monitor("out", ("w_a",))]),
                                     "monitors.out.variables", "w_a", "population 'out' (LIF)"),
    "monitor unknown synaptic variable": (lambda: spiking(projections=[Projection("ff", "inp", "out", **FF)],
                                                          monitors=[Monitor("ff", ("apre", "wieght"))]),
                                          "monitors.ff.variables", "wieght", "projection 'ff' (rule PairSTDP)"),
    "monitor unknown target": (lambda: spiking(monitors=[Monitor("ouT")]), "monitors.ouT.target", "ouT",
                               "did you mean 'out'"),
    "spikes of rate units": (lambda: rate(monitors=[Monitor("y", ("spikes",))]), "monitors.y.variables", "spikes",
                             "'r'"),
    "monitor index out of range": (lambda: spiking(monitors=[Monitor("out", ("v",), indices=[0, 5])]),
                                   "monitors.out.indices", 5, "[0, 4]"),
    "two monitors on one target": (lambda: spiking(monitors=[Monitor("out"), Monitor("out", ("v",))]),
                                   "monitors.out.target", "out", "one monitor per"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_names_field_and_value(case):
    make, key_path, value, expected = CASES[case]
    with pytest.raises(ConfigError) as exc:
        make()
    err = exc.value
    assert err.key_path == key_path, str(err)
    if isinstance(value, str):
        assert value in repr(err.value), str(err)
    else:
        assert err.value == value, str(err)
    assert expected in err.expected, str(err)
    # one readable line: "<key> = <value>: expected <...>"
    assert str(err).startswith(f"{key_path} = ") and "\n" not in str(err)


def test_errors_come_before_anything_is_built(monkeypatch, tmp_path):
    """A bad spec never reaches the builder or a backend: nothing created, no build directory."""
    import tempfile

    import bioplaus.build.network as build_network_module

    made = []
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(a) or str(tmp_path / "x"))
    monkeypatch.setattr(build_network_module, "build_network", lambda spec: made.append(spec))
    for case in ("monitor unknown variable", "nS into current-based LIF", "one_to_one sizes differ"):
        with pytest.raises(ConfigError):
            CASES[case][0]()
    assert made == [] and list(tmp_path.iterdir()) == []


def test_valid_monitors_of_rule_and_modulator_variables_are_accepted():
    """Variables a rule adds to its target carry the projection's name; they pass validation."""
    from bioplaus.spec import BCM

    net = NetworkSpec(
        [Population("x", SampleSequence(samples=[[0.1, 0.2]])), Population("y", RateUnit(), 2)],
        projections=[Projection("p", "x", "y", rule=BCM())],
        monitors=[Monitor("y", ("r", "theta_p", "I_p")), Monitor("p", ("w",))], duration="10 ms")
    assert net.monitors[0].variables == ("r", "theta_p", "I_p")
