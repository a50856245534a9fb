"""What every parameter means: name, value, default, unit, bounds and a one-line meaning.

``bioplaus params oja`` (an experiment), ``bioplaus params models/coba_network.toml`` (a model
file: its values beside the defaults) and ``bioplaus params PairSTDP`` (a neuron, input or rule)
print the table :func:`describe` returns.

Meanings come from, in turn: the field's ``doc`` (:func:`bioplaus.spec.params.param`), the
class docstring's numpy-style ``Parameters`` section, a comment at the end of the field's line
in the source, and the glossary below of the symbols every layer shares (ARCHITECTURE rule 11:
``tau_plus`` means the same in spec, template, oracle and docstring).
"""
from __future__ import annotations

import dataclasses
import inspect
import io
import math
import re
import tokenize
from functools import lru_cache
from typing import Any

__all__ = ["describe", "describe_class", "GLOSSARY", "render"]

#: meanings of the symbols shared by specs, templates, oracles and experiments ("Class.name" wins over "name")
GLOSSARY = {
    # neurons
    "C_m": "membrane capacitance", "g_L": "leak conductance", "E_L": "leak reversal (resting) potential",
    "V_th": "spike threshold", "V_reset": "reset potential after a spike", "t_ref": "refractory period",
    "synapse": "synapse type: current-based or conductance-based", "tau_e": "decay time of excitatory synaptic input",
    "tau_i": "decay time of inhibitory synaptic input", "E_e": "excitatory reversal potential",
    "E_i": "inhibitory reversal potential", "I_ext": "constant external input current",
    "adaptation": "adaptive threshold (theta rises by theta_plus per spike)",
    "V_T": "AdEx threshold (exponential rise starts here)", "Delta_T": "AdEx slope factor (sharpness of the spike)",
    "tau_w": "adaptation current time constant", "AdEx.a": "subthreshold adaptation conductance",
    "AdEx.b": "spike-triggered adaptation current increment", "V_peak": "spike cut-off (peak) voltage",
    "Izhikevich.a": "recovery time scale of u (1/ms)", "Izhikevich.b": "sensitivity of u to v",
    "Izhikevich.c": "reset value of v", "Izhikevich.d": "reset increment of u", "v_peak": "spike cut-off voltage",
    "tau": "time constant", "transfer": "transfer function (linear, relu, tanh, sigmoid)", "gain": "input gain",
    "bias": "constant input bias", "theta_plus": "threshold increase per spike",
    "tau_theta": "decay time of the adaptive threshold / sliding threshold",
    # inputs
    "rates": "firing rate of each input (or one shared rate)",
    "frozen": "draw the Poisson trains once in numpy (identical input on every backend)",
    "indices": "unit index of each spike", "times": "spike times", "n": "number of units",
    "samples": "the samples shown, one per window (experiments: samples per measurement)", "present": "presentation time of each sample",
    "rest": "silent time after each sample", "encoding": "rate or Poisson encoding of samples",
    "max_rate": "input rate of a sample value of 1", "scale": "factor applied to the samples",
    # rules
    "A_plus": "potentiation amplitude", "A_minus": "depression amplitude",
    "tau_plus": "decay time of the presynaptic trace (potentiation window)",
    "tau_minus": "decay time of the postsynaptic trace (depression window)",
    "A2_plus": "pair potentiation amplitude (triplet rule)", "A2_minus": "pair depression amplitude (triplet rule)",
    "A3_plus": "triplet potentiation amplitude", "A3_minus": "triplet depression amplitude",
    "tau_x": "decay time of the second presynaptic trace (triplet rule)",
    "tau_y": "decay time of the second postsynaptic trace (triplet rule)",
    "bounds": "weight bounds: hard (clipped) or soft (multiplicative)", "w_min": "lower weight bound",
    "w_max": "upper weight bound", "eta": "learning rate", "decay": "weight decay rate",
    "update_interval": "how often the weights are updated (none: every step)",
    "modulator": "name of the neuromodulator (network modulators) the rule reads",
    "tau_c": "decay time of the eligibility trace", "nearest": "nearest-spike instead of all-to-all interactions",
    "y0": "target (reference) postsynaptic rate of the sliding threshold",
    "total": "summed incoming weight each neuron is normalised to", "target_rate": "target firing rate",
    "tau_scaling": "time constant of synaptic scaling", "interval": "how often normalisation is applied",
    "tau_rate": "averaging time of the firing-rate estimate",
    # projections, networks, protocols
    "w_init": "initial weights: a value, [low, high] uniform, or an array",
    "weight_scale": "what one spike (or unit of rate) adds to the target, times w",
    "connectivity": "which synapses exist", "receptor": "excitatory or inhibitory receptor",
    "delay": "synaptic delay", "homeostasis": "weight normalisation or synaptic scaling",
    "dt": "integration time step", "duration": "simulated time", "seed": "root random seed",
    # experiments and the harness
    "dataset": "dataset name (bioplaus list datasets)", "rules": "credit-assignment rules compared",
    "rule": "plasticity or credit-assignment rule", "hidden": "hidden-layer sizes", "activation": "hidden nonlinearity",
    "loss": "loss function (cross_entropy or mse)", "epochs": "training epochs", "batch_size": "mini-batch size",
    "lr": "learning rate (one, or per rule)", "momentum": "SGD momentum", "weight_decay": "L2 weight decay",
    "seeds": "number of seeds per configuration", "rule_params": "extra parameters per rule",
    "n_inputs": "number of input units", "n_neurons": "number of neurons", "n_hidden": "hidden units",
    "n_hidden2": "units of the second hidden layer", "n_in": "number of inputs", "n_exc": "excitatory neurons",
    "n_inh": "inhibitory neurons", "n_rec": "recurrent units", "n_train": "training samples",
    "n_test": "test samples", "n_samples": "number of samples", "n_patterns": "number of input patterns",
    "n_presentations": "presentations of each pattern", "n_points": "points of the measured curve",
    "dims": "input dimensions", "pairings": "pre/post pairings per point", "period": "time between pairings",
    "delta_t": "spike timing difference of a pairing", "dt_max": "largest timing difference measured",
    "frequencies": "pairing frequencies", "rate": "input rate", "background_rate": "rate of background input",
    "reward_delay": "delay from pairing to reward", "rewarded": "index of the rewarded input",
    "reward": "deliver rewards (false: control without reward)", "correlation": "input correlation coefficient",
    "correlated_fraction": "fraction of correlated inputs", "g_max": "peak synaptic conductance (w = 1)",
    "spread": "eigenvalue spread of the input covariance", "w_init_scale": "scale of the initial weights",
    "amplitude": "amplitude of the signal", "step": "step size", "trials": "number of trials",
    "validation_fraction": "share of training data held out for validation",
    "warmup_epochs": "epochs before the measured ones", "lr_decay": "learning-rate decay per epoch",
    "tolerance": "accepted deviation", "widths": "hidden widths compared", "family": "rule family",
    "neuron": "neuron model", "network": "network specification", "spec": "network specification",
    "tables": "the network's model-file tables", "preset": "named parameter preset",
    "feedback": "feedback pathway (fa, dfa, sign, bp)", "feedback_scale": "scale of the fixed feedback weights",
    "paper": "published protocol reproduced", "reference": "published reference value",
    "np_lr": "learning rate of node perturbation", "np_sigma": "perturbation size of node perturbation",
    "np_samples": "perturbations averaged per update (node perturbation)",
    "tau_m": "membrane time constant", "tau_out": "time constant of the leaky read-out",
    "v_th": "spike threshold (dimensionless potentials)", "gamma": "dampening of the pseudo-derivative (e-prop)",
    "w_in": "scale of the initial input weights", "w_rec": "scale of the initial recurrent weights",
    "bptt": "also train by backpropagation through time (the reference)",
    "tau_err": "decay time of the error neurons' input", "w_err": "weight of the error neurons' input",
    "err_floor": "lower bound of the error compartment", "tau_U": "decay time of the dendritic error compartment",
    "u_inc": "jump of the dendritic compartment per error spike",
    "b_low": "lower edge of the boxcar derivative gate", "b_high": "upper edge of the boxcar derivative gate",
    "gate_output": "gate the output layer's updates by the boxcar too",
    "w1_init": "scale of the initial input-to-hidden weights", "w2_init": "scale of the initial hidden-to-output weights",
    "adex_weight": "what one spike adds to an AdEx unit's input (times w)",
    "raster_samples": "samples shown in the raster figure", "baseline": "time before the current step",
    "sigma": "perturbation size", "curve_block": "samples per point of the learning curve",
    "inh_rate": "rate of the inhibitory inputs", "A_ratio": "depression-to-potentiation ratio A-/A+",
    "snapshots": "weight histograms recorded over the run", "g_inh": "conductance of one inhibitory synapse",
    "units": "hidden unit types compared", "depths": "numbers of hidden layers compared",
    "width": "units per hidden layer",
    "beta1": "Adam's first-moment decay", "beta2": "Adam's second-moment decay", "eps": "Adam's epsilon",
    "train_recurrent": "whether the recurrent weights learn", "name": "name of the object",
    "theta_init": "initial value of the sliding threshold",
    "tau_stdp": "decay time of the pre- and postsynaptic traces (inhibitory STDP)",
    "rho0": "target postsynaptic firing rate that inhibitory STDP restores",
    "U": "utilisation increment per spike (release probability at rest)",
    "tau_rec": "recovery time of the synaptic resources (depression)",
    "tau_facil": "decay time of the utilisation (facilitation; 0: none)",
    "theta_minus": "depression threshold of the low-pass-filtered membrane potential",
    "ClopathSTDP.theta_plus": "potentiation threshold of the membrane potential",
    "lower_gate": "gate the update from below as well as from above (boxcar surrogate derivative)",
    "tracked": "keep each neuron's weight sum up to date per spike instead of recomputing it",
}


def _unit_name(q: Any) -> str:
    from .spec.params import unit_name

    try:
        return unit_name(q)
    except Exception:   # pragma: no cover
        return str(q)


@lru_cache(maxsize=None)
def _source_comments(cls: type) -> dict[str, str]:
    """``{field: comment}`` from ``name: type = default  # comment`` lines of the class body."""
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    line_field: dict[int, str] = {}
    for no, line in enumerate(src.splitlines(), 1):
        m = re.match(r"^\s+([A-Za-z_]\w*)\s*:", line)
        if m:
            line_field[no] = m.group(1)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.COMMENT and tok.start[0] in line_field:
                text = tok.string.lstrip("#").strip()
                if text and not text.startswith(("noqa", "type:", "pragma")):
                    out.setdefault(line_field[tok.start[0]], text)
    except (tokenize.TokenError, IndentationError):   # pragma: no cover
        pass
    return out


def _docstring_params(cls: type) -> dict[str, str]:
    """First description line of each entry of a numpy-style ``Parameters`` section."""
    doc = inspect.getdoc(cls) or ""
    m = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    if not m:
        return {}
    out: dict[str, str] = {}
    lines = m.group(1).splitlines()
    for k, line in enumerate(lines):
        h = re.match(r"^([A-Za-z_][\w, ]*?)\s*:\s*(.*)$", line)
        if h and not line.startswith(" "):
            desc = next((x.strip() for x in lines[k + 1:k + 2] if x.startswith(" ")), h.group(2))
            for name in h.group(1).split(","):
                out[name.strip()] = desc
    return out


def _meaning(cls: type, f: dataclasses.Field) -> str:
    for src in (f.metadata.get("doc"), _docstring_params(cls).get(f.name), _source_comments(cls).get(f.name)):
        if src:
            return " ".join(str(src).split())
    for c in cls.__mro__:
        if f"{c.__name__}.{f.name}" in GLOSSARY:
            return GLOSSARY[f"{c.__name__}.{f.name}"]
    owner = cls.__qualname__.split(".")[0]
    return GLOSSARY.get(f"{owner}.{f.name}", GLOSSARY.get(f.name, ""))


def _bounds(p: Any) -> str:
    if p is None:
        return ""
    parts = []
    if p.kind == "choice":
        parts.append("one of " + " | ".join(map(str, p.options)))
    elif p.kind == "bool":
        parts.append("true | false")
    elif p.kind == "spec":
        parts.append(" | ".join(t.__name__ for t in getattr(p, "types", ())))
    if p.positive:
        parts.append("> 0")
    if p.nonnegative:
        parts.append(">= 0")
    if p.low is not None or p.high is not None:
        low = -math.inf if p.low is None else p.low      # one-sided bounds: [1, inf]
        high = math.inf if p.high is None else p.high
        parts.append(f"[{low:g}, {high:g}]")
    if p.minimum is not None:
        parts.append(f"integer >= {p.minimum}")
    elif p.kind == "integer":
        parts.append("integer")
    if p.allow_none:
        parts.append("or none")
    return ", ".join(x for x in parts if x)


def _plain(v: Any) -> str:
    from .spec.params import _plain as plain

    if v is dataclasses.MISSING:
        return "(required)"
    v = plain(v)
    if isinstance(v, dict):
        t = v.get("type")
        return t if t else "{...}"
    if isinstance(v, (list, tuple)) and len(v) > 6:
        return f"[{len(v)} values]"
    return repr(v) if isinstance(v, str) else str(v)


def describe_class(cls: type, prefix: str = "", instance: Any = None) -> list[dict[str, str]]:
    """One row per dataclass field of ``cls``: name (with ``prefix``), value, default, unit, bounds, meaning."""
    rows = []
    try:
        defaults = cls()
    except Exception:
        defaults = None
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        p = f.metadata.get("param")
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        unit = ""
        if p is not None and p.unit is not None:
            unit = _unit_name(p.unit)
        else:
            probe = getattr(instance if instance is not None else defaults, f.name, None)
            if hasattr(probe, "dim") and getattr(probe, "ndim", 0) == 0 and not probe.is_dimensionless:
                best = str(probe.in_best_unit(python_code=False)).split(" ", 1)   # '1. ms' -> ms, not s
                unit = best[1] if len(best) == 2 else _unit_name(probe)
        row = {"parameter": prefix + f.name, "default": _plain(default), "unit": unit, "bounds": _bounds(p),
               "meaning": _meaning(cls, f)}
        if instance is not None:
            row["value"] = _plain(getattr(instance, f.name))
        rows.append(row)
    return rows


def _spec_class(name: str) -> type | None:
    from .netfile import _homeostasis_types, _model_types, _rule_types

    table = {**_model_types(), **_rule_types(), **_homeostasis_types()}
    key = name.lower()
    if key in table:
        return table[key]
    return next((c for c in table.values() if c.__name__.lower() == key), None)


def describe(target: str) -> tuple[str, list[dict[str, str]]]:
    """``(title, rows)`` for an experiment name, a model file, or a neuron/input/rule name."""
    from pathlib import Path

    from .config import list_models, load_model
    from .errors import ConfigError, did_you_mean
    from .experiments.base import EXPERIMENTS, _load_builtin

    if target.endswith(".toml") or Path(target).exists():
        cfg = load_model(target)
        if cfg.experiment == "network":
            return f"network model file {cfg.source}", _network_rows(cfg.params.spec)
        from .experiments.base import experiment_class

        cls = experiment_class(cfg.experiment)
        return (f"model file {cfg.source} (experiment {cls.name})",
                describe_class(cls.Params, "params.", instance=cfg.params))
    _load_builtin()
    if target in EXPERIMENTS:
        cls = EXPERIMENTS[target]
        return f"experiment {target}: {cls.description}", describe_class(cls.Params, "params.")
    spec_cls = _spec_class(target)
    if spec_cls is not None:
        return f"{spec_cls.__name__}: {(inspect.getdoc(spec_cls) or '').splitlines()[0]}", describe_class(spec_cls)
    models = [m.stem for m in list_models()]
    if target in models:
        return describe(str(next(m for m in list_models() if m.stem == target)))
    names = sorted(EXPERIMENTS) + models
    raise ConfigError("params", target, "an experiment, a model file, or a neuron/input/rule name "
                      "(bioplaus list)" + did_you_mean(target, names))


def _network_rows(spec) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for k in ("dt", "duration"):
        rows.append({"parameter": k, "value": _plain(getattr(spec, k)), "default": "", "unit": "ms" if k == "dt"
                     else "s", "bounds": "> 0", "meaning": GLOSSARY[k]})
    for pop in spec.populations:
        rows.append({"parameter": f"populations.{pop.name}.size", "value": str(pop.size), "default": "",
                     "unit": "", "bounds": "integer >= 1", "meaning": "number of units"})
        rows += describe_class(type(pop.model), f"populations.{pop.name}.model.", instance=pop.model)
    for proj in spec.projections:
        for f in ("connectivity", "w_init", "weight_scale", "receptor", "delay"):
            v = getattr(proj, f)
            rows.append({"parameter": f"projections.{proj.name}.{f}", "value": _plain(v), "default": "",
                         "unit": _unit_name(v) if hasattr(v, "dim") and not v.is_dimensionless else "",
                         "bounds": "", "meaning": GLOSSARY.get(f, "")})
        rows += describe_class(type(proj.rule), f"projections.{proj.name}.rule.", instance=proj.rule)
    for mod in spec.modulators:
        rows += describe_class(type(mod), f"modulators.{mod.name}.", instance=mod)
    if spec.protocol is not None:
        rows += [r for r in describe_class(type(spec.protocol), "protocol.", instance=spec.protocol)
                 if r["parameter"] not in ("protocol.samples", "protocol.phases", "protocol.labels")]
    return rows


def render(title: str, rows: list[dict[str, str]]) -> str:
    """A plain-text table (columns sized to their content)."""
    cols = ["parameter", *(["value"] if any("value" in r for r in rows) else []), "default", "unit", "bounds",
            "meaning"]
    cells = [[c for c in cols]] + [[str(r.get(c, "")) or "—" for c in cols] for r in rows]
    width = [min(max(len(row[k]) for row in cells), 40 if cols[k] != "meaning" else 200) for k in range(len(cols))]
    lines = [title, ""]
    for n, row in enumerate(cells):
        lines.append("  ".join(v[:width[k]].ljust(width[k]) for k, v in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in width))
    return "\n".join(lines) + "\n"
