"""Projection parameters as code constants (the default) or as tunable (shared, constant) variables."""
import numpy as np
import pytest

from bioplaus.backends import session
from bioplaus.build.network import build_network
from bioplaus.errors import ConfigError
from bioplaus.simulation import simulate
from test_backends import small_net


def _ff_pre_code(built):
    from brian2 import defaultclock, ms

    defaultclock.dt = built.spec.dt
    built.network.run(0 * ms)
    pathway = built.synapses["ff"]._pathways[0]
    return pathway.codeobj.code.run


def test_projection_parameters_are_code_constants_by_default():
    with session("numpy"):
        built = build_network(small_net())
        code = _ff_pre_code(built)
    assert {"projections.ff.A_plus", "projections.ff.tau_plus", "projections.ff.weight_scale"} <= set(built.constants)
    assert not any(k.startswith("projections.") for k in built.params)
    assert "populations.out.tau_e" in built.params          # neuron parameters stay variables
    assert "_array_ff_A_minus" not in code and "_array_ff_weight_scale" not in code


def test_tunable_parameters_are_variables():
    with session("numpy"):
        every = build_network(small_net(), tunable=True)
        one = build_network(small_net(), tunable=["projections.ff.A_minus"])
        code = _ff_pre_code(one)
    assert {k for k in every.params if k.startswith("projections.")} >= {"projections.ff.A_plus",
                                                                          "projections.ff.weight_scale"}
    assert not every.constants
    assert [k for k in one.params if k.startswith("projections.")] == ["projections.ff.A_minus"]
    assert "_array_ff_A_minus" in code and "_array_ff_weight_scale" not in code


def test_unknown_tunable_key_is_named():
    with session("numpy"):
        with pytest.raises(ConfigError, match=r"tunable = 'projections.ff.A_plsu'.*did you mean 'projections.ff.A_plus'"):
            build_network(small_net(), tunable=["projections.ff.A_plsu"])


def test_constants_and_variables_give_the_same_run(monkeypatch):
    from bioplaus.build import network as bn

    spec = small_net(duration="300 ms")
    a = simulate(spec, "numpy")
    orig = bn.build_network
    monkeypatch.setattr(bn, "build_network", lambda s, **kw: orig(s, tunable=True))   # simulate imports it late
    b = simulate(spec, "numpy")
    np.testing.assert_array_equal(a["ff.w"], b["ff.w"])
    np.testing.assert_array_equal(a["out.spikes.i"], b["out.spikes.i"])
    assert a["ff.w"].std() > 0   # the rule did something
