"""``bioplaus params``: every parameter with its unit, default, bounds and meaning."""
from __future__ import annotations

import pytest

from bioplaus.cli import main
from bioplaus.describe import describe, describe_class


def _spec_classes():
    import bioplaus.spec.credit  # noqa: F401  (registers the error-driven rules)
    from bioplaus.netfile import _homeostasis_types, _model_types, _rule_types

    # the package's own: other tests and docstring examples register rules of their own in the same registry
    return sorted((c for c in {*_model_types().values(), *_rule_types().values(), *_homeostasis_types().values()}
                   if _defined_in_the_package(c)), key=lambda c: c.__name__)


def _defined_in_the_package(cls) -> bool:
    import sys

    mod = sys.modules.get(cls.__module__)
    return cls.__module__.startswith("bioplaus.") and getattr(mod, cls.__name__, None) is cls


def _experiments():
    from bioplaus.experiments.base import EXPERIMENTS, _load_builtin

    _load_builtin()
    return sorted(n for n, c in EXPERIMENTS.items() if _defined_in_the_package(c))


def test_every_parameter_of_every_experiment_and_spec_has_a_meaning():
    missing = [f"{name}: {r['parameter']}" for name in _experiments() for r in describe(name)[1] if not r["meaning"]]
    missing += [f"{c.__name__}: {r['parameter']}" for c in _spec_classes() for r in describe_class(c)
                if not r["meaning"]]
    assert not missing, missing


def test_units_bounds_and_defaults_come_from_the_declarations():
    rows = {r["parameter"]: r for r in describe("PairSTDP")[1]}
    assert rows["tau_plus"]["unit"] == "ms" and rows["tau_plus"]["bounds"] == "> 0"
    assert rows["tau_plus"]["default"] == "'20 ms'" and "potentiation" in rows["tau_plus"]["meaning"]
    assert rows["bounds"]["bounds"] == "one of hard | soft"
    lif = {r["parameter"]: r for r in describe("LIF")[1]}
    assert lif["g_L"]["unit"] == "nS" and lif["t_ref"]["bounds"] == ">= 0"


def test_model_file_values_stand_beside_the_defaults(capsys):
    assert main(["params", "models/coba_network.toml"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("projections.ie.weight_scale"))
    assert "67. nS" in line and "nS" in line
    line = next(ln for ln in out.splitlines() if ln.startswith("populations.exc.model.E_L"))
    assert "'-60. mV'" in line and "'-70 mV'" in line          # the preset's value beside LIF's default
    assert main(["params", "oja_pca"]) == 0
    out = capsys.readouterr().out
    assert "params.eta" in out and "Hz" in out and "learning rate" in out


def test_unknown_target_is_bad_input(capsys):
    assert main(["params", "ojja"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'oja'" in err
