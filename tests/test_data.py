"""Dataset loaders on shipped and generated files, and every bad-input case."""
import doctest
import gzip

import numpy as np
import pytest

from bioplaus import data as data_mod
from bioplaus.data import Dataset, load_dataset, read_idx, stratified_split, write_idx
from bioplaus.errors import ConfigError, DataError

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _tiny(rng, n_train=12, n_test=5, shape=(4, 3)):
    return {
        "x_train": rng.integers(0, 256, size=(n_train, *shape), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, *shape), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=n_test).astype(np.uint8),
    }


def _write_mnist(d, arrays, gz):
    d.mkdir(parents=True, exist_ok=True)
    for name, key in zip(IDX_NAMES, ("x_train", "y_train", "x_test", "y_test")):
        write_idx(d / (name + (".gz" if gz else "")), arrays[key])


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_files(tmp_path, gz):
    arrays = _tiny(np.random.default_rng(0))
    _write_mnist(tmp_path, arrays, gz)
    d = load_dataset("mnist", data_dir=tmp_path)
    assert d.x_train.shape == (12, 12) and d.x_test.shape == (5, 12) and d.image_shape == (4, 3)
    np.testing.assert_allclose(d.x_train, arrays["x_train"].reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(d.y_test, arrays["y_test"])
    assert d.n_classes == 10 and d.x_train.dtype == np.float64 and 0 <= d.x_train.min() <= d.x_train.max() <= 1


def test_fashion_mnist_in_the_torchvision_layout(tmp_path):
    arrays = _tiny(np.random.default_rng(1))
    _write_mnist(tmp_path / "FashionMNIST" / "raw", arrays, gz=True)
    d = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert d.name == "fashion-mnist" and len(d.y_train) == 12


def test_npz_in_a_directory_and_named_directly(tmp_path):
    arrays = _tiny(np.random.default_rng(2))
    np.savez(tmp_path / "fashion-mnist.npz", **arrays)
    d = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert d.image_shape == (4, 3) and d.x_train.max() <= 1
    flat = {k: (v.reshape(len(v), -1).astype(np.float32) / 255 if k.startswith("x") else v) for k, v in arrays.items()}
    np.savez(tmp_path / "any.npz", **flat)
    d2 = load_dataset("mnist", data_dir=tmp_path / "any.npz")
    assert d2.image_shape is None
    np.testing.assert_allclose(d2.x_train, d.x_train, atol=1e-6)


def test_read_idx_roundtrips_every_type(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        p = write_idx(tmp_path / f"a-{np.dtype(dtype).name}.gz", a)
        b = read_idx(p, ndim=3)
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.dtype(dtype)


def test_missing_files_name_the_files_and_the_directories(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg


def test_partial_files_name_what_is_missing(tmp_path):
    arrays = _tiny(np.random.default_rng(3))
    _write_mnist(tmp_path, arrays, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="missing: t10k-labels-idx1-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


def _corrupt(tmp_path, name, content, gz=False):
    arrays = _tiny(np.random.default_rng(4))
    _write_mnist(tmp_path, arrays, gz=False)
    p = tmp_path / name
    p.write_bytes(gzip.compress(content) if gz else content)
    if gz:
        p.rename(tmp_path / (name + ".gz"))
    return p


@pytest.mark.parametrize("content,pattern", [
    (b"\x12\x34\x08\x03" + b"\x00" * 20, "bad magic number 0x12340803"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x04\x00\x00\x00\x03" + b"\x01" * 7, r"truncated: .*\(5, 4, 3\)"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05" + b"\x01" * 5, "has 1 dimension"),
    (b"\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01" + b"\x01\x02", "1 unexpected bytes"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_idx_is_reported_with_the_file(tmp_path, content, pattern, gz):
    p = _corrupt(tmp_path, "train-images-idx3-ubyte", content, gz)
    with pytest.raises(DataError, match=pattern) as info:
        load_dataset("mnist", data_dir=tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_corrupt_gzip(tmp_path):
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")[:-6])
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(tmp_path / "x.gz")


def test_idx_labels_out_of_range_and_count_mismatch(tmp_path):
    arrays = _tiny(np.random.default_rng(5))
    arrays["y_train"][3] = 11
    _write_mnist(tmp_path, arrays, gz=False)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: label 11 at index 3 is out of range"):
        load_dataset("mnist", data_dir=tmp_path)
    arrays = _tiny(np.random.default_rng(5))
    arrays["y_test"] = arrays["y_test"][:4]
    _write_mnist(tmp_path, arrays, gz=False)
    with pytest.raises(DataError, match="holds 5 images but .*t10k-labels-idx1-ubyte holds 4 labels"):
        load_dataset("mnist", data_dir=tmp_path)


def test_bad_npz_contents(tmp_path):
    rng = np.random.default_rng(6)
    arrays = _tiny(rng)
    np.savez(tmp_path / "mnist.npz", x_train=arrays["x_train"], y_train=arrays["y_train"])
    with pytest.raises(DataError, match="missing array.*x_test, y_test"):
        load_dataset("mnist", data_dir=tmp_path)
    x = arrays["x_train"].reshape(12, -1).astype(np.float64) / 255
    x[2, 5] = np.nan
    np.savez(tmp_path / "mnist.npz", **{**arrays, "x_train": x, "x_test": arrays["x_test"].reshape(5, -1) / 255})
    with pytest.raises(DataError, match=r"x_train holds 1 non-finite.*\(2, 5\)"):
        load_dataset("mnist", data_dir=tmp_path)
    np.savez(tmp_path / "mnist.npz", **{**arrays, "y_train": arrays["y_train"] + 0.5})
    with pytest.raises(DataError, match=r"y_train must hold integer class labels; found \d+\.5"):
        load_dataset("mnist", data_dir=tmp_path)
    np.savez(tmp_path / "mnist.npz", **{**arrays, "y_train": arrays["y_train"][:7]})
    with pytest.raises(DataError, match="x_train has 12 rows but y_train has 7"):
        load_dataset("mnist", data_dir=tmp_path)
    np.savez(tmp_path / "mnist.npz", **{**arrays, "x_test": arrays["x_test"][:, :2]})
    with pytest.raises(DataError, match="x_test samples"):
        load_dataset("mnist", data_dir=tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="cannot be read as .npz"):
        load_dataset("mnist", data_dir=tmp_path)


def test_dataset_validation_names_the_field():
    x = np.zeros((4, 3))
    y = np.array([0, 1, 2, 1])
    with pytest.raises(DataError, match=r"y_test\[2\] = 5 is out of range"):
        Dataset(x, y, x, np.array([0, 1, 5, 1]), name="t", n_classes=3)
    with pytest.raises(DataError, match=r"x_train holds 1 non-finite value.*inf.*\(1, 2\)"):
        Dataset(np.where(np.arange(12).reshape(4, 3) == 5, np.inf, 0.0), y, x, y, n_classes=3)
    with pytest.raises(DataError, match="x_train has 3 features but x_test has 2"):
        Dataset(x, y, np.zeros((4, 2)), y, n_classes=3)
    with pytest.raises(DataError, match="x_train has 4 rows but y_train has 3"):
        Dataset(x, y[:3], x, y, n_classes=3)
    with pytest.raises(DataError, match="image_shape"):
        Dataset(x, y, x, y, n_classes=3, image_shape=(2, 2))
    with pytest.raises(DataError, match="y_train.*nan"):
        Dataset(x, np.array([0.0, np.nan, 1, 1]), x, y, n_classes=3)


def test_unknown_dataset_suggests_a_name():
    with pytest.raises(ConfigError, match="did you mean 'digits'") as info:
        load_dataset("digts")
    assert info.value.key_path == "dataset" and info.value.value == "digts"
    with pytest.raises(ConfigError, match="fashion-mnist"):
        load_dataset("fashion_mnst")


def test_digits_split_is_stratified_seeded_and_scaled():
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=0)
    c = load_dataset("digits", seed=1)
    assert a.x_train.shape == (1347, 64) and a.image_shape == (8, 8) and a.n_outputs == 10
    assert a.x_train.min() == 0 and a.x_train.max() == 1
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_test, c.y_test)
    counts = np.bincount(a.y_test, minlength=10)
    total = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=10)
    assert np.all(np.abs(counts - 0.25 * total) <= 0.5 + 1e-9)


def test_stratified_split_covers_every_row_once():
    y = np.repeat(np.arange(3), [10, 7, 5])
    tr, te = stratified_split(y, 0.3, np.random.default_rng(0))
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(y)))
    with pytest.raises(ConfigError, match="test_fraction"):
        stratified_split(y, 1.5, np.random.default_rng(0))


def test_xor_parity_and_teacher():
    x = load_dataset("xor")
    assert x.x_test.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and x.y_test.tolist() == [0, 1, 1, 0]
    assert len(x.x_train) >= 512
    p = load_dataset("parity-5")
    assert p.x_test.shape == (32, 5) and np.array_equal(p.y_test, p.x_test.sum(1).astype(int) % 2)
    assert load_dataset("parity").x_test.shape == (16, 4)
    t1, t2 = load_dataset("teacher", seed=3), load_dataset("teacher", seed=3)
    assert t1.task == "regression" and t1.default_loss == "mse" and t1.n_outputs == 5
    np.testing.assert_array_equal(t1.y_test, t2.y_test)
    assert t1.y_train.std() > 0.1
    with pytest.raises(ConfigError, match="parity.n_bits"):
        load_dataset("parity-40")


def test_doctests():
    assert doctest.testmod(data_mod).failed == 0
