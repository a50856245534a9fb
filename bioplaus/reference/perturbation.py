r"""Node and weight perturbation: gradients estimated from a scalar loss difference (REINFORCE).

**Weight perturbation** (``wp``) adds Gaussian noise :math:`\xi \sim \mathcal N(0, \sigma^2 I)`
to every weight and bias at once and correlates the change of the batch loss with it:

.. math::

    \hat g = \frac{\mathcal L(\theta + \xi) - \mathcal L(\theta)}{\sigma^2}\, \xi .

**Node perturbation** (``np``) adds noise :math:`\xi_{l,b} \sim \mathcal N(0, \sigma^2 I)` to the
pre-activations :math:`a_l` of every layer (hidden and output) of every sample and uses
each sample's loss change :math:`\Delta\mathcal L_b = \mathcal L_b(\text{noisy}) - \mathcal L_b`:

.. math::

    \hat\delta_{l,b} = \frac{\Delta\mathcal L_b}{B\,\sigma^2}\,\xi_{l,b}, \qquad
    \Delta W_l = \hat\delta_l^{\top} \tilde h_{l-1}, \qquad \Delta b_l = \textstyle\sum_b \hat\delta_{l,b},

with :math:`\tilde h_{l-1}` the (noisy) presynaptic activity the synapse sees.

Expanding the loss to second order, :math:`\Delta\mathcal L = g\cdot\xi + \tfrac12 \xi^{\top} H \xi + O(\sigma^3)`;
the odd moments of :math:`\xi` vanish, so :math:`\mathrm E[\hat g] = g + O(\sigma^2)`: both
estimators are unbiased in the limit of small :math:`\sigma` (the tests average
:func:`estimate_mean` over many samples). Their variance grows with the number :math:`n` of
perturbed quantities: for a loss linear in the perturbation,
:math:`\mathrm E\lVert \hat g - g\rVert^2 = (n + 1)\lVert g\rVert^2`, with :math:`n` the
number of weights for weight perturbation and (per sample) the number of units for node
perturbation (:func:`estimator_deviation` measures it).

``samples`` > 1 averages that many independent perturbations per mini-batch.

Williams (1992), *Simple statistical gradient-following algorithms for connectionist
reinforcement learning*, Mach. Learn. 8, 229–256; Jabri & Flower (1992), *Weight
perturbation*, IEEE TNN 3, 154–157; Werfel, Xie & Seung (2005), *Learning curves for
stochastic gradient descent in linear feedforward networks*, Neural Comput. 17, 2699–2718;
Fiete & Seung (2006), *Gradient learning in spiking neural networks by dynamic
perturbation of conductances*, PRL 97, 048104.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence

import numpy as np

from ..errors import ConfigError
from .credit import Alignment, CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import MLP, ForwardPass, Grads, grads_from_errors, one_hot

__all__ = ["NodePerturbation", "WeightPerturbation", "PerturbationLearner", "sample_losses",
           "node_perturbation_grads", "weight_perturbation_grads", "estimate_mean", "estimator_deviation",
           "flatten"]


def sample_losses(z: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Loss of every sample (cross-entropy with integer labels, or half squared error)."""
    if loss == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
        return lse - z[np.arange(len(z)), y]
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        y = one_hot(y, z.shape[1], z.dtype)
    d = z - y.reshape(z.shape)
    return 0.5 * np.sum(d * d, axis=1)


def flatten(g: Grads, layers: Sequence[int] | None = None) -> np.ndarray:
    """All weights and biases of ``g`` (or of ``layers``) as one vector."""
    idx = range(len(g.dW)) if layers is None else layers
    return np.concatenate([np.concatenate([g.dW[l].ravel(), g.db[l].ravel()]) for l in idx])


def _forward_noisy(net: MLP, x: np.ndarray, noise: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    h = [x]
    for l, (w, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        a = h[-1] @ w.T
        a += b
        a += noise[l]
        h.append(net._f(a))
    z = h[-1] @ net.weights[-1].T
    z += net.biases[-1]
    z += noise[-1]
    return h, z


def node_perturbation_grads(net: MLP, x: np.ndarray, y: np.ndarray, sigma: float, rng: np.random.Generator,
                            samples: int = 1, base: np.ndarray | None = None) -> Grads:
    """Node-perturbation estimate of the batch-mean loss gradient (mean of ``samples`` draws)."""
    if base is None:
        base = sample_losses(net.forward(x).z, y, net.loss)
    B = len(x)
    acc: Grads | None = None
    for _ in range(samples):
        noise = [sigma * rng.standard_normal((B, n)) for n in net.sizes[1:]]
        h, z = _forward_noisy(net, x, noise)
        dL = (sample_losses(z, y, net.loss) - base) / (B * sigma * sigma)
        g = grads_from_errors(ForwardPass(h, z), [dL[:, None] * xi for xi in noise])
        acc = g if acc is None else Grads([a + b for a, b in zip(acc.dW, g.dW)], [a + b for a, b in zip(acc.db, g.db)])
    assert acc is not None
    if samples > 1:
        acc = Grads([w / samples for w in acc.dW], [b / samples for b in acc.db])
    return acc


def weight_perturbation_grads(net: MLP, x: np.ndarray, y: np.ndarray, sigma: float, rng: np.random.Generator,
                              samples: int = 1, base: float | None = None) -> Grads:
    """Weight-perturbation estimate of the batch-mean loss gradient (mean of ``samples`` draws)."""
    if base is None:
        base = float(sample_losses(net.forward(x).z, y, net.loss).mean())
    dW = [np.zeros_like(w) for w in net.weights]
    db = [np.zeros_like(b) for b in net.biases]
    for _ in range(samples):
        xW = [sigma * rng.standard_normal(w.shape) for w in net.weights]
        xb = [sigma * rng.standard_normal(b.shape) for b in net.biases]
        noisy = MLP([w + e for w, e in zip(net.weights, xW)], [b + e for b, e in zip(net.biases, xb)],
                    net.activation, net.loss)
        c = (float(sample_losses(noisy.forward(x).z, y, net.loss).mean()) - base) / (sigma * sigma * samples)
        for l in range(len(dW)):
            dW[l] += c * xW[l]
            db[l] += c * xb[l]
    return Grads(dW, db)


@dataclass(frozen=True)
class _Perturbation(CreditRule):
    sigma: float = 1e-3
    samples: int = 1
    default_lr: ClassVar[float] = 0.01

    def __post_init__(self) -> None:
        _positive(type(self).__name__, "sigma", self.sigma)
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or self.samples < 1:
            raise ConfigError(f"{type(self).__name__}.samples", self.samples, "an integer >= 1")

    def learner(self) -> "PerturbationLearner":
        return PerturbationLearner(self)

    def estimate(self, net: MLP, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Grads:
        raise NotImplementedError


@register_credit_rule("np")
@dataclass(frozen=True)
class NodePerturbation(_Perturbation):
    r"""Node perturbation: noise on every unit's input, :math:`\hat\delta = \Delta\mathcal L_b\,\xi / (B\sigma^2)`.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise on the pre-activations.
    samples : int
        Independent perturbations averaged per mini-batch.
    """

    sigma: float = 1e-3
    default_lr: ClassVar[float] = 0.001

    def estimate(self, net: MLP, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Grads:
        return node_perturbation_grads(net, x, y, self.sigma, rng, self.samples)


@register_credit_rule("wp")
@dataclass(frozen=True)
class WeightPerturbation(_Perturbation):
    r"""Weight perturbation: noise on every weight, :math:`\hat g = \Delta\mathcal L\,\xi / \sigma^2`.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise on the weights and biases.
    samples : int
        Independent perturbations averaged per mini-batch.
    """

    sigma: float = 1e-3
    default_lr: ClassVar[float] = 1e-4

    def estimate(self, net: MLP, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Grads:
        return weight_perturbation_grads(net, x, y, self.sigma, rng, self.samples)


class PerturbationLearner(NumpyLearner):
    """Learner of node and weight perturbation; its noise comes from the rule's own generator.

    The update-angle metric draws its noise from a separate generator, so measuring
    does not change the training trajectory.
    """

    rule: _Perturbation

    def setup(self, rng: np.random.Generator) -> None:
        self.rng, self.probe_rng = rng.spawn(2)

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        return self.rule.estimate(self.net, x, y, self.rng)

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        train_rng, self.rng = self.rng, self.probe_rng
        try:
            return super().alignment(x, y)
        finally:
            self.rng = train_rng


# ---------------------------------------------------------------------- analysis
def estimate_mean(estimator: Callable[[np.random.Generator], Grads], n: int, rng: np.random.Generator) -> Grads:
    """Mean of ``n`` independent estimates ``estimator(rng)``."""
    acc = None
    for _ in range(n):
        g = estimator(rng)
        acc = g if acc is None else Grads([a + b for a, b in zip(acc.dW, g.dW)], [a + b for a, b in zip(acc.db, g.db)])
    assert acc is not None
    return Grads([w / n for w in acc.dW], [b / n for b in acc.db])


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else math.nan


def estimator_deviation(estimates: Sequence[Grads], true: Grads, layers: Sequence[int] | None = None) -> dict[str, float]:
    r"""How far estimates :math:`\hat g_k` of a gradient :math:`g` lie from it (over ``layers``, default all).

    Returns ``rel_mse`` :math:`= \overline{\lVert\hat g_k - g\rVert^2} / \lVert g\rVert^2` (the relative
    variance for an unbiased estimator, the relative squared bias for a deterministic one),
    ``rel_var`` :math:`= \overline{\lVert\hat g_k - \bar g\rVert^2} / \lVert g\rVert^2` (0 for one
    estimate), ``cos`` the mean cosine of single estimates with :math:`g`, and ``cos_mean``
    the cosine of their mean with :math:`g`.
    """
    g = flatten(true, layers)
    E = np.stack([flatten(e, layers) for e in estimates])
    n2 = float(g @ g)
    mean = E.mean(axis=0)
    return {
        "rel_mse": float(np.mean(np.sum((E - g) ** 2, axis=1)) / n2),
        "rel_var": float(np.mean(np.sum((E - mean) ** 2, axis=1)) / n2) if len(E) > 1 else 0.0,
        "cos": float(np.mean([_cos(e, g) for e in E])),
        "cos_mean": _cos(mean, g),
    }
