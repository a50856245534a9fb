"""``bioplaus plot RESULT_DIR``: draw the figures that fit a results directory."""
from __future__ import annotations

import argparse
import sys

HELP = """draw the figures that fit a results directory into RESULT_DIR/figures/ (or --out)

Recognises a comparison (bioplaus compare: learning curves, alignment angles, receptive
fields), an experiment run (bioplaus run: the experiment's figures from arrays.npz and
metrics.csv) and a parameter study (bioplaus sweep: one figure per metric, a line for
one swept parameter, a heat map for two). Writes only PNG figures; nothing else in the
directory is changed.

example:
  bioplaus plot results/demo"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result_dir", metavar="RESULT_DIR", help="a results directory written by bioplaus")
    p.add_argument("--out", metavar="DIR", help="write the figures here instead of RESULT_DIR/figures")


def run(args: argparse.Namespace) -> int:
    from ..plots import result_kind, write_figures

    kind = result_kind(args.result_dir)
    written = write_figures(args.result_dir, args.out)
    if not written:
        print(f"bioplaus: plot: no figure fits {args.result_dir} ({kind}); nothing written", file=sys.stderr)
        return 0
    for path in written:
        print(path)
    print(f"bioplaus: plot: {len(written)} figure(s) for the {kind} in {args.result_dir}", file=sys.stderr)
    return 0
