"""``bioplaus export DIR --format nwb``: a results directory in the field's file formats."""
from __future__ import annotations

import argparse
import sys

HELP = """export a results directory's spikes, recorded state variables and weights (NWB)

Writes DIR/export/<name>.nwb (or --out FILE): spike monitors as the units table,
state monitors as TimeSeries, final weights as a table per projection, other arrays
as scratch data. Open it with pynwb, NWB Widgets or Neurosift. Needs the nwb extra:
pip install 'bioplaus[nwb]'.

example:
  bioplaus export results/window --format nwb"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result_dir", metavar="DIR", help="a results directory of bioplaus run or compare")
    p.add_argument("--format", default="nwb", choices=("nwb",), help="file format (default nwb)")
    p.add_argument("--out", metavar="FILE", help="file to write (default DIR/export/<name>.nwb)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace) -> int:
    from ..export import export_nwb

    path = export_nwb(args.result_dir, args.out, overwrite=args.overwrite)
    print(path)
    print(f"bioplaus: export: {args.result_dir} -> {path} ({args.format})", file=sys.stderr)
    return 0
