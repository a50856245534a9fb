"""``bioplaus list``: models, experiments, rules, neuron types, datasets and backends."""
from __future__ import annotations

import argparse
import importlib
import re
import tomllib

HELP = "list shipped models, experiments, plasticity rules, neuron types, datasets and backends"

SECTIONS = ("models", "experiments", "rules", "harness-rules", "neurons", "datasets", "backends")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=SECTIONS, help="show only this section")


_TEX = {r"\delta": "δ", r"\Delta": "Δ", r"\odot": "⊙", r"\top": "ᵀ", r"\xi": "ξ", r"\sigma": "σ",
        r"\eta": "η", r"\theta": "θ", r"\propto": "∝", r"\to": "→", r"\approx": "≈", r"\cdot": "·",
        r"\times": "×", r"\sum": "Σ", r"\partial": "∂", r"\nabla": "∇", r"\alpha": "α", r"\beta": "β",
        r"\gamma": "γ", r"\lambda": "λ", r"\mu": "μ", r"\tau": "τ", r"\epsilon": "ε", r"\leq": "≤",
        r"\geq": "≥", r"\infty": "∞", r"\langle": "⟨", r"\rangle": "⟩"}


def _plain_math(expr: str) -> str:
    r"""A LaTeX fragment as plain text: ``\delta_l = (e\, D_l^{\top})`` -> ``δ_l = (e D_lᵀ)``, roughly."""
    expr = re.sub(r"\\hat\s*(\\?\w+)", lambda m: _TEX.get(m.group(1), m.group(1).lstrip("\\")) + "\u0302", expr)
    expr = re.sub(r"\^\{?\\top\}?", "ᵀ", expr)
    for tex, uni in sorted(_TEX.items(), key=lambda kv: -len(kv[0])):
        expr = re.sub(re.escape(tex) + r"(?![A-Za-z])", uni, expr)
    expr = re.sub(r"\\(?:mathrm|mathcal|mathbf|operatorname|text)\s*(?:\{([^{}]*)\}|(\w))",
                  lambda m: (m.group(1) or m.group(2)) + " ", expr)
    expr = re.sub(r"_\{([^{}]{2,})\}", r"_(\1)", expr)
    expr = re.sub(r"\\[,;:! ]", " ", expr)
    expr = expr.replace("{", "").replace("}", "").replace("\\", "")
    expr = re.sub(r" +([_^)])", r"\1", expr)
    return re.sub(r"\s+", " ", expr).strip()


def _plain(text: str) -> str:
    """reStructuredText roles and literals as plain text (``:math:`x```, ``:class:`X```, double backquotes)."""
    text = re.sub(r":math:`([^`]*)`", lambda m: _plain_math(m.group(1)), text)
    text = re.sub(r":\w+:`~?([^`]*)`", r"\1", text)
    return text.replace("``", "")


def _first_line(text: str | None) -> str:
    return _plain((text or "").strip().splitlines()[0]) if (text or "").strip() else ""


def _dataset_notes() -> dict[str, str]:
    """One line per dataset from the table in :mod:`bioplaus.data`'s docstring (rows that continue
    an open parenthesis or a ``;`` belong to the dataset above them, e.g. mnist / fashion-mnist)."""
    doc = getattr(importlib.import_module("bioplaus.data"), "__doc__", "") or ""
    groups: list[tuple[list[str], list[str]]] = []
    for line in doc.splitlines():
        m = re.match(r"^``([\w-]+)``\s+(.*)$", line)
        if m:
            text = " ".join(groups[-1][1]) if groups else ""
            if groups and (text.count("(") > text.count(")") or text.rstrip().endswith((";", ","))):
                groups[-1][0].append(m.group(1))
                groups[-1][1].append(m.group(2).strip())
            else:
                groups.append(([m.group(1)], [m.group(2).strip()]))
        elif groups and re.match(r"^\s{5,}\S", line):
            groups[-1][1].append(line.strip())
        elif groups and line.startswith("==="):
            continue
    notes = {}
    for names, words in groups:
        text = _plain(" ".join(words))
        if len(text) > 110:
            text = text[:107].rsplit(" ", 1)[0] + " ..."
        for n in names:
            notes[n] = text
    return notes


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
    notes = _dataset_notes() if datasets else {}
    out["datasets"] = [(n, _first_line(getattr(v, "__doc__", "") if callable(v) else str(v))
                        or notes.get(n, "") or "(no description)")
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
