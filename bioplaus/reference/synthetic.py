r"""Synthetic gradients: each hidden layer learns from a learned local predictor of its gradient.

For hidden layer :math:`l` (output :math:`h_l`, pre-activation :math:`a_l`) a linear
*synthetic-gradient module* :math:`M_l` predicts the per-sample gradient of the loss
with respect to :math:`h_l` from :math:`h_l` itself and, in the conditioned variant
(cDNI), from the label :math:`c` (one-hot; the target vector for regression):

.. math::

    \hat g_l = M_l(h_l, c) = h_l A_l^{\top} + c\, C_l^{\top} + m_l ,

and the layer is updated with it as if it were the backpropagated gradient
(:math:`B` the batch size, the loss a batch mean):

.. math::

    \delta_l = \tfrac1B\,\hat g_l \odot f'(a_l), \qquad
    \Delta W_l = \delta_l^{\top} h_{l-1}, \qquad \Delta b_l = \textstyle\sum_b \delta_{l,b}.

The output layer uses the true output error :math:`\delta_L = e`. Each module is
trained by regression, :math:`\mathcal L_{M_l} = \frac1{2B}\sum_b \lVert \hat g_{l,b} - g^*_{l,b}\rVert^2`,
on a target that is local to the next layer:

* the last hidden layer: the true gradient :math:`g^*_{L-1} = B\,(e\,W_L)`;
* the others (bootstrapping): the next layer's *synthetic* gradient carried back
  through one layer, :math:`g^*_l = (\hat g_{l+1} \odot f'(a_{l+1}))\, W_{l+1}`
  (``bootstrap=False`` uses the true backpropagated gradient instead).

The modules start at zero output (so the hidden layers start still) and are trained
with SGD and momentum at their own learning rate ``sg_lr``; inputs to the modules are
treated as constants (no gradient flows from a module's loss into the network).

``oracle=True`` replaces every :math:`\hat g_l` by the true gradient: the updates are
then exactly backpropagation's (a check of the code path).

Jaderberg, Czarnecki, Osindero, Vinyals, Graves, Silver & Kavukcuoglu (2017),
*Decoupled neural interfaces using synthetic gradients*, ICML, PMLR 70, 1627–1635;
Czarnecki et al. (2017), *Understanding synthetic gradients and decoupled neural
interfaces*, ICML.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import CreditRule, NumpyLearner, register_credit_rule
from .mlp import MLP, SGD, ForwardPass, Grads, backprop_errors, grads_from_errors, one_hot

__all__ = ["SyntheticGradients", "SyntheticGradientLearner", "sg_updates"]


@register_credit_rule("sg")
@dataclass(frozen=True)
class SyntheticGradients(CreditRule):
    r"""Synthetic gradients (Jaderberg et al. 2017): hidden layers learn from linear gradient predictors.

    Parameters
    ----------
    conditioned : bool
        Give the predictors the label as well (cDNI); a linear predictor without it
        cannot represent the sign of the error.
    bootstrap : bool
        Train the predictor of layer ``l`` on the next layer's synthetic gradient carried
        back one layer (``True``), or on the true gradient (``False``).
    sg_lr : float
        Learning rate of the predictors (SGD with the harness's momentum); 0 keeps them
        at zero, so only the output layer learns (the readout-only control).
    oracle : bool
        Use the true gradient in place of every prediction (equals backpropagation).
    """

    conditioned: bool = True
    bootstrap: bool = True
    sg_lr: float = 0.01
    oracle: bool = False
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        for k in ("conditioned", "bootstrap", "oracle"):
            if not isinstance(getattr(self, k), bool):
                raise ConfigError(f"SyntheticGradients.{k}", getattr(self, k), "true or false")
        v = self.sg_lr
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
            raise ConfigError("SyntheticGradients.sg_lr", v, "a finite number >= 0")

    def learner(self) -> "SyntheticGradientLearner":
        return SyntheticGradientLearner(self)


@dataclass
class _Pass:
    fp: ForwardPass
    c: np.ndarray                 # conditioning (labels one-hot / targets), (B, n_out)
    synthetic: list[np.ndarray]   # predicted per-sample gradients wrt h_l, (B, n_l)
    targets: list[np.ndarray]     # the predictors' regression targets, (B, n_l)
    grads: Grads                  # the rule's updates of the network


class SyntheticGradientLearner(NumpyLearner):
    """Learner of :class:`SyntheticGradients`: the network plus one linear predictor per hidden layer.

    ``self.predictors[l]`` is a one-layer :class:`~bioplaus.reference.mlp.MLP` (linear)
    mapping ``[h_l, c]`` to :math:`\\hat g_l`.
    """

    rule: SyntheticGradients

    def setup(self, rng: np.random.Generator) -> None:
        net, r = self.net, self.rule
        n_c = net.sizes[-1] if r.conditioned else 0
        self.predictors = [MLP([np.zeros((n, n + n_c), net.dtype)], [np.zeros(n, net.dtype)], loss="mse")
                           for n in net.sizes[1:-1]]
        self.sg_opt = [SGD(p, r.sg_lr, self.settings.momentum) for p in self.predictors]
        self.predictor_loss = [float("nan")] * len(self.predictors)

    # -- the computation of one batch
    def _inputs(self, h: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.concatenate([h, c], axis=1) if self.rule.conditioned else h

    def _pass(self, x: np.ndarray, y: np.ndarray) -> _Pass:
        net, r = self.net, self.rule
        fp = net.forward(x)
        e = net.output_error(fp.z, y)
        B = len(x)
        c = one_hot(y, net.sizes[-1], net.dtype) if net.loss == "cross_entropy" else net.targets(y, net.sizes[-1])
        H = net.n_hidden
        true = None
        if r.oracle or not r.bootstrap:
            # per-sample true gradients wrt h_l: B * (delta_{l+1} W_{l+1})
            true_d = backprop_errors(net, fp, e)
            true = [B * (true_d[l + 1] @ net.weights[l + 1]) for l in range(H)]
        synthetic = [true[l] if r.oracle else self.predictors[l].predict(self._inputs(fp.h[l + 1], c))
                     for l in range(H)]
        deltas: list[np.ndarray] = [None] * (H + 1)  # type: ignore[list-item]
        deltas[-1] = e
        for l in range(H):
            deltas[l] = synthetic[l] * net.derivative(fp.h[l + 1]) / B
        targets: list[np.ndarray] = [None] * H  # type: ignore[list-item]
        for l in range(H):
            if l == H - 1:
                targets[l] = B * (e @ net.weights[-1])
            elif r.bootstrap:
                targets[l] = (synthetic[l + 1] * net.derivative(fp.h[l + 2])) @ net.weights[l + 1]
            else:
                targets[l] = true[l]  # type: ignore[index]
        return _Pass(fp, c, synthetic, targets, grads_from_errors(fp, deltas))

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        return self._pass(x, y).grads

    def step(self, x: np.ndarray, y: np.ndarray) -> Grads:
        p = self._pass(x, y)
        self.opt.step(p.grads)
        if not self.rule.oracle:
            B = len(x)
            for l, (pred, opt) in enumerate(zip(self.predictors, self.sg_opt)):
                inp = self._inputs(p.fp.h[l + 1], p.c)
                err = (p.synthetic[l] - p.targets[l]) / B
                opt.step(Grads([err.T @ inp], [err.sum(axis=0)]))
                self.predictor_loss[l] = float(0.5 * B * np.mean(np.sum(err * err, axis=1)))
        return p.grads

    def weights(self) -> dict[str, np.ndarray]:
        out = super().weights()
        for l, p in enumerate(self.predictors):
            out[f"sg{l + 1}_A"] = p.weights[0]
            out[f"sg{l + 1}_b"] = p.biases[0]
        return out


def sg_updates(learner: SyntheticGradientLearner, x: np.ndarray, y: np.ndarray) -> tuple[Grads, list[np.ndarray],
                                                                                         list[np.ndarray]]:
    """Updates, synthetic gradients and predictor targets of one batch (for tests and analysis)."""
    p = learner._pass(x, y)
    return p.grads, p.synthetic, p.targets
