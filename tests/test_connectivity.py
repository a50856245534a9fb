"""Random connectivity: exact Bernoulli sampling, memory ~ synapses, same synapses on every path."""
import numpy as np
import pytest

from bioplaus.build import network as bn
from bioplaus.build.network import bernoulli_pairs, connectivity_indices
from bioplaus.spec import LIF, NetworkSpec, Population, Projection


def test_dense_draw_does_not_depend_on_the_block_size():
    a = bernoulli_pairs(np.random.default_rng(3), 57, 91, 0.1)
    b = bernoulli_pairs(np.random.default_rng(3), 57, 91, 0.1, block_bytes=8 * 91 * 5)   # 5-row blocks
    one = np.nonzero(np.random.default_rng(3).random((57, 91)) < 0.1)
    for x, y, z in zip(a, b, one):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)


@pytest.mark.parametrize("dense_limit", [bn.DENSE_PAIRS_LIMIT, 0])
def test_pairs_are_a_bernoulli_sample(monkeypatch, dense_limit):
    monkeypatch.setattr(bn, "DENSE_PAIRS_LIMIT", dense_limit)
    n_pre, n_post, p = 400, 300, 0.05
    i, j = bernoulli_pairs(np.random.default_rng(1), n_pre, n_post, p)
    flat = i.astype(np.int64) * n_post + j
    assert np.all(np.diff(flat) > 0)                       # row-major, no duplicate pairs
    assert i.min() >= 0 and i.max() < n_pre and j.min() >= 0 and j.max() < n_post
    mean, sd = p * n_pre * n_post, np.sqrt(n_pre * n_post * p * (1 - p))
    assert abs(len(i) - mean) < 5 * sd
    # out-degrees binomial(n_post, p): mean and variance
    deg = np.bincount(i, minlength=n_pre)
    assert deg.mean() == pytest.approx(n_post * p, rel=0.05)
    assert deg.var() == pytest.approx(n_post * p * (1 - p), rel=0.25)
    # every column equally likely: chi-square of in-degrees against uniform
    indeg = np.bincount(j, minlength=n_post)
    chi2 = ((indeg - indeg.mean()) ** 2 / indeg.mean()).sum()
    assert chi2 < n_post + 5 * np.sqrt(2 * n_post)


@pytest.mark.parametrize("dense_limit", [bn.DENSE_PAIRS_LIMIT, 0])
def test_edge_probabilities(monkeypatch, dense_limit):
    monkeypatch.setattr(bn, "DENSE_PAIRS_LIMIT", dense_limit)
    i, j = bernoulli_pairs(np.random.default_rng(0), 7, 5, 1.0)
    assert len(i) == 35 and i.tolist() == sorted(i.tolist())
    assert len(bernoulli_pairs(np.random.default_rng(0), 7, 5, 0.0)[0]) == 0
    assert len(bernoulli_pairs(np.random.default_rng(0), 0, 5, 0.5)[0]) == 0


def test_sparse_draw_of_a_large_projection_is_cheap():
    # 80,000 x 80,000 pairs at p = 1e-4 (a 100,000-neuron network with 80 synapses per neuron):
    # a dense draw would need 6.4e9 numbers; the sparse one ~640,000
    i, j = bernoulli_pairs(np.random.default_rng(0), 80_000, 80_000, 1e-4)
    assert abs(len(i) - 640_000) < 5 * 800
    assert i.dtype == np.int32 and j.dtype == np.int32


def test_connectivity_kinds():
    from brian2 import pA

    spec = NetworkSpec([Population("a", LIF(), 4)], [
        Projection(name, "a", "a", connectivity=c, weight_scale=10 * pA)
        for name, c in (("all", "all"), ("abs", "all_but_self"), ("oto", "one_to_one"))])
    rng = np.random.default_rng(0)
    i, j = connectivity_indices(spec.projection("all"), 4, 4, rng)
    assert len(i) == 16
    i, j = connectivity_indices(spec.projection("abs"), 4, 4, rng)
    assert len(i) == 12 and not np.any(i == j)
    i, j = connectivity_indices(spec.projection("oto"), 4, 4, rng)
    assert i.tolist() == j.tolist() == [0, 1, 2, 3]
