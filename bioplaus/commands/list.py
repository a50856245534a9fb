"""``bioplaus list``: models, experiments, rules, neuron types, datasets and backends."""
from __future__ import annotations

import argparse
import importlib
import tomllib

HELP = "list shipped models, experiments, plasticity rules, neuron types, datasets and backends"

SECTIONS = ("models", "experiments", "rules", "harness-rules", "neurons", "datasets", "backends")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=SECTIONS, help="show only this section")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _optional(module: str, attr: str):
    """A registry of a part that may be absent from a minimal install: {} if it is."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return {}


def collect() -> dict[str, list[tuple[str, str]]]:
    from ..config import list_models
    from ..experiments.base import EXPERIMENTS, _load_builtin
    from ..spec.rules import RULES

    _load_builtin()
    out: dict[str, list[tuple[str, str]]] = {}
    models = []
    for f in list_models():
        try:
            with open(f, "rb") as fh:
                d = tomllib.load(fh)
            models.append((f.stem, f"{d.get('experiment', '?')}: {d.get('description', '')}"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            models.append((f.stem, f"(unreadable: {exc})"))
    out["models"] = models
    out["experiments"] = [(n, c.description or _first_line(c.__doc__)) for n, c in sorted(EXPERIMENTS.items())]
    out["rules"] = [(n, _first_line(c.__doc__)) for n, c in sorted(RULES.items())]
    harness_rules = dict(_optional("bioplaus.reference.credit", "CREDIT_RULES"))
    external = _optional("bioplaus.harness", "BRIAN2_CREDIT_RULES")
    out["harness-rules"] = [(n, _first_line(getattr(c, "__doc__", ""))) for n, c in sorted(harness_rules.items())]
    out["harness-rules"] += [(n, f"simulated in Brian2 ({m}; loaded on use)") for n, m in sorted(external.items())
                             if n not in harness_rules]
    neurons = {**_optional("bioplaus.spec.neurons", "NEURONS"), **_optional("bioplaus.spec.neurons", "INPUTS")}
    out["neurons"] = [(n, _first_line(c.__doc__)) for n, c in sorted(neurons.items())]
    datasets = _optional("bioplaus.data", "DATASETS")
    out["datasets"] = [(n, _first_line(getattr(v, "__doc__", "") if callable(v) else str(v)))
                       for n, v in sorted(dict(datasets).items())]
    from ..backends import availability

    out["backends"] = list(availability().items())
    return out


def run(args: argparse.Namespace) -> int:
    data = collect()
    for section in SECTIONS:
        if args.what and section != args.what:
            continue
        print(f"{section}:")
        items = data.get(section, [])
        width = max((len(n) for n, _ in items), default=0)
        for name, desc in items:
            print(f"  {name:<{width}}  {desc}")
        if not items:
            print("  (none)")
        print()
    return 0
