"""Experiment parameters declared with ``param()``: every declared field is checked, errors name ``params.<field>``."""
from __future__ import annotations

import dataclasses

import pytest

from bioplaus.errors import ConfigError
from bioplaus.experiments.base import EXPERIMENTS, _load_builtin


def _declared():
    _load_builtin()
    for name, cls in sorted(EXPERIMENTS.items()):
        for f in dataclasses.fields(cls.Params):
            if "param" in f.metadata:
                yield name, cls.Params, f.name


DECLARED = list(_declared())


def test_experiments_declare_their_parameters_with_param():
    names = {name for name, _, _ in DECLARED}
    assert {"stdp_window", "oja", "bcm", "claim_depth", "eprop", "fa_rate", "fa_spiking"} <= names


@pytest.mark.parametrize("experiment,params,field", DECLARED, ids=[f"{e}.{f}" for e, _, f in DECLARED])
def test_every_declared_field_is_checked_and_named_in_the_error(experiment, params, field):
    """A value of no accepted kind is refused by the field's own check, before any check across fields."""
    bad = object()
    with pytest.raises(ConfigError) as exc:
        params(**{field: bad})
    assert exc.value.key_path == f"params.{field}"


def test_rule_parameters_are_checked_by_the_rule_declaration():
    """oja/bcm/stdp_window take eta, tau_theta, A_plus... with the rule's bounds, and build the rule from them."""
    from bioplaus.experiments.zoo import BCMSelectivity, OjaPCA, StdpWindow
    from bioplaus.spec.rules import BCM

    with pytest.raises(ConfigError, match=r"params\.tau_theta = '0 ms': expected a positive value"):
        BCMSelectivity.Params(tau_theta="0 ms")
    with pytest.raises(ConfigError, match=r"params\.A_minus = -0\.1: expected a number >= 0"):
        StdpWindow.Params(A_minus=-0.1)
    p = BCMSelectivity.Params(eta="3 Hz", y0=2.0)
    assert isinstance(p.rule, BCM) and float(p.rule.eta) == 3.0 and p.rule.y0 == 2.0
    assert float(OjaPCA.Params().rule.eta) == 10.0          # the experiment's default, not Oja's 1 Hz
