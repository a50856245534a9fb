"""The README's "Writing your own rule" example, run as written: the rule validates its field,
builds, and its network learns what the equation says (anti-Hebbian: w falls by h*eta*r_pre*r_post)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _example_code() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Writing your own rule", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_rule_example_validates_builds_and_learns():
    from brian2 import Hz

    from bioplaus import NetworkSpec, Population, Projection, simulate
    from bioplaus.errors import ConfigError
    from bioplaus.spec import RateUnit, SampleSequence
    from bioplaus.spec.rules import RULES

    namespace: dict = {}
    RULES.pop("anti_hebb", None)
    try:
        exec(compile(_example_code(), "README.md", "exec"), namespace)
        AntiHebb = namespace["AntiHebb"]
        with pytest.raises(ConfigError, match=r"AntiHebb\.eta = '-1 Hz': expected a positive value"):
            AntiHebb(eta="-1 Hz")
        rule = AntiHebb(eta="2 Hz")
        assert float(rule.eta / Hz) == 2.0
        # constant rates, post rate fixed by its bias (the plastic weights transmit nothing):
        # w(t) = w0 - t * eta * r_pre * r_post exactly under the Euler step h = dt
        r_pre, r_post, steps = np.array([0.5, 1.0, 2.0]), 3.0, 200
        net = NetworkSpec(
            populations=[Population("inp", SampleSequence(np.tile(r_pre, (steps, 1)), present="1 ms"), 3),
                         Population("out", RateUnit(tau=None, transfer="linear", bias=r_post), 1)],
            projections=[Projection("ff", "inp", "out", rule=rule, w_init=np.full((3, 1), 1.0), weight_scale=0.0)],
            dt="1 ms", duration=f"{steps} ms")
        w = simulate(net, "numpy")["ff.w"]
        np.testing.assert_allclose(w, 1.0 - steps * 1e-3 * 2.0 * r_pre * r_post, rtol=1e-12)
    finally:
        RULES.pop("anti_hebb", None)
