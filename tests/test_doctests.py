"""The examples in the docstrings run, so they cannot drift from the code."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bioplaus

MODULES = sorted(m.name for m in pkgutil.walk_packages(bioplaus.__path__, "bioplaus.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
