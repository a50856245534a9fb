r"""Difference target propagation with learned inverses.

Each layer :math:`k` of the forward network, :math:`h_{k+1} = F_k(h_k)` (with
:math:`F_k(h) = f(hW_k^{\top} + b_k)` for hidden layers and :math:`h_L = z` the linear
output), gets a learned approximate inverse :math:`G_k` for :math:`k \ge 1` (the input
layer needs none), mapping layer :math:`k+1` back to layer :math:`k`:

.. math::

    G_k(v) = f\bigl(v\, V_k^{\top} + c_k\bigr).

**Targets.** The output's target is a step :math:`\hat\eta` down the per-sample loss
gradient, :math:`\hat h_L = z - \hat\eta\,\partial\ell/\partial z`; lower targets are
propagated by the *difference correction*

.. math::

    \hat h_k = h_k + G_k(\hat h_{k+1}) - G_k(h_{k+1}),

which maps unchanged activity to itself (:math:`\hat h_{k+1} = h_{k+1} \Rightarrow
\hat h_k = h_k`) whatever the inverse's error, and with an exact inverse gives targets that
the forward layer maps exactly onto the target above, :math:`F_k(\hat h_k) = \hat h_{k+1}`.

**Forward updates** (local: each layer moves its output towards its target), in gradient
units,

.. math::

    \delta_k = \frac{(h_{k+1} - \hat h_{k+1}) \odot f'(a_{k+1})}{\hat\eta B}, \qquad
    dW_k = \delta_k^{\top} h_k,

with :math:`f' = 1` at the linear output, where the update is exactly the gradient.

**Inverse updates**: each :math:`G_k` learns to reconstruct corrupted activity,
:math:`\mathcal L^{\mathrm{inv}}_k = \frac{1}{2B}\sum_b \lVert G_k(F_k(h_k + \epsilon)) - (h_k + \epsilon)\rVert^2`,
:math:`\epsilon \sim \mathcal N(0, \sigma^2 I)`, by SGD at ``inverse_lr`` (one step per
mini-batch, before the forward step).

Lee, Zhang, Fischer & Bengio (2015), *Difference target propagation*, ECML PKDD,
LNCS 9284, 498–515; Bengio (2014), *How auto-encoders could provide credit assignment in
deep networks via target propagation*, arXiv:1407.7906.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, ClassVar, Sequence

import numpy as np

from ..errors import ConfigError
from .credit import CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import MLP, SGD, ForwardPass, Grads, init_uniform

__all__ = ["DifferenceTargetProp", "DTPLearner", "dtp_targets", "dtp_updates"]


def _nonnegative(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"{owner}.{name}", value, "a finite number >= 0")


def dtp_targets(h: Sequence[np.ndarray], top_target: np.ndarray,
                inverses: Sequence[Callable[[np.ndarray], np.ndarray] | None]) -> list[np.ndarray]:
    r"""Targets of every layer by the difference correction.

    Parameters
    ----------
    h : list of ndarray
        Activities ``h[0] = x, h[1..L-1]`` hidden, ``h[L] = z``.
    top_target : ndarray
        :math:`\hat h_L`.
    inverses : list
        ``inverses[k]`` is :math:`G_k` (layer ``k+1`` to layer ``k``) for ``k = 1..L-1``;
        ``inverses[0]`` is unused.

    Returns
    -------
    list of ndarray
        ``t[k]`` = :math:`\hat h_k` for ``k = 1..L`` (``t[0]`` is ``None``).
    """
    L = len(h) - 1
    t: list[np.ndarray] = [None] * (L + 1)  # type: ignore[list-item]
    t[L] = top_target
    for k in range(L - 1, 0, -1):
        g = inverses[k]
        t[k] = h[k] + g(t[k + 1]) - g(h[k + 1])  # type: ignore[misc]
    return t


def dtp_updates(net: MLP, fp: ForwardPass, targets: Sequence[np.ndarray], step: float) -> Grads:
    """Forward-weight updates (gradient units) moving every layer's output towards its target."""
    h = list(fp.h) + [fp.z]
    L = len(net.weights)
    B = len(fp.z)
    dW, db = [], []
    for k in range(L):
        d = (h[k + 1] - targets[k + 1]) / (step * B)
        if k < L - 1:
            d = d * net.derivative(h[k + 1])
        dW.append(d.T @ h[k])
        db.append(d.sum(axis=0))
    return Grads(dW, db)


@register_credit_rule("dtp")
@dataclass(frozen=True)
class DifferenceTargetProp(CreditRule):
    r"""Difference target propagation (Lee et al. 2015): layer-local targets through learned inverses.

    Parameters
    ----------
    target_step : float
        :math:`\hat\eta`, the output target's step down the per-sample loss gradient.
    inverse_lr : float
        Learning rate of the inverses (SGD with the harness's momentum); 0 keeps them at
        their random initialisation.
    noise : float
        :math:`\sigma` of the corruption the inverses learn to undo.
    """

    target_step: float = 0.5
    inverse_lr: float = 0.01
    noise: float = 0.1
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("DifferenceTargetProp", "target_step", self.target_step)
        _nonnegative("DifferenceTargetProp", "inverse_lr", self.inverse_lr)
        _nonnegative("DifferenceTargetProp", "noise", self.noise)

    def learner(self) -> "DTPLearner":
        return DTPLearner(self)


class DTPLearner(NumpyLearner):
    """Learner of :class:`DifferenceTargetProp`; ``self.V[k]``, ``self.c[k]`` parametrise :math:`G_k` (``k >= 1``)."""

    rule: DifferenceTargetProp

    def setup(self, rng: np.random.Generator) -> None:
        net, s = self.net, self.net.sizes
        L = len(net.weights)
        self.rng = rng
        # G_k maps layer k+1 (size s[k+1]) to layer k (size s[k]), k = 1..L-1
        self.V = [None] + [init_uniform(rng, s[k], s[k + 1], net.activation, net.dtype) for k in range(1, L)]
        self.c = [None] + [np.zeros(s[k], net.dtype) for k in range(1, L)]
        self._inv = SimpleNamespace(weights=self.V[1:], biases=self.c[1:])
        self.inv_opt = SGD(self._inv, self.rule.inverse_lr, self.settings.momentum)  # type: ignore[arg-type]
        self.reconstruction = [float("nan")] * (L - 1)

    def inverse(self, k: int) -> Callable[[np.ndarray], np.ndarray]:
        """:math:`G_k` as a function."""
        V, c, f = self.V[k], self.c[k], self.net._f

        def g(v: np.ndarray) -> np.ndarray:
            a = v @ V.T
            a += c
            return f(a)
        return g

    def forward_layer(self, k: int, h: np.ndarray) -> np.ndarray:
        """:math:`F_k(h)`."""
        a = h @ self.net.weights[k].T + self.net.biases[k]
        return self.net._f(a) if k < len(self.net.weights) - 1 else a

    def targets(self, fp: ForwardPass, y: np.ndarray) -> list[np.ndarray]:
        net = self.net
        top = fp.z - self.rule.target_step * len(fp.z) * net.output_error(fp.z, y)
        L = len(net.weights)
        return dtp_targets(list(fp.h) + [fp.z], top, [None] + [self.inverse(k) for k in range(1, L)])

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        fp = self.net.forward(x)
        return dtp_updates(self.net, fp, self.targets(fp, y), self.rule.target_step)

    def inverse_grads(self, h: Sequence[np.ndarray]) -> Grads:
        """Gradients of the reconstruction losses of every inverse (noise from the learner's generator)."""
        L = len(self.net.weights)
        dV, dc = [], []
        for k in range(1, L):
            hk = h[k] + self.rule.noise * self.rng.standard_normal(h[k].shape) if self.rule.noise else h[k]
            above = self.forward_layer(k, hk)
            r = self.inverse(k)(above)
            d = (r - hk) * self.net.derivative(r) / len(hk)
            self.reconstruction[k - 1] = float(0.5 * np.mean(np.sum((r - hk) ** 2, axis=1)))
            dV.append(d.T @ above)
            dc.append(d.sum(axis=0))
        return Grads(dV, dc)

    def step(self, x: np.ndarray, y: np.ndarray) -> Grads:
        fp = self.net.forward(x)
        if self.rule.inverse_lr and self.V[1:]:
            self.inv_opt.step(self.inverse_grads(fp.h))
        g = dtp_updates(self.net, fp, self.targets(fp, y), self.rule.target_step)
        self.opt.step(g)
        return g

    def weights(self) -> dict[str, np.ndarray]:
        out = super().weights()
        for k in range(1, len(self.net.weights)):
            out[f"V{k + 1}"] = self.V[k]
            out[f"c{k + 1}"] = self.c[k]
        return out
