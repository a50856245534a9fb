"""The examples in the docstrings run, so they cannot drift from the code.

Only modules that carry examples are collected, and each case must attempt at least one
example: a module whose examples were deleted, or a doctest run that finds nothing
(for instance on the wrong module), fails instead of passing with 0 attempted.
``MUST_HAVE_EXAMPLES`` names the modules whose examples are part of the documentation.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bioplaus

ALL_MODULES = sorted(m.name for m in pkgutil.walk_packages(bioplaus.__path__, "bioplaus.")
                     if not m.name.endswith("__main__"))

#: modules whose docstring examples document the public API (they must keep at least one)
MUST_HAVE_EXAMPLES = (
    "bioplaus.errors", "bioplaus.data", "bioplaus.harness", "bioplaus.metrics", "bioplaus.simulation",
    "bioplaus.build.registry", "bioplaus.build.rules", "bioplaus.build.network", "bioplaus.checkpoint",
    "bioplaus.reference.mlp", "bioplaus.reference.credit", "bioplaus.reference.hebbian",
    "bioplaus.reference.plasticity", "bioplaus.spec.params", "bioplaus.spec.rules", "bioplaus.spec.neurons",
)


def _n_examples(name: str) -> int:
    try:
        mod = importlib.import_module(name)
    except Exception:  # an import error is reported by the test itself
        return -1
    return sum(1 for t in doctest.DocTestFinder().find(mod) for ex in t.examples
               if not ex.options.get(doctest.SKIP))  # skipped examples are never attempted


WITH_EXAMPLES = [name for name in ALL_MODULES if _n_examples(name) != 0]


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.attempted > 0, f"no docstring example was run in {name}"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


@pytest.mark.parametrize("name", MUST_HAVE_EXAMPLES)
def test_documented_modules_keep_their_examples(name):
    assert name in ALL_MODULES
    assert _n_examples(name) > 0, f"{name} lost its docstring examples"
