"""``bioplaus params``: every parameter of an experiment, model file, neuron, input or rule."""
from __future__ import annotations

import argparse
import sys

HELP = """every parameter of an experiment, a model file, a neuron/input model or a rule, with its unit,
default, bounds and meaning

examples:
  bioplaus params oja_pca                       # an experiment (its [params])
  bioplaus params models/coba_network.toml      # a model file: its values beside the defaults
  bioplaus params PairSTDP                      # a rule (or LIF, AdEx, poisson, ...)"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="experiment name, model file (path or name in models/), neuron, input or rule")


def run(args: argparse.Namespace) -> int:
    from ..describe import describe, render

    title, rows = describe(args.target)
    sys.stdout.write(render(title, rows))
    return 0
