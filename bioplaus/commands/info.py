"""``bioplaus info``: versions, compilers, GPU, and which backends can run here (and why not)."""
from __future__ import annotations

import argparse
import json

HELP = "show versions, compilers, GPU and which backends are available (with the reason if not)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from ..backends import BACKENDS, availability, environment

    env = environment()
    backends = availability()
    if args.json:
        print(json.dumps({"environment": env, "backends": backends}, indent=2, sort_keys=True))
        return 0

    def show(value, missing="not found"):
        return missing if value is None else value

    print(f"bioplaus {env['bioplaus']}")
    print("versions")
    for key, missing in (("python", "?"), ("brian2", "not installed"), ("numpy", "not installed"),
                         ("cython", "not installed"), ("brian2cuda", "not installed")):
        print(f"  {key:<11} {show(env[key], missing)}")
    print(f"  {'platform':<11} {env['platform']}")
    print("tools")
    print(f"  {'compiler':<11} {show(env['compiler'])}")
    print(f"  {'make':<11} {show(env['make'])}")
    print(f"  {'nvcc':<11} {show(env['nvcc'])}")
    print(f"  {'gpu':<11} {env['gpu'] if env['gpu'] else 'none (' + str(env['gpu_reason']) + ')'}")
    print("backends")
    width = max(len(b) for b in BACKENDS)
    print(f"  {'backend':<{max(width, 7)}}  status")
    for b in BACKENDS:
        status = backends[b]
        print(f"  {b:<{max(width, 7)}}  {'ok' if status == 'ok' else 'unavailable: ' + status}")
    return 0
