r"""Credit-assignment rules on one network object, and the registry that names them.

All error-driven rules here share :class:`~bioplaus.reference.mlp.MLP`'s forward
pass and output error :math:`e`; they differ only in how the error of hidden
layer :math:`l` is formed (row-major batches, :math:`f'` the activation derivative):

=========  ==============================================================  ===========================
rule       hidden error :math:`\delta_l`                                   reference
=========  ==============================================================  ===========================
``bp``     :math:`(\delta_{l+1} W_{l+1}) \odot f'(a_l)`                    Rumelhart et al. 1986
``fa``     :math:`(\delta_{l+1} B_l^{\top}) \odot f'(a_l)`, fixed random    Lillicrap et al. 2016
           :math:`B_l` of the shape of :math:`W_{l+1}^{\top}`
``dfa``    :math:`(e\, D_l^{\top}) \odot f'(a_l)`, fixed random            Nøkland 2016
           :math:`D_l \in \mathbb{R}^{n_l \times n_L}`
``sign``   :math:`(\delta_{l+1}\, \mathrm{sign}(W_{l+1})) \odot f'(a_l)`   Liao, Leibo & Poggio 2016
=========  ==============================================================  ===========================

and every rule then uses :math:`\Delta W_l = \delta_l^{\top} h_{l-1}`, :math:`\Delta b_l = \sum_b \delta_l`
with mini-batch SGD and momentum. The unsupervised ``hebbian`` rule lives in
:mod:`bioplaus.reference.hebbian`.

Extending: rules and learners
-----------------------------
A **rule** is a frozen dataclass of validated parameters, registered by name with
:func:`register_credit_rule`. Its :meth:`CreditRule.learner` returns a fresh **learner**, the
object the comparison harness trains. The harness needs only the
:class:`Learner` protocol, epoch by epoch::

    learner.init(net, rng, settings)     # net: the shared initial forward network of this seed
    learner.train_epoch(x, y, rng)       # one pass over the training set
    learner.predict(x) -> outputs        # logits (classification) or values (regression)
    learner.weights() -> {name: array}   # saved in arrays.npz, checked for divergence
    learner.alignment(x, y) -> Alignment # angles per hidden layer (NaN where undefined)

so a rule simulated elsewhere (e.g. a Brian2 network trained for one epoch per
call) plugs in by implementing those five methods and registering a rule whose
``learner()`` returns it; it may report NaN angles. Rules computed in numpy
subclass :class:`NumpyLearner`, which supplies ``train_epoch`` and ``alignment``
from two methods: :meth:`NumpyLearner.updates` (the rule's weight updates on a
batch, in gradient units) and :meth:`NumpyLearner.bp_reference_grads` (the exact
gradient on the same batch), plus :meth:`NumpyLearner.feedback_pairs` for the
weight-alignment angle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..metrics import angle_deg
from .mlp import MLP, SGD, ForwardPass, Grads, backprop_errors, grads_from_errors, init_uniform

__all__ = [
    "Alignment",
    "Learner",
    "NumpyLearner",
    "ErrorRoutingLearner",
    "CreditRule",
    "TrainSettings",
    "BP",
    "FA",
    "DFA",
    "SignSymmetry",
    "CREDIT_RULES",
    "register_credit_rule",
    "make_credit_rule",
    "credit_rule_names",
    "is_credit_rule",
    "angle_deg",
]

CREDIT_RULES: dict[str, type["CreditRule"]] = {}


# ---------------------------------------------------------------------- registry
def register_credit_rule(name: str) -> Callable[[type["CreditRule"]], type["CreditRule"]]:
    """Class decorator: register a :class:`CreditRule` subclass under ``name``.

    >>> @register_credit_rule("my-rule")            # doctest: +SKIP
    ... @dataclass(frozen=True)
    ... class MyRule(CreditRule):
    ...     default_lr: ClassVar[float] = 0.01
    ...     def learner(self): return MyLearner(self)
    """
    def deco(cls: type["CreditRule"]) -> type["CreditRule"]:
        if name in CREDIT_RULES and CREDIT_RULES[name] is not cls:
            raise ValueError(f"rule name {name!r} is already registered to {CREDIT_RULES[name].__qualname__}")
        cls.name = name
        CREDIT_RULES[name] = cls
        return cls
    return deco


def credit_rule_names() -> tuple[str, ...]:
    """Names of the registered rules, in registration order (the harness adds those simulated in
    Brian2: :func:`bioplaus.harness.credit_rule_names`)."""
    return tuple(CREDIT_RULES)


def is_credit_rule(name: Any) -> bool:
    """Whether ``name`` names a registered rule."""
    return isinstance(name, str) and name in CREDIT_RULES


def make_credit_rule(rule: "str | CreditRule", key: str = "rules", **params: Any) -> "CreditRule":
    """Return the rule registered as ``rule`` built with ``params`` (a :class:`CreditRule` passes through).

    >>> make_credit_rule("dfa", feedback_scale=0.5)
    DFA(feedback_scale=0.5)
    >>> make_credit_rule("fa", feedback_scal=2.0)
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: FA.feedback_scal = 2.0: expected one of the parameters feedback_scale (did you mean 'feedback_scale'?)
    """
    if isinstance(rule, CreditRule):
        return rule
    if not is_credit_rule(rule):
        names = credit_rule_names()
        raise ConfigError(key, rule, "one of " + ", ".join(names) + did_you_mean(str(rule), names))
    cls = CREDIT_RULES[rule]
    known = {f.name for f in fields(cls)}
    for k in params:
        if k not in known:
            raise ConfigError(f"{cls.__name__}.{k}", params[k],
                              "one of the parameters " + (", ".join(sorted(known)) or "(none)") + did_you_mean(k, known))
    return cls(**params)


# ---------------------------------------------------------------------- interfaces
@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and task settings the harness hands to every learner.

    ``lr`` is the rule's resolved learning rate; ``loss`` the loss of the task;
    ``epochs`` the number of epochs that will be run (for schedules).
    """

    lr: float
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 30
    loss: str = "cross_entropy"


@dataclass(frozen=True)
class Alignment:
    """Angles in degrees for each hidden layer ``l = 1..L-1`` (NaN where a rule has none).

    update : angle between the rule's update of :math:`W_l` (the weights into hidden
        layer ``l``) and the exact gradient, on the same batch.
    weights : angle between the matrix that carries error into hidden layer ``l``
        and the one backpropagation would use there (see :meth:`NumpyLearner.feedback_pairs`).
    """

    update: tuple[float, ...]
    weights: tuple[float, ...]

    @classmethod
    def undefined(cls, n_hidden: int) -> "Alignment":
        nan = (float("nan"),) * n_hidden
        return cls(nan, nan)


@runtime_checkable
class Learner(Protocol):
    """What the comparison harness needs from a rule, epoch by epoch (see the module docstring)."""

    def init(self, net: MLP, rng: np.random.Generator, settings: TrainSettings) -> None: ...

    def train_epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...

    def weights(self) -> dict[str, np.ndarray]: ...

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment: ...


@dataclass(frozen=True)
class CreditRule:
    """Base of every registered rule: inert, validated parameters; no state.

    Subclasses set ``default_lr`` (the learning rate used when the harness is given
    none for this rule) and implement :meth:`learner`. ``name`` is set by
    :func:`register_credit_rule`.
    """

    name: ClassVar[str] = ""
    default_lr: ClassVar[float] = 0.01

    def learner(self) -> Learner:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Parameter values, for the resolved configuration."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _positive(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (value > 0) or not math.isfinite(value):
        raise ConfigError(f"{owner}.{name}", value, "a finite number > 0")


# ---------------------------------------------------------------------- numpy learners
class NumpyLearner:
    """Base for rules computed in numpy on an :class:`MLP`.

    Subclasses implement :meth:`updates`; :meth:`feedback_pairs` is optional.
    ``train_epoch`` shuffles with the given generator, and for each mini-batch
    applies :meth:`updates` through :class:`~bioplaus.reference.mlp.SGD`.
    """

    net: MLP
    settings: TrainSettings

    def __init__(self, rule: CreditRule):
        self.rule = rule

    # -- protocol
    def init(self, net: MLP, rng: np.random.Generator, settings: TrainSettings) -> None:
        self.net = net
        self.settings = settings
        self.opt = SGD(net, settings.lr, settings.momentum, settings.weight_decay)
        self.setup(rng)

    def setup(self, rng: np.random.Generator) -> None:
        """Draw fixed random matrices and other state (after ``self.net`` is set)."""

    def train_epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        n, bs = len(x), self.settings.batch_size
        order = rng.permutation(n)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            self.step(x[idx], y[idx])

    def step(self, x: np.ndarray, y: np.ndarray) -> Grads:
        """One mini-batch update; returns the updates applied (before lr and momentum)."""
        g = self.updates(x, y)
        self.opt.step(g)
        return g

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def weights(self) -> dict[str, np.ndarray]:
        out = {f"W{l + 1}": w for l, w in enumerate(self.net.weights)}
        out.update({f"b{l + 1}": b for l, b in enumerate(self.net.biases)})
        return out

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        H = self.net.n_hidden
        rule, bp = self.updates(x, y), self.bp_reference_grads(x, y)
        upd = tuple(angle_deg(rule.dW[l], bp.dW[l]) for l in range(H))
        pairs = self.feedback_pairs()
        wts = tuple(angle_deg(f, w) for f, w in pairs) if pairs is not None else (float("nan"),) * H
        return Alignment(upd, wts)

    # -- to implement
    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        """The rule's updates of every layer on a batch, in gradient units (descent direction = minus)."""
        raise NotImplementedError

    def bp_reference_grads(self, x: np.ndarray, y: np.ndarray) -> Grads:
        """Exact gradients of the loss on the same batch, for the update-angle metric."""
        return self.net.gradients(x, y)[1]

    def feedback_pairs(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """For each hidden layer, (feedback matrix used, matrix backprop would use); ``None``: undefined."""
        return None


class ErrorRoutingLearner(NumpyLearner):
    """Learner of the error-routing rules (BP, FA, DFA, sign): one code path, different :math:`B_l`."""

    rule: "ErrorRoutingRule"

    def setup(self, rng: np.random.Generator) -> None:
        self.feedback = self.rule.init_feedback(self.net, rng)

    def current_feedback(self) -> list[np.ndarray] | None:
        return self.rule.feedback_matrices(self.net, self.feedback)

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        net = self.net
        fp = net.forward(x)
        e = net.output_error(fp.z, y)
        return self.updates_from(fp, e)

    def updates_from(self, fp: ForwardPass, e: np.ndarray) -> Grads:
        deltas = backprop_errors(self.net, fp, e, self.current_feedback(), direct=self.rule.direct)
        return grads_from_errors(fp, deltas)

    def feedback_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """FA/sign/BP: :math:`(B_l, W_{l+1}^\\top)`; DFA: :math:`(D_l, (W_L \\cdots W_{l+1})^\\top)`,
        the product of transposed forward matrices along the path BP would send the error
        (derivative factors left out), which for one hidden layer is :math:`W_L^\\top`."""
        W = self.net.weights
        fb = self.current_feedback()
        H = self.net.n_hidden
        if fb is None:
            fb = [W[l + 1].T for l in range(H)]
        if not self.rule.direct:
            return [(fb[l], W[l + 1].T) for l in range(H)]
        pairs = []
        path = W[-1]  # (n_L, n_{L-1})
        for l in range(H - 1, -1, -1):
            pairs.append((fb[l], path.T))
            if l:
                path = path @ W[l]
        return pairs[::-1]


@dataclass(frozen=True)
class ErrorRoutingRule(CreditRule):
    """Rules that differ from backprop only in the matrices carrying error to hidden layers."""

    direct: ClassVar[bool] = False

    def learner(self) -> ErrorRoutingLearner:
        return ErrorRoutingLearner(self)

    def init_feedback(self, net: MLP, rng: np.random.Generator) -> list[np.ndarray] | None:
        """Fixed state drawn once at initialisation (``None`` if the rule has none)."""
        return None

    def feedback_matrices(self, net: MLP, fixed: list[np.ndarray] | None) -> list[np.ndarray] | None:
        """Matrices used now; ``None`` means the transposed forward weights (backprop)."""
        return fixed


@register_credit_rule("bp")
@dataclass(frozen=True)
class BP(ErrorRoutingRule):
    r"""Backpropagation: :math:`\delta_l = (\delta_{l+1} W_{l+1}) \odot f'(a_l)`.

    Rumelhart, Hinton & Williams (1986), *Learning representations by
    back-propagating errors*, Nature 323, 533–536.
    """

    default_lr: ClassVar[float] = 0.1


@register_credit_rule("fa")
@dataclass(frozen=True)
class FA(ErrorRoutingRule):
    r"""Feedback alignment: :math:`\delta_l = (\delta_{l+1} B_l^{\top}) \odot f'(a_l)`.

    :math:`B_l` (shape of :math:`W_{l+1}^\top`) is drawn once, uniformly with the
    forward initialisation scale times ``feedback_scale``, and never learned; the
    forward weights come to align with it.

    Lillicrap, Cownden, Tweed & Akerman (2016), *Random synaptic feedback weights
    support error backpropagation for deep learning*, Nat. Commun. 7, 13276.
    """

    feedback_scale: float = 1.0
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("FA", "feedback_scale", self.feedback_scale)

    def init_feedback(self, net: MLP, rng: np.random.Generator) -> list[np.ndarray]:
        s = net.sizes
        return [self.feedback_scale * init_uniform(rng, s[l + 2], s[l + 1], net.activation, net.dtype).T.copy()
                for l in range(net.n_hidden)]


@register_credit_rule("dfa")
@dataclass(frozen=True)
class DFA(ErrorRoutingRule):
    r"""Direct feedback alignment: :math:`\delta_l = (e\, D_l^{\top}) \odot f'(a_l)` for every hidden layer.

    :math:`D_l \in \mathbb{R}^{n_l \times n_L}` is fixed and random, drawn with the
    forward initialisation scale of an ``n_l``-by-``n_L`` layer times ``feedback_scale``.

    Nøkland (2016), *Direct feedback alignment provides learning in deep neural
    networks*, NeurIPS 29.
    """

    feedback_scale: float = 1.0
    default_lr: ClassVar[float] = 0.05
    direct: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _positive("DFA", "feedback_scale", self.feedback_scale)

    def init_feedback(self, net: MLP, rng: np.random.Generator) -> list[np.ndarray]:
        s = net.sizes
        return [self.feedback_scale * init_uniform(rng, s[-1], s[l + 1], net.activation, net.dtype).T.copy()
                for l in range(net.n_hidden)]


@register_credit_rule("sign")
@dataclass(frozen=True)
class SignSymmetry(ErrorRoutingRule):
    r"""Sign-symmetric feedback: :math:`\delta_l = (\delta_{l+1}\, s\,\mathrm{sign}(W_{l+1})) \odot f'(a_l)`.

    The feedback shares only the signs of the current forward weights (so it follows
    them as they learn), times the constant ``scale`` :math:`s`.

    Liao, Leibo & Poggio (2016), *How important is weight symmetry in
    backpropagation?*, AAAI; Moskovitz, Litwin-Kumar & Abbott (2018), arXiv:1812.06488.
    """

    scale: float = 1.0
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("SignSymmetry", "scale", self.scale)

    def feedback_matrices(self, net: MLP, fixed: list[np.ndarray] | None) -> list[np.ndarray]:
        return [self.scale * np.sign(net.weights[l + 1].T) for l in range(net.n_hidden)]


def updates_with_feedback(net: MLP, x: np.ndarray, y: np.ndarray, feedback: Sequence[np.ndarray] | None,
                          direct: bool = False) -> Grads:
    """Updates of one batch with explicitly given feedback matrices (for tests and analysis)."""
    fp = net.forward(x)
    e = net.output_error(fp.z, y)
    return grads_from_errors(fp, backprop_errors(net, fp, e, feedback, direct=direct))
