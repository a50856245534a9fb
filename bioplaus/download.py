"""Public datasets fetched on first use into a local cache, verified by SHA-256.

=================  =============================================  ===========================================
name               files (official names)                         mirrors, tried in turn
=================  =============================================  ===========================================
``mnist``          ``train-images-idx3-ubyte.gz``,                ossci-datasets (S3), cvdf-datasets (Google
                   ``train-labels-idx1-ubyte.gz``,                Cloud Storage), yann.lecun.com
                   ``t10k-images-idx3-ubyte.gz``,
                   ``t10k-labels-idx1-ubyte.gz``
``fashion-mnist``  the same four names                            the Fashion-MNIST S3 bucket, the GitHub
                                                                  repository (zalandoresearch/fashion-mnist)
``kmnist``         the same four names                            codh.rois.ac.jp over https, then http
``cifar10``        ``cifar-10-python.tar.gz``                     cs.toronto.edu over https, then http
=================  =============================================  ===========================================

Cache: ``$BIOPLAUS_DATA`` if set, else ``$XDG_CACHE_HOME/bioplaus``, else
``~/.cache/bioplaus``; each dataset in its own folder, ``<cache>/<name>/<file>``.

Mirrors: ``$BIOPLAUS_MIRRORS`` (comma-separated base URLs) replaces the built-in
list; ``{name}`` in a base URL is replaced by the dataset name, otherwise the file
name is appended to the base (``https://example.org/{name}/`` serves every
dataset, ``https://example.org/mnist/`` one). ``$BIOPLAUS_OFFLINE=1`` forbids the
network: a missing file then raises an error that says which files to place where.

Integrity:

* every file is streamed into a temporary file beside its destination
  (``.<file>.<random>.part``) while its SHA-256 and length are computed; only a
  file whose length and SHA-256 equal the published values is renamed into place
  (:func:`os.replace`, atomic), so an interrupted or corrupted download never
  leaves a file under the official name;
* a cached file is hashed again on every use; one that fails is fetched anew
  (the replacement again only lands when it verifies);
* a download that breaks off, times out, or delivers the wrong bytes moves on to
  the next mirror; when every mirror failed the error lists each URL and why.

The SHA-256 values below are the ones published with the official files and
repeated, identical, by torchvision, TensorFlow Datasets and Keras (cross-checked
in several independent public code bases when this table was written; they could
not be recomputed from the files here, which had no internet access).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .errors import ConfigError, DataError, did_you_mean

__all__ = ["RemoteFile", "RemoteDataset", "REMOTE_DATASETS", "cache_dir", "dataset_dir", "mirrors_for",
           "fetch_dataset", "fetch_file", "file_status", "sha256_file", "offline", "missing_files_message"]

DATA_ENV = "BIOPLAUS_DATA"
MIRRORS_ENV = "BIOPLAUS_MIRRORS"
OFFLINE_ENV = "BIOPLAUS_OFFLINE"
#: seconds a connection may stay silent before the mirror counts as failed
TIMEOUT_S = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its official name, length in bytes and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ConfigError(f"RemoteFile({self.name}).sha256", self.sha256, "64 lower-case hex digits")
        if not isinstance(self.size, int) or self.size <= 0:
            raise ConfigError(f"RemoteFile({self.name}).size", self.size, "a positive number of bytes")


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset as published: its files, the mirrors that serve them, and where it comes from."""

    name: str
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]
    source: str
    citation: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _idx_files(sizes_and_hashes: Sequence[tuple[int, str]]) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(n, s, h) for n, (s, h) in zip(names, sizes_and_hashes))


REMOTE_DATASETS: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        "mnist",
        _idx_files([
            (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ]),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/",
         "http://yann.lecun.com/exdb/mnist/"),
        "http://yann.lecun.com/exdb/mnist/",
        "LeCun, Bottou, Bengio & Haffner (1998), Proc. IEEE 86(11):2278-2324",
    ),
    "fashion-mnist": RemoteDataset(
        "fashion-mnist",
        _idx_files([
            (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        ]),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        "https://github.com/zalandoresearch/fashion-mnist",
        "Xiao, Rasul & Vollgraf (2017), arXiv:1708.07747",
    ),
    "kmnist": RemoteDataset(
        "kmnist",
        _idx_files([
            (18165135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
            (29497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
            (3041136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
            (5120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
        ]),
        ("https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
         "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
        "https://github.com/rois-codh/kmnist",
        "Clanuwat et al. (2018), Deep learning for classical Japanese literature, arXiv:1812.01718",
    ),
    "cifar10": RemoteDataset(
        "cifar10",
        (RemoteFile("cifar-10-python.tar.gz", 170498071,
                    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),),
        ("https://www.cs.toronto.edu/~kriz/",
         "http://www.cs.toronto.edu/~kriz/"),
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        "Krizhevsky (2009), Learning multiple layers of features from tiny images, tech. report",
    ),
}


# ---------------------------------------------------------------------- places
def cache_dir() -> Path:
    """The cache root: ``$BIOPLAUS_DATA``, else ``$XDG_CACHE_HOME/bioplaus``, else ``~/.cache/bioplaus``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "bioplaus"


def remote(name: str) -> RemoteDataset:
    """The :class:`RemoteDataset` called ``name`` (a :class:`ConfigError` with a suggestion otherwise)."""
    if name not in REMOTE_DATASETS:
        raise ConfigError("data.name", name, "one of " + ", ".join(REMOTE_DATASETS) + did_you_mean(name, REMOTE_DATASETS))
    return REMOTE_DATASETS[name]


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where dataset ``name`` lives in the cache: ``<root>/<name>``."""
    remote(name)
    return (Path(root) if root is not None else cache_dir()) / name


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def mirrors_for(name: str, mirrors: Sequence[str] | None = None) -> list[str]:
    """Base URLs for dataset ``name``: ``mirrors``, else ``$BIOPLAUS_MIRRORS``, else the built-in list."""
    ds = remote(name)
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV, "").strip()
        mirrors = [m.strip() for m in env.split(",") if m.strip()] if env else list(ds.mirrors)
    out = []
    for base in mirrors:
        if not isinstance(base, str) or "://" not in base:
            raise ConfigError("data.mirrors", base, "a base URL such as https://example.org/{name}/")
        base = base.replace("{name}", name)
        out.append(base if base.endswith("/") else base + "/")
    return out


# ---------------------------------------------------------------------- checks
def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_status(path: Path, spec: RemoteFile) -> str:
    """``"ok"``, ``"missing"``, or why the file on disk is not the published one."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != spec.size:
        return f"wrong size ({size} bytes, expected {spec.size})"
    digest = sha256_file(path)
    if digest != spec.sha256:
        return f"wrong SHA-256 ({digest}, expected {spec.sha256})"
    return "ok"


def missing_files_message(name: str, files: Sequence[RemoteFile], where: Path, why: str) -> str:
    """One line: why, then which files (size, SHA-256) to place in which folder, and where to get them."""
    ds = remote(name)
    listed = "; ".join(f"{f.name} ({f.size} bytes, SHA-256 {f.sha256})" for f in files)
    return (f"{name}: {why}. Place these files, names unchanged, in {where}{os.sep}: {listed}. "
            f"They are published at {ds.source} (mirrors: {', '.join(ds.mirrors)}); "
            f"`bioplaus data fetch {name}` then verifies them")


# ---------------------------------------------------------------------- downloads
def _download_one(url: str, dest: Path, spec: RemoteFile, timeout: float,
                  progress: Callable[[str], None] | None) -> None:
    """Stream ``url`` into a temporary file beside ``dest``; rename it into place only if it verifies."""
    from . import __version__

    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
    h = hashlib.sha256()
    n = 0
    try:
        req = urllib.request.Request(url, headers={"User-Agent": f"bioplaus/{__version__}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                n += len(chunk)
                if n > spec.size:
                    raise DataError(f"more than the published {spec.size} bytes")
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if n != spec.size:
            raise DataError(f"incomplete: {n} of {spec.size} bytes")
        if h.hexdigest() != spec.sha256:
            raise DataError(f"SHA-256 mismatch: got {h.hexdigest()}, expected {spec.sha256}")
        os.replace(tmp, dest)
        if progress:
            progress(f"  {dest.name}: {n} bytes from {url}, SHA-256 verified")
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def fetch_file(name: str, spec: RemoteFile, dest_dir: Path, mirrors: Sequence[str] | None = None,
               timeout: float = TIMEOUT_S, progress: Callable[[str], None] | None = None) -> Path:
    """Make ``dest_dir/spec.name`` the verified published file, downloading it if needed.

    Mirrors are tried in turn; each failure (connection error, HTTP error, a
    transfer that breaks off, wrong length or SHA-256) moves on to the next one.
    """
    failure = _fetch(name, spec, dest_dir, mirrors, timeout, progress, set())
    if failure:
        raise DataError(missing_files_message(name, [spec], dest_dir, failure))
    return dest_dir / spec.name


def _fetch(name: str, spec: RemoteFile, dest_dir: Path, mirrors: Sequence[str] | None, timeout: float,
           progress: Callable[[str], None] | None, unreachable: set[str]) -> str | None:
    """``None`` once ``dest_dir/spec.name`` verifies, else why it could not be had.

    A mirror that could not be reached at all (no connection, timeout) is added to
    ``unreachable`` and not tried again for the other files of the same fetch.
    """
    dest = dest_dir / spec.name
    status = file_status(dest, spec)
    if status == "ok":
        return None
    if offline():
        return f"{spec.name} is {status} and ${OFFLINE_ENV} forbids downloads"
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{name}: cannot create the cache folder {dest_dir}: {exc.strerror}; "
                        f"set ${DATA_ENV} to a writable folder") from None
    failures = []
    for base in mirrors_for(name, mirrors):
        url = base + spec.name
        if base in unreachable:
            failures.append(f"{url}: skipped (unreachable for an earlier file)")
            continue
        try:
            _download_one(url, dest, spec, timeout, progress)
            return None
        except DataError as exc:
            failures.append(f"{url}: {exc}")
        except urllib.error.HTTPError as exc:
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except urllib.error.URLError as exc:
            failures.append(f"{url}: {exc.reason}")
            unreachable.add(base)
        except (socket.timeout, TimeoutError, ConnectionRefusedError) as exc:
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
            unreachable.add(base)
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
        if progress:
            progress(f"  {failures[-1]}; trying the next mirror")
    tried = [f for f in failures if not f.endswith("(unreachable for an earlier file)")]
    if not tried:
        return f"{spec.name} is {status} (not tried: every mirror was unreachable)"
    return f"{spec.name} is {status} and no mirror delivered it ({'; '.join(failures)})"


def fetch_dataset(name: str, root: str | os.PathLike | None = None, mirrors: Sequence[str] | None = None,
                  timeout: float = TIMEOUT_S, progress: Callable[[str], None] | None = None) -> Path:
    """Every file of dataset ``name`` verified in ``<root>/<name>`` (downloaded where needed); its folder.

    Offline (``$BIOPLAUS_OFFLINE=1``) a missing file raises a :class:`DataError` that
    names every missing file, its size and SHA-256, and the folder to put it in.
    """
    ds = remote(name)
    d = dataset_dir(name, root)
    if offline():
        bad = [f for f in ds.files if file_status(d / f.name, f) != "ok"]
        if bad:
            raise DataError(missing_files_message(name, bad, d, f"{len(bad)} file(s) missing or invalid and "
                                                  f"${OFFLINE_ENV} forbids downloads"))
        return d
    failed: list[tuple[RemoteFile, str]] = []
    unreachable: set[str] = set()
    for f in ds.files:
        why = _fetch(name, f, d, mirrors, timeout, progress, unreachable)
        if why:
            failed.append((f, why))
    if failed:
        raise DataError(missing_files_message(name, [f for f, _ in failed], d,
                                              "; ".join(why for _, why in failed)))
    return d


def status(name: str, root: str | os.PathLike | None = None) -> dict[str, str]:
    """``{file: status}`` for every file of dataset ``name`` in the cache (hashes each present file)."""
    ds = remote(name)
    d = dataset_dir(name, root)
    return {f.name: file_status(d / f.name, f) for f in ds.files}
