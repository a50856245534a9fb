"""``bioplaus plot RESULT_DIR``: draw the figures that fit a results directory."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """draw the figures that fit a results directory into RESULT_DIR/figures/ (or --out)

Recognises a comparison (bioplaus compare: learning curves, alignment angles, receptive
fields), an experiment run (bioplaus run: the experiment's figures from arrays.npz and
metrics.csv), a parameter study (bioplaus sweep: one figure per metric, a line for
one swept parameter, a heat map for two) and a benchmark (bioplaus bench: run time
against synapses). Writes only PNG figures; nothing else in the directory is changed.
A damaged arrays.npz or metrics.csv is named (exit status 2); a metrics.csv with fewer
seeds or rows than the run was configured for is plotted with a warning.

example:
  bioplaus plot results/demo"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result_dir", metavar="RESULT_DIR", help="a results directory written by bioplaus")
    p.add_argument("--out", metavar="DIR", help="write the figures here instead of RESULT_DIR/figures")


def check_arrays(path: Path) -> None:
    """Read every array of ``path`` (an ``arrays.npz``); :class:`DataError` naming it if any cannot be read."""
    import zipfile
    import zlib

    import numpy as np

    from ..errors import DataError

    try:
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                z[k]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        # numpy may advise allow_pickle for a file that is no archive: that would run code from it, never
        why = "not a NumPy .npz archive of plain arrays" if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise DataError(f"{path}: cannot be read ({why}); it is damaged or was not written by bioplaus") from None


def metrics_warnings(d: Path) -> list[str]:
    """What is missing from ``d/metrics.csv`` against what the run was configured for (a cut-off last
    row; for a comparison, rules or seeds or epochs without rows)."""
    import csv
    import tomllib

    from ..errors import DataError

    path = d / "metrics.csv"
    if not path.is_file():
        return []
    try:
        with open(path, newline="") as fh:
            raw = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    lines = list(csv.reader(raw.splitlines()))
    if not lines:
        raise DataError(f"{path}: empty (no header); the run that wrote it did not finish")
    header, body = lines[0], [r for r in lines[1:] if r]
    out = []
    short = [k for k, r in enumerate(body) if len(r) != len(header)]
    if short or (raw and not raw.endswith("\n")):
        out.append(f"{path}: cut off (line {short[0] + 2 if short else len(body) + 1} is incomplete: the run "
                   "writing it was interrupted or the file was damaged); figures from it may lack values")
    try:
        config = tomllib.loads((d / "config.toml").read_text()) if (d / "config.toml").is_file() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        config = {}
    cmp = config.get("compare") if isinstance(config.get("compare"), dict) else None
    if cmp and "rule" in header and "seed" in header:
        rows = [dict(zip(header, r)) for r in body if len(r) == len(header)]
        seeds = int(cmp.get("seeds", 0) or 0)
        epochs = int(cmp.get("epochs", 0) or 0)
        for rule in cmp.get("rules", []):
            rr = [r for r in rows if r.get("rule") == rule]
            have = sorted({r["seed"] for r in rr})
            if seeds and len(have) < seeds:
                out.append(f"{path}: rule {rule!r} has rows for {len(have)} of {seeds} seeds; "
                           "its curves average over those only")
            elif epochs and "epoch" in header:
                last = {}
                for r in rr:
                    try:
                        last[r["seed"]] = max(last.get(r["seed"], -1), int(float(r["epoch"])))
                    except ValueError:
                        pass
                cut = sorted(s for s, e in last.items() if e < epochs)
                if cut:
                    out.append(f"{path}: rule {rule!r}, seed(s) {', '.join(cut)} end before epoch {epochs}; "
                               "its curves average over fewer seeds there")
    return out


def run(args: argparse.Namespace) -> int:
    from ..plots import result_kind, write_figures

    d = Path(args.result_dir)
    kind = result_kind(d)
    if (d / "arrays.npz").exists():
        check_arrays(d / "arrays.npz")
    for warning in metrics_warnings(d) if kind in ("compare", "experiment") else []:
        print(f"bioplaus: plot: warning: {warning}", file=sys.stderr)
    if args.out:
        from ..results import check_writable

        check_writable(args.out)
    written = write_figures(d, args.out)
    if not written:
        print(f"bioplaus: plot: no figure fits {args.result_dir} ({kind}); nothing written", file=sys.stderr)
        return 0
    for path in written:
        print(path)
    print(f"bioplaus: plot: {len(written)} figure(s) for the {kind} in {args.result_dir}", file=sys.stderr)
    return 0
