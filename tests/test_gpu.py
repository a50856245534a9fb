"""CUDA (brian2cuda) against cpp_standalone on the cross-backend network; skipped without a GPU.

Run on a machine with a GPU: ``pytest -m gpu``. The skip reason says what is
missing (brian2cuda, nvcc or a GPU), as reported by ``check_backend``.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioplaus.backends import check_backend
from bioplaus.errors import BackendUnavailable
from bioplaus.simulation import simulate

from test_cross_backend import WEIGHT_RTOL, plastic_network  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda_available():
    try:
        check_backend("cuda")
    except BackendUnavailable as exc:
        pytest.skip(f"cuda backend unavailable: {exc.reason}")
    try:
        check_backend("cpp")
    except BackendUnavailable as exc:
        pytest.skip(f"cpp backend (the reference) unavailable: {exc.reason}")


def test_cuda_matches_cpp(cuda_available):
    spec = plastic_network()
    ref = simulate(spec, "cpp")
    r = simulate(spec, "cuda")
    assert r.compiler_flags["extra_compile_args_nvcc"][-1] == "-std=c++17"
    np.testing.assert_array_equal(r["ff.i"], ref["ff.i"])
    np.testing.assert_array_equal(r["ff.j"], ref["ff.j"])
    max_rel = np.max(np.abs(r["ff.w"] - ref["ff.w"]) / np.maximum(np.abs(ref["ff.w"]), 1e-12))
    assert max_rel < WEIGHT_RTOL, f"cuda vs cpp: max relative weight difference {max_rel:.3g}"
    # same input and same deterministic dynamics: same output spikes
    np.testing.assert_array_equal(r["out.spikes.i"], ref["out.spikes.i"])
    np.testing.assert_allclose(r["out.spikes.t"], ref["out.spikes.t"], rtol=0, atol=1e-9)
    assert r.timings["compile.make_s"] > 0
