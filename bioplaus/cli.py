"""Command-line interface: parses arguments and calls the public API, nothing more.

Each sub-command lives in ``bioplaus/commands/<name>.py`` and defines ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Heavy imports (brian2,
matplotlib) happen inside ``run`` so ``bioplaus --help`` stays fast.

Exit codes: 0 success, 2 bad input (any :class:`~bioplaus.errors.BioplausError`),
1 unexpected failure, 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import BioplausError

COMMANDS = ("run", "compare", "sweep", "bench", "plot", "export", "info", "list", "params", "data")
#: commands that simulate on Brian2 and so take ``--gpu``
GPU_COMMANDS = ("run", "sweep", "bench")
#: commands whose per-epoch metrics ``--track`` hands to a tracker (bioplaus.tracking)
TRACK_COMMANDS = ("run", "compare", "sweep")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioplaus",
        description="Biologically plausible learning: local rules on Brian2 backends, compared with backprop.",
    )
    parser.add_argument("--version", action="version", version=f"bioplaus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"commands.{name}"):
                continue  # command not available in this build
            raise
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        try:  # every command takes --quiet (no progress on stderr); some declare it themselves
            p.add_argument("--quiet", action="store_true", help="no progress output on stderr")
        except argparse.ArgumentError:
            pass
        if name in TRACK_COMMANDS:
            p.add_argument("--track", metavar="tensorboard[:DIR]", help="experiment tracking: per-epoch metrics "
                           "as TensorBoard scalars in DIR (default OUT/tensorboard); needs bioplaus[tensorboard]")
        if name in GPU_COMMANDS:
            p.add_argument("--gpu", metavar="N", help="cuda backend: the GPU to run on, as nvidia-smi -L numbers "
                           "them (default $BIOPLAUS_GPU, else brian2cuda's choice)")
        p.set_defaults(_handler=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_handler", None) is None:
        parser.print_help()
        return 2
    from . import interrupts

    interrupts.install()  # Ctrl-C ends a run as interrupted (exit 130), never as a shortened "ok" run
    try:
        if getattr(args, "gpu", None) is not None:
            import os

            from .backends import GPU_ENV, gpu_index

            # every session of this process and of its workers (sweeps, bench) reads it
            os.environ[GPU_ENV] = str(gpu_index(args.gpu))
        from .progress import quiet
        from .tracking import cli_tracking

        with quiet(bool(getattr(args, "quiet", False))), cli_tracking(getattr(args, "track", None)):
            rc = args._handler(args)  # --quiet also silences worker processes
    except BioplausError as exc:
        print(f"bioplaus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # further Ctrl-C presses must not turn the exit status 130 into death by SIGINT on the way out
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("bioplaus: interrupted; finished results are kept", file=sys.stderr)
        return 130
    return int(rc or 0)
