r"""e-prop as a recipe: a recurrent LIF network that learns online from eligibility traces.

:func:`eprop_spec` returns a :class:`~bioplaus.spec.network.NetworkSpec` composed from the
vocabulary of :mod:`bioplaus.spec.eligibility` (:class:`~bioplaus.spec.eligibility.EpropLIF`
units, a :class:`~bioplaus.spec.eligibility.LeakyReadout`, the
:class:`~bioplaus.spec.eligibility.Eprop` rule on the input and recurrent projections and
:class:`~bioplaus.spec.eligibility.EpropReadout` on the readout); the one builder
(:mod:`bioplaus.build`) builds it and :func:`bioplaus.simulation.simulate` runs it on any
backend, a whole training run (many trials) as one Brian2 run with no Python between trials.
:func:`run_eprop` does both and reads the result back as the numpy reference's matrices.

Objects (populations and projections of the spec)::

    inp  (TrialInput: the frozen input of one trial, repeated)
      │ W_in   (Eprop: presynaptic trace xbar, eligibility ebar, grad, Adam state)
      ▼
    rec  (EpropLIF: v, psi, learning signal L)  ◄─┐ W_rec (Eprop, all but self)
      │                                          ─┘
      │ W_out  (EpropReadout: zbar, grad, B;  L_pre = B·err_post)
      ▼
    out  (LeakyReadout: y, bias b, err = y + b - y*(t), loss of the trial)

The order of one time step is in :mod:`bioplaus.build.eligibility`; it is step for step the
recursion of the numpy reference (:func:`~bioplaus.reference.eprop.lif_forward`,
:func:`~bioplaus.reference.eprop.eprop_gradients`, :class:`~bioplaus.reference.eprop.Adam`),
and the test suite compares both on the same input spikes.

Bellec et al. (2020), *A solution to the learning dilemma for recurrent networks of
spiking neurons*, Nat. Commun. 11, 3625.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..spec.params import Spec, check_params, integer, param

__all__ = ["EpropNetwork", "EpropRun", "eprop_spec", "eprop_results", "run_eprop", "POPULATIONS", "PROJECTIONS"]

#: population names of the spec (input, recurrent, readout)
POPULATIONS = ("inp", "rec", "out")
#: projection names, the same as the trained matrices of :class:`bioplaus.reference.eprop.LIFNet`
PROJECTIONS = ("W_in", "W_rec", "W_out")


def _ms():
    from brian2 import ms

    return ms


@dataclass(frozen=True, eq=False)
class EpropNetwork(Spec):
    r"""Parameters of the e-prop recipe (inert, validated).

    Parameters
    ----------
    tau_m, tau_out : quantity
        Membrane time constant (:math:`\alpha = e^{-dt/\tau_m}`) and readout time
        constant (:math:`\kappa = e^{-dt/\tau_{out}}`).
    dt : quantity
        Time step (one step of the numpy reference).
    v_th : float
        Threshold (potentials are dimensionless, in the units of the weights).
    gamma : float
        Dampening factor of the pseudo-derivative :math:`\psi`.
    beta, tau_a : float, quantity
        Threshold adaptation of the recurrent units (``beta = 0``: LIF, as the numpy reference;
        ``beta > 0``: ALIF, see :class:`~bioplaus.spec.eligibility.EpropLIF`).
    feedback : {"random", "symmetric"}
        Learning-signal weights: the fixed ``B`` given to :func:`eprop_spec`, or the
        current readout weights.
    optimizer : {"adam", "sgd"}
        Update applied once per trial.
    lr, beta1, beta2, eps : float
        Learning rate and Adam's constants.
    train_recurrent : bool
        Whether the recurrent weights learn (they always take part in the dynamics).
    name : str
        Name of the network (of its results).
    """

    tau_m: Any = param("20 ms", unit=_ms(), positive=True)
    tau_out: Any = param("20 ms", unit=_ms(), positive=True)
    dt: Any = param("1 ms", unit=_ms(), positive=True)
    v_th: Any = param(1.0, positive=True)
    gamma: Any = param(0.3, nonnegative=True)
    beta: Any = param(0.0, nonnegative=True)
    tau_a: Any = param("200 ms", unit=_ms(), positive=True)
    feedback: str = param("random", choices=("random", "symmetric"))
    optimizer: str = param("adam", choices=("adam", "sgd"))
    lr: Any = param(0.01, nonnegative=True)
    beta1: Any = param(0.9, low=0.0, high=0.999999)
    beta2: Any = param(0.999, low=0.0, high=0.999999)
    eps: Any = param(1e-8, positive=True)
    train_recurrent: bool = param(True, boolean=True)
    name: str = "eprop"

    def __post_init__(self):
        check_params(self, "EpropNetwork")
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError("EpropNetwork.name", self.name, "a Python identifier (the network's name)")

    @property
    def alpha(self) -> float:
        return math.exp(-float(self.dt) / float(self.tau_m))

    @property
    def kappa(self) -> float:
        return math.exp(-float(self.dt) / float(self.tau_out))

    def make_optimizer(self):
        """The spec of the per-trial update (:class:`~bioplaus.spec.eligibility.Adam` or ``SGD``)."""
        from ..spec.eligibility import SGD, Adam

        if self.optimizer == "sgd":
            return SGD(lr=self.lr)
        return Adam(lr=self.lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps)


def _check_shapes(weights, x, target, B, feedback):
    W_in, W_rec = np.asarray(weights["W_in"], float), np.asarray(weights["W_rec"], float)
    W_out, b_out = np.asarray(weights["W_out"], float), np.asarray(weights["b_out"], float).ravel()
    N, n_in = W_in.shape
    K = W_out.shape[0]
    x = np.asarray(x)
    target = np.asarray(target, float).reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != n_in or W_rec.shape != (N, N) or W_out.shape[1] != N or target.shape[1] != K:
        raise ConfigError("eprop_spec", [x.shape, W_in.shape, W_rec.shape, W_out.shape, target.shape],
                          "x (steps, n_in), W_in (N, n_in), W_rec (N, N), W_out (n_out, N), target (steps, n_out)")
    if feedback == "random" and (B is None or np.shape(B) != (N, K)):
        raise ConfigError("eprop_spec.B", None if B is None else np.shape(B),
                          f"a ({N}, {K}) feedback matrix for feedback = 'random'")
    return W_in, W_rec, W_out, b_out, x, target


def eprop_spec(params: EpropNetwork, weights: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray,
               trials: int, *, B: np.ndarray | None = None, record: bool = False, spikes: bool = False,
               seed: int = 0):
    """The NetworkSpec of ``trials`` trials of e-prop learning.

    Parameters
    ----------
    weights : dict
        Initial ``W_in`` ``(N, n_in)``, ``W_rec`` ``(N, N)`` (diagonal ignored), ``W_out``
        ``(n_out, N)``, ``b_out`` ``(n_out,)`` (as :class:`~bioplaus.reference.eprop.LIFNet`).
    x : ndarray
        Input spikes of one trial, ``(steps, n_in)`` of 0/1, repeated every trial.
    target : ndarray
        Target of one trial, ``(steps, n_out)``.
    trials : int
        Number of trials (the run lasts ``trials * steps * dt``).
    B : ndarray, optional
        Random feedback ``(N, n_out)`` (required for ``feedback="random"``).
    record : bool
        Monitor ``v`` and ``L`` of ``rec`` and the eligibility traces ``ebar`` of ``W_in`` and
        ``W_rec`` at every step (memory!); :func:`eprop_results` arranges them.
    spikes : bool
        Monitor the spikes of ``rec``.
    seed : int
        The network seed (nothing in e-prop draws from it unless feedback is drawn).

    >>> from bioplaus.reference.eprop import LIFNet
    >>> net = LIFNet.random(3, 4, 1, np.random.default_rng(0))
    >>> s = eprop_spec(EpropNetwork(), net.params(), np.zeros((10, 3)), np.zeros((10, 1)), 2, B=net.B)
    >>> [p.name for p in s.populations], [(p.name, type(p.rule).__name__) for p in s.projections]
    (['inp', 'rec', 'out'], [('W_in', 'Eprop'), ('W_rec', 'Eprop'), ('W_out', 'EpropReadout')])
    >>> float(s.duration)
    0.02
    """
    from ..spec.credit import FixedFeedback
    from ..spec.eligibility import Eprop, EpropLIF, EpropReadout, LeakyReadout, TrialInput
    from ..spec.network import Monitor, NetworkSpec, Population, Projection
    from ..spec.rules import Static

    trials = integer("eprop_spec", "trials", trials, minimum=1)
    W_in, W_rec, W_out, b_out, x, target = _check_shapes(weights, x, target, B, params.feedback)
    N = W_in.shape[0]
    steps = len(x)
    opt = params.make_optimizer()
    feedback = "symmetric" if params.feedback == "symmetric" else FixedFeedback(np.asarray(B, float).T)
    pops = [Population("inp", TrialInput((x > 0).astype(float))),
            Population("rec", EpropLIF(tau_m=params.tau_m, v_th=params.v_th, gamma=params.gamma,
                                           beta=params.beta, tau_a=params.tau_a), N),
            Population("out", LeakyReadout(target=target, tau_out=params.tau_out, bias=b_out), W_out.shape[0])]
    projs = [Projection("W_in", "inp", "rec", rule=Eprop(optimizer=opt), w_init=W_in.T, weight_scale=1.0),
             Projection("W_rec", "rec", "rec", rule=Eprop(optimizer=opt) if params.train_recurrent else Static(),
                        connectivity="all_but_self", w_init=W_rec.T, weight_scale=1.0),
             Projection("W_out", "rec", "out", rule=EpropReadout(feedback=feedback, optimizer=opt), w_init=W_out.T,
                        weight_scale=1.0)]
    T = steps * params.dt
    monitors = [Monitor("out", ("loss",), dt=T)]
    rec_vars = (("spikes",) if spikes else ()) + (("v", "L") if record else ())
    if rec_vars:
        monitors.append(Monitor("rec", rec_vars))
    if record:
        monitors.append(Monitor("W_in", ("ebar",)))
        if params.train_recurrent:
            monitors.append(Monitor("W_rec", ("ebar",)))
    return NetworkSpec(pops, projs, monitors=monitors, dt=params.dt, duration=trials * T, seed=seed,
                       name=params.name)


@dataclass
class EpropRun:
    """Result of :func:`run_eprop`: per-trial losses, final weights, optional recordings, timings."""

    losses: np.ndarray
    weights: dict[str, np.ndarray]
    records: dict[str, np.ndarray]
    timings: dict[str, float]
    backend: str
    spikes: tuple[np.ndarray, np.ndarray] | None = None   # (step, unit) of every spike of rec


def _dense(arrays, values, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Per-synapse ``values`` of projection ``name`` as ``(n_post, n_pre)`` (the reference's layout)."""
    M = np.zeros(shape)
    M[arrays[f"{name}.j"], arrays[f"{name}.i"]] = values
    return M


def eprop_results(result) -> EpropRun:
    r"""Read a :class:`~bioplaus.simulation.SimResult` of an :func:`eprop_spec` network back.

    ``losses``: every trial's loss (before its update). ``weights``: ``W_in``, ``W_rec``,
    ``W_out``, ``b_out`` as the reference's matrices. ``records`` (with ``record=True``):
    ``v`` ``(steps*trials, N)`` after the leak and before synaptic input (what the threshold
    sees), ``L`` ``(steps*trials, N)``, ``ebar_in`` ``(steps*trials, N, n_in)`` and ``ebar_rec``
    ``(steps*trials, N, N)`` at the end of every step, and the accumulated gradients ``grad_<W>``
    (raw sums over the last trial, not divided by the number of steps). Monitors record at the
    start of a step, so the end of step :math:`t` is the record of step :math:`t + 1` (and the
    final state for the last step).
    """
    spec, a, st = result.spec, result.arrays, result.state
    N, n_in, K = (spec.population(p).size for p in ("rec", "inp", "out"))
    steps = spec.population("out").model.steps
    trials = int(round(float(spec.duration) / float(spec.dt))) // steps
    loss_rec = np.asarray(a["out.state.loss"], float).sum(axis=0)        # at t = 0, T, ..., (trials - 1) T
    losses = np.concatenate([loss_rec[1:trials], [float(np.sum(st["out.loss"]))]])
    shapes = {"W_in": (N, n_in), "W_rec": (N, N), "W_out": (K, N)}
    weights = {k: _dense(a, a[f"{k}.w"], k, shapes[k]) for k in PROJECTIONS}
    weights["b_out"] = np.array(st["out.b"], float)
    records: dict[str, np.ndarray] = {}
    if "rec.state.v" in a:
        alpha = math.exp(-float(spec.dt) / float(spec.population("rec").model.tau_m))
        v_start = np.asarray(a["rec.state.v"], float).T                  # (steps * trials, N), before the reset
        v_start[::steps] = 0.0                                           # v = 0 at every trial's start
        records["v"] = alpha * v_start

        def at_end(mon, final):
            return np.concatenate([np.asarray(mon, float).T[1:], np.asarray(final, float)[None]])

        records["L"] = at_end(a["rec.state.L"], st["rec.L"])
        for key, proj in (("ebar_in", "W_in"), ("ebar_rec", "W_rec")):
            if f"{proj}.state.ebar" not in a:
                continue
            data = at_end(a[f"{proj}.state.ebar"], st[f"{proj}.ebar"])    # (steps, n_syn)
            full = np.zeros((len(data),) + shapes[proj])
            full[:, a[f"{proj}.j"], a[f"{proj}.i"]] = data
            records[key] = full
        for k in PROJECTIONS:
            if f"{k}.grad" in st:
                records[f"grad_{k}"] = _dense(a, st[f"{k}.grad"], k, shapes[k])
        records["grad_b_out"] = np.array(st["out.grad_b"], float)
    spk = None
    if "rec.spikes.i" in a:
        spk = (np.round(np.asarray(a["rec.spikes.t"]) / float(spec.dt)).astype(np.int64),
               np.asarray(a["rec.spikes.i"], np.int64))
    return EpropRun(losses, weights, records, dict(result.timings), result.backend, spk)


def run_eprop(spec: EpropNetwork, weights: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray, trials: int,
              *, B: np.ndarray | None = None, backend: str = "numpy", record: bool = False, spikes: bool = False,
              seed: int | None = None, threads: int | None = None, directory=None) -> EpropRun:
    """Simulate ``trials`` trials of e-prop learning on ``backend`` (:func:`eprop_spec`, then
    :func:`bioplaus.simulation.simulate`) and read the result back (:func:`eprop_results`)."""
    from ..simulation import simulate

    net = eprop_spec(spec, weights, x, target, trials, B=B, record=record, spikes=spikes,
                     seed=0 if seed is None else seed)
    return eprop_results(simulate(net, backend, directory=directory, threads=threads))
