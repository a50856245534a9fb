r"""Predictive coding: inference by iterative error minimisation, then local weight updates.

Every layer :math:`l = 1 \ldots L` has value nodes :math:`u_l` and error nodes
:math:`\varepsilon_l = u_l - \mu_l`, where the layer below predicts

.. math::

    \mu_l = \phi(u_{l-1})\, W_l^{\top} + b_l, \qquad \phi(u_0) = x, \quad
    \phi(u_l) = f(u_l) \ (0 < l < L),

and the network minimises the energy

.. math::

    F = \sum_{l=1}^{L-1} \tfrac12 \lVert\varepsilon_l\rVert^2 + \beta\, \ell(\mu_L, y),

the hidden layers' prediction errors plus the loss of the output prediction weighted by the
output precision :math:`\beta`; the output error node is :math:`\varepsilon_L = -\beta\,
\partial\ell/\partial\mu_L` (per sample). For the squared error this is the output clamped to
the label with precision :math:`\beta`, :math:`\varepsilon_L = \beta\,(y - \mu_L)`: Whittington
& Bogacz's network with unit variances in the hidden layers and variance :math:`1/\beta`
at the output. The input is clamped, :math:`u_0 = x`; the value nodes start at the
feedforward pass, :math:`u_l = a_l`. **Inference** runs ``iterations`` Euler steps of size
:math:`\gamma` of the gradient flow :math:`-\partial F/\partial u_l` on the hidden value nodes,

.. math::

    u_l \leftarrow u_l + \gamma\,\bigl(-\varepsilon_l + f'(u_l) \odot (\varepsilon_{l+1} W_{l+1})\bigr),

and then every weight learns from the two ends of its synapse only, by descent on
:math:`F/\beta`,

.. math::

    \Delta W_l \propto \varepsilon_l^{\top}\phi(u_{l-1}), \qquad
    \text{(gradient units: } \; dW_l = -\tfrac{1}{\beta B}\,\varepsilon_l^{\top}\phi(u_{l-1}),\;
    db_l = -\tfrac{1}{\beta B}\textstyle\sum_b \varepsilon_l \text{)}.

At the equilibrium :math:`\varepsilon_l = f'(u_l) \odot (\varepsilon_{l+1} W_{l+1})`: the error
nodes obey backpropagation's recursion, evaluated at the inferred rather than the
feedforward activity. The update therefore equals the BP gradient exactly

* under the **fixed-prediction assumption** (``fixed_prediction=True``; Millidge, Tschantz
  & Buckley 2022): predictions :math:`\mu_l`, the derivatives and the presynaptic
  activity are held at their feedforward values during inference, for any :math:`\beta`; or
* in the limit of a **weak output error**, :math:`\beta \to 0` (Whittington & Bogacz 2017:
  output variance large against the hidden layers'), where the inferred activity stays at
  the feedforward pass; the bias is :math:`O(\beta)`. With :math:`\beta` of order one the
  hidden nodes move far enough to change the output prediction, and the update departs
  from the gradient.

In both cases inference must have converged (``iterations`` large enough; with
:math:`\gamma = 1` and the fixed-prediction assumption it is exact after as many
iterations as there are hidden layers).

Whittington & Bogacz (2017), *An approximation of the error backpropagation algorithm in
a predictive coding network with local Hebbian synaptic plasticity*, Neural Comput. 29,
1229–1262; Millidge, Tschantz & Buckley (2022), *Predictive coding approximates backprop
along arbitrary computation graphs*, Neural Comput. 34, 1329–1368.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import MLP, Grads

__all__ = ["PredictiveCoding", "PredictiveCodingLearner", "pc_inference", "pc_updates"]


def pc_inference(net: MLP, x: np.ndarray, y: np.ndarray, beta: float, iterations: int, gamma: float,
                 fixed_prediction: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Run inference on one batch; return the value nodes ``u`` and the error nodes ``eps``.

    ``u[0] = x``, ``u[l]`` the hidden value nodes (``l = 1..L-1``); ``eps[l]`` is
    :math:`\varepsilon_l` of layer ``l = 1..L`` at the end of inference (``eps[0]`` is ``None``).
    """
    fp = net.forward(x)
    L = len(net.weights)
    B = len(x)
    a = [None]  # pre-activations of the feedforward pass
    for l in range(1, L):
        a.append(fp.h[l - 1] @ net.weights[l - 1].T + net.biases[l - 1])
    u = [x] + [ai.copy() for ai in a[1:]]
    phi = [x] + [fp.h[l] for l in range(1, L)]          # phi(u_l), feedforward values to start
    mu = [None] + [a[l] for l in range(1, L)] + [fp.z]  # predictions
    dphi = [None] + [net.derivative(fp.h[l]) for l in range(1, L)]
    eps_out = -beta * B * net.output_error(fp.z, y)   # output error node, -beta dl/dmu_L per sample
    eps = [None] + [u[l] - mu[l] for l in range(1, L)] + [eps_out]
    for _ in range(iterations):
        # simultaneous (Jacobi) Euler step of every hidden value node
        du = [None] * L
        for l in range(1, L):
            du[l] = -eps[l] + dphi[l] * (eps[l + 1] @ net.weights[l])
        for l in range(1, L):
            u[l] = u[l] + gamma * du[l]
        if not fixed_prediction:
            for l in range(1, L):
                phi[l] = net._f(u[l].copy())
                dphi[l] = net.derivative(phi[l])
            for l in range(2, L + 1):
                mu[l] = phi[l - 1] @ net.weights[l - 1].T + net.biases[l - 1]
            eps_out = -beta * B * net.output_error(mu[L], y)
        eps = [None] + [u[l] - mu[l] for l in range(1, L)] + [eps_out]
    return u, eps


def pc_updates(net: MLP, x: np.ndarray, y: np.ndarray, beta: float, iterations: int, gamma: float,
               fixed_prediction: bool = False) -> Grads:
    """Predictive coding's weight and bias updates of one batch, in gradient units (see the module docstring)."""
    u, eps = pc_inference(net, x, y, beta, iterations, gamma, fixed_prediction)
    L = len(net.weights)
    if fixed_prediction:
        pre = net.forward(x).h
    else:
        pre = [x] + [net._f(u[l].copy()) for l in range(1, L)]
    c = -1.0 / (beta * len(x))
    dW = [c * (eps[l + 1].T @ pre[l]) for l in range(L)]
    db = [c * eps[l + 1].sum(axis=0) for l in range(L)]
    return Grads(dW, db)


@register_credit_rule("pc")
@dataclass(frozen=True)
class PredictiveCoding(CreditRule):
    r"""Predictive coding (Whittington & Bogacz 2017): iterative inference of errors, then local Hebbian updates.

    Parameters
    ----------
    beta : float
        Output precision :math:`\beta` (weight of the loss in the energy); small: the
        weak-output-error regime.
    iterations : int
        Inference steps per mini-batch.
    gamma : float
        Inference step size (Euler step of the gradient flow on the value nodes), <= 1. The
        step is stable while :math:`\gamma < 2/\lambda_{\max}` of :math:`\partial^2F/\partial u^2`
        (about :math:`1 + \lVert f' W_{l+1}\rVert^2`), which grows with the weights.
    fixed_prediction : bool
        Hold predictions, derivatives and presynaptic activity at the feedforward pass
        during inference (the fixed-prediction assumption).
    """

    beta: float = 0.1
    iterations: int = 40
    gamma: float = 0.2
    fixed_prediction: bool = False
    default_lr: ClassVar[float] = 0.1

    def __post_init__(self) -> None:
        _positive("PredictiveCoding", "beta", self.beta)
        _positive("PredictiveCoding", "gamma", self.gamma)
        if self.gamma > 1:
            raise ConfigError("PredictiveCoding.gamma", self.gamma, "a step size in (0, 1]")
        if not isinstance(self.iterations, int) or isinstance(self.iterations, bool) or self.iterations < 0:
            raise ConfigError("PredictiveCoding.iterations", self.iterations, "an integer >= 0")
        if not isinstance(self.fixed_prediction, bool):
            raise ConfigError("PredictiveCoding.fixed_prediction", self.fixed_prediction, "true or false")

    def learner(self) -> "PredictiveCodingLearner":
        return PredictiveCodingLearner(self)


class PredictiveCodingLearner(NumpyLearner):
    """Learner of :class:`PredictiveCoding` on the shared network (prediction is the feedforward pass)."""

    rule: PredictiveCoding

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        r = self.rule
        return pc_updates(self.net, x, y, r.beta, r.iterations, r.gamma, r.fixed_prediction)
