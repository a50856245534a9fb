r"""Controls for the direction of an update: random directions and signs with backpropagation's norm.

Each rule computes the exact gradient :math:`g_l` of every layer (weights and bias together,
as one vector per layer) and replaces it by an update :math:`u_l` of the *same norm*, so that
with a common learning rate every rule takes steps of exactly BP's size and only the
direction differs:

=================  ==========================================================================
``random-dir``     :math:`u_l = \lVert g_l\rVert\, r / \lVert r\rVert`, :math:`r \sim \mathcal N(0, I)`
                   (any direction: as often uphill as downhill)
``random-descent`` the same, with :math:`r \to -r` when :math:`r \cdot g_l < 0` (a random
                   direction that is never uphill: angle to the gradient below 90°)
``sign-grad``      :math:`u_l = \lVert g_l\rVert\, \mathrm{sign}(g_l) / \lVert \mathrm{sign}(g_l)\rVert`
                   (signSGD's direction; Bernstein et al. 2018)
=================  ==========================================================================

In high dimension a random direction is almost orthogonal to the gradient
(:math:`\mathrm E\cos^2 = 1/n`), so the expected first-order decrease of the loss per step is
zero for ``random-dir`` and only :math:`\approx \lVert g\rVert^2 \sqrt{2/(\pi n)}` times the
learning rate for ``random-descent``, against :math:`\lVert g\rVert^2` for BP.

Bernstein, Wang, Azizzadenesheli & Anandkumar (2018), *signSGD: compressed optimisation for
non-convex problems*, ICML, PMLR 80, 560–569.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .credit import Alignment, CreditRule, NumpyLearner, register_credit_rule
from .mlp import Grads

__all__ = ["RandomDirection", "RandomDescent", "SignGradient", "DirectionLearner", "norm_matched"]


def norm_matched(g: Grads, mode: str, rng: np.random.Generator | None = None) -> Grads:
    """Per-layer update of ``g``'s norm in the direction ``mode`` (``random``, ``descent`` or ``sign``)."""
    dW, db = [], []
    for w, b in zip(g.dW, g.db):
        v = np.concatenate([w.ravel(), b.ravel()])
        n = np.linalg.norm(v)
        if mode == "sign":
            d = np.sign(v)
        else:
            assert rng is not None
            d = rng.standard_normal(v.shape)
            if mode == "descent" and d @ v < 0:
                d = -d
        nd = np.linalg.norm(d)
        u = d * (n / nd) if nd > 0 else np.zeros_like(v)
        dW.append(u[:w.size].reshape(w.shape))
        db.append(u[w.size:].reshape(b.shape))
    return Grads(dW, db)


@dataclass(frozen=True)
class _Direction(CreditRule):
    mode: ClassVar[str] = "random"
    default_lr: ClassVar[float] = 0.1

    def learner(self) -> "DirectionLearner":
        return DirectionLearner(self)


@register_credit_rule("random-dir")
@dataclass(frozen=True)
class RandomDirection(_Direction):
    r"""Random-direction updates with backpropagation's norm per layer (a control: no credit assignment)."""

    mode: ClassVar[str] = "random"


@register_credit_rule("random-descent")
@dataclass(frozen=True)
class RandomDescent(_Direction):
    r"""Random directions with BP's norm, flipped to lie within 90° of the gradient (never uphill)."""

    mode: ClassVar[str] = "descent"


@register_credit_rule("sign-grad")
@dataclass(frozen=True)
class SignGradient(_Direction):
    r"""The sign of the gradient, rescaled to BP's norm per layer (signSGD's direction)."""

    mode: ClassVar[str] = "sign"


class DirectionLearner(NumpyLearner):
    """Learner of the direction controls; random directions come from the rule's own generator
    (the update-angle probe uses a separate one, so measuring does not change training)."""

    rule: _Direction

    def setup(self, rng: np.random.Generator) -> None:
        self.rng, self.probe_rng = rng.spawn(2)

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        return norm_matched(self.net.gradients(x, y)[1], self.rule.mode, self.rng)

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        train_rng, self.rng = self.rng, self.probe_rng
        try:
            return super().alignment(x, y)
        finally:
            self.rng = train_rng
