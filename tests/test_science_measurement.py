"""The measurements themselves: the right split, the right axis, every seed.

A learner can look good only through the way it is measured. These tests pin the
measurement: a memoriser must score perfectly on the training split and at chance on
the held-out split; summaries average final-epoch values over seeds (not over epochs,
not over one seed), with the sample standard deviation across seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from bioplaus.data import load_dataset
from bioplaus.harness import CompareConfig, compare
from bioplaus.metrics import summarize
from bioplaus.reference.credit import CREDIT_RULES, Alignment, CreditRule, register_credit_rule


class _Memoriser:
    """Stores every training input with its label; answers class 0 for anything it has not seen."""

    def init(self, net, rng, settings):
        self.n_out = net.sizes[-1]
        self.table: dict[bytes, int] = {}

    def train_epoch(self, x, y, rng):
        self.table.update({xi.tobytes(): int(yi) for xi, yi in zip(x, y)})

    def predict(self, x):
        z = np.zeros((len(x), self.n_out))
        z[np.arange(len(x)), [self.table.get(xi.tobytes(), 0) for xi in x]] = 1.0
        return z

    def weights(self):
        return {"n_stored": np.array([float(len(self.table))])}

    def alignment(self, x, y):
        return Alignment.undefined(1)


@pytest.fixture
def memoriser():
    @register_credit_rule("test-memoriser")
    @dataclass(frozen=True)
    class Memorise(CreditRule):
        default_lr: ClassVar[float] = 1.0

        def learner(self):
            return _Memoriser()

    yield "test-memoriser"
    CREDIT_RULES.pop("test-memoriser", None)


def test_digits_split_is_a_disjoint_partition_of_the_dataset():
    """1797 scikit-learn digits, 25 % held out: 1347 + 450, no image in both, together the whole set."""
    from sklearn.datasets import load_digits

    d = load_dataset("digits", seed=0)
    assert d.x_train.shape == (1347, 64) and d.x_test.shape == (450, 64)
    assert len(d.y_train) == 1347 and len(d.y_test) == 450
    train = {r.tobytes() for r in d.x_train}
    assert not any(r.tobytes() in train for r in d.x_test)
    full = load_digits().data / 16.0
    both = np.concatenate([d.x_train, d.x_test])
    np.testing.assert_array_equal(np.unique(both, axis=0), np.unique(full, axis=0))
    assert len(np.unique(full, axis=0)) == len(full) == len(both)  # no duplicates hide an overlap
    assert np.bincount(d.y_test, minlength=10).min() >= 30  # every class held out
    # another seed draws another split of the same data
    d2 = load_dataset("digits", seed=1)
    assert not np.array_equal(d.x_test, d2.x_test)


def test_memoriser_is_perfect_on_train_and_at_chance_on_held_out_data(memoriser):
    """If 'test' accuracy were computed on the training split, the memoriser would score 1.0 there too."""
    res = compare(CompareConfig(rules=(memoriser,), hidden=(4,), epochs=1, seeds=1), progress=False)
    last = [r for r in res.rows if r["epoch"] == 1][0]
    assert last["train_acc"] == 1.0
    assert last["test_acc"] < 0.2, f"held-out accuracy {last['test_acc']} of a memoriser: test data leak"
    assert res.summary_of(memoriser).test_acc[0] == last["test_acc"]
    first = [r for r in res.rows if r["epoch"] == 0][0]
    assert first["train_acc"] < 0.2  # before training it knows nothing


def _rows(finals, rule="r", epochs=3):
    """Rows of ``len(finals)`` seeds; intermediate epochs carry a decoy value (0.05) unlike any final one."""
    rows = []
    for s, acc in enumerate(finals):
        for e in range(epochs + 1):
            v = acc if e == epochs else 0.05 + 0.01 * e
            rows.append({"rule": rule, "seed": s, "epoch": e, "train_loss": 1.0, "train_acc": v, "test_loss": 1 - v,
                         "test_acc": v, "wall_time_s": 0.1 * (e > 0), "angle_update_l1": 40.0 + s,
                         "angle_weights_l1": 50.0 + s, "status": "ok"})
    # rows arrive out of order (seed-major order is not assumed)
    return rows[::-1]


def test_summary_is_over_seeds_at_the_final_epoch():
    finals = [0.5, 0.6, 0.9]
    s = summarize(_rows(finals))[0]
    assert s.n_seeds == 3 and s.n_ok == 3
    assert s.test_acc[0] == pytest.approx(np.mean(finals), abs=1e-15)
    assert s.test_acc[1] == pytest.approx(np.std(finals, ddof=1), abs=1e-15)  # sample std across seeds
    assert s.test_loss[0] == pytest.approx(1 - np.mean(finals), abs=1e-15)
    assert s.angle_update[0] == pytest.approx(41.0, abs=1e-12)  # mean of 40, 41, 42 at the final epoch
    assert s.time_per_epoch_s == pytest.approx(0.1, abs=1e-15)


def test_gap_to_bp_is_the_difference_of_seed_means():
    rows = _rows([0.9, 0.8], rule="bp") + _rows([0.7, 0.5], rule="fa")
    s = {x.rule: x for x in summarize(rows, ["bp", "fa"])}
    assert s["fa"].gap_to_bp == pytest.approx(0.6 - 0.85, abs=1e-12)
    assert s["bp"].gap_to_bp == 0.0


def test_harness_summary_and_curves_use_every_seed(tmp_path):
    """A real run: the summary band is the spread of the per-seed final accuracies, and they differ."""
    res = compare(CompareConfig(rules=("bp",), hidden=(8,), epochs=2, seeds=3, batch_size=32), progress=False)
    finals = res.final("bp")
    assert finals.shape == (3,) and len(set(finals.tolist())) > 1  # seeds really differ
    curve = res.curve("bp", "test_acc")
    assert curve.shape == (3, 3)
    np.testing.assert_array_equal(curve[:, -1], finals)
    s = res.summary_of("bp")
    assert s.n_seeds == 3
    assert s.test_acc[0] == pytest.approx(finals.mean(), abs=1e-15)
    assert s.test_acc[1] == pytest.approx(finals.std(ddof=1), abs=1e-15) and s.test_acc[1] > 0
