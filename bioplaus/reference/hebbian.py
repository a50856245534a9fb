r"""Unsupervised Hebbian feature learning with a trained linear readout.

The hidden layer learns without any error signal, by the competing-hidden-units
rule of Krotov & Hopfield (2019). For hidden unit :math:`\mu` with weights
:math:`W_\mu` and an input :math:`v`, the input current uses the
:math:`p`-norm inner product

.. math::

    I_\mu = \langle W_\mu, v\rangle_\mu = \sum_i \mathrm{sign}(W_{\mu i})\,|W_{\mu i}|^{p-1} v_i ,

the units are ranked by :math:`I_\mu`, and the activity function is
:math:`g = 1` for the strongest unit, :math:`g = -\Delta` for the :math:`k`-th
strongest (anti-Hebbian) and 0 otherwise. Summed over a mini-batch,

.. math::

    \Delta W_{\mu i} = \sum_b g_{\mu b}\bigl(R^p v_{b i} - I_{\mu b} W_{\mu i}\bigr)

(with :math:`R = 1`), applied as :math:`W \leftarrow W + \varepsilon_t\, \Delta W / \max|\Delta W|`
with :math:`\varepsilon_t` decaying linearly to 0 over training. The decay term drives
every winning unit to :math:`\lVert W_\mu\rVert_p = R`; starting from larger norms
(:math:`W \sim \mathcal N(0, 1)`) lets every unit take its turn as the winner.

The features seen by the readout are :math:`h_\mu = \max(W_\mu\cdot v, 0)^n`,
standardised with the training-set mean and standard deviation (recomputed each
epoch); a linear softmax (or, for regression, linear MSE) readout on them is
trained by mini-batch SGD with momentum, concurrently with the features. Several
hidden layers are trained greedily, each on the features of the one below.

Krotov & Hopfield (2019), *Unsupervised learning by competing hidden units*,
PNAS 116 (16), 7723–7731.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import Alignment, CreditRule, TrainSettings, _positive, register_credit_rule
from .mlp import MLP, SGD

__all__ = ["Hebbian", "HebbianLearner", "krotov_hopfield_dw", "krotov_hopfield_rows"]


def krotov_hopfield_dw(W: np.ndarray, v: np.ndarray, p: float = 3.0, k: int = 7, delta: float = 0.4,
                       R: float = 1.0) -> np.ndarray:
    r"""Unnormalised Krotov–Hopfield update :math:`\Delta W` for a batch ``v`` of shape ``(B, n_in)``.

    :math:`\Delta W = g^{\top} R^p v - \mathrm{diag}(\sum_b g_{b\mu} I_{b\mu})\, W`, with
    :math:`g` as in the module docstring (1 for the top-ranked unit, :math:`-\Delta` for the
    ``k``-th ranked one).

    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    >>> krotov_hopfield_dw(W, np.array([[2.0, 0.0]]), p=2, k=2, delta=0.5).round(3)
    array([[ 0.  ,  0.  ],
           [ 0.  ,  0.  ],
           [-0.75,  0.25]])
    """
    rows, d = krotov_hopfield_rows(W, v, p, k, delta, R)
    out = np.zeros_like(W)
    out[rows] = d
    return out


def krotov_hopfield_rows(W: np.ndarray, v: np.ndarray, p: float = 3.0, k: int = 7, delta: float = 0.4,
                         R: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`krotov_hopfield_dw` restricted to its non-zero rows: ``(rows, dW[rows])``.

    Only the units ranked first or ``k``-th for some sample change, so training
    computes just those rows.
    """
    H, B = W.shape[0], v.shape[0]
    if p == 2:
        Wp = W
    elif p == 3:
        Wp = W * np.abs(W)
    else:
        Wp = np.sign(W) * np.abs(W) ** (p - 1)
    I = v @ Wp.T  # (B, H) input currents
    first = np.argmax(I, axis=1)
    samples = np.arange(B)
    if 1 < k <= H:
        kth = np.argpartition(-I, k - 1, axis=1)[:, k - 1]
        units = np.concatenate([first, kth])
        gvals = np.concatenate([np.ones(B, W.dtype), np.full(B, -delta, W.dtype)])
        samples = np.concatenate([samples, samples])
    else:
        units, gvals = first, np.ones(B, W.dtype)
    rows, col = np.unique(units, return_inverse=True)
    g = np.zeros((B, len(rows)), dtype=W.dtype)
    np.add.at(g, (samples, col), gvals)
    xx = np.einsum("bh,bh->h", g, I[:, rows])
    return rows, (R ** p) * (g.T @ v) - xx[:, None] * W[rows]


@register_credit_rule("hebbian")
@dataclass(frozen=True)
class Hebbian(CreditRule):
    r"""Krotov–Hopfield competing hidden units with a trained linear readout.

    Parameters
    ----------
    p : float
        Exponent of the :math:`p`-norm (the paper uses 3 on MNIST).
    k : int
        Rank of the unit that receives the anti-Hebbian update.
    delta : float
        Strength :math:`\Delta` of the anti-Hebbian update (>= 0).
    n : float
        Power of the rectified features :math:`\max(W v, 0)^n`.
    eps0 : float
        Initial Hebbian learning rate :math:`\varepsilon_0` (decays linearly to 0);
        0 keeps the random initial features (a control).
    hebb_batch : int
        Mini-batch size of the Hebbian updates.
    hebb_passes : int
        Hebbian passes over the training set per epoch.

    The learning rate of the harness (``lr``) is the readout's.
    """

    p: float = 3.0
    k: int = 7
    delta: float = 0.4
    n: float = 2.0
    eps0: float = 0.1
    hebb_batch: int = 20
    hebb_passes: int = 2
    default_lr: ClassVar[float] = 0.02

    def __post_init__(self) -> None:
        if not isinstance(self.p, (int, float)) or not 2 <= self.p <= 10:
            raise ConfigError("Hebbian.p", self.p, "a number in [2, 10]")
        for name in ("k", "hebb_batch", "hebb_passes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"Hebbian.{name}", v, "an integer >= 1")
        if not isinstance(self.delta, (int, float)) or not 0 <= self.delta <= 1:
            raise ConfigError("Hebbian.delta", self.delta, "a number in [0, 1]")
        _positive("Hebbian", "n", self.n)
        if not isinstance(self.eps0, (int, float)) or not 0 <= self.eps0 < 1:
            raise ConfigError("Hebbian.eps0", self.eps0, "a number in [0, 1)")

    def learner(self) -> "HebbianLearner":
        return HebbianLearner(self)


class HebbianLearner:
    """Learner of :class:`Hebbian` (implements :class:`~bioplaus.reference.credit.Learner`).

    The hidden weights start from the shared initial forward weights rescaled to unit
    variance (so that every row starts with a :math:`p`-norm above :math:`R`, see the
    module docstring); the readout starts from the shared output layer.
    """

    def __init__(self, rule: Hebbian):
        self.rule = rule

    def init(self, net: MLP, rng: np.random.Generator, settings: TrainSettings) -> None:
        sizes = net.sizes
        self.settings = settings
        self.hidden = [w / w.std() for w in net.weights[:-1]]
        self.mu = [np.zeros(n, net.dtype) for n in sizes[1:-1]]
        self.sd = [np.ones(n, net.dtype) for n in sizes[1:-1]]
        self.readout = MLP([net.weights[-1].copy()], [net.biases[-1].copy()], net.activation, settings.loss)
        self.opt = SGD(self.readout, settings.lr, settings.momentum, settings.weight_decay)
        self.epoch = 0

    # -- features
    def _layer(self, l: int, x: np.ndarray) -> np.ndarray:
        a = x @ self.hidden[l].T
        np.maximum(a, 0, out=a)
        n = self.rule.n
        if n == 1:
            return a
        if n == 2:
            return np.square(a, out=a)
        return np.power(a, n, out=a)

    def features(self, x: np.ndarray, upto: int | None = None) -> np.ndarray:
        """Standardised features of the last hidden layer (or of layer ``upto``)."""
        upto = len(self.hidden) if upto is None else upto
        h = x
        for l in range(upto):
            h = (self._layer(l, h) - self.mu[l]) / self.sd[l]
        return h

    def _update_stats(self, l: int, h_in: np.ndarray) -> None:
        f = self._layer(l, h_in)
        self.mu[l] = f.mean(axis=0)
        sd = f.std(axis=0)
        self.sd[l] = np.where(sd > 1e-12 * max(float(sd.max()), 1e-300), sd, 1.0)

    # -- protocol
    def train_epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        r, s = self.rule, self.settings
        total = s.epochs * r.hebb_passes
        h = x
        for l, W in enumerate(self.hidden):
            for j in range(r.hebb_passes):
                eps = r.eps0 * (1 - (self.epoch * r.hebb_passes + j) / total)
                if eps <= 0:
                    break
                order = rng.permutation(len(h))
                for start in range(0, len(h), r.hebb_batch):
                    rows, ds = krotov_hopfield_rows(W, h[order[start:start + r.hebb_batch]], r.p, r.k, r.delta)
                    nc = np.abs(ds).max()
                    if nc > 0:
                        W[rows] += (eps / nc) * ds
            self._update_stats(l, h)
            h = (self._layer(l, h) - self.mu[l]) / self.sd[l]
        order = rng.permutation(len(h))
        for start in range(0, len(h), s.batch_size):
            idx = order[start:start + s.batch_size]
            self.opt.step(self.readout.gradients(h[idx], y[idx])[1])
        self.epoch += 1

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.readout.predict(self.features(x))

    def weights(self) -> dict[str, np.ndarray]:
        out = {f"W{l + 1}": w for l, w in enumerate(self.hidden)}
        out.update({f"feature_mean{l + 1}": m for l, m in enumerate(self.mu)})
        out.update({f"feature_std{l + 1}": m for l, m in enumerate(self.sd)})
        L = len(self.hidden) + 1
        out[f"W{L}"] = self.readout.weights[0]
        out[f"b{L}"] = self.readout.biases[0]
        return out

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        """Undefined: the hidden layers receive no error signal, and there is no feedback matrix."""
        return Alignment.undefined(len(self.hidden))
