r"""The plasticity rules of :mod:`bioplaus.spec.rules` once more, as pure numpy functions.

This module is the oracle of the rule tests: every function uses the symbols of
the spec classes and of their docstrings (``A_plus``, ``tau_plus``, ``A2_minus``,
``eta``, ``theta``...), takes times in seconds and rates in Hz as plain floats,
and imports nothing from Brian2. Wherever a spec object is accepted (``rule``),
a mapping with the same field names works as well; quantities are converted to
SI floats with ``float()``.

Spike-timing rules are simulated event by event with exact exponential traces,
as Brian2's ``(event-driven)`` variables are. When a pre- and a postsynaptic
spike fall in the same time step the presynaptic one is processed first (Brian2
runs the ``on_pre`` pathway before ``on_post``), so a simultaneous pair counts as
pre-before-post.

Rate rules are written as one Euler step, in the order the Brian2 schedule
applies them in each time step: the postsynaptic activity
:math:`y = \sum_j w_j x_j` is computed from the weights at the start of the
step, postsynaptic state (the BCM threshold) is updated next, and the weights
last.

>>> import numpy as np
>>> round(float(stdp_window(0.01, 0.01, 0.0105, 0.02, 0.02)), 6)  # A_+ e^{-1/2}
0.006065
>>> rule = dict(A_plus=0.01, A_minus=0.0105, tau_plus=0.02, tau_minus=0.02)
>>> round(pair_stdp_dw([0.0], [0.01], rule), 6)
0.006065
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

__all__ = [
    "params_of", "stdp_window", "stdp_events", "pair_stdp_dw", "triplet_stdp_dw", "pairing_protocol",
    "triplet_frequency_curve", "hebb_dw", "hebb_fixed_point", "oja_dw", "oja_run", "bcm_step", "bcm_run",
    "reward_stdp_dw", "normalize_weights", "synaptic_scaling_step",
]


# --------------------------------------------------------------------------- parameters

def _si(value: Any) -> Any:
    """A spec field as a plain value: quantities become SI floats, strings and bools stay."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    return float(value)


def params_of(rule: Any) -> dict[str, Any]:
    """The parameters of a rule spec (or a mapping) as SI floats.

    Spec objects are read through their dataclass fields; class names are
    honoured where the class itself is a parameter (``NearestSTDP`` sets
    ``nearest=True``).

    >>> params_of({"tau_plus": 0.02, "A_plus": 0.01})["tau_plus"]
    0.02
    """
    if isinstance(rule, Mapping):
        out = {k: _si(v) for k, v in rule.items()}
    else:
        import dataclasses

        out = {f.name: _si(getattr(rule, f.name)) for f in dataclasses.fields(rule)}
        if any(c.__name__ == "NearestSTDP" for c in type(rule).__mro__):
            out.setdefault("nearest", True)
    return out


def _times(values: Iterable[float]) -> np.ndarray:
    t = np.asarray(values, dtype=float).ravel()
    return np.sort(t)


# --------------------------------------------------------------------------- pair STDP

def stdp_window(dt: Any, A_plus: float, A_minus: float, tau_plus: float, tau_minus: float) -> np.ndarray:
    r"""Weight change of one isolated spike pair, :math:`\Delta t = t_{post} - t_{pre}`.

    .. math::
        W(\Delta t) = A_+ e^{-\Delta t/\tau_+} \quad (\Delta t \ge 0), \qquad
        W(\Delta t) = -A_- e^{\Delta t/\tau_-} \quad (\Delta t < 0)

    (Song, Miller & Abbott 2000; Bi & Poo 1998). Simultaneous spikes count as
    pre-before-post, as in the event order of the simulation.

    Parameters
    ----------
    dt : float or array
        :math:`t_{post} - t_{pre}` in seconds.
    A_plus, A_minus : float
        Amplitudes of potentiation and depression (both >= 0).
    tau_plus, tau_minus : float
        Time constants in seconds.
    """
    dt = np.asarray(dt, dtype=float)
    pot = A_plus * np.exp(-np.abs(dt) / tau_plus)
    dep = -A_minus * np.exp(-np.abs(dt) / tau_minus)
    return np.where(dt >= 0, pot, dep)


def _merged_events(pre_times, post_times) -> list[tuple[float, int]]:
    """Spikes of both neurons in processing order: by time, pre (0) before post (1)."""
    events = [(float(t), 0) for t in _times(pre_times)] + [(float(t), 1) for t in _times(post_times)]
    events.sort()
    return events


def stdp_events(pre_times, post_times, tau_plus: float, tau_minus: float,
                nearest: bool = False) -> Iterator[tuple[float, str, float]]:
    r"""Walk through a spike pair's events with the two STDP traces.

    The presynaptic trace :math:`a_{pre}` (:math:`\tau_+ \dot a_{pre} = -a_{pre}`) and the
    postsynaptic trace :math:`a_{post}` (:math:`\tau_- \dot a_{post} = -a_{post}`) jump by 1 at
    their neuron's spikes (all-to-all interaction) or are reset to 1 (``nearest=True``:
    symmetric nearest-spike interaction, Morrison, Diesmann & Gerstner 2008).

    Yields
    ------
    (t, "pre", a_post) at a presynaptic spike (the value that depresses) and
    (t, "post", a_pre) at a postsynaptic spike (the value that potentiates), each read
    before the spike's own trace update.
    """
    a_pre = a_post = 0.0
    last = -math.inf
    for t, kind in _merged_events(pre_times, post_times):
        if last > -math.inf:
            a_pre *= math.exp(-(t - last) / tau_plus)
            a_post *= math.exp(-(t - last) / tau_minus)
        last = t
        if kind == 0:
            yield t, "pre", a_post
            a_pre = 1.0 if nearest else a_pre + 1.0
        else:
            yield t, "post", a_pre
            a_post = 1.0 if nearest else a_post + 1.0


def pair_stdp_dw(pre_times, post_times, rule: Any, w0: float = 0.5) -> float:
    r"""Total weight change of one synapse under pair STDP (``PairSTDP`` / ``NearestSTDP``).

    At a presynaptic spike :math:`w \leftarrow w - A_-\,a_{post}\,f_-(w)`, at a postsynaptic
    spike :math:`w \leftarrow w + A_+\,a_{pre}\,f_+(w)`, with the traces of :func:`stdp_events`
    and, after every update, :math:`w` clipped to :math:`[w_{min}, w_{max}]`.
    ``bounds="hard"``: :math:`f_\pm = 1`; ``bounds="soft"`` (multiplicative, van Rossum,
    Bi & Turrigiano 2000): :math:`f_+ = w_{max} - w`, :math:`f_- = w - w_{min}`.

    Parameters
    ----------
    pre_times, post_times : array of float
        Spike times in seconds.
    rule : PairSTDP, NearestSTDP or mapping
        ``A_plus``, ``A_minus``, ``tau_plus``, ``tau_minus`` and optionally ``bounds``,
        ``w_min``, ``w_max``, ``nearest``.
    w0 : float
        Initial weight.

    Returns
    -------
    float
        :math:`w_{final} - w_0`.
    """
    p = params_of(rule)
    w_min, w_max = p.get("w_min", -math.inf), p.get("w_max", math.inf)
    soft = p.get("bounds", "hard") == "soft"
    w = float(w0)
    for _, kind, trace in stdp_events(pre_times, post_times, p["tau_plus"], p["tau_minus"], p.get("nearest", False)):
        if kind == "pre":
            w -= p["A_minus"] * trace * ((w - w_min) if soft else 1.0)
        else:
            w += p["A_plus"] * trace * ((w_max - w) if soft else 1.0)
        w = min(max(w, w_min), w_max)
    return w - float(w0)


# --------------------------------------------------------------------------- triplet STDP

def triplet_stdp_dw(pre_times, post_times, rule: Any, w0: float = 1.0) -> float:
    r"""Total weight change of one synapse under triplet STDP (Pfister & Gerstner 2006).

    Presynaptic traces :math:`r_1` (time constant :math:`\tau_+`) and :math:`r_2` (:math:`\tau_x`),
    postsynaptic traces :math:`o_1` (:math:`\tau_-`) and :math:`o_2` (:math:`\tau_y`), each
    increased by 1 at its neuron's spikes (``nearest=True``: set to 1).

    .. math::
        t = t_{pre}: \ w \leftarrow w - o_1(t)\,[A_2^- + A_3^- r_2(t - \epsilon)], \qquad
        t = t_{post}: \ w \leftarrow w + r_1(t)\,[A_2^+ + A_3^+ o_2(t - \epsilon)]

    with :math:`w` clipped to :math:`[w_{min}, w_{max}]` after every update.

    J.-P. Pfister and W. Gerstner (2006), *Triplets of spikes in a model of spike
    timing-dependent plasticity*, J. Neurosci. 26 (38), 9673-9682.

    Parameters
    ----------
    pre_times, post_times : array of float
        Spike times in seconds.
    rule : TripletSTDP or mapping
        ``tau_plus``, ``tau_minus``, ``tau_x``, ``tau_y``, ``A2_plus``, ``A3_plus``,
        ``A2_minus``, ``A3_minus`` and optionally ``nearest``, ``w_min``, ``w_max``.
    w0 : float
        Initial weight.

    Returns
    -------
    float
        :math:`w_{final} - w_0`.
    """
    p = params_of(rule)
    nearest = bool(p.get("nearest", False))
    w_min, w_max = p.get("w_min", -math.inf), p.get("w_max", math.inf)
    r1 = r2 = o1 = o2 = 0.0
    w = float(w0)
    last = None
    for t, kind in _merged_events(pre_times, post_times):
        if last is not None:
            gap = t - last
            r1 *= math.exp(-gap / p["tau_plus"])
            r2 *= math.exp(-gap / p["tau_x"])
            o1 *= math.exp(-gap / p["tau_minus"])
            o2 *= math.exp(-gap / p["tau_y"])
        last = t
        if kind == 0:
            w = min(max(w - o1 * (p["A2_minus"] + p["A3_minus"] * r2), w_min), w_max)
            r1, r2 = (1.0, 1.0) if nearest else (r1 + 1.0, r2 + 1.0)
        else:
            w = min(max(w + r1 * (p["A2_plus"] + p["A3_plus"] * o2), w_min), w_max)
            o1, o2 = (1.0, 1.0) if nearest else (o1 + 1.0, o2 + 1.0)
    return w - float(w0)


def pairing_protocol(frequency: float, delta_t: float, n_pairings: int = 60,
                     t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Spike times of the pairing protocol of Sjöström, Turrigiano & Nelson (2001).

    ``n_pairings`` pre/post pairs repeated at ``frequency`` (Hz); in pair :math:`k` the
    presynaptic spike is at :math:`t_0 + k/\rho` and the postsynaptic one
    :math:`\Delta t` = ``delta_t`` later (negative: post first).

    Returns
    -------
    (pre_times, post_times) in seconds.
    """
    k = np.arange(int(n_pairings))
    pre = t0 + k / float(frequency)
    return pre, pre + float(delta_t)


def triplet_frequency_curve(rule: Any, frequencies: Iterable[float], delta_t: float, n_pairings: int = 60,
                            w0: float = 1.0) -> np.ndarray:
    """:func:`triplet_stdp_dw` of the :func:`pairing_protocol` at each of ``frequencies`` (Hz).

    With :meth:`TripletSTDP.visual_cortex` this is Fig. 5 of Pfister & Gerstner (2006):
    for ``delta_t = -10 ms`` depression at low and potentiation at high frequency; for
    ``+10 ms`` potentiation that grows with frequency.
    """
    out = []
    for f in frequencies:
        pre, post = pairing_protocol(f, delta_t, n_pairings, t0=max(0.0, -float(delta_t)))
        out.append(triplet_stdp_dw(pre, post, rule, w0=w0))
    return np.array(out)


# --------------------------------------------------------------------------- rate rules

def hebb_dw(w, r_pre, r_post, eta: float, decay: float, h: float, w_min: float = -math.inf,
            w_max: float = math.inf) -> np.ndarray:
    r"""One Euler step of Hebbian learning with passive decay (``Hebb``).

    .. math:: \Delta w_{ij} = h\,(\eta\, r_i^{post} r_j^{pre} - \gamma\, w_{ij})

    with :math:`\gamma` = ``decay``; the new weight :math:`w + \Delta w` is clipped to
    :math:`[w_{min}, w_{max}]` and the returned change is that of the clipped weight.

    Parameters
    ----------
    w : array (n_pre, n_post)
    r_pre : array (n_pre,)
    r_post : array (n_post,)
    eta, decay : float
        Rates in Hz.
    h : float
        Step (``update_interval``) in seconds.
    """
    w = np.asarray(w, dtype=float)
    outer = np.multiply.outer(np.asarray(r_pre, dtype=float), np.asarray(r_post, dtype=float))
    new = np.clip(w + h * (eta * outer.reshape(w.shape) - decay * w), w_min, w_max)
    return new - w


def hebb_fixed_point(r_pre, r_post, eta: float, decay: float) -> np.ndarray:
    r"""Stationary weights of :func:`hebb_dw` for constant rates: :math:`w^* = \eta\, r^{pre} r^{post}/\gamma`.

    This is the fixed point of both the continuous rule and its Euler map, whatever
    the step :math:`h` (as long as :math:`h\gamma < 2`, so that the map converges).
    """
    return eta * np.multiply.outer(np.asarray(r_pre, dtype=float), np.asarray(r_post, dtype=float)) / decay


def oja_dw(w, x, eta: float, h: float) -> np.ndarray:
    r"""One Euler step of Oja's rule for linear units (Oja 1982).

    .. math:: y_i = \sum_j w_{ji} x_j, \qquad \Delta w_{ji} = h\,\eta\, y_i (x_j - y_i w_{ji})

    For a stationary zero-mean input with covariance :math:`C` each weight column
    converges to a unit-norm leading eigenvector of :math:`C` (for small :math:`h\eta`).

    E. Oja (1982), *A simplified neuron model as a principal component analyzer*,
    J. Math. Biol. 15, 267-273.

    Parameters
    ----------
    w : array (n_pre,) or (n_pre, n_post)
    x : array (n_pre,)
        Presynaptic rates of this step.
    eta : float
        Learning rate in Hz.
    h : float
        Step in seconds.
    """
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    y = x @ w
    if w.ndim == 1:
        return h * eta * y * (x - y * w)
    return h * eta * y[None, :] * (x[:, None] - y[None, :] * w)


def oja_run(w0, X, eta: float, h: float) -> np.ndarray:
    """Apply :func:`oja_dw` for every row of ``X`` (one row per step); returns the final weights."""
    w = np.array(w0, dtype=float)
    for x in np.asarray(X, dtype=float):
        w = w + oja_dw(w, x, eta, h)
    return w


def bcm_step(w, theta, x, eta: float, tau_theta: float, y0: float, h: float, dt: float | None = None,
             w_min: float = 0.0, w_max: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    r"""One step of the BCM rule with a sliding threshold (Bienenstock, Cooper & Munro 1982).

    For a linear unit :math:`y_i = \sum_j w_{ji} x_j`:

    .. math::
        \theta_i \leftarrow e^{-dt/\tau_\theta}\,\theta_i + \left(1 - e^{-dt/\tau_\theta}\right)\frac{y_i^2}{y_0}, \qquad
        w_{ji} \leftarrow \mathrm{clip}\big(w_{ji} + h\,\eta\, x_j\, y_i\,(y_i - \theta_i),\ w_{min}, w_{max}\big)

    in this order (the threshold lives in the postsynaptic group and is integrated
    before the synapses update; the weight update uses the new :math:`\theta`). The
    threshold step is exact for the output held over the step (exponential Euler, as the
    rate units are integrated). The
    threshold form :math:`\theta = \langle y^2\rangle / y_0` is that of Intrator &
    Cooper (1992). E. L. Bienenstock, L. N. Cooper and P. W. Munro (1982), J. Neurosci.
    2 (1), 32-48.

    Parameters
    ----------
    w : array (n_pre,) or (n_pre, n_post)
    theta : float or array (n_post,)
    x : array (n_pre,)
    eta : float
        Learning rate in Hz.
    tau_theta : float
        Threshold time constant in seconds.
    y0 : float
        Scale of the threshold.
    h : float
        Weight update step in seconds.
    dt : float, optional
        Threshold integration step (default ``h``).

    Returns
    -------
    (w, theta) after the step.
    """
    dt = h if dt is None else dt
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    y = x @ w
    decay = math.exp(-dt / tau_theta)
    theta = decay * np.asarray(theta, dtype=float) + (1.0 - decay) * y ** 2 / y0
    if w.ndim == 1:
        dw = h * eta * x * y * (y - theta)
    else:
        dw = h * eta * x[:, None] * (y * (y - theta))[None, :]
    return np.clip(w + dw, w_min, w_max), theta


def bcm_run(w0, theta0, X, eta: float, tau_theta: float, y0: float, h: float, w_min: float = 0.0,
            w_max: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """Apply :func:`bcm_step` for every row of ``X`` (one row per step of length ``h``)."""
    w, theta = np.array(w0, dtype=float), np.asarray(theta0, dtype=float)
    for x in np.asarray(X, dtype=float):
        w, theta = bcm_step(w, theta, x, eta, tau_theta, y0, h, w_min=w_min, w_max=w_max)
    return w, theta


# --------------------------------------------------------------------------- reward-modulated STDP

def reward_stdp_dw(pre_times, post_times, reward_times, rule: Any, t_end: float, amounts=None,
                   tau_d: float = 0.2) -> float:
    r"""Weight change under reward-modulated STDP (``RewardSTDP``), in continuous time.

    Pair-STDP events (all-to-all traces, :func:`stdp_events`) feed the eligibility trace
    :math:`c`; rewards :math:`a_m` at :math:`t_m` feed the modulator :math:`d`:

    .. math::
        c(t) = \sum_k s_k\, e^{-(t - t_k)/\tau_c}, \quad
        d(t) = \sum_m a_m\, e^{-(t - t_m)/\tau_d}, \quad
        \Delta w = \eta \int_0^{T} c(t)\, d(t)\, dt

    with :math:`s_k = A_+ a_{pre}` at post spikes and :math:`-A_- a_{post}` at pre spikes.
    Each term integrates in closed form:
    :math:`\int_{t_*}^{T} e^{-(t-t_k)/\tau_c - (t - t_m)/\tau_d} dt =
    e^{-(t_*-t_k)/\tau_c - (t_*-t_m)/\tau_d}\,(1 - e^{-\lambda (T - t_*)})/\lambda` with
    :math:`t_* = \max(t_k, t_m)` and :math:`\lambda = 1/\tau_c + 1/\tau_d`. The weight
    bounds are not applied (keep :math:`w` away from them when comparing).

    E. M. Izhikevich (2007), *Solving the distal reward problem through linkage of STDP
    and dopamine signaling*, Cereb. Cortex 17, 2443-2452.

    Parameters
    ----------
    pre_times, post_times, reward_times : array of float
        Times in seconds.
    rule : RewardSTDP or mapping
        ``A_plus``, ``A_minus``, ``tau_plus``, ``tau_minus``, ``tau_c``, ``eta`` (Hz).
    t_end : float
        End of the integration (the run's duration), seconds.
    amounts : array of float, optional
        Reward sizes :math:`a_m` (default 1).
    tau_d : float
        Modulator time constant (``Modulator.tau_d``), seconds.
    """
    p = params_of(rule)
    tr = np.asarray(reward_times, dtype=float).ravel()
    a = np.ones_like(tr) if amounts is None else np.asarray(amounts, dtype=float).ravel()
    tau_c = p["tau_c"]
    lam = 1.0 / tau_c + 1.0 / tau_d
    total = 0.0
    for t_k, kind, trace in stdp_events(pre_times, post_times, p["tau_plus"], p["tau_minus"]):
        s_k = p["A_plus"] * trace if kind == "post" else -p["A_minus"] * trace
        for t_m, a_m in zip(tr, a):
            t_s = max(t_k, t_m)
            if t_s >= t_end:
                continue
            total += s_k * a_m * math.exp(-(t_s - t_k) / tau_c - (t_s - t_m) / tau_d) \
                * (1.0 - math.exp(-lam * (t_end - t_s))) / lam
    return p["eta"] * total


# --------------------------------------------------------------------------- homeostasis

def normalize_weights(W, total: float) -> np.ndarray:
    r"""Divisive normalisation (``WeightNormalization``): :math:`w_{ij} \leftarrow w_{ij}\,\text{total}/\sum_i w_{ij}`.

    ``W`` has shape ``(n_pre, n_post)``; each column (one postsynaptic neuron's
    incoming weights) is scaled to sum to ``total``. Diehl & Cook (2015).
    """
    W = np.asarray(W, dtype=float)
    return W * total / W.sum(axis=0, keepdims=True)


def synaptic_scaling_step(w, rate, target_rate: float, tau_scaling: float, h: float) -> np.ndarray:
    r"""One step of multiplicative synaptic scaling (``SynapticScaling``; van Rossum et al. 2000).

    .. math:: w \leftarrow \max\big(0,\ w\,[1 + h\,(\nu_{target} - a)/(\nu_{target}\,\tau_s)]\big)

    with :math:`a` the postsynaptic rate estimate (Hz) of each column of ``w``.
    """
    w = np.asarray(w, dtype=float)
    return np.maximum(w * (1.0 + h * (target_rate - np.asarray(rate, dtype=float)) / (target_rate * tau_scaling)), 0)


# --------------------------------------------------------------------------- inhibitory and short-term plasticity

__all__ += ["istdp_dw", "tsodyks_markram_release", "tsodyks_markram_steady_state"]


def istdp_dw(pre_times, post_times, rule: Any, w0: float = 0.5) -> float:
    r"""Total weight change of one synapse under inhibitory STDP (``InhibitorySTDP``; Vogels et al. 2011).

    With the traces of :func:`stdp_events` (both with time constant :math:`\tau_{STDP}`, all-to-all):
    at a presynaptic spike :math:`w \leftarrow w + \eta (x_i - \alpha)`, at a postsynaptic spike
    :math:`w \leftarrow w + \eta\, x_j`, :math:`\alpha = 2\rho_0\tau_{STDP}`, clipped to
    :math:`[w_{min}, w_{max}]` after every update.

    >>> round(istdp_dw([0.0], [0.01], dict(eta=1.0, tau_stdp=0.02, rho0=5.0)), 6)  # -alpha + e^{-1/2}
    0.406531
    """
    p = params_of(rule)
    alpha = 2.0 * p["rho0"] * p["tau_stdp"]
    w_min, w_max = p.get("w_min", -math.inf), p.get("w_max", math.inf)
    w = float(w0)
    for _, kind, trace in stdp_events(pre_times, post_times, p["tau_stdp"], p["tau_stdp"]):
        w += p["eta"] * ((trace - alpha) if kind == "pre" else trace)
        w = min(max(w, w_min), w_max)
    return w - float(w0)


def tsodyks_markram_release(spike_times, rule: Any) -> np.ndarray:
    r"""Transmitted fraction :math:`u^+ x^-` at each presynaptic spike (``TsodyksMarkram``).

    Between spikes :math:`x` recovers to 1 (:math:`\tau_{rec}`) and :math:`u` decays to 0
    (:math:`\tau_{facil}`); at a spike :math:`u \leftarrow u + U(1-u)`, the spike transmits
    :math:`u x` (times :math:`w`), then :math:`x \leftarrow x - u x`. ``tau_facil = 0``: :math:`u = U`.

    >>> tsodyks_markram_release([0.0, 0.0], dict(U=0.5, tau_rec=0.8, tau_facil=0.0)).tolist()
    [0.5, 0.25]
    """
    p = params_of(rule)
    U, tau_rec, tau_facil = p["U"], p["tau_rec"], p.get("tau_facil", 0.0)
    u, x, last = 0.0, 1.0, None
    out = []
    for t in _times(spike_times):
        if last is not None:
            x = 1.0 - (1.0 - x) * math.exp(-(t - last) / tau_rec)
            u = u * math.exp(-(t - last) / tau_facil) if tau_facil > 0 else 0.0
        last = t
        u = u + U * (1.0 - u) if tau_facil > 0 else U
        out.append(u * x)
        x -= u * x
    return np.asarray(out)


def tsodyks_markram_steady_state(frequency: float, rule: Any) -> tuple[float, float]:
    r"""Steady state :math:`(u^*, x^*)` at the spikes of a regular train (Tsodyks, Pawelzik & Markram 1998).

    .. math::
        u^* = \frac{U}{1 - (1 - U) e^{-\Delta/\tau_{facil}}}, \qquad
        x^* = \frac{1 - e^{-\Delta/\tau_{rec}}}{1 - (1 - u^*) e^{-\Delta/\tau_{rec}}}, \qquad \Delta = 1/f

    :math:`u^*` after its jump, :math:`x^*` before the release; the steady PSC relative to the
    first is :math:`u^* x^* / U`.
    """
    p = params_of(rule)
    U, tau_rec, tau_facil = p["U"], p["tau_rec"], p.get("tau_facil", 0.0)
    d = 1.0 / float(frequency)
    u = U / (1.0 - (1.0 - U) * math.exp(-d / tau_facil)) if tau_facil > 0 else U
    e = math.exp(-d / tau_rec)
    return u, (1.0 - e) / (1.0 - (1.0 - u) * e)


# --------------------------------------------------------------------------- voltage-based STDP

__all__ += ["clopath_dw"]


def clopath_dw(v, pre_steps, rule: Any, dt: float, w0: float = 0.5, u0: float | None = None) -> float:
    r"""Weight change under voltage-based STDP (``ClopathSTDP``; Clopath et al. 2010) for a given potential.

    ``v[n]`` is the postsynaptic potential (volts) of step ``n`` after the membrane update (before a
    reset); ``pre_steps`` the steps of presynaptic spikes. Each step, in this order:
    :math:`\bar u_\pm \leftarrow v + (\bar u_\pm - v) e^{-dt/\tau_\pm}`,
    :math:`\bar x \leftarrow \bar x\, e^{-dt/\tau_x}`,
    :math:`w \leftarrow w + dt\, A_{LTP}\, \bar x\, [v - \theta_+]_+ [\bar u_+ - \theta_-]_+`; then at a
    presynaptic spike :math:`w \leftarrow w - A_{LTD} [\bar u_- - \theta_-]_+` and
    :math:`\bar x \leftarrow \bar x + 1/\tau_x`; :math:`w` clipped after each update. Potentials in mV
    inside the brackets (``A_LTD`` per mV, ``A_LTP`` per mV²). ``u0``: initial filters (default ``theta_minus``).
    """
    p = params_of(rule)
    v = np.asarray(v, dtype=float)
    pre = np.zeros(len(v), dtype=int)
    np.add.at(pre, np.asarray(pre_steps, dtype=int), 1)
    em, ep, ex = math.exp(-dt / p["tau_minus"]), math.exp(-dt / p["tau_plus"]), math.exp(-dt / p["tau_x"])
    w_min, w_max = p.get("w_min", -math.inf), p.get("w_max", math.inf)
    um = up = p["theta_minus"] if u0 is None else float(u0)
    xbar, w = 0.0, float(w0)
    for n, vn in enumerate(v):
        um, up = vn + (um - vn) * em, vn + (up - vn) * ep
        xbar *= ex
        w += dt * p["A_LTP"] * xbar * max(vn - p["theta_plus"], 0.0) * 1e3 * max(up - p["theta_minus"], 0.0) * 1e3
        w = min(max(w, w_min), w_max)
        for _ in range(pre[n]):
            w -= p["A_LTD"] * max(um - p["theta_minus"], 0.0) * 1e3
            w = min(max(w, w_min), w_max)
            xbar += 1.0 / p["tau_x"]
    return w - float(w0)
