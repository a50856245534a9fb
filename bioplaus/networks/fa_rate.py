r"""Feedback alignment (FA) and direct feedback alignment (DFA) as rate dynamics: a recipe of specs.

:func:`fa_rate_spec` describes the network as a :class:`~bioplaus.spec.network.NetworkSpec`
(populations, :class:`~bioplaus.spec.credit.ErrorDriven` projections, a
:class:`~bioplaus.spec.credit.RateError` population and :class:`~bioplaus.spec.credit.Feedback`
pathways: fixed random layer by layer, from the output error, transposed or sign of the forward
weights, or learned by Kolen–Pollack), built by :mod:`bioplaus.build` and run by
:func:`bioplaus.simulation.simulate` (or :class:`bioplaus.simulation.Simulation` to rerun one
compiled build). Nothing in this module creates Brian2 objects; :class:`FARateNetwork` holds the
validated settings of such a network (the ``fa_rate`` experiment and the harness rules
``fa-brian2``/``dfa-brian2`` of :mod:`bioplaus.credit_brian2` use it).

The multilayer perceptron of :mod:`bioplaus.reference.mlp` becomes a network of
rate populations that trains itself online, one sample per presentation window,
inside a single Brian2 run (so on ``cpp``/``cuda`` no Python runs per sample).

Populations and pathways (``L`` weight layers, hidden layers ``l = 1 .. L-1``)::

    inp ──W_1──► hid_1 ──W_2──► ... ──W_L──► out ──(1:1 copy)──► err ◄── target (SampleRates)
                   ▲                 ▲         ▲                    │
                   └── B_1 ── ... ◄──┴── B_L-1 ┴────(1:1 error)─────┘        FA: layer by layer
                   ▲                 ▲                              │
                   └─────────── D_l (every hidden layer) ◄──────────┘        DFA: directly from err

Each non-input population has a *forward* compartment and an *error* compartment:

.. math::

    r_l = f(u_l), \quad u_l = \textstyle\sum_i W_{l,ji}\, r_{l-1,i} + b_l
        \qquad (\text{output: } r_L = u_L,\ \text{linear}),

    e = p - t, \quad p = r_L\ (\text{MSE}) \ \text{or}\
        p_k = e^{r_{L,k}} / \textstyle\sum_m e^{r_{L,m}}\ (\text{cross-entropy, divisive normalisation}),

    \delta_L = e, \qquad
    \delta_l = f'(u_l) \cdot \begin{cases} \sum_k B_{l,jk}\, \delta_{l+1,k} & \text{FA (Lillicrap et al. 2016)} \\
                                            \sum_k D_{l,jk}\, e_k & \text{DFA (Nøkland 2016)} \end{cases}

with :math:`f'` written through the rate (:math:`\tanh' = 1 - r^2`, :math:`\sigma' = r(1-r)`,
:math:`\mathrm{relu}' = [r > 0]`). At the end of each presentation window every plastic
synapse and bias changes from quantities available at the synapse only, the
presynaptic rate and the postsynaptic error compartment:

.. math::

    \Delta W_{l,ji} = -\eta\,(\delta_{l,j}\, r_{l-1,i} + \lambda W_{l,ji}), \qquad
    \Delta b_{l,j} = -\eta\, \delta_{l,j}

(with momentum :math:`\mu`: :math:`v \leftarrow \mu v + \Delta`, :math:`W \leftarrow W + v`;
with mini-batches of size ``batch_size`` the terms are accumulated per synapse over the
batch, weighted by ``1/len(batch)``, and applied at its last window). These are exactly
the updates of :class:`bioplaus.reference.credit.FA` / ``DFA`` with the same loss,
learning rate, momentum, weight decay and batch composition. A bias is a projection
``b_l`` from a unit of constant rate 1. With ``rule="kp"`` each :math:`B_l` is a
:class:`~bioplaus.spec.credit.KolenPollack` feedback that learns by the update of
:math:`W_{l+1}`, transposed (:math:`\Delta B_l = \Delta W_{l+1}^\top`, same weight decay);
with ``rule="mirror"`` a :class:`~bioplaus.spec.credit.WeightMirror` feedback that learns in
the ``rest`` steps from noise sent through :math:`W_{l+1}` (weight mirroring, Akrout et al. 2019).

Dynamics and scheduling
-----------------------
``tau = None`` (default): instantaneous rate units. Within one time step, in the
``groups`` slot, the builder (:mod:`bioplaus.build.feedback`) runs every summed-variable updater and every layer's "settle" operation
(a ``run_regularly`` computing the stored rate :math:`r = f(u)` once per
neuron) in data-flow order, set explicitly through their Brian2 ``order``:
``W_1``, ``hid_1``, ..., ``W_L``, ``out``, copy (and normalisation) to ``err``, ``err``,
error to ``out``, then ``B_{L-1} .. B_1`` (FA) or ``D_l`` (DFA). Each step therefore
computes the settled fixed point exactly, and ``present`` may be a single time step.
The error compartments :math:`\delta` are subexpressions of the summed feedback and the
stored rate, so the synapses read them without recomputing any transfer function.

``tau`` given: leaky rates, :math:`\tau \dot r_l = f(u_l) - r_l` and
:math:`\tau \dot e = p - t - e` (exponential Euler; each group's state update takes the
place of its settle operation in the order above), which converge to the same fixed
point; choose ``present`` a generous multiple of ``tau`` (the depth of the chain is
about ``2L`` time constants; with ``present = 20 tau`` the weights after 50 updates differ
from the reference by about 1e-6 of their change, with ``2 tau`` by more than 1e-2).

The input rates and targets are :class:`~bioplaus.spec.credit.SampleRates` populations
(stored samples indexed per window), so a whole epoch (or several) is one run; the updates
happen at the last step of each presentation (:class:`~bioplaus.spec.credit.UpdateSchedule`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from brian2 import ms

from ..errors import ConfigError
from ..spec.params import Spec, choice, integer, number, param, quantity, set_field

__all__ = ["fa_rate_spec", "mlp_weights", "train_fa_rate", "FARateResult", "ROUTINGS", "SPEC_ROUTINGS", "FARateNetwork", "RULES", "LOSSES", "ACTIVATIONS"]

RULES = ("fa", "dfa")
LOSSES = ("mse", "cross_entropy")
ACTIVATIONS = ("tanh", "sigmoid", "relu")
#: error routing of :func:`fa_rate_spec`: fixed random layer by layer, fixed random from the
#: output error, the transposed forward weights (backprop), their signs, Kolen-Pollack (learned)
ROUTINGS = ("fa", "dfa", "bp", "sign", "kp")
#: every routing of :func:`fa_rate_spec` and :class:`FARateNetwork`: also weight mirroring (learned from
#: noise in the rest steps), which has no noise-matched numpy reference run in the ``fa_rate`` experiment
SPEC_ROUTINGS = ROUTINGS + ("mirror",)


def schedule_dt(owner: str, present: Any, rest: Any, dt: Any, tau: Any):
    """The time step of a presentation schedule (``present``, ``rest``, ``dt``, ``tau``: quantities
    already checked, ``dt`` and ``tau`` possibly ``None``): ``dt`` itself, else ``present`` for
    instantaneous units (``tau`` unset), else ``tau / 10``. :class:`~bioplaus.errors.ConfigError`
    naming ``owner.present`` or ``owner.rest`` unless both are whole numbers of steps.
    """
    if dt is None:
        dt = present if tau is None else tau / 10
    for f, value in (("present", present), ("rest", rest)):
        steps = float(value) / float(dt)
        if abs(steps - round(steps)) > 1e-6:
            raise ConfigError(f"{owner}.{f}", str(value), f"a whole number of time steps dt = {dt}")
    return dt


# --------------------------------------------------------------------------- spec

@dataclass(frozen=True, eq=False)
class FARateNetwork(Spec):
    """Settings of a rate network trained by FA or DFA (inert, validated); :meth:`network` returns its spec.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes ``(n_in, n_hidden..., n_out)``, at least two.
    rule : {"fa", "dfa"}
    lr, momentum, weight_decay : float
        SGD learning rate :math:`\\eta`, momentum :math:`\\mu`, weight decay :math:`\\lambda`.
    batch_size : int
        Samples whose updates are accumulated before they are applied (1: online).
    loss : {"mse", "cross_entropy"}
        ``mse``: linear output, :math:`e = y - \\mathrm{onehot}`; ``cross_entropy``: the
        error population divides :math:`e^{y}` by the summed activity of the output layer
        (all-to-all normalisation synapses), :math:`e = \\mathrm{softmax}(y) - \\mathrm{onehot}`.
    activation : {"tanh", "sigmoid", "relu"}
        Hidden-layer transfer function.
    present, rest : quantity
        Presentation window of each sample and the silent gap after it.
    dt : quantity or None
        Simulation step; default ``present`` for instantaneous units, else ``tau / 10``.
    tau : quantity or None
        Rate time constant; ``None`` for instantaneous units (see the module docstring).
    """

    sizes: Any = (64, 100, 10)
    rule: str = param("fa", choices=SPEC_ROUTINGS)
    lr: Any = param(0.05, positive=True, doc="SGD learning rate")
    momentum: Any = param(0.0, low=0.0, high=0.999, doc="SGD momentum")
    weight_decay: Any = param(0.0, nonnegative=True, doc="weight decay (L2) of the forward weights")
    batch_size: Any = param(1, integer=True, minimum=1, doc="samples per applied update (1: online)")
    loss: str = param("mse", choices=LOSSES)
    activation: str = param("tanh", choices=ACTIVATIONS, doc="hidden-layer transfer function")
    present: Any = param("1 ms", unit=ms, positive=True, doc="presentation window of each sample")
    rest: Any = param("0 ms", unit=ms, nonnegative=True, doc="silent gap after each sample")
    dt: Any = param(None, unit=ms, positive=True, allow_none=True,
                    doc="simulation step (unset: present for instantaneous units, else tau / 10)")
    tau: Any = param(None, unit=ms, positive=True, allow_none=True,
                     doc="rate time constant (unset: instantaneous units)")
    name: str = "fa_rate"

    def __post_init__(self):
        super().__post_init__()
        n = "FARateNetwork"
        sizes = self.sizes
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ConfigError(f"{n}.sizes", sizes, "a list of at least two layer sizes, e.g. [64, 100, 10]")
        set_field(self, "sizes", tuple(integer(n, f"sizes[{k}]", s, minimum=1) for k, s in enumerate(sizes)))
        set_field(self, "dt", schedule_dt(n, self.present, self.rest, self.dt, self.tau))
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError(f"{n}.name", self.name, "a Python identifier (it prefixes Brian2 object names)")

    # ---- derived
    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.sizes) - 1

    @property
    def steps_present(self) -> int:
        return int(round(float(self.present) / float(self.dt)))

    @property
    def steps_rest(self) -> int:
        return int(round(float(self.rest) / float(self.dt)))

    @property
    def steps_window(self) -> int:
        return self.steps_present + self.steps_rest

    @property
    def window(self):
        """Presentation window plus rest, ``T``."""
        return self.present + self.rest

    @property
    def instantaneous(self) -> bool:
        return self.tau is None

    def settling(self) -> float:
        """``present / tau`` (``inf`` for instantaneous units)."""
        return math.inf if self.tau is None else float(self.present) / float(self.tau)

    def network(self, weights, biases, feedback, x, targets, orders, *, sign_scale: float = 1.0,
                kp_decay: float = 0.0, monitors: Sequence[Any] = (), **mirror: Any):
        """:func:`fa_rate_spec` with these settings (``rule`` is the error routing; ``mirror``: its ``mirror_*``
        arguments)."""
        return fa_rate_spec(self.sizes, weights, biases, feedback, x, targets, orders, rule=self.rule, lr=self.lr,
                            momentum=self.momentum, weight_decay=self.weight_decay, batch_size=self.batch_size,
                            loss=self.loss, activation=self.activation, present=self.present, rest=self.rest,
                            dt=self.dt, tau=self.tau, sign_scale=sign_scale, kp_decay=kp_decay, name=self.name,
                            monitors=monitors, **mirror)


# --------------------------------------------------------------------------- the network as a spec



def _layer_names(n_layers: int) -> list[str]:
    return ["inp"] + [f"hid{l}" for l in range(1, n_layers)] + ["out"]


def fa_rate_spec(sizes: Sequence[int], weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 feedback: Sequence[np.ndarray] | None, x: np.ndarray, targets: np.ndarray,
                 orders: Sequence[np.ndarray], *, rule: str = "fa", lr: float = 0.05, momentum: float = 0.0,
                 weight_decay: float = 0.0, batch_size: int = 1, loss: str = "mse", activation: str = "tanh",
                 present: Any = "1 ms", rest: Any = "0 ms", dt: Any = None, tau: Any = None,
                 sign_scale: float = 1.0, kp_decay: float = 0.0, mirror_lr: float = 0.02, mirror_decay: float = 0.5,
                 mirror_sigma: float = 1.0, mirror_noise: Sequence[np.ndarray] | None = None,
                 name: str = "fa_rate", monitors: Sequence[Any] = ()):
    r"""The multilayer perceptron of :mod:`bioplaus.reference.mlp` trained by FA/DFA/BP/sign as a NetworkSpec.

    A recipe: nothing here builds Brian2 objects; :func:`bioplaus.simulation.simulate` builds
    and runs the result on any backend. Populations ``inp`` and ``target`` present
    ``x[order]`` and ``targets[order]`` (one window per sample, epoch after epoch),
    ``hid1 .. hid{L-1}`` are instantaneous :class:`~bioplaus.spec.neurons.RateUnit` s with
    ``activation``, ``out`` is linear, ``err`` a :class:`~bioplaus.spec.credit.RateError`
    with ``loss``; ``one`` is a unit of constant rate 1 whose projections ``b1 .. bL`` are
    the biases. Every ``W_l`` and ``b_l`` learns by :class:`~bioplaus.spec.credit.ErrorDriven`
    at the end of each presentation, in the mini-batches of :meth:`UpdateSchedule.batches`.
    The error reaches hidden layer ``l`` through :class:`~bioplaus.spec.credit.Feedback`:

    ``fa``   ``B_l`` (``feedback[l-1]``, shape ``(n_l, n_{l+1})``) from layer ``l+1``;
    ``dfa``  ``D_l`` (``(n_l, n_L)``) from ``err``;
    ``bp``   the transposed forward weights :math:`W_{l+1}^\top` (``feedback`` unused);
    ``sign`` :math:`s\,\mathrm{sign}(W_{l+1})^\top` with ``s = sign_scale``;
    ``kp``   ``B_l`` learned by :class:`~bioplaus.spec.credit.KolenPollack` (starting from
             ``feedback[l-1]``): the update of ``W_{l+1}``, with weight decay
             ``weight_decay + kp_decay`` on ``W_2 .. W_L`` and every ``B_l``, as
             :class:`bioplaus.reference.kolen_pollack.KolenPollack` with ``decay = kp_decay``.
    ``mirror`` ``B_l`` learned by :class:`~bioplaus.spec.credit.WeightMirror` (starting from
             ``feedback[l-1]``) in the ``rest`` steps after each update (``rest`` of at least one
             step): :math:`\Delta B_l = \eta_B(\xi_l^\top(\xi_l W_{l+1}^\top) - \lambda B_l)` with
             ``mirror_lr``, ``mirror_decay``, noise :math:`\xi_l = \sigma\nu` (``mirror_sigma``;
             ``mirror_noise[l-1]``: the standard-normal rows :math:`\nu`, one per rest step, or drawn
             from the seed), as :class:`bioplaus.reference.kolen_pollack.WeightMirror` with
             ``mirror_batch = 1`` (one mirror step per rest step).

    ``tau`` (default ``None``, instantaneous units) makes the hidden, output and error units
    leaky, :math:`\tau \dot r = f(u) - r` and :math:`\tau \dot e = p - t - e`; ``dt`` then
    defaults to ``tau / 10`` and ``present`` should be many ``tau`` (see the module docstring).

    ``weights[l]`` has shape ``(n_{l+1}, n_l)`` and ``biases[l]`` ``(n_{l+1},)`` as in
    :class:`~bioplaus.reference.mlp.MLP`; :func:`mlp_weights` reads them back from a result.
    """
    from ..spec.credit import (ErrorDriven, Feedback, FixedFeedback, KolenPollack, RateError, SampleRates, SignOf,
                               Transposed, UpdateSchedule, WeightMirror)
    from ..spec.network import NetworkSpec, Population, Projection
    from ..spec.neurons import RateUnit

    choice("fa_rate_spec", "rule", rule, SPEC_ROUTINGS)
    sizes = tuple(int(s) for s in sizes)
    L = len(sizes) - 1
    x = np.asarray(x, dtype=float)
    targets = np.asarray(targets, dtype=float)
    flat = np.concatenate([np.asarray(o, dtype=np.int64).ravel() for o in orders])
    if flat.size == 0:
        raise ConfigError("orders", [], "at least one sample to present")
    if flat.min() < 0 or flat.max() >= len(x):
        raise ConfigError("orders", int(flat.max() if flat.max() >= len(x) else flat.min()),
                          f"sample indices in [0, {len(x)})")
    updates = UpdateSchedule.batches(orders, batch_size, present, rest)
    tau = quantity("fa_rate_spec", "tau", tau, updates.present, positive=True, allow_none=True)
    if dt is None:
        dt = updates.present if tau is None else tau / 10
    kp_decay = number("fa_rate_spec", "kp_decay", kp_decay, nonnegative=True)
    names = _layer_names(L)
    pops = [Population("inp", SampleRates(x, flat, present=present, rest=rest))]
    for l in range(1, L + 1):
        pops.append(Population(names[l], RateUnit(tau=tau, transfer="linear" if l == L else activation), sizes[l]))
    pops += [Population("one", RateUnit(tau=None, bias=1.0), 1),
             Population("target", SampleRates(targets, flat, present=present, rest=rest)),
             Population("err", RateError(output="out", target="target", loss=loss, tau=tau), sizes[-1])]
    w_rule = ErrorDriven(eta=lr, momentum=momentum, weight_decay=weight_decay, updates=updates)
    b_rule = ErrorDriven(eta=lr, momentum=momentum, weight_decay=0.0, updates=updates)
    projs = []
    for l in range(1, L + 1):
        rule_l = w_rule
        if rule == "kp" and l > 1:   # the mirrored matrices W_2 .. W_L decay like their mirrors
            rule_l = ErrorDriven(eta=lr, momentum=momentum, weight_decay=weight_decay + kp_decay, updates=updates)
        projs.append(Projection(f"W{l}", names[l - 1], names[l], rule=rule_l,
                                w_init=np.asarray(weights[l - 1], dtype=float).T, weight_scale=1.0))
    for l in range(1, L + 1):
        projs.append(Projection(f"b{l}", "one", names[l], rule=b_rule,
                                w_init=np.asarray(biases[l - 1], dtype=float)[None, :], weight_scale=1.0))
    fbs = []
    for l in range(1, L):
        if rule == "fa":
            fbs.append(Feedback(f"B{l}", names[l + 1], names[l], FixedFeedback(np.asarray(feedback[l - 1]).T)))
        elif rule == "dfa":
            fbs.append(Feedback(f"D{l}", "err", names[l], FixedFeedback(np.asarray(feedback[l - 1]).T)))
        elif rule == "bp":
            fbs.append(Feedback(f"B{l}", names[l + 1], names[l], Transposed(of=f"W{l + 1}")))
        elif rule == "kp":
            fbs.append(Feedback(f"B{l}", names[l + 1], names[l], KolenPollack(
                of=f"W{l + 1}", initial=FixedFeedback(np.asarray(feedback[l - 1]).T))))
        elif rule == "mirror":
            fbs.append(Feedback(f"B{l}", names[l + 1], names[l], WeightMirror(
                of=f"W{l + 1}", initial=FixedFeedback(np.asarray(feedback[l - 1]).T), eta=mirror_lr,
                decay=mirror_decay, sigma=mirror_sigma, noise=None if mirror_noise is None else mirror_noise[l - 1])))
        else:
            fbs.append(Feedback(f"B{l}", names[l + 1], names[l], SignOf(of=f"W{l + 1}", scale=sign_scale)))
    net = NetworkSpec(pops, projs, monitors=tuple(monitors), feedback=fbs, dt=dt,
                      duration=updates.n_windows * updates.window, name=name)
    # one step more: monitors (which record at the start of a step) see the last window settled and learned
    return net.replace(duration=net.duration + net.dt)


def mlp_weights(result) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Forward weights ``(n_{l+1}, n_l)`` and biases of a :func:`fa_rate_spec` network from a simulation result."""
    arrays = result.arrays
    Ws, bs = [], []
    l = 1
    while f"W{l}.w" in arrays:
        W = result.weight_matrix(f"W{l}").T
        Ws.append(W)
        bs.append(np.asarray(arrays[f"b{l}.w"], dtype=float)[np.argsort(arrays[f"b{l}.j"])])
        l += 1
    return Ws, bs


@dataclass
class FARateResult:
    """Final weights and biases (as :class:`~bioplaus.reference.mlp.MLP`), ``snapshots`` ``(weights, biases)`` at
    the start and at every epoch's end, the settled output ``p`` of every window, timings, the simulation result."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    snapshots: list[tuple[list[np.ndarray], list[np.ndarray]]]
    outputs: np.ndarray
    timings: dict[str, float]
    result: Any


def train_fa_rate(settings: FARateNetwork, weights, biases, feedback, x, targets, orders, backend: str = "numpy",
                  *, threads: int | None = None, sign_scale: float = 1.0, kp_decay: float = 0.0) -> FARateResult:
    """Every epoch of ``orders`` in one :func:`~bioplaus.simulation.simulate` run of ``settings.network(...)``,
    with weight snapshots at every epoch boundary (epochs of equal length) and the output of every window."""
    from ..simulation import simulate
    from ..spec.network import Monitor

    sizes = settings.sizes
    n, L = len(orders[0]), len(sizes) - 1
    if any(len(o) != n for o in orders):
        raise ConfigError("orders", [len(o) for o in orders], "epochs of equal length")
    epoch_T = n * settings.window
    mons = [Monitor(f"{w}{l}", ("w",), dt=epoch_T) for l in range(1, L + 1) for w in "Wb"]
    mons.append(Monitor("err", ("p",)))
    net = settings.network(weights, biases, feedback, x, targets, orders, sign_scale=sign_scale, kp_decay=kp_decay,
                           monitors=mons)
    r = simulate(net, backend, threads=threads)
    W, b = mlp_weights(r)

    def snaps(proj: str, n_pre: int, n_post: int) -> list[np.ndarray]:
        hist = r[f"{proj}.state.w"]
        out = []
        for k in range(hist.shape[1]):
            m = np.zeros((n_post, n_pre))
            m[r[f"{proj}.j"], r[f"{proj}.i"]] = hist[:, k]
            out.append(m)
        return out

    sW = [snaps(f"W{l}", sizes[l - 1], sizes[l]) for l in range(1, L + 1)]
    sb = [[m[:, 0] for m in snaps(f"b{l}", 1, sizes[l])] for l in range(1, L + 1)]
    snapshots = [([m[k] for m in sW], [v[k] for v in sb]) for k in range(len(orders) + 1)]
    # monitors record at the start of a step: window k's settled output is read one step after its last presentation
    outputs = r["err.state.p"].T[np.arange(len(orders) * n) * settings.steps_window + settings.steps_present]
    run_s = r.timings.get("run_s", r.timings.get("run_binary_s", r.timings.get("codegen_compile_run_s", 0.0)))
    return FARateResult(W, b, snapshots, outputs, {"build_s": r.timings["total_s"] - run_s, "run_s": run_s}, r)
