"""The comparison harness: every rule × seed on one data split, measured the same way.

>>> cfg = CompareConfig(rules=("bp", "fa"), hidden=(16,), epochs=2, seeds=1)
>>> res = compare(cfg, progress=False)
>>> [s.rule for s in res.summary]
['bp', 'fa']

Seeding: one root seed (``seed``) feeds :class:`numpy.random.SeedSequence`
children with fixed spawn keys, so results do not depend on the order of the
rules or on how many seeds are run:

* ``(0,)`` the data split (and generated data), shared by every rule and seed;
* ``(1, i, 0)`` the initial forward network of seed ``i``, shared by every rule;
* ``(1, i, 1)`` the mini-batch order of seed ``i``, shared by every rule;
* ``(1, i, 2, crc32(rule))`` the rule's own randomness (feedback matrices...).

Results directory (written atomically, see :mod:`bioplaus.results`): ``config.toml``
(resolved, first), ``metrics.csv`` (rewritten after every finished rule/seed, so an
interrupted run keeps what finished), ``summary.md``, ``arrays.npz`` (final weights,
keys ``<rule>/seed<i>/<name>``), ``figures/learning_curves.png``,
``figures/alignment.png`` and ``provenance.json``.

A rule/seed whose loss, outputs or weights become non-finite, or whose weights
exceed ``WEIGHT_LIMIT`` in absolute value, is stopped; its last row says
``diverged at epoch N`` and the other rules go on.
"""
from __future__ import annotations

import math
import os
import sys
import time
import tomllib
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .data import Dataset, check_dataset_name, load_dataset
from .errors import BioplausError, ConfigError, DivergedError, did_you_mean
from .metrics import RuleSummary, metric_columns, signal_angle_deg, summarize, summary_markdown
from .reference import credit as _credit
from .reference.credit import CREDIT_RULES, CreditRule, Learner, TrainSettings
from .reference.mlp import ACTIVATIONS, LOSSES, MLP, accuracy, loss_value

#: rules simulated in Brian2, by the module that registers them: imported when such a rule is
#: asked for, so the numpy reference, and a comparison of numpy rules, never import Brian2
BRIAN2_CREDIT_RULES: dict[str, str] = {
    "fa-brian2": "bioplaus.credit_brian2",
    "dfa-brian2": "bioplaus.credit_brian2",
}


def credit_rule_names() -> tuple[str, ...]:
    """Every rule the harness knows: registered ones in registration order, then the Brian2 ones."""
    return tuple(CREDIT_RULES) + tuple(n for n in BRIAN2_CREDIT_RULES if n not in CREDIT_RULES)


def is_credit_rule(name: Any) -> bool:
    """Whether ``name`` names a rule, importing the module of a Brian2 rule if needed."""
    if isinstance(name, str) and name not in CREDIT_RULES and name in BRIAN2_CREDIT_RULES:
        import importlib

        importlib.import_module(BRIAN2_CREDIT_RULES[name])
    return _credit.is_credit_rule(name)


def make_credit_rule(rule: "str | CreditRule", key: str = "rules", **params: Any) -> CreditRule:
    """:func:`bioplaus.reference.credit.make_credit_rule`, knowing the Brian2 rules too."""
    if isinstance(rule, str) and not is_credit_rule(rule):
        names = credit_rule_names()
        raise ConfigError(key, rule, "one of " + ", ".join(names) + did_you_mean(rule, names))
    return _credit.make_credit_rule(rule, key, **params)

__all__ = ["CompareConfig", "CompareResult", "compare", "WEIGHT_LIMIT", "PROBE_SIZE"]

#: absolute weight above which a run counts as diverged
WEIGHT_LIMIT = 1e6
#: size of the fixed probe batch the angles are computed on
PROBE_SIZE = 256

_LOSS_ALIASES = {"ce": "cross_entropy", "cross-entropy": "cross_entropy", "xent": "cross_entropy"}


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


@dataclass(frozen=True)
class CompareConfig:
    """What to compare, validated on construction (a :class:`ConfigError` names the field).

    Parameters
    ----------
    dataset : str
        A name from :mod:`bioplaus.data` (``digits``, ``mnist``, ``fashion-mnist``,
        ``mnist-subset``, ``xor``, ``parity``/``parity-N``, ``teacher``).
    data_dir : str, optional
        Where MNIST-like files are (see :mod:`bioplaus.data`).
    rules : tuple of str or CreditRule
        Registered rule names (``bp``, ``fa``, ``dfa``, ``sign``, ``hebbian``, ...) or
        rule objects; a comma-separated string is split.
    hidden : tuple of int
        Hidden-layer sizes.
    activation : {"tanh", "relu", "sigmoid"}
    loss : {"cross_entropy", "mse"}, optional
        Defaults to cross-entropy for classification and MSE for regression.
    epochs, batch_size : int
    lr : float or mapping, optional
        One learning rate for every rule, or ``{rule: lr}``; rules not given use
        their ``default_lr``.
    momentum, weight_decay : float
    seeds : int
        Number of seeds (independent initialisations) per rule.
    seed : int
        Root seed.
    out : str, optional
        Results directory; ``None`` writes nothing.
    rule_params : mapping, optional
        ``{rule: {parameter: value}}`` passed to the rule classes.
    threads : int, optional
        Limit BLAS threads while running (``None`` leaves the library default).
    checkpoint_every : int
        Save each rule/seed's complete training state (learner, optimiser, batch-order
        RNG, rows so far) every this many epochs under ``out/checkpoints/``; 0 disables.
        A finished rule/seed always leaves a final checkpoint when this is set.
    resume : bool
        Continue from the latest checkpoint of each rule/seed in ``out`` (finished ones
        are not rerun). The result equals an uninterrupted run exactly.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    rules: tuple = ("bp", "fa", "dfa", "sign", "hebbian")
    hidden: tuple[int, ...] = (256,)
    activation: str = "tanh"
    loss: str | None = None
    epochs: int = 30
    batch_size: int = 16
    lr: float | Mapping[str, float] | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    seeds: int = 3
    seed: int = 0
    out: str | None = None
    rule_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    threads: int | None = 1
    checkpoint_every: int = 0
    resume: bool = False

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        check_dataset_name(self.dataset, "compare.dataset")
        if self.data_dir is not None:
            if not isinstance(self.data_dir, (str, os.PathLike)):
                raise ConfigError("compare.data_dir", self.data_dir, "a directory path")
            set_("data_dir", str(self.data_dir))
        # rules
        rules = self.rules
        if isinstance(rules, str):
            rules = [r.strip() for r in rules.split(",") if r.strip()]
        if isinstance(rules, CreditRule):
            rules = [rules]
        try:
            rules = tuple(rules)
        except TypeError:
            raise ConfigError("compare.rules", self.rules, "a list of rule names") from None
        known = credit_rule_names()
        if not rules:
            raise ConfigError("compare.rules", self.rules, "at least one rule: " + ", ".join(known))
        for r in rules:
            if not isinstance(r, CreditRule) and not is_credit_rule(r):
                raise ConfigError("compare.rules", r, "one of " + ", ".join(known) + did_you_mean(str(r), known))
        names = [self.rule_name(r) for r in rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError("compare.rules", list(names), f"each rule once ({', '.join(dup)} repeated)")
        set_("rules", rules)
        # hidden
        hidden = self.hidden
        if _is_int(hidden):
            hidden = (hidden,)
        elif isinstance(hidden, str):
            try:
                hidden = tuple(int(h) for h in hidden.split(",") if h.strip())
            except ValueError:
                raise ConfigError("compare.hidden", self.hidden, "comma-separated positive integers") from None
        try:
            hidden = tuple(hidden)
        except TypeError:
            raise ConfigError("compare.hidden", self.hidden, "a list of positive integers") from None
        if not hidden or not all(_is_int(h) and h >= 1 for h in hidden):
            raise ConfigError("compare.hidden", self.hidden, "one or more positive integers (hidden-layer sizes)")
        set_("hidden", tuple(int(h) for h in hidden))
        if self.activation not in ACTIVATIONS:
            raise ConfigError("compare.activation", self.activation, "one of " + ", ".join(ACTIVATIONS)
                              + did_you_mean(str(self.activation), ACTIVATIONS))
        if self.loss is not None:
            loss = _LOSS_ALIASES.get(self.loss, self.loss) if isinstance(self.loss, str) else self.loss
            if loss not in LOSSES:
                raise ConfigError("compare.loss", self.loss, "one of " + ", ".join(LOSSES)
                                  + did_you_mean(str(self.loss), LOSSES))
            set_("loss", loss)
        for name, lo in (("epochs", 1), ("batch_size", 1), ("seeds", 1)):
            v = getattr(self, name)
            if not _is_int(v) or v < lo:
                raise ConfigError(f"compare.{name}", v, f"an integer >= {lo}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError("compare.seed", self.seed, "an integer >= 0")
        if not _is_num(self.momentum) or not 0 <= self.momentum < 1:
            raise ConfigError("compare.momentum", self.momentum, "a number in [0, 1)")
        if not _is_num(self.weight_decay) or not 0 <= self.weight_decay < math.inf:
            raise ConfigError("compare.weight_decay", self.weight_decay, "a finite number >= 0")
        # learning rates
        if self.lr is not None:
            if isinstance(self.lr, Mapping):
                lrs = {}
                for k, v in self.lr.items():
                    if k not in names:
                        raise ConfigError(f"compare.lr.{k}", v, "a learning rate for one of the compared rules: "
                                          + ", ".join(names) + did_you_mean(str(k), names))
                    if not _is_num(v) or not 0 < v < math.inf:
                        raise ConfigError(f"compare.lr.{k}", v, "a finite number > 0")
                    lrs[k] = float(v)
                set_("lr", lrs)
            elif not _is_num(self.lr) or not 0 < self.lr < math.inf:
                raise ConfigError("compare.lr", self.lr, "a finite number > 0, or a table {rule = lr}")
            else:
                set_("lr", float(self.lr))
        if not isinstance(self.rule_params, Mapping):
            raise ConfigError("compare.rule_params", self.rule_params, "a table {rule = {parameter = value}}")
        for k, v in self.rule_params.items():
            if k not in names or not isinstance(v, Mapping):
                raise ConfigError(f"compare.rule_params.{k}", v, "a table of parameters of one of the compared "
                                  "rules: " + ", ".join(names) + did_you_mean(str(k), names))
            make_credit_rule(k, **dict(v))  # validates the parameters
        set_("rule_params", {k: dict(v) for k, v in self.rule_params.items()})
        if self.threads is not None and (not _is_int(self.threads) or self.threads < 1):
            raise ConfigError("compare.threads", self.threads, "an integer >= 1, or none")
        if self.out is not None:
            if not isinstance(self.out, (str, os.PathLike)):
                raise ConfigError("compare.out", self.out, "a directory path")
            set_("out", str(self.out))
        if not _is_int(self.checkpoint_every) or self.checkpoint_every < 0:
            raise ConfigError("compare.checkpoint_every", self.checkpoint_every, "an integer >= 0 (0: no checkpoints)")
        if not isinstance(self.resume, bool):
            raise ConfigError("compare.resume", self.resume, "true or false")
        if (self.checkpoint_every or self.resume) and self.out is None:
            raise ConfigError("compare.out", None, "a results directory (checkpoints are kept there)")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def rule_name(rule: str | CreditRule) -> str:
        return rule if isinstance(rule, str) else rule.name

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(self.rule_name(r) for r in self.rules)

    def make_rules(self) -> list[CreditRule]:
        """Rule objects, with ``rule_params`` applied to rules given by name."""
        return [r if isinstance(r, CreditRule) else make_credit_rule(r, "compare.rules", **self.rule_params.get(r, {}))
                for r in self.rules]

    def lr_for(self, rule: CreditRule) -> float:
        """The learning rate of ``rule``: given per rule, given globally, or the rule's default."""
        if isinstance(self.lr, Mapping):
            return float(self.lr.get(rule.name, rule.default_lr))
        return float(self.lr) if self.lr is not None else float(rule.default_lr)

    def resolved(self, loss: str | None = None) -> dict[str, Any]:
        """Every setting with defaults filled in, as written to ``config.toml``."""
        rules = self.make_rules()
        d: dict[str, Any] = {
            "dataset": self.dataset, "data_dir": self.data_dir, "rules": [r.name for r in rules],
            "hidden": list(self.hidden), "activation": self.activation, "loss": loss or self.loss,
            "epochs": self.epochs, "batch_size": self.batch_size, "momentum": self.momentum,
            "weight_decay": self.weight_decay, "seeds": self.seeds, "seed": self.seed, "out": self.out,
            "threads": self.threads, "probe_size": PROBE_SIZE, "checkpoint_every": self.checkpoint_every,
            "lr": {r.name: self.lr_for(r) for r in rules},
            "rule_params": {r.name: r.params() for r in rules if r.params()},
        }
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str | None = None, **overrides: Any) -> "CompareConfig":
        """Build from a ``[compare]`` table (unknown keys are errors); ``overrides`` that are not ``None`` win.

        Errors about values from the table name ``source``.
        """
        known = [f.name for f in fields(cls)]
        for k in data:
            if k not in known and k != "probe_size":
                raise ConfigError(f"compare.{k}", data[k], "one of the keys " + ", ".join(known)
                                  + did_you_mean(k, known), source=source)
        given = {k: v for k, v in overrides.items() if v is not None}
        merged = {k: v for k, v in data.items() if k != "probe_size"}
        merged.update(given)
        try:
            return cls(**merged)
        except ConfigError as exc:
            parts = exc.key_path.split(".")
            from_table = len(parts) > 1 and parts[0] == "compare" and parts[1] not in given
            if source and from_table and exc.source is None:
                raise exc.with_source(source) from None
            raise

    @classmethod
    def from_toml(cls, path: str | os.PathLike, **overrides: Any) -> "CompareConfig":
        """Read a model file (``experiment = "compare"`` with a ``[params]`` table, the form
        ``bioplaus run`` reads) or the ``[compare]`` table of a TOML file; ``overrides`` that
        are not ``None`` win."""
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("config", str(path), "an existing TOML file") from None
        except OSError as exc:
            raise ConfigError("config", str(path), f"a readable TOML file ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config", str(path), f"valid TOML ({exc})") from None
        except UnicodeDecodeError as exc:
            raise ConfigError("config", str(path), f"a UTF-8 TOML text file (byte {exc.start} is not UTF-8: "
                              "is this a binary file?)") from None
        if "experiment" in doc:
            from .config import load_model

            model = load_model(path)
            if model.experiment != "compare":
                raise ConfigError("experiment", model.experiment, "'compare' (a comparison model file such as "
                                  "models/fa_dfa_digits.toml)", source=str(path))
            base = model.params.config(seed=model.seed, data_dir=model.data_dir)
            table = {f.name: getattr(base, f.name) for f in fields(base) if f.name != "out"}
            if model.threads is not None:
                table["threads"] = model.threads
            return cls.from_mapping(table, source=str(path), **overrides)
        table = doc.get("compare")
        if not isinstance(table, dict):
            raise ConfigError("compare", table, "a model file with experiment = \"compare\" and a [params] table, "
                              "or a [compare] table", source=str(path))
        return cls.from_mapping(table, source=str(path), **overrides)


@dataclass
class CompareResult:
    """What :func:`compare` measured.

    Attributes
    ----------
    config : CompareConfig
    rows : list of dict
        Tidy rows, one per rule/seed/epoch (epoch 0 is the untrained network).
    summary : list of RuleSummary
    weights : dict of ndarray
        Final weights, keys ``<rule>/seed<i>/<name>``.
    out : Path or None
        Results directory.
    regression : bool
    dataset : str
        Name of the dataset.
    loss : str
        The loss used (resolved).
    """

    config: CompareConfig
    rows: list[dict[str, Any]]
    summary: list[RuleSummary]
    weights: dict[str, np.ndarray]
    out: Path | None
    regression: bool = False
    dataset: str = ""
    loss: str = "cross_entropy"

    def markdown(self) -> str:
        """The summary table in Markdown (as in ``summary.md``)."""
        return summary_markdown(self.summary, self.regression)

    def curve(self, rule: str, column: str) -> np.ndarray:
        """``column`` per seed and epoch, shape ``(seeds, epochs + 1)`` (NaN after a divergence)."""
        E = self.config.epochs
        seeds = sorted({r["seed"] for r in self.rows if r["rule"] == rule})
        out = np.full((len(seeds), E + 1), np.nan)
        for r in self.rows:
            if r["rule"] == rule:
                out[seeds.index(r["seed"]), r["epoch"]] = r[column]
        return out

    def final(self, rule: str, column: str = "test_acc") -> np.ndarray:
        """Last recorded value of ``column`` for each seed of ``rule``."""
        last: dict[int, dict] = {}
        for r in self.rows:
            if r["rule"] == rule and (r["seed"] not in last or r["epoch"] > last[r["seed"]]["epoch"]):
                last[r["seed"]] = r
        return np.array([last[s][column] for s in sorted(last)], dtype=float)

    def summary_of(self, rule: str) -> RuleSummary:
        for s in self.summary:
            if s.rule == rule:
                return s
        raise KeyError(rule)


# ---------------------------------------------------------------------- running
def _seed_sequence(root: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(root, spawn_key=key)


def _rule_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def _evaluate(learner: Learner, x: np.ndarray, y: np.ndarray, loss: str) -> tuple[float, float]:
    z = np.asarray(learner.predict(x))
    if not np.isfinite(z).all():
        return float("nan"), float("nan")
    return loss_value(z, y, loss), accuracy(z, y)


#: arrays a learner reports beside its weights that are statistics of its features, not weights:
#: checked for finite values only (Krotov & Hopfield's features max(Wv, 0)^4.5 reach 1e6 and more
#: before the rows of W converge to unit norm, while W itself stays of order 1)
STATISTICS_PREFIXES = ("feature_mean", "feature_std")


def _check_weights(learner: Learner) -> str | None:
    for name, w in learner.weights().items():
        w = np.asarray(w)
        if not np.isfinite(w).all():
            return f"non-finite values in {name}"
        if w.size and not name.startswith(STATISTICS_PREFIXES) and np.abs(w).max() > WEIGHT_LIMIT:
            return f"|{name}| exceeds {WEIGHT_LIMIT:g}"
    return None


class _Progress:
    """Progress of a comparison (:mod:`bioplaus.progress` style): one line per finished rule/seed with
    the count and the time left; on a terminal also the running rule's epoch, updated in place."""

    def __init__(self, enabled: bool | Callable[[dict], None], total: int, stream=None, trackers=()):
        from .progress import Counter

        self.trackers = list(trackers)

        self.callback = enabled if callable(enabled) else None
        self.enabled = bool(enabled) and self.callback is None
        self.counter = Counter(total, stream=stream)
        self.total = total
        self.done = 0

    def epoch(self, event: dict) -> None:
        if self.trackers:
            from .tracking import dispatch, numeric

            dispatch(self.trackers, "on_epoch", f"{event['rule']}/seed{event['seed']}", int(event["epoch"]),
                     numeric(event, skip=("epoch", "seed", "epochs")))
        if self.callback is not None:
            self.callback(dict(event, kind="epoch"))
        elif self.enabled:
            self.counter.status(f"{event['rule']} seed {event['seed']}: epoch {event['epoch']}/{event['epochs']} "
                                f"test_acc {event['test_acc']:.4f}")

    def run_done(self, event: dict) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(dict(event, kind="run"))
            return
        if not self.enabled:
            return
        ang = event.get("angle")
        ang_s = f" ∠update {ang:.1f}°" if ang is not None and math.isfinite(ang) else ""
        acc = event["test_acc"]
        metric = f"test_acc {acc:.4f}" if math.isfinite(acc) else f"test_loss {event['test_loss']:.4g}"
        self.counter.done(f"{event['rule']} seed {event['seed']}: {metric}{ang_s}"
                          f" ({event['time_per_epoch']:.3f} s/epoch) {event['status']}", count=self.done)


def _signal_angles(learner: Learner, x: np.ndarray, y: np.ndarray, H: int) -> tuple[float, ...]:
    """Per-sample angle between the teaching signal each hidden layer gets and BP's
    (:func:`~bioplaus.metrics.signal_angle_deg`); NaN for rules that route no error."""
    from .reference.credit import ErrorRoutingLearner
    from .reference.mlp import backprop_errors

    if not isinstance(learner, ErrorRoutingLearner):
        return (math.nan,) * H
    net = learner.net
    fp = net.forward(x)
    e = net.output_error(fp.z, y)
    rule = backprop_errors(net, fp, e, learner.current_feedback(), direct=learner.rule.direct)
    bp = backprop_errors(net, fp, e, None)
    return tuple(signal_angle_deg(rule[k], bp[k]) for k in range(H))


def _run_one(rule: CreditRule, config: CompareConfig, data: Dataset, net0: MLP, seed_index: int,
             loss: str, probe: np.ndarray, progress: _Progress) -> tuple[list[dict], dict[str, np.ndarray]]:
    H = len(config.hidden)
    root = config.seed
    settings = TrainSettings(lr=config.lr_for(rule), momentum=config.momentum, weight_decay=config.weight_decay,
                             batch_size=config.batch_size, epochs=config.epochs, loss=loss)
    learner = rule.learner()
    rule_rng = np.random.default_rng(_seed_sequence(root, 1, seed_index, 2, _rule_key(rule.name)))
    shuffle_rng = np.random.default_rng(_seed_sequence(root, 1, seed_index, 1))
    learner.init(net0.copy(), rule_rng, settings)
    xp, yp = data.x_train[probe], data.y_train[probe]
    rows: list[dict] = []
    status = "ok"
    ckpt_dir = Path(config.out) / "checkpoints" / f"{rule.name}-seed{seed_index}" if config.out else None
    start = 0
    if config.resume and ckpt_dir is not None:
        restored = _restore(ckpt_dir)
        if restored is not None:
            learner, shuffle_rng, rows, start = restored
            status = rows[-1]["status"] if rows else "ok"
            if start >= config.epochs or status != "ok":
                return _finish_run(rule, seed_index, learner, rows, status, progress)
            start += 1
    for epoch in range(start, config.epochs + 1):
        dt = 0.0
        reason = None
        with np.errstate(all="ignore"):
            try:
                if epoch:
                    t0 = time.perf_counter()
                    learner.train_epoch(data.x_train, data.y_train, shuffle_rng)
                    dt = time.perf_counter() - t0
                tr = _evaluate(learner, data.x_train, data.y_train, loss)
                te = _evaluate(learner, data.x_test, data.y_test, loss)
                reason = _check_weights(learner)
                if reason is None and not (math.isfinite(tr[0]) and math.isfinite(te[0])):
                    reason = "non-finite loss"
                al = learner.alignment(xp, yp) if reason is None else None
                sig = _signal_angles(learner, xp, yp, H) if al is not None else (math.nan,) * H
            except (FloatingPointError, DivergedError, OverflowError) as exc:
                reason, tr, te, al = str(exc), (math.nan, math.nan), (math.nan, math.nan), None
                sig = (math.nan,) * H
        if reason is not None:
            status = f"diverged at epoch {epoch}"
        row: dict[str, Any] = {"rule": rule.name, "seed": seed_index, "epoch": epoch,
                               "train_loss": tr[0], "train_acc": tr[1], "test_loss": te[0], "test_acc": te[1],
                               "wall_time_s": dt}
        upd = al.update if al is not None else (math.nan,) * H
        wts = al.weights if al is not None else (math.nan,) * H
        for k in range(H):
            row[f"angle_update_l{k + 1}"] = float(upd[k]) if k < len(upd) else math.nan
            row[f"angle_weights_l{k + 1}"] = float(wts[k]) if k < len(wts) else math.nan
        for k in range(H):
            row[f"angle_signal_l{k + 1}"] = float(sig[k])
        row["status"] = status
        rows.append(row)
        progress.epoch(dict(row, epochs=config.epochs))
        if ckpt_dir is not None and config.checkpoint_every and (
                epoch % config.checkpoint_every == 0 or epoch == config.epochs or reason is not None):
            _save(ckpt_dir, epoch, learner, shuffle_rng, rows)
        if reason is not None:
            break
    return _finish_run(rule, seed_index, learner, rows, status, progress)


def _save(directory: Path, epoch: int, learner: Learner, shuffle_rng: np.random.Generator, rows: list[dict]) -> None:
    """Checkpoint of one rule/seed: the whole learner (pickled inside the npz), the batch-order RNG
    and the rows so far. Learners that cannot be pickled (e.g. holding a live simulator) are skipped."""
    import pickle

    from .checkpoint import save_checkpoint

    try:
        blob = pickle.dumps(learner, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        print(f"bioplaus: checkpoint of {directory.name} skipped: learner cannot be saved ({exc})", file=sys.stderr)
        return
    save_checkpoint(directory / f"checkpoint-{epoch}.npz", epoch=epoch,
                    arrays={"learner": np.frombuffer(blob, dtype=np.uint8)},
                    rngs={"shuffle": shuffle_rng}, meta={"rows": rows})
    done = sorted((f for f in directory.glob("checkpoint-*.npz") if f.stem.rsplit("-", 1)[1].isdigit()),
                  key=lambda f: int(f.stem.rsplit("-", 1)[1]))
    for old in done[:-2]:  # keep the newest two
        old.unlink(missing_ok=True)


def _restore(directory: Path):
    """(learner, shuffle_rng, rows, epoch) from the newest checkpoint in ``directory``, or ``None``.

    Checkpoints hold pickled learners: resume only from results directories you wrote.
    """
    import pickle

    from .checkpoint import latest_checkpoint, load_checkpoint

    path = latest_checkpoint(directory) if directory.is_dir() else None
    if path is None:
        return None
    c = load_checkpoint(path)
    try:
        learner = pickle.loads(c.arrays["learner"].tobytes())
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint is reported, not trusted
        raise BioplausError(f"checkpoint {str(path)!r} cannot be restored ({type(exc).__name__}: {exc})") from None
    rows = [dict(r) for r in c.meta.get("rows", [])]
    return learner, c.restore_rng("shuffle"), rows, c.epoch


def _finish_run(rule: CreditRule, seed_index: int, learner: Learner, rows: list[dict], status: str,
                progress: _Progress) -> tuple[list[dict], dict[str, np.ndarray]]:
    times = [r["wall_time_s"] for r in rows[1:]]
    last = rows[-1]
    progress.run_done({"rule": rule.name, "seed": seed_index, "test_acc": last["test_acc"],
                       "test_loss": last["test_loss"], "angle": last.get("angle_update_l1"),
                       "time_per_epoch": float(np.mean(times)) if times else 0.0, "status": status})
    weights = {f"{rule.name}/seed{seed_index}/{k}": np.asarray(v) for k, v in learner.weights().items()}
    return rows, weights


_NOT_RESULT_KEYS = ("out", "threads", "checkpoint_every")


def _check_resumable(out: Path, resolved: dict[str, Any]) -> None:
    """Refuse to resume into a directory written for a different comparison."""
    path = out / "config.toml"
    if not path.exists():
        return
    try:
        with open(path, "rb") as fh:
            before = tomllib.load(fh).get("compare", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("compare.resume", True, f"a readable {path} to resume from ({exc})") from None
    for key in sorted(set(before) | set(resolved)):
        if key in _NOT_RESULT_KEYS:
            continue
        if before.get(key) != resolved.get(key):
            raise ConfigError("compare.resume", True, f"the same comparison as in {path} "
                              f"({key} was {before.get(key)!r}, now {resolved.get(key)!r})")


def _blas_limit(threads: int | None):
    if threads is None:
        import contextlib
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def compare(config: CompareConfig, progress: bool | Callable[[dict], None] = True,
            callbacks: Any = None) -> CompareResult:
    """Train every rule × seed of ``config`` on one data split and measure them alike.

    Parameters
    ----------
    config : CompareConfig
    progress : bool or callable
        ``True`` prints one line per finished rule/seed on stderr (and an epoch
        counter on a terminal); a callable receives a dict per epoch
        (``kind="epoch"``, the row) and per finished run (``kind="run"``).
    callbacks : list, optional
        Experiment tracking (:mod:`bioplaus.tracking`): each epoch's metrics of every
        rule/seed, e.g. ``[bioplaus.tracking.TensorBoard()]``.

    Returns
    -------
    CompareResult
        Also written to ``config.out`` when set (see the module docstring).
    """
    if not isinstance(config, CompareConfig):
        raise ConfigError("config", type(config).__name__, "a CompareConfig")
    rules = config.make_rules()
    data = load_dataset(config.dataset, config.data_dir, seed=_seed_sequence(config.seed, 0))
    regression = data.task == "regression"
    loss = config.loss or data.default_loss
    if regression and loss != "mse":
        raise ConfigError("compare.loss", loss, f"'mse' for the regression dataset {data.name!r}")
    sizes = (data.n_features, *config.hidden, data.n_outputs)
    from .footprint import check_fits, mlp_bytes

    # one network trained at a time (weights, gradients, momentum, feedback, initial copy), final weights kept
    check_fits(mlp_bytes(sizes, copies=6 + len(rules) * config.seeds), "compare.hidden",
               ",".join(map(str, config.hidden)), "training the networks")
    probe = np.sort(np.random.default_rng(_seed_sequence(config.seed, 0, 1)).permutation(
        len(data.x_train))[:PROBE_SIZE])
    out = Path(config.out) if config.out is not None else None
    resolved = config.resolved(loss)
    columns = metric_columns(len(config.hidden))
    started = time.time()
    if out is not None:
        from .results import ensure_dir, write_toml
        ensure_dir(out)
        if config.resume:
            _check_resumable(out, resolved)
        write_toml(out / "config.toml", {"compare": resolved})
    from .tracking import dispatch, resolve

    trackers = resolve(callbacks)
    dispatch(trackers, "on_start", "compare", data.name, resolved, out)
    prog = _Progress(progress, total=len(rules) * config.seeds, trackers=trackers)
    rows: list[dict] = []
    weights: dict[str, np.ndarray] = {}
    interrupted = False
    with _blas_limit(config.threads):
        try:
            for i in range(config.seeds):
                init_rng = np.random.default_rng(_seed_sequence(config.seed, 1, i, 0))
                net0 = MLP.random(sizes, config.activation, loss, init_rng)
                for rule in rules:
                    r_rows, r_w = _run_one(rule, config, data, net0, i, loss, probe, prog)
                    rows.extend(r_rows)
                    weights.update(r_w)
                    if out is not None:
                        from .results import write_csv
                        write_csv(out / "metrics.csv", rows, columns)
        except KeyboardInterrupt:
            interrupted = True
    summary = summarize(rows, [r.name for r in rules], regression=regression)
    result = CompareResult(config, rows, summary, weights, out, regression, data.name, loss)
    if out is not None:
        _write_outputs(result, data, resolved, started, interrupted)
    dispatch(trackers, "on_end", "interrupted" if interrupted else "ok")
    if interrupted:
        raise KeyboardInterrupt
    return result


def _write_outputs(result: CompareResult, data: Dataset, resolved: dict, started: float, interrupted: bool) -> None:
    from .results import provenance, write_json, write_npz, atomic_write_text, ensure_dir

    out = result.out
    assert out is not None
    cfg = result.config
    title = (f"{data.name}: hidden {'-'.join(map(str, cfg.hidden))} {cfg.activation}, {cfg.epochs} epochs, "
             f"{cfg.seeds} seed(s)" + (" (interrupted)" if interrupted else ""))
    atomic_write_text(out / "summary.md", summary_markdown(result.summary, result.regression, title))
    write_npz(out / "arrays.npz", result.weights)
    if result.rows:
        try:
            from .plots import plot_alignment, plot_learning_curves, save_figure
            figs = ensure_dir(out / "figures")
            save_figure(plot_learning_curves(result), figs / "learning_curves.png")
            save_figure(plot_alignment(result), figs / "alignment.png")
        except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
            print(f"bioplaus: figures skipped: {exc}", file=sys.stderr)
    write_json(out / "provenance.json", provenance(
        seed=cfg.seed, backend="numpy-reference", dataset=data.name,
        dataset_shape={"train": list(data.x_train.shape), "test": list(data.x_test.shape)},
        config=resolved, wall_time_s=time.time() - started, interrupted=interrupted,
        blas_threads=cfg.threads))
