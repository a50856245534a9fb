r"""Forward-Forward: every layer learns to tell positive from negative data by its goodness.

A sample :math:`x` and a label :math:`c` form one input :math:`x \oplus c`: the first
``n_classes`` inputs are replaced by the one-hot label times ``label_scale``
(Hinton's MNIST recipe, where they are border pixels). *Positive* data carry the
correct label, *negative* data a wrong one. Each layer sees the previous layer's
output normalised to unit length (layer normalisation without mean subtraction, so
only the direction of the activity vector, not its goodness, is passed on):

.. math::

    \hat h_{l-1} = \frac{h_{l-1}}{\lVert h_{l-1}\rVert + \epsilon}, \qquad
    h_l = f(\hat h_{l-1} W_l^{\top} + b_l), \qquad
    G_l = \textstyle\sum_j h_{l,j}^2 ,

and the probability that the input is positive is :math:`p_l = \sigma(G_l - \theta)`.
Each layer minimises its own logistic loss, with no gradient passing between layers,

.. math::

    \mathcal L_l = \frac1B\sum_b \Bigl[\log\bigl(1 + e^{-(G^{+}_{l,b} - \theta)}\bigr)
                   + \log\bigl(1 + e^{G^{-}_{l,b} - \theta}\bigr)\Bigr],

whose gradient is :math:`\Delta W_l = \delta_l^{\top}\hat h_{l-1}` with
:math:`\delta_l = \frac1B\,\partial\mathcal L_l/\partial G_l \cdot 2 h_l \odot f'(a_l)`,
:math:`\partial\mathcal L/\partial G^{+} = -(1 - p^{+})` and
:math:`\partial\mathcal L/\partial G^{-} = p^{-}`, summed over the positive and the
negative pass. All layers learn on every mini-batch.

Prediction: each candidate label is embedded in turn and the label with the largest
goodness accumulated over the layers wins (``skip_first=True`` leaves out the first
layer, as Hinton does with several layers). :meth:`ForwardForwardLearner.predict`
returns :math:`\sum_l (G_l - \theta)` per candidate as logits, so the harness's
cross-entropy column is that of a softmax over accumulated goodness (not comparable
with the other rules' losses); accuracy is comparable.

The output layer of the shared network is not used, and there is no error signal
to compare with backpropagation's (the update angles are NaN).

Hinton (2022), *The Forward-Forward algorithm: some preliminary investigations*,
arXiv:2212.13345.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import Alignment, CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import MLP, SGD, Grads, check_activation

__all__ = ["ForwardForward", "ForwardForwardLearner", "embed_label", "ff_layer_grads"]


def embed_label(x: np.ndarray, labels: np.ndarray, n_classes: int, scale: float = 1.0) -> np.ndarray:
    """Copy of ``x`` whose first ``n_classes`` columns hold ``scale`` times the one-hot ``labels``.

    >>> embed_label(np.full((2, 4), 0.5), np.array([1, 0]), 2)
    array([[0. , 1. , 0.5, 0.5],
           [1. , 0. , 0.5, 0.5]])
    """
    out = np.array(x, dtype=float if not np.issubdtype(np.asarray(x).dtype, np.floating) else x.dtype, copy=True)
    out[:, :n_classes] = 0
    out[np.arange(len(x)), labels] = scale
    return out


def _normalise(h: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    return h / (np.linalg.norm(h, axis=1, keepdims=True) + eps)


def ff_layer_grads(net: MLP, l: int, h_in: np.ndarray, sign: float, theta: float) -> tuple[np.ndarray, np.ndarray,
                                                                                           np.ndarray, np.ndarray]:
    r"""One layer's Forward-Forward gradient on one batch of positive (``sign=+1``) or negative (-1) data.

    ``h_in`` is the layer's (unnormalised) input. Returns ``(dW, db, h, G)``: the gradient
    of :math:`\mathcal L_l` (batch mean), the layer output and the goodness per sample.
    """
    x = _normalise(h_in)
    a = x @ net.weights[l].T
    a += net.biases[l]
    h = net._f(a)
    G = np.einsum("bj,bj->b", h, h)
    # d/dG of log(1 + exp(-sign (G - theta))) = -sign * sigmoid(-sign (G - theta))
    s = -sign * (G - theta)
    dG = -sign / (1 + np.exp(-np.clip(s, -500, 500)))
    d = (dG / len(h))[:, None] * 2 * h * net.derivative(h)
    return d.T @ x, d.sum(axis=0), h, G


@register_credit_rule("ff")
@dataclass(frozen=True)
class ForwardForward(CreditRule):
    r"""Forward-Forward (Hinton 2022): layer-local goodness, positive vs negative data.

    Parameters
    ----------
    theta : float
        Goodness threshold :math:`\theta` (sum of squared activities of a layer).
    label_scale : float
        Value of the embedded one-hot label (1 = the largest pixel value of ``digits``).
    negatives : {"random", "hard"}
        Wrong label of each negative sample: uniform among the wrong ones, or drawn in
        proportion to the network's own goodness for the wrong labels (hard negatives).
    activation : {"tanh", "relu", "sigmoid"} or None
        Hidden non-linearity (``None``: the network's).
    skip_first : bool
        Leave the first hidden layer out of the goodness used for prediction (only with
        more than one hidden layer).
    """

    theta: float = 2.0
    label_scale: float = 1.0
    negatives: str = "hard"
    activation: str | None = "relu"
    skip_first: bool = False
    default_lr: ClassVar[float] = 0.1

    def __post_init__(self) -> None:
        _positive("ForwardForward", "theta", self.theta)
        _positive("ForwardForward", "label_scale", self.label_scale)
        if self.negatives not in ("random", "hard"):
            raise ConfigError("ForwardForward.negatives", self.negatives, "'random' or 'hard'")
        if self.activation is not None:
            check_activation(self.activation, "ForwardForward.activation")
        if not isinstance(self.skip_first, bool):
            raise ConfigError("ForwardForward.skip_first", self.skip_first, "true or false")

    def learner(self) -> "ForwardForwardLearner":
        return ForwardForwardLearner(self)


class ForwardForwardLearner(NumpyLearner):
    """Learner of :class:`ForwardForward`; the hidden layers of the shared network are the FF layers."""

    rule: ForwardForward

    def setup(self, rng: np.random.Generator) -> None:
        net = self.net
        act = self.rule.activation or net.activation
        if act != net.activation:
            self.net = net = MLP(net.weights, net.biases, act, net.loss)
        self.n_classes = net.sizes[-1]
        if net.sizes[0] <= self.n_classes:
            raise ConfigError("ForwardForward", net.sizes[0], f"more than {self.n_classes} inputs (the first "
                              f"{self.n_classes} carry the label)")
        self.opt = SGD(net, self.settings.lr, self.settings.momentum, self.settings.weight_decay,
                       layers=range(net.n_hidden))
        self.rng = rng

    # -- goodness
    def goodness(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Goodness :math:`G_l` of every hidden layer for ``x`` with ``labels`` embedded, shape ``(B, H)``."""
        net = self.net
        h = embed_label(x, labels, self.n_classes, self.rule.label_scale)
        out = []
        for l in range(net.n_hidden):
            a = _normalise(h) @ net.weights[l].T
            a += net.biases[l]
            h = net._f(a)
            out.append(np.einsum("bj,bj->b", h, h))
        return np.stack(out, axis=1)

    def label_goodness(self, x: np.ndarray) -> np.ndarray:
        """Accumulated goodness minus threshold for every candidate label, shape ``(B, n_classes)``."""
        first = 1 if self.rule.skip_first and self.net.n_hidden > 1 else 0
        out = np.empty((len(x), self.n_classes))
        for c in range(self.n_classes):
            G = self.goodness(x, np.full(len(x), c))[:, first:]
            out[:, c] = (G - self.rule.theta).sum(axis=1)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.label_goodness(x)

    def negative_labels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        K = self.n_classes
        if self.rule.negatives == "random":
            return (y + self.rng.integers(1, K, size=len(y))) % K
        g = self.label_goodness(x)
        g[np.arange(len(y)), y] = -np.inf
        p = np.exp(g - g.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        u = self.rng.random((len(y), 1))
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), K - 1)

    # -- learning
    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        net, th = self.net, self.rule.theta
        neg = self.negative_labels(x, y)
        dW = [np.zeros_like(w) for w in net.weights]
        db = [np.zeros_like(b) for b in net.biases]
        for lab, sign in ((y, 1.0), (neg, -1.0)):
            h = embed_label(x, lab, self.n_classes, self.rule.label_scale)
            for l in range(net.n_hidden):
                gW, gb, h, _ = ff_layer_grads(net, l, h, sign, th)
                dW[l] += gW
                db[l] += gb
        return Grads(dW, db)

    def weights(self) -> dict[str, np.ndarray]:
        H = self.net.n_hidden
        out = {f"W{l + 1}": self.net.weights[l] for l in range(H)}
        out.update({f"b{l + 1}": self.net.biases[l] for l in range(H)})
        return out

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        """Undefined: Forward-Forward has no output error and no feedback matrix."""
        return Alignment.undefined(self.net.n_hidden)
