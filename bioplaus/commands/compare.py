"""``bioplaus compare``: train credit-assignment rules side by side on one dataset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """compare learning rules (bp, fa, dfa, sign, hebbian, ...) on one dataset and data split

example:
  bioplaus compare --dataset digits --rules bp,fa,dfa,sign,hebbian --hidden 256 --epochs 30 --seeds 3 --out results/demo

Writes config.toml, metrics.csv, summary.md, arrays.npz, figures/ and provenance.json
to --out and prints the summary table. Flags override the [compare] table of --config."""

DEFAULT_OUT = "results/compare"


def _lr(text: str):
    """``0.05`` or ``bp=0.1,fa=0.05``."""
    if "=" not in text:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid learning rate {text!r}: a number or rule=number,...") from None
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid learning rate {part!r}: expected rule=number") from None
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="TOML", help="read settings from the [compare] table of a TOML file")
    p.add_argument("--dataset", help="digits (default), mnist-subset, mnist, fashion-mnist, kmnist, cifar10 "
                   "(downloaded on first use, see 'bioplaus data'), xor, parity, parity-N, teacher")
    p.add_argument("--data-dir", dest="data_dir", help="directory with the dataset files (IDX, .npz or the CIFAR-10 archive); "
                   "nothing is downloaded")
    p.add_argument("--rules", help="comma-separated rule names (default bp,fa,dfa,sign,hebbian)")
    p.add_argument("--hidden", help="hidden-layer sizes, e.g. 256 or 256,128 (default 256)")
    p.add_argument("--activation", help="tanh (default), relu or sigmoid")
    p.add_argument("--loss", help="cross_entropy or mse (default: by task)")
    p.add_argument("--epochs", type=int, help="epochs (default 30)")
    p.add_argument("--batch-size", dest="batch_size", type=int, help="mini-batch size (default 16)")
    p.add_argument("--lr", type=_lr, help="learning rate for every rule, or per rule: bp=0.1,fa=0.05 "
                   "(default: each rule's own)")
    p.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    p.add_argument("--weight-decay", dest="weight_decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--seeds", type=int, help="number of seeds per rule (default 3)")
    p.add_argument("--seed", type=int, help="root seed (default 0)")
    p.add_argument("--threads", type=int, help="BLAS threads (default 1)")
    p.add_argument("--out", help="results directory (default: a new results/compare-<time>-<suffix>)")
    p.add_argument("--overwrite", action="store_true",
                   help="--out may hold an earlier comparison: remove it first")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--checkpoint-every", dest="checkpoint_every", type=int, metavar="N",
                   help="save every rule/seed's training state every N epochs under OUT/checkpoints/")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue an interrupted comparison in OUT from its checkpoints")


_KEYS = ("dataset", "data_dir", "rules", "hidden", "activation", "loss", "epochs", "batch_size", "lr",
         "momentum", "weight_decay", "seeds", "seed", "threads", "out", "checkpoint_every", "resume")


def run(args: argparse.Namespace) -> int:
    from ..harness import CompareConfig, compare
    from ..errors import BioplausError
    from ..results import new_output_dir, output_lock, prepare_output, remove_if_empty

    overrides = {k: getattr(args, k, None) for k in _KEYS}
    if args.config:
        config = CompareConfig.from_toml(args.config, **overrides)
    else:
        config = CompareConfig.from_mapping({}, **overrides)
    if args.overwrite and config.resume:
        from ..errors import ConfigError

        raise ConfigError("--overwrite", True, "either --overwrite or --resume, not both")
    if config.out is not None:
        prepare_output(config.out, overwrite=args.overwrite, resume=bool(config.resume), create=False,
                       can_resume=True)
        out = config.out
    else:  # a new directory every time: an earlier comparison is never replaced
        out = new_output_dir(Path(DEFAULT_OUT).parent, Path(DEFAULT_OUT).name)
        config = CompareConfig.from_mapping({}, **{**_fields(config), "out": str(out)})
    try:
        with output_lock(out):
            prepare_output(out, overwrite=args.overwrite, resume=bool(config.resume))
            result = compare(config, progress=not args.quiet)
    except BioplausError:
        remove_if_empty(out)  # refused before anything was written: leave no empty directory behind
        raise
    sys.stdout.write(result.markdown())
    print(f"results in {result.out}", file=sys.stderr)
    return 0


def _fields(config) -> dict:
    from dataclasses import fields

    return {f.name: getattr(config, f.name) for f in fields(config)}
