r"""A multilayer perceptron in numpy with exact backpropagation.

Notation (row-major batches, as the code computes them)::

    h_0 = x                                  (B, n_0)
    a_l = h_{l-1} W_l^T + b_l                W_l: (n_l, n_{l-1}),  l = 1 .. L
    h_l = f(a_l)                             hidden layers, l = 1 .. L-1
    z   = a_L                                network output (logits or values)

Losses, averaged over the batch of size :math:`B`:

* ``"cross_entropy"``: :math:`\mathcal{L} = -\frac1B\sum_b \log \mathrm{softmax}(z_b)_{y_b}`,
  output error :math:`e = \partial\mathcal{L}/\partial z = (\mathrm{softmax}(z) - \mathrm{onehot}(y)) / B`.
* ``"mse"``: :math:`\mathcal{L} = \frac1B\sum_b \tfrac12\lVert z_b - y_b\rVert^2`,
  :math:`e = (z - y) / B` (integer labels are one-hot encoded first).

Backpropagation (Rumelhart, Hinton & Williams 1986) routes the output error back
through the transposed forward weights,

.. math::

    \delta_L = e, \qquad
    \delta_l = \bigl(\delta_{l+1} B_l^{\top}\bigr) \odot f'(a_l), \quad B_l = W_{l+1}^{\top},

    \nabla_{W_l}\mathcal{L} = \delta_l^{\top} h_{l-1}, \qquad
    \nabla_{b_l}\mathcal{L} = \textstyle\sum_b \delta_{l,b}.

The credit-assignment rules of :mod:`bioplaus.reference.credit` reuse this code
path and differ only in the matrices :math:`B_l` (or, for direct feedback, in
sending :math:`e` to every hidden layer). Derivatives are computed from the
layer *outputs* (:math:`\tanh' = 1 - h^2`, :math:`\sigma' = h(1-h)`,
:math:`\mathrm{relu}' = [h > 0]`), so the forward pass keeps only :math:`h_l`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import ConfigError, DataError, did_you_mean

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MLP",
    "ForwardPass",
    "Grads",
    "SGD",
    "backprop_errors",
    "grads_from_errors",
    "one_hot",
    "softmax",
]

ACTIVATIONS = ("tanh", "relu", "sigmoid")
LOSSES = ("cross_entropy", "mse")


def _tanh(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0, out=a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-a)), in place and without overflow warnings for large |a|
    np.negative(a, out=a)
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1
    return np.reciprocal(a, out=a)


def _dtanh(h: np.ndarray) -> np.ndarray:
    return 1 - h * h


def _drelu(h: np.ndarray) -> np.ndarray:
    return (h > 0).astype(h.dtype)


def _dsigmoid(h: np.ndarray) -> np.ndarray:
    return h * (1 - h)


_FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": _tanh, "relu": _relu, "sigmoid": _sigmoid}
_DERIV: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": _dtanh, "relu": _drelu, "sigmoid": _dsigmoid}


def check_activation(name: str, key: str = "activation") -> str:
    if name not in ACTIVATIONS:
        raise ConfigError(key, name, "one of " + ", ".join(ACTIVATIONS) + did_you_mean(name, ACTIVATIONS))
    return name


def check_loss(name: str, key: str = "loss") -> str:
    if name not in LOSSES:
        raise ConfigError(key, name, "one of " + ", ".join(LOSSES) + did_you_mean(name, LOSSES))
    return name


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum for stability."""
    p = z - z.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


def one_hot(y: np.ndarray, n: int, dtype=np.float64) -> np.ndarray:
    """One-hot encode integer labels ``y`` into ``(len(y), n)``."""
    out = np.zeros((len(y), n), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


@dataclass
class ForwardPass:
    """Layer outputs of one forward pass: ``h[0]`` is the input, ``h[l]`` hidden layer ``l``; ``z`` the output."""

    h: list[np.ndarray]
    z: np.ndarray


@dataclass
class Grads:
    """Per-layer weight and bias updates (gradients, or a rule's stand-in for them).

    ``dW[l]`` has the shape of ``MLP.weights[l]``; index 0 is the first layer.
    """

    dW: list[np.ndarray]
    db: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.dW)

    def copy(self) -> "Grads":
        return Grads([w.copy() for w in self.dW], [b.copy() for b in self.db])


@dataclass
class MLP:
    """Fully connected network with ``len(weights) - 1`` hidden layers.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[l]`` is :math:`W_{l+1}` of shape ``(n_{l+1}, n_l)``.
    biases : list of ndarray
        ``biases[l]`` of shape ``(n_{l+1},)``.
    activation : {"tanh", "relu", "sigmoid"}
        Hidden-layer non-linearity; the output layer is linear.
    loss : {"cross_entropy", "mse"}
        Softmax cross-entropy on the logits, or half squared error.

    Examples
    --------
    >>> net = MLP.random((4, 8, 3), rng=np.random.default_rng(0))
    >>> net.sizes
    (4, 8, 3)
    >>> loss, grads = net.gradients(np.ones((5, 4)), np.array([0, 1, 2, 0, 1]))
    >>> [g.shape for g in grads.dW]
    [(8, 4), (3, 8)]
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str = "tanh"
    loss: str = "cross_entropy"
    _f: Callable = field(init=False, repr=False)
    _df: Callable = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_activation(self.activation, "MLP.activation")
        check_loss(self.loss, "MLP.loss")
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ConfigError("MLP.biases", len(self.biases), f"{len(self.weights)} bias vectors (one per layer)")
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ConfigError(f"MLP.weights[{l}]", w.shape, f"2-D with bias of shape ({w.shape[0]},), got {b.shape}")
            if l and w.shape[1] != self.weights[l - 1].shape[0]:
                raise ConfigError(f"MLP.weights[{l}]", w.shape,
                                  f"{self.weights[l - 1].shape[0]} input columns (layer {l} has that many units)")
        self._f = _FORWARD[self.activation]
        self._df = _DERIV[self.activation]

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(cls, sizes: Sequence[int], activation: str = "tanh", loss: str = "cross_entropy",
               rng: np.random.Generator | None = None, dtype=np.float64) -> "MLP":
        r"""Seeded initialisation from a numpy ``Generator``.

        Weights are drawn uniformly from :math:`[-s, s]` with :math:`s = g\sqrt{3 / n_{in}}`,
        i.e. standard deviation :math:`g / \sqrt{n_{in}}` (LeCun et al. 1998, *Efficient
        BackProp*), with gain :math:`g = 1` for tanh, :math:`\sqrt 2` for relu (He et al.
        2015) and 4 for sigmoid (whose slope at 0 is 1/4); biases are 0.
        """
        check_activation(activation, "MLP.activation")
        check_loss(loss, "MLP.loss")
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError("MLP.sizes", sizes, "at least two positive layer sizes")
        rng = np.random.default_rng() if rng is None else rng
        weights, biases = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            weights.append(init_uniform(rng, n_out, n_in, activation, dtype))
            biases.append(np.zeros(n_out, dtype=dtype))
        return cls(weights, biases, activation, loss)

    def copy(self) -> "MLP":
        return MLP([w.copy() for w in self.weights], [b.copy() for b in self.biases], self.activation, self.loss)

    def astype(self, dtype) -> "MLP":
        return MLP([w.astype(dtype) for w in self.weights], [b.astype(dtype) for b in self.biases],
                   self.activation, self.loss)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1],) + tuple(w.shape[0] for w in self.weights)

    @property
    def n_hidden(self) -> int:
        """Number of hidden layers."""
        return len(self.weights) - 1

    @property
    def dtype(self):
        return self.weights[0].dtype

    # ------------------------------------------------------------------ forward
    def forward(self, x: np.ndarray) -> ForwardPass:
        """Run the network on a batch ``x`` of shape ``(B, n_0)``; keep every layer's output."""
        h = [x]
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            a = h[-1] @ w.T
            a += b
            h.append(self._f(a))
        z = h[-1] @ self.weights[-1].T
        z += self.biases[-1]
        return ForwardPass(h, z)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Network output ``z`` (logits for cross-entropy, values for MSE)."""
        return self.forward(x).z

    def derivative(self, h: np.ndarray) -> np.ndarray:
        """:math:`f'(a)` expressed through the layer output :math:`h = f(a)`."""
        return self._df(h)

    # ------------------------------------------------------------------ loss
    def targets(self, y: np.ndarray, n_out: int) -> np.ndarray:
        """Integer labels become one-hot rows for the MSE loss; anything else passes through."""
        y = np.asarray(y)
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            return one_hot(y, n_out, self.dtype)
        return y.reshape(len(y), -1)

    def loss_value(self, z: np.ndarray, y: np.ndarray) -> float:
        """Mean loss of outputs ``z`` against targets ``y`` (labels for cross-entropy)."""
        return loss_value(z, y, self.loss)

    def output_error(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        r"""Output error :math:`e = \partial\mathcal{L}/\partial z` (already divided by the batch size)."""
        n = len(z)
        if self.loss == "cross_entropy":
            e = softmax(z)
            e[np.arange(n), y] -= 1
        else:
            e = z - self.targets(y, z.shape[1])
        e /= n
        return e

    # ------------------------------------------------------------------ backward
    def backward(self, fp: ForwardPass, e: np.ndarray) -> Grads:
        """Exact gradients by backpropagation of the output error ``e``."""
        return grads_from_errors(fp, backprop_errors(self, fp, e))

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Grads]:
        """Loss and exact gradients on a batch."""
        fp = self.forward(x)
        return self.loss_value(fp.z, y), self.backward(fp, self.output_error(fp.z, y))

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean loss and accuracy (NaN for regression targets)."""
        z = self.predict(x)
        return self.loss_value(z, y), accuracy(z, y)

    def all_finite(self) -> bool:
        return all(np.isfinite(w).all() for w in self.weights) and all(np.isfinite(b).all() for b in self.biases)


def init_uniform(rng: np.random.Generator, n_out: int, n_in: int, activation: str, dtype=np.float64) -> np.ndarray:
    """Draw an ``(n_out, n_in)`` matrix with the scale :meth:`MLP.random` documents."""
    gain = {"tanh": 1.0, "relu": np.sqrt(2.0), "sigmoid": 4.0}[activation]
    s = gain * np.sqrt(3.0 / n_in)
    return rng.uniform(-s, s, size=(n_out, n_in)).astype(dtype, copy=False)


def loss_value(z: np.ndarray, y: np.ndarray, loss: str) -> float:
    """Mean cross-entropy (``y`` integer labels) or half squared error over a batch."""
    z = np.asarray(z)
    n = len(z)
    if n == 0:
        return float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        if loss == "cross_entropy":
            m = z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
            return float(np.mean(lse - z[np.arange(n), y]))
        y = np.asarray(y)
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            y = one_hot(y, z.shape[1], z.dtype)
        d = z - y.reshape(z.shape)
        return float(0.5 * np.mean(np.sum(d * d, axis=1)))


def accuracy(z: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the integer label; NaN for real-valued targets."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(y) == 0:
        return float("nan")
    return float(np.mean(np.argmax(z, axis=1) == y))


def backprop_errors(net: MLP, fp: ForwardPass, e: np.ndarray,
                    feedback: Sequence[np.ndarray] | None = None, direct: bool = False) -> list[np.ndarray]:
    r"""Errors :math:`\delta_1 \ldots \delta_L` of every layer (``[-1]`` is ``e`` itself).

    Parameters
    ----------
    net : MLP
    fp : ForwardPass
        The forward pass the error belongs to.
    e : ndarray
        Output error :math:`\partial\mathcal{L}/\partial z`, shape ``(B, n_L)``.
    feedback : list of ndarray, optional
        ``feedback[l]`` replaces :math:`B_l = W_{l+1}^\top` for hidden layer ``l``
        (shape ``(n_l, n_{l+1})``); ``None`` gives backpropagation.
    direct : bool
        Direct feedback (Nøkland 2016): every hidden layer gets
        :math:`\delta_l = (e\, D_l^{\top}) \odot f'(a_l)` with ``feedback[l]`` = :math:`D_l`
        of shape ``(n_l, n_L)``.
    """
    L = len(net.weights)
    deltas: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    deltas[-1] = e
    for l in range(L - 2, -1, -1):
        if direct:
            d = e @ feedback[l].T  # type: ignore[index]
        elif feedback is None:
            d = deltas[l + 1] @ net.weights[l + 1]
        else:
            d = deltas[l + 1] @ feedback[l].T
        d *= net.derivative(fp.h[l + 1])
        deltas[l] = d
    return deltas


def grads_from_errors(fp: ForwardPass, deltas: Sequence[np.ndarray]) -> Grads:
    r""":math:`\Delta W_l = \delta_l^\top h_{l-1}`, :math:`\Delta b_l = \sum_b \delta_l`."""
    dW = [d.T @ h for d, h in zip(deltas, fp.h)]
    db = [d.sum(axis=0) for d in deltas]
    return Grads(dW, db)


class SGD:
    r"""Mini-batch SGD with momentum and optional weight decay, updating in place.

    .. math::

        v \leftarrow \mu v - \eta\,(g + \lambda W), \qquad W \leftarrow W + v

    (weight decay :math:`\lambda` applies to weights, not biases).
    """

    def __init__(self, net: MLP, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 layers: Sequence[int] | None = None):
        self.net = net
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.layers = tuple(range(len(net.weights))) if layers is None else tuple(layers)
        self.vW = {l: np.zeros_like(net.weights[l]) for l in self.layers}
        self.vb = {l: np.zeros_like(net.biases[l]) for l in self.layers}
        self._tmp = {l: np.empty_like(net.weights[l]) for l in self.layers}  # scratch: no allocation per step

    def step(self, grads: Grads, lr: float | None = None) -> None:
        """Apply one update; ``grads`` is left unchanged."""
        lr = self.lr if lr is None else lr
        mu, wd = self.momentum, self.weight_decay
        for l in self.layers:
            w, b, g, gb = self.net.weights[l], self.net.biases[l], grads.dW[l], grads.db[l]
            tmp = self._tmp[l]
            if wd:
                np.multiply(w, wd, out=tmp)
                tmp += g
                tmp *= lr
            else:
                np.multiply(g, lr, out=tmp)
            vw, vb = self.vW[l], self.vb[l]
            if mu:
                vw *= mu
                vw -= tmp
                vb *= mu
                vb -= lr * gb
                w += vw
                b += vb
            else:
                w -= tmp
                b -= lr * gb


def check_data(x: np.ndarray, y: np.ndarray, net: MLP, what: str = "x") -> None:
    """Raise :class:`DataError` if ``x`` does not fit the network's input layer."""
    if x.ndim != 2 or x.shape[1] != net.sizes[0]:
        raise DataError(f"{what} has shape {x.shape}; the network expects (n, {net.sizes[0]})")
    if len(y) != len(x):
        raise DataError(f"{what} has {len(x)} rows but its targets have {len(y)}")
