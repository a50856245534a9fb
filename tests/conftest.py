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


@pytest.fixture
def teacher_task():
    """A teacher task for learned feedback on a (6, 8, 5, 3) tanh network: 100 inputs, targets from
    another random tanh network, the student ``net``, the fixed feedback ``fb`` the numpy FA learner
    draws for it (far from W^T: over 60 degrees) and three epochs' sample orders."""
    import numpy as np

    from bioplaus.metrics import angle_deg
    from bioplaus.reference.credit import FA, TrainSettings
    from bioplaus.reference.mlp import MLP

    sizes, n = (6, 8, 5, 3), 100
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, sizes[0]))
    targets = MLP.random(sizes, "tanh", "mse", np.random.default_rng(5)).predict(x)
    net = MLP.random(sizes, "tanh", "mse", rng)
    ref = FA().learner()
    ref.init(net, np.random.default_rng(1), TrainSettings(lr=0.05, batch_size=1))
    fb = [B.copy() for B in ref.feedback]
    orders = [np.random.default_rng(e).permutation(n) for e in range(3)]
    assert min(angle_deg(fb[l], net.weights[l + 1].T) for l in range(2)) > 60
    return x, targets, net, fb, orders
