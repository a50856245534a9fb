"""Shared fixtures: the backend is injected, networks are never copied per backend."""
from __future__ import annotations

import os
import shutil

import matplotlib
import pytest

matplotlib.use("Agg")


def _has_compiler() -> bool:
    return shutil.which(os.environ.get("CXX", "g++")) is not None


@pytest.fixture(params=[
    "numpy",
    pytest.param("cython", marks=pytest.mark.cython),
    pytest.param("cpp", marks=pytest.mark.standalone),
])
def backend(request):
    """Every Brian2 CPU backend; compiled ones carry their marker (deselect with -m)."""
    if request.param != "numpy" and not _has_compiler():
        pytest.skip("no C++ compiler")
    return request.param


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)
