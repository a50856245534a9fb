r"""e-prop and BPTT for a recurrent network of LIF neurons with a leaky readout (numpy reference).

Discrete time, one step of length :math:`\Delta t` per index :math:`t = 0 \ldots T-1`, in the
order in which Brian2 updates the network of :mod:`bioplaus.networks.eprop`
(state update, threshold, synaptic input, reset):

.. math::

    v_t &= \alpha\,\bigl(v_{t-1} + W^{in} x_{t-1} + W^{rec} z_{t-1} - v_{th} z_{t-1}\bigr), \qquad v_0 = 0,\\
    z_t &= H(v_t - v_{th}), \\
    y_t &= \kappa\, y_{t-1} + W^{out} z_t, \qquad \hat y_t = y_t + b^{out}, \\
    E &= \frac{1}{2T}\sum_t \lVert \hat y_t - y^*_t \rVert^2 ,

with :math:`\alpha = e^{-\Delta t/\tau_m}`, :math:`\kappa = e^{-\Delta t/\tau_{out}}`, input spikes
:math:`x_t \in \{0,1\}`, no self-connections (:math:`W^{rec}_{jj} = 0`). :math:`v_t` is the
membrane potential the threshold sees (after the leak, before this step's input), and
the spike non-linearity has the pseudo-derivative

.. math::

    \psi_t = \frac{\gamma}{v_{th}} \max\Bigl(0,\ 1 - \Bigl|\frac{v_t - v_{th}}{v_{th}}\Bigr|\Bigr).

**e-prop** (Bellec et al. 2020) factorises the gradient into an eligibility trace and a
learning signal. For LIF neurons the eligibility vector is the presynaptic trace
:math:`\epsilon_{i,t} = \alpha(\epsilon_{i,t-1} + s_{i,t-1})` (:math:`s = x` for input, :math:`z` for
recurrent synapses), the eligibility trace :math:`e_{ji,t} = \psi_{j,t}\,\epsilon_{i,t}`, filtered
with the readout's leak, :math:`\bar e_{ji,t} = \kappa\,\bar e_{ji,t-1} + e_{ji,t}`; the learning
signal is the output error sent back through feedback weights :math:`B` (random and
fixed, or :math:`B = W^{out\top}`, symmetric):

.. math::

    L_{j,t} = \textstyle\sum_k B_{jk}\,(\hat y_{k,t} - y^*_{k,t}), \qquad
    \frac{\widehat{\partial E}}{\partial W_{ji}} = \frac1T\sum_t L_{j,t}\,\bar e_{ji,t},

and the readout weights get their exact gradient
:math:`\frac1T\sum_t (\hat y_t - y^*_t)\,\bar z_t^{\top}` with :math:`\bar z_t = \kappa \bar z_{t-1} + z_t`.
Everything is computed forward in time, online. :func:`eprop_gradients` keeps the whole forward
trace (for inspection); :func:`eprop_online` is the streaming form, which holds only the current
state, the traces :math:`\epsilon_t, \bar e_t, \bar z_t` and the running sums, so that its memory
does not grow with the sequence length :math:`T`, while BPTT must store the trajectory.

**BPTT** (:func:`bptt_gradients`) differentiates the same network exactly, with
:math:`\psi` in place of :math:`H'`. As in Bellec et al.'s comparisons, the reset term
:math:`-v_{th} z_{t-1}` is not differentiated unless ``reset_grad=True``; with that
convention and no recurrent weights, e-prop with symmetric feedback *is* BPTT (the
test suite checks this to machine precision), and with recurrence it drops the paths
through other neurons' spikes.

Bellec, Scherr, Subramoney, Hajek, Salaj, Legenstein & Maass (2020), *A solution to
the learning dilemma for recurrent networks of spiking neurons*, Nat. Commun. 11, 3625.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

__all__ = ["LIFNet", "LIFTrace", "EpropRecord", "lif_forward", "eprop_gradients", "eprop_online", "bptt_gradients",
           "Adam",
           "train_recurrent", "poisson_input", "sine_target", "PARAMS"]

#: names of the trained parameters, in a fixed order
PARAMS = ("W_in", "W_rec", "W_out", "b_out")


@dataclass
class LIFNet:
    """Weights and constants of the recurrent LIF network (potentials in units of the threshold scale).

    ``B`` is the fixed random feedback matrix ``(n_rec, n_out)``; ``None`` means
    symmetric feedback, :math:`B = W^{out\\top}` (following the readout as it learns).
    """

    W_in: np.ndarray
    W_rec: np.ndarray
    W_out: np.ndarray
    b_out: np.ndarray
    alpha: float
    kappa: float
    v_th: float = 1.0
    gamma: float = 0.3
    B: np.ndarray | None = None

    def __post_init__(self) -> None:
        N = self.W_in.shape[0]
        if self.W_rec.shape != (N, N) or self.W_out.shape[1] != N or self.b_out.shape != (self.W_out.shape[0],):
            raise ConfigError("LIFNet", [self.W_in.shape, self.W_rec.shape, self.W_out.shape, self.b_out.shape],
                              "W_in (N, n_in), W_rec (N, N), W_out (n_out, N), b_out (n_out,)")
        if self.B is not None and self.B.shape != (N, self.W_out.shape[0]):
            raise ConfigError("LIFNet.B", self.B.shape, f"shape ({N}, {self.W_out.shape[0]})")

    @classmethod
    def random(cls, n_in: int, n_rec: int, n_out: int, rng: np.random.Generator, *, dt: float = 1.0,
               tau_m: float = 20.0, tau_out: float = 20.0, v_th: float = 1.0, gamma: float = 0.3,
               w_in: float = 1.0, w_rec: float = 1.0, w_out: float = 1.0, recurrent: bool = True,
               feedback: str = "random") -> "LIFNet":
        r"""Gaussian weights :math:`\mathcal N(0, (w\, v_{th})^2 / n_{pre})` for input and recurrent synapses,
        :math:`\mathcal N(0, w_{out}^2 / n_{rec})` for the readout, zero diagonal, zero readout bias;
        ``feedback="random"`` draws :math:`B \sim \mathcal N(0, 1/n_{rec})`. Times in the same unit."""
        if feedback not in ("random", "symmetric"):
            raise ConfigError("LIFNet.feedback", feedback, "'random' or 'symmetric'")
        W_in = rng.standard_normal((n_rec, n_in)) * (w_in * v_th / math.sqrt(n_in))
        W_rec = rng.standard_normal((n_rec, n_rec)) * (w_rec * v_th / math.sqrt(n_rec))
        np.fill_diagonal(W_rec, 0.0)
        if not recurrent:
            W_rec[:] = 0.0
        W_out = rng.standard_normal((n_out, n_rec)) * (w_out / math.sqrt(n_rec))
        B = rng.standard_normal((n_rec, n_out)) / math.sqrt(n_rec) if feedback == "random" else None
        return cls(W_in, W_rec, W_out, np.zeros(n_out), math.exp(-dt / tau_m), math.exp(-dt / tau_out),
                   v_th, gamma, B)

    def copy(self) -> "LIFNet":
        return LIFNet(self.W_in.copy(), self.W_rec.copy(), self.W_out.copy(), self.b_out.copy(), self.alpha,
                      self.kappa, self.v_th, self.gamma, None if self.B is None else self.B.copy())

    def params(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in PARAMS}

    def feedback(self) -> np.ndarray:
        return self.W_out.T if self.B is None else self.B

    def pseudo_derivative(self, v: np.ndarray) -> np.ndarray:
        return (self.gamma / self.v_th) * np.maximum(0.0, 1.0 - np.abs((v - self.v_th) / self.v_th))


@dataclass
class LIFTrace:
    """One trial: ``v``, ``z``, ``psi`` ``(T, N)``; ``y`` (with bias) and ``err`` ``(T, n_out)``;
    presynaptic traces ``eps_in`` ``(T, n_in)`` and ``eps_rec`` ``(T, N)``; ``zbar`` ``(T, N)``."""

    v: np.ndarray
    z: np.ndarray
    psi: np.ndarray
    y: np.ndarray
    err: np.ndarray
    eps_in: np.ndarray
    eps_rec: np.ndarray
    zbar: np.ndarray

    @property
    def loss(self) -> float:
        return float(0.5 * np.mean(np.sum(self.err ** 2, axis=1)))


def lif_forward(net: LIFNet, x: np.ndarray, target: np.ndarray) -> LIFTrace:
    """Simulate one trial of input spikes ``x`` ``(T, n_in)`` against ``target`` ``(T, n_out)``."""
    x = np.asarray(x, dtype=float)
    T, N, K = len(x), net.W_in.shape[0], net.W_out.shape[0]
    target = np.asarray(target, dtype=float).reshape(T, K)
    a, k, th = net.alpha, net.kappa, net.v_th
    v = np.zeros((T, N)); z = np.zeros((T, N)); y = np.zeros((T, K))
    eps_in = np.zeros((T, x.shape[1])); eps_rec = np.zeros((T, N)); zbar = np.zeros((T, N))
    v_end = np.zeros(N); y_end = np.zeros(K); ei_end = np.zeros(x.shape[1]); er_end = np.zeros(N); zb = np.zeros(N)
    for t in range(T):
        v[t] = a * v_end                       # state update (leak)
        eps_in[t] = a * ei_end
        eps_rec[t] = a * er_end
        z[t] = v[t] > th                       # threshold
        v_end = v[t] + net.W_in @ x[t] + net.W_rec @ z[t] - th * z[t]   # synaptic input, reset
        ei_end = eps_in[t] + x[t]
        er_end = eps_rec[t] + z[t]
        y_end = k * y_end + net.W_out @ z[t]
        zb = k * zb + z[t]
        y[t] = y_end
        zbar[t] = zb
    y = y + net.b_out
    return LIFTrace(v, z, net.pseudo_derivative(v), y, y - target, eps_in, eps_rec, zbar)


@dataclass
class EpropRecord:
    """Filtered eligibility traces :math:`\\bar e_t` of every step (``(T, N, n_in)`` and ``(T, N, N)``)
    and the learning signals ``L`` ``(T, N)``."""

    ebar_in: np.ndarray
    ebar_rec: np.ndarray
    L: np.ndarray


def eprop_gradients(net: LIFNet, x: np.ndarray, target: np.ndarray, record: bool = False
                    ) -> tuple[float, dict[str, np.ndarray], LIFTrace, EpropRecord | None]:
    """e-prop estimate of the gradient of :math:`E`, computed online (forward in time).

    Returns ``(loss, grads, trace, record)``; ``record`` holds every step's filtered
    eligibility traces when asked for (memory ``T * N * (n_in + N)``).
    """
    tr = lif_forward(net, x, target)
    T, N = tr.z.shape
    n_in = tr.eps_in.shape[1]
    Bfb = net.feedback()
    k = net.kappa
    ebar_in = np.zeros((N, n_in)); ebar_rec = np.zeros((N, N))
    g_in = np.zeros((N, n_in)); g_rec = np.zeros((N, N))
    rec = EpropRecord(np.zeros((T, N, n_in)), np.zeros((T, N, N)), np.zeros((T, N))) if record else None
    for t in range(T):
        psi = tr.psi[t][:, None]
        ebar_in *= k
        ebar_in += psi * tr.eps_in[t][None, :]
        ebar_rec *= k
        ebar_rec += psi * tr.eps_rec[t][None, :]
        L = Bfb @ tr.err[t]
        g_in += L[:, None] * ebar_in
        g_rec += L[:, None] * ebar_rec
        if rec is not None:
            rec.ebar_in[t] = ebar_in
            rec.ebar_rec[t] = ebar_rec
            np.fill_diagonal(rec.ebar_rec[t], 0.0)   # no self-connections
            rec.L[t] = L
    np.fill_diagonal(g_rec, 0.0)
    grads = {"W_in": g_in / T, "W_rec": g_rec / T, "W_out": tr.err.T @ tr.zbar / T, "b_out": tr.err.sum(axis=0) / T}
    return tr.loss, grads, tr, rec


def eprop_online(net: LIFNet, x, target) -> tuple[float, dict[str, np.ndarray]]:
    r"""e-prop gradient estimate in one pass forward in time, storing nothing that grows with :math:`T`.

    The same quantities as :func:`eprop_gradients` (the test suite checks them equal), with the
    network, the traces and the gradient sums updated together at every step:

    .. math::

        v_t &= \alpha\, \tilde v_{t-1}, \quad \epsilon_t = \alpha(\epsilon_{t-1} + s_{t-1}), \quad
        z_t = H(v_t - v_{th}), \quad \tilde v_t = v_t + W^{in} x_t + W^{rec} z_t - v_{th} z_t,\\
        \bar e_t &= \kappa \bar e_{t-1} + \psi_t\, \epsilon_t^{\top}, \quad
        L_t = B\,(\hat y_t - y^*_t), \quad G \mathrel{+}= L_t\, \bar e_t .

    Parameters
    ----------
    net : LIFNet
    x : iterable of arrays ``(n_in,)``
        Input spikes, one row per step (an array ``(T, n_in)`` or a generator: the rows are
        read once, in order).
    target : iterable of arrays ``(n_out,)``
        Target of every step, read alongside ``x``.

    Returns
    -------
    loss : float
        :math:`E`.
    grads : dict
        ``W_in``, ``W_rec`` (zero diagonal), ``W_out``, ``b_out``, each divided by :math:`T`.
    """
    N, n_in = net.W_in.shape
    K = net.W_out.shape[0]
    a, k, th = net.alpha, net.kappa, net.v_th
    Bfb = net.feedback()
    v_end = np.zeros(N); y_end = np.zeros(K); zb = np.zeros(N)
    eps_in = np.zeros(n_in); eps_rec = np.zeros(N)        # presynaptic traces after the leak
    ei_end = np.zeros(n_in); er_end = np.zeros(N)
    ebar_in = np.zeros((N, n_in)); ebar_rec = np.zeros((N, N))
    g_in = np.zeros((N, n_in)); g_rec = np.zeros((N, N)); g_out = np.zeros((K, N)); g_b = np.zeros(K)
    sq = 0.0
    T = 0
    for x_t, y_star in zip(x, target):
        x_t = np.asarray(x_t, dtype=float).reshape(n_in)
        v = a * v_end                                       # state update (leak)
        np.multiply(ei_end, a, out=eps_in)
        np.multiply(er_end, a, out=eps_rec)
        z = (v > th).astype(float)                          # threshold
        v_end = v + net.W_in @ x_t + net.W_rec @ z - th * z  # synaptic input, reset
        np.add(eps_in, x_t, out=ei_end)
        np.add(eps_rec, z, out=er_end)
        y_end = k * y_end + net.W_out @ z
        zb = k * zb + z
        err = y_end + net.b_out - np.asarray(y_star, dtype=float).reshape(K)
        psi = net.pseudo_derivative(v)[:, None]
        ebar_in *= k
        ebar_in += psi * eps_in[None, :]
        ebar_rec *= k
        ebar_rec += psi * eps_rec[None, :]
        L = (Bfb @ err)[:, None]
        g_in += L * ebar_in
        g_rec += L * ebar_rec
        g_out += err[:, None] * zb[None, :]
        g_b += err
        sq += float(err @ err)
        T += 1
    if T == 0:
        raise ConfigError("eprop_online.x", "an empty sequence", "at least one time step")
    np.fill_diagonal(g_rec, 0.0)
    return 0.5 * sq / T, {"W_in": g_in / T, "W_rec": g_rec / T, "W_out": g_out / T, "b_out": g_b / T}


def bptt_gradients(net: LIFNet, x: np.ndarray, target: np.ndarray, reset_grad: bool = False
                   ) -> tuple[float, dict[str, np.ndarray], LIFTrace]:
    r"""Exact gradient of :math:`E` by backpropagation through time (pseudo-derivative :math:`\psi` for
    :math:`H'`; the reset term differentiated only if ``reset_grad``)."""
    tr = lif_forward(net, x, target)
    x = np.asarray(x, dtype=float)
    T, N = tr.z.shape
    a, k, th = net.alpha, net.kappa, net.v_th
    g_in = np.zeros_like(net.W_in); g_rec = np.zeros_like(net.W_rec); g_out = np.zeros_like(net.W_out)
    gy = np.zeros(net.W_out.shape[0])      # dE/dy_t (y accumulates with leak kappa)
    gv_next = np.zeros(N)                  # dE/dv_{t+1}
    for t in range(T - 1, -1, -1):
        gy = k * gy + tr.err[t] / T
        g_end = a * gv_next                # dE/d(v_t + input_t - reset_t)
        gz = net.W_out.T @ gy + net.W_rec.T @ g_end
        if reset_grad:
            gz -= th * g_end
        g_in += np.outer(g_end, x[t])
        g_rec += np.outer(g_end, tr.z[t])
        g_out += np.outer(gy, tr.z[t])
        gv_next = g_end + tr.psi[t] * gz   # dE/dv_t
    np.fill_diagonal(g_rec, 0.0)
    return tr.loss, {"W_in": g_in, "W_rec": g_rec, "W_out": g_out, "b_out": tr.err.sum(axis=0) / T}, tr


@dataclass
class Adam:
    r"""Adam (Kingma & Ba 2015) with bias correction, as the Brian2 network applies it per synapse:
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`s \leftarrow \beta_2 s + (1-\beta_2) g^2`,
    :math:`w \leftarrow w - \eta\, \hat m / (\sqrt{\hat s} + \epsilon)`."""

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    k: int = 0
    m: dict = field(default_factory=dict)
    s: dict = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.k += 1
        for name, g in grads.items():
            m = self.m.setdefault(name, np.zeros_like(g))
            s = self.s.setdefault(name, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            s *= self.beta2
            s += (1 - self.beta2) * g * g
            mh = m / (1 - self.beta1 ** self.k)
            sh = s / (1 - self.beta2 ** self.k)
            params[name] -= self.lr * mh / (np.sqrt(sh) + self.eps)


def train_recurrent(net: LIFNet, x: np.ndarray, target: np.ndarray, trials: int, method: str = "eprop",
                    lr: float = 0.01, reset_grad: bool = False, train: tuple[str, ...] = PARAMS
                    ) -> tuple[np.ndarray, LIFNet]:
    """Train a copy of ``net`` on the same trial ``trials`` times (Adam after each); returns the loss of
    every trial (before its update) and the trained network."""
    if method not in ("eprop", "bptt"):
        raise ConfigError("method", method, "'eprop' or 'bptt'")
    net = net.copy()
    opt = Adam(lr)
    losses = np.empty(trials)
    params = net.params()
    for i in range(trials):
        if method == "eprop":
            loss, g, _, _ = eprop_gradients(net, x, target)
        else:
            loss, g, _ = bptt_gradients(net, x, target, reset_grad)
        losses[i] = loss
        opt.step(params, {k: g[k] for k in train})
        np.fill_diagonal(net.W_rec, 0.0)
    return losses, net


def poisson_input(n_in: int, steps: int, rate_per_step: float, rng: np.random.Generator) -> np.ndarray:
    """Frozen Poisson input: ``(steps, n_in)`` spikes, each with probability ``rate_per_step`` per step."""
    return (rng.random((steps, n_in)) < rate_per_step).astype(float)


def sine_target(steps: int, period_steps: float, amplitude: float = 1.0, n_out: int = 1) -> np.ndarray:
    """``amplitude * sin(2 pi t / period)`` for ``t = 0 .. steps-1``, as ``(steps, n_out)``."""
    t = np.arange(steps)
    return np.repeat((amplitude * np.sin(2 * np.pi * t / period_steps))[:, None], n_out, axis=1)
