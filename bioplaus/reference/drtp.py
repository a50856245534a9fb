r"""Direct random target projection: fixed random projections of the *target* in place of the error.

Like direct feedback alignment, every hidden layer receives a signal from the output side
through a fixed random matrix :math:`D_l \in \mathbb{R}^{n_l \times n_L}`; unlike DFA, that
signal is not the output error but the target itself, :math:`y^*` (the one-hot label, or the
target vector of a regression):

.. math::

    \delta_l = \frac{1}{B}\bigl(-y^*\, D_l^{\top}\bigr) \odot f'(a_l), \qquad
    dW_l = \delta_l^{\top} h_{l-1}, \qquad db_l = \textstyle\sum_b \delta_{l,b},

and the output layer learns from its true error :math:`e` (the delta rule). For a
softmax output the error of the true class, :math:`p_c - 1`, is always negative and the
others positive: :math:`-y^*` is a surrogate with the sign of the error's largest
component, which is why the hidden layers can learn from it (Frenkel et al. write
:math:`+y^*` with the sign absorbed in :math:`D_l`, which is symmetric in distribution).
The hidden updates need neither the output nor a backward pass: each layer can update as
soon as its own activity and the label are there (no update locking), and they do not
change when anything above the layer changes.

Frenkel, Lefebvre & Bol (2021), *Learning without feedback: fixed random learning
signals allow for feedforward training of deep neural networks*, Front. Neurosci. 15,
629892.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .credit import CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import Grads, grads_from_errors, init_uniform, one_hot

__all__ = ["DRTP", "DRTPLearner"]


@register_credit_rule("drtp")
@dataclass(frozen=True)
class DRTP(CreditRule):
    r"""Direct random target projection (Frenkel et al. 2021): hidden layers learn from :math:`-y^* D_l^{\top}`.

    Parameters
    ----------
    feedback_scale : float
        :math:`D_l` drawn like DFA's (the forward scale of an ``n_l``-by-``n_L`` layer), times this.
    """

    feedback_scale: float = 1.0
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("DRTP", "feedback_scale", self.feedback_scale)

    def learner(self) -> "DRTPLearner":
        return DRTPLearner(self)


class DRTPLearner(NumpyLearner):
    """Learner of :class:`DRTP`; ``self.feedback[l]`` is :math:`D_l` of shape ``(n_l, n_L)``."""

    rule: DRTP

    def setup(self, rng: np.random.Generator) -> None:
        net, s = self.net, self.net.sizes
        self.feedback = [self.rule.feedback_scale * init_uniform(rng, s[-1], s[l + 1], net.activation,
                                                                 net.dtype).T.copy()
                         for l in range(net.n_hidden)]

    def target(self, y: np.ndarray) -> np.ndarray:
        """:math:`y^*`: one-hot labels for cross-entropy, the target vectors otherwise."""
        n = self.net.sizes[-1]
        if self.net.loss == "cross_entropy":
            return one_hot(y, n, self.net.dtype)
        return self.net.targets(y, n)

    def hidden_errors(self, h: list[np.ndarray], y: np.ndarray) -> list[np.ndarray]:
        r""":math:`\delta_l` of every hidden layer from the target alone (``h`` the layer outputs, ``h[0] = x``)."""
        t = self.target(y)
        B = len(t)
        return [(-(t @ D.T) / B) * self.net.derivative(h[l + 1]) for l, D in enumerate(self.feedback)]

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        net = self.net
        fp = net.forward(x)
        e = net.output_error(fp.z, y)
        return grads_from_errors(fp, self.hidden_errors(fp.h, y) + [e])

    def feedback_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """:math:`(D_l, (W_L \\cdots W_{l+1})^{\\top})`, as for DFA."""
        W = self.net.weights
        pairs = []
        path = W[-1]
        for l in range(self.net.n_hidden - 1, -1, -1):
            pairs.append((self.feedback[l], path.T))
            if l:
                path = path @ W[l]
        return pairs[::-1]

    def weights(self) -> dict[str, np.ndarray]:
        out = super().weights()
        out.update({f"D{l + 1}": d for l, d in enumerate(self.feedback)})
        return out
