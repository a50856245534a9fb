r"""Feedback alignment (FA) and direct feedback alignment (DFA) as rate dynamics in Brian2.

:func:`fa_rate_spec` describes the network as a :class:`~bioplaus.spec.network.NetworkSpec`
(populations, :class:`~bioplaus.spec.credit.ErrorDriven` projections, a
:class:`~bioplaus.spec.credit.RateError` population and :class:`~bioplaus.spec.credit.Feedback`
pathways: fixed random layer by layer, from the output error, transposed or sign of the forward
weights), built by :mod:`bioplaus.build` and run by :func:`bioplaus.simulation.simulate`; the
``fa_rate`` experiment and ``bioplaus bench`` use it. The hand-wired Brian2 build further below
(:class:`FARateSimulation`) still serves leaky units (``tau``) and the harness rules
``fa-brian2``/``dfa-brian2``, which rerun one compiled ``cpp`` binary per epoch with ``run_args``.

The multilayer perceptron of :mod:`bioplaus.reference.mlp` becomes a network of
rate populations that trains itself online, one sample per presentation window,
inside a single Brian2 run (so on ``cpp``/``cuda`` no Python runs per sample).

Populations and pathways (``L`` weight layers, hidden layers ``l = 1 .. L-1``)::

    inp ──W_1──► hid_1 ──W_2──► ... ──W_L──► out ──(1:1 copy)──► err ◄── target (TimedArray)
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
learning rate, momentum, weight decay and batch composition.

Dynamics and scheduling
-----------------------
``tau = None`` (default): instantaneous rate units. Within one time step, in the
``groups`` slot, every summed-variable updater and every layer's "settle" operation
(a ``run_regularly`` computing the stored rate :math:`r = f(I_{ff} + b)` once per
neuron) runs in data-flow order, set explicitly through their Brian2 ``order``:
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

The input rates and targets are stored variables set at every step in the
``before_groups`` slot from two data ``TimedArray`` s indexed by a per-window sample
index (itself a ``TimedArray``), so a whole epoch (or several) is one run. The sample
of window ``k`` is shown so that its last ``present`` step is ``t = (k+1) T``
(``T = present + rest``; window 0 is an empty lead-in), and the updates are
``run_regularly`` operations with ``dt = T`` in the ``end`` slot of that step (weights,
then biases; both read the values settled in the step), gated by per-window ``TimedArray`` s that also carry the batch weights. The
learning rate, momentum and weight decay are ``(shared, constant)`` variables, so a
compiled standalone binary reruns with new values (and new weights, data order or
data) through ``run_args`` without recompiling.
"""
from __future__ import annotations

import contextlib
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from ..errors import ConfigError, DivergedError
from ..spec.params import Spec, choice, integer, number, quantity, set_field

__all__ = ["fa_rate_spec", "mlp_weights", "ROUTINGS", "FARateNetwork", "FARateResult", "FARateSimulation", "BuiltFARate", "build_fa_rate",
           "fa_rate_schedule", "train_fa_rate", "FARateLearner", "FABrian2", "DFABrian2",
           "RULES", "LOSSES", "ACTIVATIONS"]

RULES = ("fa", "dfa")
LOSSES = ("mse", "cross_entropy")
ACTIVATIONS = ("tanh", "sigmoid", "relu")

_F = {"tanh": "tanh({u})", "sigmoid": "1/(1 + exp(-({u})))", "relu": "clip({u}, 0, inf)"}
_DF = {"tanh": "(1 - r*r)", "sigmoid": "r*(1 - r)", "relu": "int(r > 0)"}


def _ms():
    from brian2 import ms

    return ms


# --------------------------------------------------------------------------- spec

@dataclass(frozen=True, eq=False)
class FARateNetwork(Spec):
    """A rate network trained by FA or DFA inside Brian2 (inert, validated parameters).

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
    rule: str = "fa"
    lr: Any = 0.05
    momentum: Any = 0.0
    weight_decay: Any = 0.0
    batch_size: Any = 1
    loss: str = "mse"
    activation: str = "tanh"
    present: Any = "1 ms"
    rest: Any = "0 ms"
    dt: Any = None
    tau: Any = None
    name: str = "fa_rate"

    def __post_init__(self):
        n = "FARateNetwork"
        ms = _ms()
        sizes = self.sizes
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ConfigError(f"{n}.sizes", sizes, "a list of at least two layer sizes, e.g. [64, 100, 10]")
        set_field(self, "sizes", tuple(integer(n, f"sizes[{k}]", s, minimum=1) for k, s in enumerate(sizes)))
        set_field(self, "rule", choice(n, "rule", self.rule, RULES))
        set_field(self, "lr", number(n, "lr", self.lr, positive=True))
        set_field(self, "momentum", number(n, "momentum", self.momentum, low=0.0, high=0.999))
        set_field(self, "weight_decay", number(n, "weight_decay", self.weight_decay, nonnegative=True))
        set_field(self, "batch_size", integer(n, "batch_size", self.batch_size, minimum=1))
        set_field(self, "loss", choice(n, "loss", self.loss, LOSSES))
        set_field(self, "activation", choice(n, "activation", self.activation, ACTIVATIONS))
        set_field(self, "present", quantity(n, "present", self.present, ms, positive=True))
        set_field(self, "rest", quantity(n, "rest", self.rest, ms, nonnegative=True))
        set_field(self, "tau", quantity(n, "tau", self.tau, ms, positive=True, allow_none=True))
        default_dt = self.present if self.tau is None else self.tau / 10
        set_field(self, "dt", quantity(n, "dt", default_dt if self.dt is None else self.dt, ms, positive=True))
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError(f"{n}.name", self.name, "a Python identifier (it prefixes Brian2 object names)")
        for f in ("present", "rest"):
            steps = float(getattr(self, f)) / float(self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ConfigError(f"{n}.{f}", getattr(self, f), f"a whole number of time steps dt = {self.dt}")

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
    def window(self):
        """Presentation window plus rest, ``T``."""
        return self.present + self.rest

    @property
    def instantaneous(self) -> bool:
        return self.tau is None

    def settling(self) -> float:
        """``present / tau`` (``inf`` for instantaneous units)."""
        return math.inf if self.tau is None else float(self.present) / float(self.tau)


# --------------------------------------------------------------------------- the network as a spec

#: error routing of :func:`fa_rate_spec`: fixed random layer by layer, fixed random from the
#: output error, the transposed forward weights (backprop), their signs
ROUTINGS = ("fa", "dfa", "bp", "sign")


def _layer_names(n_layers: int) -> list[str]:
    return ["inp"] + [f"hid{l}" for l in range(1, n_layers)] + ["out"]


def fa_rate_spec(sizes: Sequence[int], weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 feedback: Sequence[np.ndarray] | None, x: np.ndarray, targets: np.ndarray,
                 orders: Sequence[np.ndarray], *, rule: str = "fa", lr: float = 0.05, momentum: float = 0.0,
                 weight_decay: float = 0.0, batch_size: int = 1, loss: str = "mse", activation: str = "tanh",
                 present: Any = "1 ms", rest: Any = "0 ms", dt: Any = None, sign_scale: float = 1.0,
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
    ``sign`` :math:`s\,\mathrm{sign}(W_{l+1})^\top` with ``s = sign_scale``.

    ``weights[l]`` has shape ``(n_{l+1}, n_l)`` and ``biases[l]`` ``(n_{l+1},)`` as in
    :class:`~bioplaus.reference.mlp.MLP`; :func:`mlp_weights` reads them back from a result.
    """
    from ..spec.credit import (ErrorDriven, Feedback, FixedFeedback, RateError, SampleRates, SignOf, Transposed,
                               UpdateSchedule)
    from ..spec.network import NetworkSpec, Population, Projection
    from ..spec.neurons import RateUnit

    choice("fa_rate_spec", "rule", rule, ROUTINGS)
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
    dt = updates.present if dt is None else dt
    names = _layer_names(L)
    pops = [Population("inp", SampleRates(x, flat, present=present, rest=rest))]
    for l in range(1, L + 1):
        pops.append(Population(names[l], RateUnit(tau=None, transfer="linear" if l == L else activation), sizes[l]))
    pops += [Population("one", RateUnit(tau=None, bias=1.0), 1),
             Population("target", SampleRates(targets, flat, present=present, rest=rest)),
             Population("err", RateError(output="out", target="target", loss=loss), sizes[-1])]
    w_rule = ErrorDriven(eta=lr, momentum=momentum, weight_decay=weight_decay, updates=updates)
    b_rule = ErrorDriven(eta=lr, momentum=momentum, weight_decay=0.0, updates=updates)
    projs = []
    for l in range(1, L + 1):
        projs.append(Projection(f"W{l}", names[l - 1], names[l], rule=w_rule,
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


# --------------------------------------------------------------------------- schedule

@dataclass
class Schedule:
    """Per-window arrays of one run (window 0 is an empty lead-in)."""

    sample_index: np.ndarray   # (rows,) sample shown in each grid row; n_samples = empty row
    grid_step: float           # seconds per row of sample_index
    learn_weight: np.ndarray   # (M+1,) weight of window k's sample in its batch (0: no learning)
    apply: np.ndarray          # (M+1,) 1 where window k's sample ends a batch
    n_windows: int             # M


def fa_rate_schedule(spec: FARateNetwork, orders: Sequence[np.ndarray], n_samples: int) -> Schedule:
    """Window schedule for ``orders`` (one array of sample indices per epoch), one after the other.

    Batches of ``spec.batch_size`` consecutive samples are formed within each epoch (the
    last one may be shorter), as :class:`bioplaus.reference.credit.NumpyLearner` does.
    """
    P, R = spec.steps_present, spec.steps_rest
    g = math.gcd(P, R) if R else P
    n_on, per = P // g, (P + R) // g
    flat = np.concatenate([np.asarray(o, dtype=np.int64).ravel() for o in orders]) if len(orders) else \
        np.zeros(0, np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n_samples):
        raise ConfigError("orders", int(flat.max() if flat.max() >= n_samples else flat.min()),
                          f"sample indices in [0, {n_samples})")
    M = flat.size
    idx = np.full((M + 1, per), float(n_samples))
    idx[1:, :n_on] = flat[:, None]
    lw = np.zeros(M + 1)
    ap = np.zeros(M + 1)
    k = 1
    bs = spec.batch_size
    for o in orders:
        n = len(o)
        for start in range(0, n, bs):
            m = min(bs, n - start)
            lw[k:k + m] = 1.0 / m
            ap[k + m - 1] = 1.0
            k += m
    return Schedule(idx.ravel(), g * float(spec.dt), lw, ap, M)


# --------------------------------------------------------------------------- build

@dataclass
class BuiltFARate:
    """Brian2 objects of a built FA/DFA rate network."""

    spec: FARateNetwork
    network: Any
    layers: list[Any]                 # [inp, hid_1, ..., out]
    err: Any
    forward: list[Any]                # W_1 .. W_L synapses
    feedback: list[Any]               # B_l / D_l synapses, index l-1 = hidden layer l
    relays: dict[str, Any]            # copy / error / normalisation synapses
    arrays: dict[str, Any]            # TimedArrays: x_data, y_data, sample_index, learn_weight, apply
    monitors: dict[str, Any] = field(default_factory=dict)
    duration: Any = None
    n_windows: int = 0
    plastic_state: list[tuple[Any, str]] = field(default_factory=list)  # (object, variable) carried over

    def weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Current forward weights (``(n_out, n_in)`` each, as :class:`MLP`) and biases."""
        Ws = [_dense(s, "w") for s in self.forward]
        bs = [np.array(g.b[:], dtype=float) for g in self.layers[1:]]
        return Ws, bs


def _dense(syn, var: str) -> np.ndarray:
    """``(n_post, n_pre)`` matrix of a fully connected Synapses variable."""
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    out = np.zeros((len(syn.target), len(syn.source)))
    out[j, i] = np.asarray(getattr(syn, var)[:], dtype=float)
    return out


def _all_to_all(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.repeat(np.arange(n_pre, dtype=np.int32), n_post)
    j = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    return i, j


def build_fa_rate(spec: FARateNetwork, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                  feedback: Sequence[np.ndarray], x: np.ndarray, targets: np.ndarray,
                  schedule: Schedule, *, epoch_windows: int | None = None, record_outputs: bool = False,
                  state: dict[str, np.ndarray] | None = None) -> BuiltFARate:
    """Create the Brian2 objects (under the active device) of ``spec``.

    Parameters
    ----------
    weights, biases : list of ndarray
        Initial forward weights ``W_l`` of shape ``(n_l, n_{l-1})`` and biases ``b_l`` (as :class:`MLP`).
    feedback : list of ndarray
        FA: ``B_l`` of shape ``(n_l, n_{l+1})``; DFA: ``D_l`` of shape ``(n_l, n_L)``, one per hidden layer.
    x, targets : ndarray
        Input rates ``(n_samples, n_in)`` and target rates ``(n_samples, n_out)`` (one-hot for labels).
    schedule : Schedule
        From :func:`fa_rate_schedule`.
    epoch_windows : int, optional
        Record weight snapshots every this many windows (and at the start).
    record_outputs : bool
        Record the output population's settled ``p`` at every update (online predictions).
    state : dict, optional
        Momentum/accumulator state carried over from a previous run (``"<object>.<var>"`` keys).
    """
    from brian2 import Clock, Network, NeuronGroup, StateMonitor, Synapses, TimedArray, second

    L = spec.n_layers
    sizes = spec.sizes
    _check_shapes(spec, weights, biases, feedback, x, targets)
    nm = spec.name
    clock = Clock(dt=spec.dt, name=f"{nm}_clock")
    T = spec.window
    inst = spec.instantaneous
    f = _F[spec.activation]

    x_data = TimedArray(np.vstack([x, np.zeros((1, sizes[0]))]), dt=1 * second, name=f"{nm}_x_data")
    y_data = TimedArray(np.vstack([targets, np.zeros((1, sizes[-1]))]), dt=1 * second, name=f"{nm}_y_data")
    sample_index = TimedArray(schedule.sample_index, dt=schedule.grid_step * second, name=f"{nm}_sample_index")
    learn_weight = TimedArray(schedule.learn_weight, dt=T, name=f"{nm}_learn_weight")
    apply = TimedArray(schedule.apply, dt=T, name=f"{nm}_apply")
    arrays = dict(x_data=x_data, y_data=y_data, sample_index=sample_index, learn_weight=learn_weight, apply=apply)
    ns_in = {x_data.name: x_data, y_data.name: y_data, sample_index.name: sample_index}
    lookup = f"{sample_index.name}(t + t_shift)*second"
    t_shift = (spec.steps_present - 1) * spec.dt

    # ---- populations
    # Every step, in the 'groups' slot, in data-flow order (the `seq` counter sets each
    # operation's `order`): W_1 summed, hid_1 settles, ..., W_L summed, out settles, copy and
    # normalisation summed, err settles, error back to out, B_{L-1}..B_1 (FA) or D_l (DFA).
    # A layer "settles" by computing its stored rate r = f(I_ff + b) once per neuron
    # (instantaneous units) or by integrating tau dr/dt = f(I_ff + b) - r (leaky units).
    seq = iter(range(1, 1_000_000))
    inp = NeuronGroup(sizes[0], "r : 1\nt_shift : second (shared, constant)", clock=clock, name=f"{nm}_inp",
                      namespace=dict(ns_in))
    inp.t_shift = t_shift
    inp.run_regularly(f"r = {x_data.name}({lookup}, i)", when="before_groups", name=f"{nm}_inp_present")
    layers = [inp]
    for l in range(1, L + 1):
        out_layer = l == L
        drive = ("{u}" if out_layer else f).format(u="I_ff + b")
        eqs = ["I_ff : 1", "I_fb : 1", "b : 1",
               "delta = I_fb : 1" if out_layer else f"delta = I_fb*{_DF[spec.activation]} : 1",
               "eta_b : 1 (shared, constant)", "mu_b : 1 (shared, constant)"] + _opt_state_eqs(spec, "b")
        eqs += ["r : 1"] if inst else [f"dr/dt = ({drive} - r)/tau : 1", "tau : second (shared, constant)"]
        g = NeuronGroup(sizes[l], "\n".join(eqs), clock=clock, method="exponential_euler",
                        name=f"{nm}_out" if out_layer else f"{nm}_hid{l}",
                        namespace={learn_weight.name: learn_weight, apply.name: apply})
        g.b = np.asarray(biases[l - 1], dtype=float)
        g.eta_b, g.mu_b = spec.lr, spec.momentum
        if not inst:
            g.tau = spec.tau
        layers.append(g)
    out = layers[-1]
    p_expr = "I_y" if spec.loss == "mse" else "exp(I_y)/Z"
    err_eqs = ["I_y : 1", "target : 1", "t_shift : second (shared, constant)"]
    if spec.loss == "cross_entropy":
        err_eqs.append("Z : 1")
    if inst:
        err_eqs += ["p : 1", "error : 1"]
    else:
        err_eqs += [f"p = {p_expr} : 1", "derror/dt = (p - target - error)/tau : 1",
                    "tau : second (shared, constant)"]
    err = NeuronGroup(sizes[-1], "\n".join(err_eqs), clock=clock, method="exponential_euler", name=f"{nm}_err",
                      namespace=dict(ns_in))
    err.t_shift = t_shift
    if not inst:
        err.tau = spec.tau
    err.run_regularly(f"target = {y_data.name}({lookup}, i)", when="before_groups", name=f"{nm}_err_target")

    def settle(g, code):
        if inst:
            g.run_regularly(code, when="groups", order=next(seq), name=f"{g.name}_settle")
        else:
            g.state_updater.order = next(seq)

    def summed(syn, var):
        syn.summed_updaters[f"{var}_post"].order = next(seq)

    # ---- forward pathway
    forward = []
    upd_ns = {learn_weight.name: learn_weight, apply.name: apply}
    for l in range(1, L + 1):
        pre, post = layers[l - 1], layers[l]
        eqs = ["w : 1", "I_ff_post = w*r_pre : 1 (summed)", "eta : 1 (shared, constant)",
               "mu : 1 (shared, constant)", "wd : 1 (shared, constant)"] + _opt_state_eqs(spec, "w")
        s = Synapses(pre, post, "\n".join(eqs), clock=clock, name=f"{nm}_W{l}", namespace=dict(upd_ns))
        i, j = _all_to_all(sizes[l - 1], sizes[l])
        s.connect(i=i, j=j)
        s.w = np.asarray(weights[l - 1], dtype=float)[j, i]
        s.eta, s.mu, s.wd = spec.lr, spec.momentum, spec.weight_decay
        summed(s, "I_ff")
        settle(post, f"r = {(('{u}' if l == L else f)).format(u='I_ff + b')}")
        forward.append(s)

    # ---- error population and error pathways
    relays = {}
    n_out = sizes[-1]
    one = np.arange(n_out, dtype=np.int32)
    copy = Synapses(out, err, "I_y_post = r_pre : 1 (summed)", clock=clock, name=f"{nm}_copy")
    copy.connect(i=one, j=one)
    summed(copy, "I_y")
    relays["copy"] = copy
    if spec.loss == "cross_entropy":
        norm = Synapses(out, err, "Z_post = exp(r_pre) : 1 (summed)", clock=clock, name=f"{nm}_norm")
        ii, jj = _all_to_all(n_out, n_out)
        norm.connect(i=ii, j=jj)
        summed(norm, "Z")
        relays["norm"] = norm
    settle(err, f"p = {p_expr}\nerror = p - target")
    to_out = Synapses(err, out, "I_fb_post = error_pre : 1 (summed)", clock=clock, name=f"{nm}_error")
    to_out.connect(i=one, j=one)
    summed(to_out, "I_fb")
    relays["error"] = to_out

    fb_syn: list[Any] = [None] * (L - 1)
    for l in range(L - 1, 0, -1):   # backwards: B_{L-1} first (FA needs delta_{l+1} before delta_l)
        B = np.asarray(feedback[l - 1], dtype=float)       # (n_l, n_{l+1}) or (n_l, n_L)
        src, var = (layers[l + 1], "delta") if spec.rule == "fa" else (err, "error")
        s = Synapses(src, layers[l], f"B : 1 (constant)\nI_fb_post = B*{var}_pre : 1 (summed)", clock=clock,
                     name=f"{nm}_{'B' if spec.rule == 'fa' else 'D'}{l}")
        i, j = _all_to_all(len(src), sizes[l])
        s.connect(i=i, j=j)
        s.B = B[j, i]
        summed(s, "I_fb")
        fb_syn[l - 1] = s

    # ---- plasticity: once per window, after the step's dynamics ('end' slot)
    plastic: list[tuple[Any, str]] = []
    for s in forward:
        s.run_regularly(_update_code(spec, "w", "delta_post*r_pre", decay=True), dt=T, when="end", order=0,
                        name=f"{s.name}_update")
        plastic += [(s, v) for v in _opt_state_vars(spec, "w")]
    for g in layers[1:]:
        g.run_regularly(_update_code(spec, "b", "delta", decay=False), dt=T, when="end", order=1,
                        name=f"{g.name}_update")
        plastic += [(g, v) for v in _opt_state_vars(spec, "b")]
    if state:
        for obj, var in plastic:
            key = f"{_role(obj, nm)}.{var}"
            if key in state:
                setattr(obj, var, state[key])

    # ---- monitors
    monitors: dict[str, Any] = {}
    duration = schedule.n_windows * T + spec.dt
    if epoch_windows:
        for s in forward:
            monitors[s.name] = StateMonitor(s, "w", record=True, dt=epoch_windows * T, when="end", order=2,
                                            name=f"{s.name}_snap")
        for g in layers[1:]:
            monitors[g.name] = StateMonitor(g, "b", record=True, dt=epoch_windows * T, when="end", order=2,
                                            name=f"{g.name}_snap")
    if record_outputs:
        monitors["p"] = StateMonitor(err, "p", record=True, dt=T, when="end", order=-1, name=f"{nm}_p_mon")

    objects = layers + [err] + forward + list(relays.values()) + fb_syn + list(monitors.values())
    net = Network(*objects, name=f"{nm}_net")
    return BuiltFARate(spec=spec, network=net, layers=layers, err=err, forward=forward, feedback=fb_syn,
                       relays=relays, arrays=arrays, monitors=monitors, duration=duration,
                       n_windows=schedule.n_windows, plastic_state=plastic)


def _role(obj, prefix: str) -> str:
    return obj.name[len(prefix) + 1:] if obj.name.startswith(prefix + "_") else obj.name


def _opt_state_vars(spec: FARateNetwork, var: str) -> list[str]:
    out = []
    if spec.batch_size > 1:
        out.append(f"g_{var}")
    if spec.momentum > 0:
        out.append(f"v_{var}")
    return out


def _opt_state_eqs(spec: FARateNetwork, var: str) -> list[str]:
    return [f"{v} : 1" for v in _opt_state_vars(spec, var)]


def _update_code(spec: FARateNetwork, var: str, grad: str, decay: bool) -> str:
    """Abstract code of one SGD step on ``var`` (see the module docstring).

    ``learn_weight(t)`` is the sample's weight in its batch (0 outside learning windows),
    ``apply(t)`` is 1 at a batch's last window. The statements reproduce
    :class:`bioplaus.reference.mlp.SGD` operation for operation at batch size 1.
    """
    eta, mu = ("eta", "mu") if decay else ("eta_b", "mu_b")   # synapses: eta, mu; neurons: eta_b, mu_b
    lw = f"{spec.name}_learn_weight(t)"
    ap = f"{spec.name}_apply(t)"
    lines = []
    if spec.batch_size > 1:
        lines.append(f"g_{var} = g_{var} + {lw}*{grad}")
        g, gate = f"g_{var}", ap
    else:
        g, gate = f"{lw}*{grad}", lw
    if decay and spec.weight_decay > 0:
        g = f"({g} + wd*{var})"
    if spec.momentum > 0:
        # gate = 1: v = mu*v - eta*g; var = var + v.  gate = 0: unchanged (exactly)
        lines.append(f"v_{var} = {gate}*({mu}*v_{var} - {eta}*{g}) + (1 - {gate})*v_{var}")
        lines.append(f"{var} = {gate}*({var} + v_{var}) + (1 - {gate})*{var}")
    elif spec.batch_size > 1:
        lines.append(f"{var} = {gate}*({var} - {eta}*{g}) + (1 - {gate})*{var}")
    else:
        lines.append(f"{var} = {var} - {eta}*{g}")
    if spec.batch_size > 1:
        lines.append(f"g_{var} = (1 - {ap})*g_{var}")
    return "\n".join(lines)


def _check_shapes(spec, weights, biases, feedback, x, targets) -> None:
    s = spec.sizes
    L = spec.n_layers
    if len(weights) != L or len(biases) != L:
        raise ConfigError("weights", f"{len(weights)} matrices, {len(biases)} biases", f"{L} of each")
    for l in range(L):
        if np.shape(weights[l]) != (s[l + 1], s[l]):
            raise ConfigError(f"weights[{l}]", np.shape(weights[l]), f"shape {(s[l + 1], s[l])}")
        if np.shape(biases[l]) != (s[l + 1],):
            raise ConfigError(f"biases[{l}]", np.shape(biases[l]), f"shape {(s[l + 1],)}")
    if len(feedback) != L - 1:
        raise ConfigError("feedback", f"{len(feedback)} matrices", f"{L - 1} (one per hidden layer)")
    for l in range(1, L):
        want = (s[l], s[l + 1]) if spec.rule == "fa" else (s[l], s[-1])
        if np.shape(feedback[l - 1]) != want:
            raise ConfigError(f"feedback[{l - 1}]", np.shape(feedback[l - 1]), f"shape {want} for {spec.rule}")
    if x.ndim != 2 or x.shape[1] != s[0]:
        raise ConfigError("x", x.shape, f"(n_samples, {s[0]})")
    if targets.shape != (len(x), s[-1]):
        raise ConfigError("targets", targets.shape, f"({len(x)}, {s[-1]})")


# --------------------------------------------------------------------------- running

@dataclass
class FARateResult:
    """What one Brian2 training run returns.

    ``weights``/``biases``: final values; ``snapshots``: ``(weights, biases)`` at the start
    and after each epoch (when requested); ``outputs``: settled ``p`` at every update
    ``(n_windows, n_out)`` (when requested); ``state``: momentum/accumulator state.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    snapshots: list[tuple[list[np.ndarray], list[np.ndarray]]]
    outputs: np.ndarray | None
    state: dict[str, np.ndarray]
    timings: dict[str, float]
    backend: str
    rebuilt: bool = True


_HOLDER: "weakref.ref[FARateSimulation] | None" = None


class FARateSimulation:
    """Trains an FA/DFA rate network in Brian2 on one backend, one or more epochs per call.

    On runtime backends (``numpy``, ``cython``) each call builds the network afresh from
    the given weights. On standalone backends (``cpp``, ``cuda``) the first call generates
    and compiles the code; later calls with the same shapes rerun the binary with the new
    weights, data order and state passed as ``run_args`` (no recompilation). The compiled
    project holds the standalone device until :meth:`close` (or until another simulation
    needs the device; if anything else has reset the device meanwhile, the next call
    rebuilds). Call :meth:`close` when done with a standalone simulation.

    >>> from bioplaus.networks.fa_rate import FARateNetwork, FARateSimulation
    >>> sim = FARateSimulation(FARateNetwork(sizes=(4, 8, 3)), backend="numpy")  # doctest: +SKIP
    >>> result = sim.train(W, b, B, x, targets, [np.arange(len(x))])              # doctest: +SKIP
    """

    def __init__(self, spec: FARateNetwork, backend: str = "numpy", *, threads: int | None = None,
                 directory: str | None = None, record_outputs: bool = False, snapshots: bool = False):
        from ..backends import _validate

        self.spec = spec
        self.backend = _validate(backend)
        self.threads = threads
        self.directory = directory
        self.record_outputs = record_outputs
        self.snapshots = snapshots
        self._stack: contextlib.ExitStack | None = None
        self._built: BuiltFARate | None = None
        self._device = None
        self._key: tuple | None = None
        self.state: dict[str, np.ndarray] = {}
        self.timings_total: dict[str, float] = {}

    @property
    def standalone(self) -> bool:
        return self.backend in ("cpp", "cuda")

    def close(self) -> None:
        """Release the standalone device (the compiled project is discarded)."""
        global _HOLDER
        if self._stack is not None:
            stack, self._stack = self._stack, None
            self._built = None
            self._device = None
            self._key = None
            if _HOLDER is not None and _HOLDER() is self:
                _HOLDER = None
            stack.close()

    def train(self, weights, biases, feedback, x: np.ndarray, targets: np.ndarray,
              orders: Sequence[np.ndarray]) -> FARateResult:
        """Present ``x[order]`` epoch after epoch (one Brian2 run) starting from the given weights."""
        x = np.ascontiguousarray(x, dtype=float)
        targets = np.ascontiguousarray(targets, dtype=float)
        _check_shapes(self.spec, weights, biases, feedback, x, targets)
        schedule = fa_rate_schedule(self.spec, orders, len(x))
        epoch_windows = len(orders[0]) if (self.snapshots and len(orders)) else None
        if epoch_windows is not None and any(len(o) != epoch_windows for o in orders):
            epoch_windows = None
        key = (x.shape, targets.shape, schedule.sample_index.shape, schedule.n_windows, epoch_windows)
        t0 = time.perf_counter()
        if self.standalone and self._built is not None and key == self._key and self._project_alive():
            res = self._rerun(weights, biases, feedback, x, targets, schedule)
        else:
            res = self._build_and_run(weights, biases, feedback, x, targets, schedule, epoch_windows, key)
        res.timings["total_s"] = time.perf_counter() - t0
        for k, v in res.timings.items():
            self.timings_total[k] = self.timings_total.get(k, 0.0) + v
        self.state = res.state
        _check_finite(res)
        return res

    # ---- internals
    def _project_alive(self) -> bool:
        """Whether the standalone device still holds this simulation's compiled project."""
        from ..brian2_internals import holds_project

        return self._built is not None and holds_project(self._device, self._built.network)

    def _build_and_run(self, weights, biases, feedback, x, targets, schedule, epoch_windows, key) -> FARateResult:
        from ..backends import session

        global _HOLDER
        self.close()
        if _HOLDER is not None and _HOLDER() is not None and _HOLDER() is not self:
            _HOLDER().close()  # one standalone project per process at a time
        stack = contextlib.ExitStack()
        t0 = time.perf_counter()
        try:
            s = stack.enter_context(session(self.backend, directory=self.directory, threads=self.threads))
            built = build_fa_rate(self.spec, weights, biases, feedback, x, targets, schedule,
                                  epoch_windows=epoch_windows, record_outputs=self.record_outputs,
                                  state=self.state)
            if not self.standalone:
                from brian2 import second

                built.network.run(0 * second)   # code generation (and Cython compilation) only: no step
            t1 = time.perf_counter()
            built.network.run(built.duration)
            t2 = time.perf_counter()
            s.finish()
            t3 = time.perf_counter()
            res = self._collect(built)
        except BaseException:
            stack.close()
            raise
        if self.standalone:
            from brian2 import get_device

            self._device = get_device()
            run_s = float(self._device.timers.get("run_binary") or 0.0)
            timings = {"build_s": (t3 - t0) - run_s, "run_s": run_s}
            self._stack, self._built, self._key = stack, built, key
            _HOLDER = weakref.ref(self)
        else:
            timings = {"build_s": t1 - t0, "run_s": t2 - t1}
            stack.close()
        res.timings.update(timings)
        return res

    def _rerun(self, weights, biases, feedback, x, targets, schedule) -> FARateResult:
        b = self._built
        assert b is not None
        values = {"x_data": np.vstack([x, np.zeros((1, x.shape[1]))]),
                  "y_data": np.vstack([targets, np.zeros((1, targets.shape[1]))]),
                  "sample_index": schedule.sample_index, "learn_weight": schedule.learn_weight,
                  "apply": schedule.apply}
        used = getattr(self._device, "timed_arrays", {})   # only arrays the generated code reads
        args: dict[Any, Any] = {b.arrays[k]: v for k, v in values.items() if b.arrays[k] in used}
        for l, s in enumerate(b.forward):
            i, j = np.asarray(s.i[:]), np.asarray(s.j[:])
            args[s.w] = np.asarray(weights[l], dtype=float)[j, i]
        for g, bias in zip(b.layers[1:], biases):
            args[g.b] = np.asarray(bias, dtype=float)
        for s, B in zip(b.feedback, feedback):
            i, j = np.asarray(s.i[:]), np.asarray(s.j[:])
            args[s.B] = np.asarray(B, dtype=float)[j, i]
        for obj, var in b.plastic_state:
            key = f"{_role(obj, self.spec.name)}.{var}"
            if key in self.state:
                args[getattr(obj, var)] = self.state[key]
        t0 = time.perf_counter()
        self._device.run(run_args=args, with_output=False)
        t1 = time.perf_counter()
        res = self._collect(b)
        res.rebuilt = False
        res.timings.update(build_s=0.0, run_s=float(self._device.timers.get("run_binary") or (t1 - t0)))
        return res

    def _collect(self, b: BuiltFARate) -> FARateResult:
        Ws, bs = b.weights()
        snaps = []
        if b.forward[0].name in b.monitors:
            mW = [_snapshots(s, b.monitors[s.name]) for s in b.forward]
            mb = [np.asarray(b.monitors[g.name].b, dtype=float).T for g in b.layers[1:]]  # (n_t, n)
            n_t = min(len(m) for m in mW)
            snaps = [([m[k] for m in mW], [m[k] for m in mb]) for k in range(n_t)]
        outputs = None
        if "p" in b.monitors:
            outputs = np.asarray(b.monitors["p"].p, dtype=float).T[1:]  # drop the lead-in window
        state = {f"{_role(obj, self.spec.name)}.{var}": np.array(getattr(obj, var)[:], dtype=float)
                 for obj, var in b.plastic_state}
        return FARateResult(weights=Ws, biases=bs, snapshots=snaps, outputs=outputs, state=state, timings={},
                            backend=self.backend)


def _snapshots(syn, mon) -> list[np.ndarray]:
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    w_t = np.asarray(mon.w, dtype=float)   # (n_syn, n_t)
    out = []
    for k in range(w_t.shape[1]):
        m = np.zeros((len(syn.target), len(syn.source)))
        m[j, i] = w_t[:, k]
        out.append(m)
    return out


def _check_finite(res: FARateResult) -> None:
    for l, w in enumerate(res.weights):
        if not np.all(np.isfinite(w)):
            raise DivergedError(f"FA rate network weights W{l + 1}", "the end of the run",
                                "non-finite values (lower lr)")


def train_fa_rate(spec: FARateNetwork, weights, biases, feedback, x, targets, orders, backend: str = "numpy",
                  *, threads: int | None = None, directory: str | None = None, snapshots: bool = True,
                  record_outputs: bool = False) -> FARateResult:
    """Build, run once (all epochs in ``orders``) and release: the one call most scripts need."""
    sim = FARateSimulation(spec, backend, threads=threads, directory=directory, record_outputs=record_outputs,
                           snapshots=snapshots)
    try:
        return sim.train(weights, biases, feedback, x, targets, orders)
    finally:
        sim.close()


# --------------------------------------------------------------------------- comparison-harness rules

from ..reference.credit import (DFA as _DFA, FA as _FA, Alignment, CreditRule, TrainSettings,  # noqa: E402
                                register_credit_rule)
from ..reference.mlp import MLP  # noqa: E402


class FARateLearner:
    """Harness learner: each ``train_epoch`` is one Brian2 run of the rate network.

    Feedback matrices are drawn exactly as the numpy ``fa``/``dfa`` rules draw them;
    the epoch's sample order is ``rng.permutation(n)`` as in the numpy learners, and
    the optimiser settings (learning rate, momentum, weight decay, batch size, loss)
    are the harness's. ``predict`` and ``alignment`` are the numpy forward pass and
    angle metrics applied to the weights the Brian2 network learned. On ``cpp``/``cuda``
    the binary is compiled in the first epoch and rerun with ``run_args`` afterwards;
    the device is released after ``settings.epochs`` epochs.
    """

    def __init__(self, rule: "FABrian2"):
        self.rule = rule
        self.sim: FARateSimulation | None = None
        self.epochs_done = 0

    def init(self, net: MLP, rng: np.random.Generator, settings: TrainSettings) -> None:
        self.net = net
        self.settings = settings
        ref = (_DFA if self.rule.direct else _FA)(feedback_scale=self.rule.feedback_scale)
        self.reference = ref.learner()
        self.reference.init(net, rng, settings)          # draws the fixed feedback matrices
        self.feedback = self.reference.feedback
        loss = settings.loss if settings.loss in LOSSES else "mse"
        self.spec = FARateNetwork(sizes=net.sizes, rule="dfa" if self.rule.direct else "fa", lr=settings.lr,
                                  momentum=settings.momentum, weight_decay=settings.weight_decay,
                                  batch_size=settings.batch_size, loss=loss, activation=net.activation,
                                  present=self.rule.present, rest=self.rule.rest, dt=self.rule.dt, tau=self.rule.tau,
                                  name=f"{'dfa' if self.rule.direct else 'fa'}_rate")
        if self.sim is not None:
            self.sim.close()
        self.sim = FARateSimulation(self.spec, self.rule.backend, threads=self.rule.threads)
        self.epochs_done = 0

    def train_epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        assert self.sim is not None, "init() first"
        order = rng.permutation(len(x))
        targets = self.net.targets(y, self.net.sizes[-1])
        res = self.sim.train(self.net.weights, self.net.biases, self.feedback, x, targets, [order])
        for l, (w, b) in enumerate(zip(res.weights, res.biases)):
            self.net.weights[l][...] = w
            self.net.biases[l][...] = b
        self.epochs_done += 1
        if self.epochs_done >= self.settings.epochs:
            self.sim.close()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def weights(self) -> dict[str, np.ndarray]:
        return self.reference.weights()

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        return self.reference.alignment(x, y)


@register_credit_rule("fa-brian2")
@dataclass(frozen=True)
class FABrian2(CreditRule):
    r"""Feedback alignment simulated as rate dynamics in Brian2 (:mod:`bioplaus.networks.fa_rate`).

    Same mathematics as ``fa`` (Lillicrap et al. 2016), computed by forward, error and
    fixed random feedback populations with local weight updates once per presentation
    window. ``backend`` is the Brian2 backend; ``present``, ``rest``, ``dt`` and ``tau``
    set the presentation schedule and the rate dynamics (``tau = None``: instantaneous).
    """

    backend: str = "numpy"
    present: str = "1 ms"
    rest: str = "0 ms"
    dt: str | None = None
    tau: str | None = None
    feedback_scale: float = 1.0
    threads: int | None = None
    default_lr: ClassVar[float] = 0.05
    direct: ClassVar[bool] = False

    def __post_init__(self) -> None:
        from ..backends import BACKENDS

        owner = type(self).__name__
        choice(owner, "backend", self.backend, BACKENDS)
        number(owner, "feedback_scale", self.feedback_scale, positive=True)
        if self.threads is not None:
            integer(owner, "threads", self.threads, minimum=1)
        try:  # the schedule is validated by the network spec it will build
            FARateNetwork(sizes=(1, 1, 1), present=self.present, rest=self.rest, dt=self.dt, tau=self.tau)
        except ConfigError as exc:
            field = exc.key_path.split(".", 1)[-1]
            raise ConfigError(f"{owner}.{field}", getattr(self, field, exc.value), exc.expected) from None

    def learner(self) -> FARateLearner:
        return FARateLearner(self)


@register_credit_rule("dfa-brian2")
@dataclass(frozen=True)
class DFABrian2(FABrian2):
    r"""Direct feedback alignment (Nøkland 2016) simulated as rate dynamics in Brian2.

    As ``fa-brian2``, but the error population projects through fixed random synapses
    :math:`D_l` straight to every hidden layer's error compartment.
    """

    direct: ClassVar[bool] = True
