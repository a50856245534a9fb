r"""Equilibrium propagation: free and nudged phases of an energy-based network.

The layers of the shared network become the state :math:`s = (s_1, \ldots, s_L)` of a
network with symmetric connections (the input :math:`s_0 = x` is clamped). Per sample its
energy is

.. math::

    E(s) = \sum_{l=1}^{L} G_l(s_l) - \sum_{l=1}^{L} \bigl(s_l \cdot s_{l-1} W_l^{\top} + b_l \cdot s_l\bigr),
    \qquad G_l' = \sigma^{-1}\ (\text{hidden}), \quad G_L(s) = \tfrac12\lVert s\rVert^2,

with :math:`\sigma` the network's activation (tanh or sigmoid): a stationary point is a
state in which every unit equals :math:`\sigma` of its total input from *both* neighbouring
layers, :math:`s_l = \sigma(s_{l-1}W_l^{\top} + b_l + s_{l+1}W_{l+1})`, the output is linear.
The total energy adds the loss of the output state weighted by the nudging strength
:math:`\beta`, :math:`F = E + \beta\,\ell(s_L, y)`.

**Free phase**: from the feedforward pass, relax to a fixed point :math:`s^0` of :math:`E`
(block coordinate descent: each layer in turn is set to the exact minimiser of :math:`F`
given its neighbours, which lowers :math:`F` at every step; at most ``free_iterations``
sweeps, until no unit moves more than ``tol``). **Nudged phase**: from :math:`s^0`, relax
:math:`F` with :math:`\beta > 0` to :math:`s^\beta`. **Update** (batch mean; Scellier &
Bengio's contrastive rule, local to each synapse):

.. math::

    dW_l = \frac{1}{\beta B}\Bigl(\frac{\partial E}{\partial W_l}(s^\beta) - \frac{\partial E}{\partial W_l}(s^0)\Bigr)
         = -\frac{1}{\beta B}\bigl(s_l^{\beta\top} s_{l-1}^\beta - s_l^{0\top} s_{l-1}^0\bigr),

which tends to the gradient of the loss at the free fixed point,
:math:`\frac{d}{dW_l}\,\ell(s^0_L(W), y)`, as :math:`\beta \to 0`, with a bias of order
:math:`\beta`. **Symmetric nudging** (``symmetric=True``, Laborieux et al. 2021) contrasts
:math:`s^{+\beta}` with :math:`s^{-\beta}` instead, with the factor :math:`1/(2\beta B)`; the bias
is then of order :math:`\beta^2`.

The exact gradient it approximates (:func:`ep_true_gradients`, used for the update angle)
comes from implicit differentiation at :math:`s^0`: with the Hessian
:math:`H = \partial^2E/\partial s^2` and :math:`H\lambda = \partial\ell/\partial s`,
:math:`d\ell/dW_l = \lambda_l^{\top}s_{l-1} + s_l^{\top}\lambda_{l-1}` (:math:`\lambda_0 = 0`), and
:math:`H\lambda = c` is solved by the same block iteration as the relaxation,
:math:`\lambda_l = \sigma'(s_l) \odot (c_l + \lambda_{l-1}W_l^{\top} + \lambda_{l+1}W_{l+1})`.

**Readout** (``readout=True``, the default; Laborieux et al. 2021): the output layer stays
outside the energy, :math:`z = s_{L-1}W_L^{\top} + b_L`, and only the hidden layers form the
state; the loss term :math:`\beta\,\ell(z(s_{L-1}), y)` nudges the top hidden layer, and the
readout's update is the same contrast of :math:`\partial F/\partial W_L = \beta\,\partial\ell/\partial W_L`
(the delta rule at the nudged states). With a linear output inside the energy, the loop
:math:`s_{L-1} \to s_L \to s_{L-1}` is a positive feedback :math:`W_L^{\top}W_L` that grows as the
logits grow under cross-entropy, and on digits the network falls into saturated fixed points
within an epoch (measured); with one hidden layer and a readout the free phase is the
feedforward pass and only the nudged phase relaxes.

Prediction is the output of the free fixed point.

Scellier & Bengio (2017), *Equilibrium propagation: bridging the gap between energy-based
models and backpropagation*, Front. Comput. Neurosci. 11, 24; Laborieux, Ernoult,
Scellier, Bengio, Grollier & Querlioz (2021), *Scaling equilibrium propagation to deep
convnets by drastically reducing its gradient estimator bias*, Front. Neurosci. 15, 633674.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import MLP, Grads, one_hot, softmax

__all__ = ["EquilibriumPropagation", "EquilibriumLearner", "ep_relax", "ep_updates", "ep_true_gradients",
           "ep_energy_grads", "ep_output"]


def _check(net: MLP) -> None:
    if net.activation not in ("tanh", "sigmoid"):
        raise ConfigError("EquilibriumPropagation.activation", net.activation,
                          "an invertible activation: tanh or sigmoid")


def _output_state(net: MLP, a: np.ndarray, y: np.ndarray, beta: float, s: np.ndarray) -> np.ndarray:
    r"""Minimiser of :math:`\tfrac12\lVert s\rVert^2 - a\cdot s + \beta\,\ell(s, y)` over the output state."""
    if beta == 0:
        return a
    if net.loss == "mse":
        return (a + beta * net.targets(y, a.shape[1])) / (1 + beta)
    t = one_hot(y, a.shape[1], a.dtype)
    for _ in range(30):  # contraction by |beta|/2 per step (the softmax Jacobian is at most 1/2)
        new = a - beta * (softmax(s) - t)
        if np.max(np.abs(new - s)) < 1e-14:
            return new
        s = new
    return s


def ep_relax(net: MLP, x: np.ndarray, y: np.ndarray | None, beta: float, s: list[np.ndarray] | None = None,
             iterations: int = 100, tol: float = 1e-8, readout: bool = False) -> tuple[list[np.ndarray], int]:
    """Relax to a fixed point of :math:`F = E + \\beta\\ell`; return ``(s, sweeps)`` with ``s[0] = x``.

    ``s`` is the starting state (default: the feedforward pass); it is not modified. With
    ``readout`` the state holds the hidden layers only (``s[1..L-1]``).
    """
    _check(net)
    W, b = net.weights, net.biases
    L = len(W)
    top = L - 1 if readout else L
    if s is None:
        fp = net.forward(x)
        s = list(fp.h) + ([] if readout else [fp.z])
    s = [x] + [v.copy() for v in s[1:top + 1]]
    sweeps = 0
    for sweeps in range(1, iterations + 1):
        moved = 0.0
        for l in range(1, top + 1):
            a = s[l - 1] @ W[l - 1].T + b[l - 1]
            if l < top:
                a += s[l + 1] @ W[l]
                new = net._f(a)
            elif readout:
                if beta:
                    z = s[l] @ W[L - 1].T + b[L - 1]
                    a -= beta * len(x) * (net.output_error(z, y) @ W[L - 1])
                new = net._f(a)
            else:
                new = _output_state(net, a, y, beta, s[l])
            moved = max(moved, float(np.max(np.abs(new - s[l]))))
            s[l] = new
        if moved < tol:
            break
    return s, sweeps


def ep_output(net: MLP, s: list[np.ndarray], readout: bool) -> np.ndarray:
    """The network's output in state ``s``: the readout of the top hidden layer, or the output state."""
    return s[-1] @ net.weights[-1].T + net.biases[-1] if readout else s[-1]


def ep_energy_grads(net: MLP, s: list[np.ndarray], y: np.ndarray | None = None, beta: float = 0.0,
                    readout: bool = False) -> Grads:
    r"""Batch mean of :math:`\partial F/\partial\theta` at state ``s``: :math:`-\frac1B s_l^{\top}s_{l-1}`,
    :math:`-\frac1B\sum_b s_l` for the connections in the energy, and for the readout (which is
    only in the loss term) :math:`\beta\,\partial\bar\ell/\partial W_L = \beta\, e^{\top} s_{L-1}`."""
    B = len(s[0])
    dW = [-(s[l].T @ s[l - 1]) / B for l in range(1, len(s))]
    db = [-s[l].sum(axis=0) / B for l in range(1, len(s))]
    if readout:
        if beta:
            e = net.output_error(ep_output(net, s, True), y)
            dW.append(beta * (e.T @ s[-1]))
            db.append(beta * e.sum(axis=0))
        else:
            dW.append(np.zeros_like(net.weights[-1]))
            db.append(np.zeros_like(net.biases[-1]))
    return Grads(dW, db)


def ep_updates(net: MLP, x: np.ndarray, y: np.ndarray, beta: float, symmetric: bool = False,
               free_iterations: int = 100, nudged_iterations: int = 100, tol: float = 1e-8,
               free: list[np.ndarray] | None = None, readout: bool = False) -> Grads:
    """Equilibrium propagation's updates of one batch in gradient units (see the module docstring)."""
    if free is None:
        free, _ = ep_relax(net, x, y, 0.0, None, free_iterations, tol, readout)
    plus, _ = ep_relax(net, x, y, beta, free, nudged_iterations, tol, readout)
    hi = ep_energy_grads(net, plus, y, beta, readout)
    if symmetric:
        minus, _ = ep_relax(net, x, y, -beta, free, nudged_iterations, tol, readout)
        lo, scale = ep_energy_grads(net, minus, y, -beta, readout), 1.0 / (2 * beta)
    else:
        lo, scale = ep_energy_grads(net, free, y, 0.0, readout), 1.0 / beta
    return Grads([scale * (p - q) for p, q in zip(hi.dW, lo.dW)], [scale * (p - q) for p, q in zip(hi.db, lo.db)])


def ep_true_gradients(net: MLP, x: np.ndarray, y: np.ndarray, free: list[np.ndarray] | None = None,
                      iterations: int = 500, tol: float = 1e-12, readout: bool = False) -> Grads:
    r"""Exact gradient of the batch-mean loss of the free fixed point's output, by implicit differentiation."""
    if free is None:
        free, _ = ep_relax(net, x, y, 0.0, None, iterations, tol, readout)
    s, W = free, net.weights
    L = len(W)
    top = len(s) - 1
    e = net.output_error(ep_output(net, s, readout), y)   # (1/B) dl/dz
    c = e @ W[-1] if readout else e                        # (1/B) dl/ds_top
    dsig = [None] + [net.derivative(s[l]) for l in range(1, L)]
    lam = [np.zeros_like(x)] + [np.zeros_like(s[l]) for l in range(1, top + 1)]
    for _ in range(iterations):
        moved = 0.0
        for l in range(1, top + 1):
            r = lam[l - 1] @ W[l - 1].T if l > 1 else 0.0
            if l < top:
                new = dsig[l] * (r + lam[l + 1] @ W[l])
            elif readout:
                new = dsig[l] * (c + r)
            else:
                new = c + r
            moved = max(moved, float(np.max(np.abs(new - lam[l]))))
            lam[l] = new
        if moved < tol * max(1.0, float(np.max(np.abs(c)))):
            break
    dW = [lam[l].T @ s[l - 1] + (s[l].T @ lam[l - 1] if l > 1 else 0.0) for l in range(1, top + 1)]
    db = [lam[l].sum(axis=0) for l in range(1, top + 1)]
    if readout:
        dW.append(e.T @ s[-1])
        db.append(e.sum(axis=0))
    return Grads(dW, db)


@register_credit_rule("ep")
@dataclass(frozen=True)
class EquilibriumPropagation(CreditRule):
    r"""Equilibrium propagation (Scellier & Bengio 2017): contrast of a free and a weakly nudged fixed point.

    Parameters
    ----------
    beta : float
        Nudging strength :math:`\beta`.
    symmetric : bool
        Nudge by :math:`\pm\beta` and contrast the two (Laborieux et al. 2021), instead of
        :math:`+\beta` against the free phase.
    readout : bool
        Output layer as a readout outside the energy (Laborieux et al. 2021), instead of
        output units in the energy (Scellier & Bengio 2017).
    free_iterations, nudged_iterations : int
        Most relaxation sweeps of the free and of each nudged phase.
    tol : float
        A phase ends when no unit moves more than this in a sweep.
    """

    beta: float = 0.1
    symmetric: bool = True
    readout: bool = True
    free_iterations: int = 40
    nudged_iterations: int = 20
    tol: float = 1e-5
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("EquilibriumPropagation", "beta", self.beta)
        _positive("EquilibriumPropagation", "tol", self.tol)
        for k in ("symmetric", "readout"):
            if not isinstance(getattr(self, k), bool):
                raise ConfigError(f"EquilibriumPropagation.{k}", getattr(self, k), "true or false")
        for k in ("free_iterations", "nudged_iterations"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"EquilibriumPropagation.{k}", v, "an integer >= 1")
        if self.beta >= 2:
            raise ConfigError("EquilibriumPropagation.beta", self.beta, "a nudging strength < 2 (weak nudging)")

    def learner(self) -> "EquilibriumLearner":
        return EquilibriumLearner(self)


class EquilibriumLearner(NumpyLearner):
    """Learner of :class:`EquilibriumPropagation`; the shared network's weights are the symmetric connections."""

    rule: EquilibriumPropagation

    def setup(self, rng: np.random.Generator) -> None:
        _check(self.net)

    def _free(self, x: np.ndarray) -> list[np.ndarray]:
        r = self.rule
        return ep_relax(self.net, x, None, 0.0, None, r.free_iterations, r.tol, r.readout)[0]

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        r = self.rule
        return ep_updates(self.net, x, y, r.beta, r.symmetric, r.free_iterations, r.nudged_iterations, r.tol,
                          free=self._free(x), readout=r.readout)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ep_output(self.net, self._free(x), self.rule.readout)

    def bp_reference_grads(self, x: np.ndarray, y: np.ndarray) -> Grads:
        """The exact gradient of the loss at the free fixed point (the recurrent network's backprop)."""
        return ep_true_gradients(self.net, x, y, self._free(x), iterations=self.rule.free_iterations * 5,
                                 tol=self.rule.tol * 1e-3, readout=self.rule.readout)
