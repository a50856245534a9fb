r"""e-prop in Brian2: a recurrent LIF network that learns online from eligibility traces.

The network and the learning rule are those of :mod:`bioplaus.reference.eprop` (the
numpy reference, whose docstring has the equations); here every quantity is a Brian2
variable updated inside the simulation, so a whole training run (many trials) is one
Brian2 run on any backend, with no Python between trials.

Objects (``<name>`` is :attr:`EpropNetwork.name`)::

    <name>_inp  (SpikeGeneratorGroup, frozen input repeated every trial)
        │ <name>_in:  w, presynaptic trace xbar (ε), eligibility ebar (ē), grad, Adam state
        ▼
    <name>_rec  (LIF: v, psi, learning signal L)  ◄─┐ <name>_rec_syn (same synaptic variables, i != j)
        │                                           ─┘
        │ <name>_readout: w (= W_out), B, trace zbar (z̄);  L_pre = B·err_post  (summed, pre-synaptic)
        ▼
    <name>_out  (leaky readout y, bias b, error err = y + b - y*(t), loss accumulator)

One time step, in Brian2's schedule (``dt`` = :attr:`EpropNetwork.dt`):

===================  ====================================================================
slot                 what happens
===================  ====================================================================
``start``            at trial boundaries (``run_regularly`` with ``dt = T``): the trial's
                     loss is recorded, Adam applies the accumulated gradients (a no-op at
                     ``t = 0``), state and accumulators are reset
``groups``           leaks: :math:`v \leftarrow \alpha v`, :math:`\epsilon \leftarrow \alpha \epsilon`,
                     :math:`y \leftarrow \kappa y`, :math:`\bar z \leftarrow \kappa \bar z` (exact integration)
``thresholds``       :math:`z_t = [v > v_{th}]`; input spikes of this step
``before_synapses``  :math:`\bar e \leftarrow \kappa \bar e + \psi(v)\,\epsilon` (eligibility trace)
``synapses``         on a presynaptic spike: :math:`v_{post} \mathrel{+}= w`, :math:`\epsilon \mathrel{+}= 1`;
                     readout: :math:`y \mathrel{+}= w`, :math:`\bar z \mathrel{+}= 1`
``resets``           :math:`v \leftarrow v - v_{th}` after a spike
``end``              order 0: :math:`err = y + b - y^*(t)`, loss and bias gradient accumulate;
                     order 1: learning signal :math:`L_j = \sum_k B_{jk}\, err_k` (summed variable);
                     order 2: :math:`grad \mathrel{+}= L_{post}\,\bar e` (input, recurrent),
                     :math:`grad \mathrel{+}= err_{post}\,\bar z` (readout)
===================  ====================================================================

which is step for step the numpy reference's recursion (:func:`~bioplaus.reference.eprop.lif_forward`,
:func:`~bioplaus.reference.eprop.eprop_gradients`, :class:`~bioplaus.reference.eprop.Adam`);
the test suite compares the eligibility traces of both on the same input spikes.

Bellec et al. (2020), *A solution to the learning dilemma for recurrent networks of
spiking neurons*, Nat. Commun. 11, 3625.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..spec.params import Spec, choice, integer, number, quantity, set_field

__all__ = ["EpropNetwork", "BuiltEprop", "EpropRun", "build_eprop", "run_eprop"]


def _ms():
    from brian2 import ms

    return ms


@dataclass(frozen=True, eq=False)
class EpropNetwork(Spec):
    r"""A recurrent LIF network trained by e-prop inside Brian2 (inert, validated parameters).

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
    feedback : {"random", "symmetric"}
        Learning-signal weights: the fixed ``B`` given to :func:`build_eprop`, or the
        current readout weights.
    lr, beta1, beta2, eps : float
        Adam's learning rate and constants.
    train_recurrent : bool
        Whether the recurrent weights learn (they always take part in the dynamics).
    name : str
        Prefix of every Brian2 object name.
    """

    tau_m: Any = "20 ms"
    tau_out: Any = "20 ms"
    dt: Any = "1 ms"
    v_th: Any = 1.0
    gamma: Any = 0.3
    feedback: str = "random"
    lr: Any = 0.01
    beta1: Any = 0.9
    beta2: Any = 0.999
    eps: Any = 1e-8
    train_recurrent: bool = True
    name: str = "eprop"

    def __post_init__(self):
        n = "EpropNetwork"
        ms = _ms()
        for f in ("tau_m", "tau_out", "dt"):
            set_field(self, f, quantity(n, f, getattr(self, f), ms, positive=True))
        set_field(self, "v_th", number(n, "v_th", self.v_th, positive=True))
        set_field(self, "gamma", number(n, "gamma", self.gamma, nonnegative=True))
        set_field(self, "feedback", choice(n, "feedback", self.feedback, ("random", "symmetric")))
        set_field(self, "lr", number(n, "lr", self.lr, nonnegative=True))
        set_field(self, "beta1", number(n, "beta1", self.beta1, low=0.0, high=0.999999))
        set_field(self, "beta2", number(n, "beta2", self.beta2, low=0.0, high=0.999999))
        set_field(self, "eps", number(n, "eps", self.eps, positive=True))
        if not isinstance(self.train_recurrent, bool):
            raise ConfigError(f"{n}.train_recurrent", self.train_recurrent, "true or false")
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError(f"{n}.name", self.name, "a Python identifier (it prefixes Brian2 object names)")

    @property
    def alpha(self) -> float:
        return math.exp(-float(self.dt) / float(self.tau_m))

    @property
    def kappa(self) -> float:
        return math.exp(-float(self.dt) / float(self.tau_out))


@dataclass
class BuiltEprop:
    """Brian2 objects of a built e-prop network."""

    spec: EpropNetwork
    network: Any
    inp: Any
    rec: Any
    out: Any
    syn_in: Any
    syn_rec: Any
    readout: Any
    monitors: dict[str, Any]
    steps: int
    trials: int
    index: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # synapse -> (i, j)

    @property
    def duration(self):
        return self.trials * self.steps * self.spec.dt

    def weights(self) -> dict[str, np.ndarray]:
        """Current ``W_in`` ``(N, n_in)``, ``W_rec`` ``(N, N)``, ``W_out`` ``(n_out, N)``, ``b_out``."""
        N, n_in, K = len(self.rec), len(self.inp), len(self.out)
        out = {"W_in": self._dense(self.syn_in, "w", (N, n_in)),
               "W_rec": self._dense(self.syn_rec, "w", (N, N)),
               "W_out": self._dense(self.readout, "w", (K, N)),
               "b_out": np.array(self.out.b[:], dtype=float)}
        return out

    def _dense(self, syn, var: str, shape: tuple[int, int]) -> np.ndarray:
        i, j = self.index[syn.name]
        M = np.zeros(shape)
        M[j, i] = np.asarray(getattr(syn, var)[:], dtype=float)
        return M

    def losses(self) -> np.ndarray:
        """Loss of every trial (before its update)."""
        mon = self.monitors["loss"]
        rec = np.asarray(mon.E_trial[:], dtype=float).sum(axis=0)   # at t = 0, T, ..., (K-1) T
        last = float(np.asarray(self.out.E_trial[:], dtype=float).sum())
        return np.concatenate([rec[1:self.trials], [last]])


def _pairs(n_pre: int, n_post: int, skip_diagonal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    i = np.repeat(np.arange(n_pre, dtype=np.int32), n_post)
    j = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    if skip_diagonal:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


_SYN_EQS = """
w : 1
dxbar/dt = -xbar/tau_m : 1 (clock-driven)
ebar : 1
grad : 1
m_adam : 1
s_adam : 1
"""

# Adam at the start of every trial (t = k T), then the trial's accumulator is cleared; k = 0 is a no-op
_ADAM = """
k_adam = clip(floor(t/T_trial + 0.5), 1, 1e9)
g_adam = {grad}/n_steps
{m} = beta1*{m} + (1 - beta1)*g_adam
{s} = beta2*{s} + (1 - beta2)*g_adam**2
{w} = {w} - {learn}lr*({m}/(1 - beta1**k_adam))/(sqrt({s}/(1 - beta2**k_adam)) + eps_adam)
{grad} = 0
"""


def _adam(w: str = "w", grad: str = "grad", m: str = "m_adam", s: str = "s_adam", learn: str = "learn*") -> str:
    """Adam code on the named variables (names only; every value is a namespace constant)."""
    return _ADAM.format(w=w, grad=grad, m=m, s=s, learn=learn)


def build_eprop(spec: EpropNetwork, weights: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray,
                trials: int, *, B: np.ndarray | None = None, record: bool = False) -> BuiltEprop:
    """Create the Brian2 objects (under the active device) of ``spec``.

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
        Record ``v`` (before synaptic input), the eligibility traces ``ebar`` of every
        synapse and the learning signal ``L`` at every step (for tests; memory!).
    """
    from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, TimedArray

    W_in, W_rec = np.asarray(weights["W_in"], float), np.asarray(weights["W_rec"], float)
    W_out, b_out = np.asarray(weights["W_out"], float), np.asarray(weights["b_out"], float).ravel()
    N, n_in = W_in.shape
    K = W_out.shape[0]
    x = np.asarray(x)
    target = np.asarray(target, float).reshape(len(x), -1)
    steps = len(x)
    trials = integer("build_eprop", "trials", trials, minimum=1)
    if x.ndim != 2 or x.shape[1] != n_in or W_rec.shape != (N, N) or W_out.shape[1] != N or target.shape[1] != K:
        raise ConfigError("build_eprop", [x.shape, W_in.shape, W_rec.shape, W_out.shape, target.shape],
                          "x (steps, n_in), W_in (N, n_in), W_rec (N, N), W_out (n_out, N), target (steps, n_out)")
    if spec.feedback == "random":
        if B is None or np.shape(B) != (N, K):
            raise ConfigError("build_eprop.B", None if B is None else np.shape(B),
                              f"a ({N}, {K}) feedback matrix for feedback = 'random'")
    nm, dt = spec.name, spec.dt
    T_trial = steps * dt
    ns = dict(tau_m=spec.tau_m, tau_out=spec.tau_out, kappa=spec.kappa, v_th=spec.v_th, gamma=spec.gamma, T_trial=T_trial,
              n_steps=float(steps), lr=spec.lr, beta1=spec.beta1, beta2=spec.beta2, eps_adam=spec.eps)

    si, ss = np.nonzero(np.asarray(x) > 0)          # (step, input index)
    inp = SpikeGeneratorGroup(n_in, ss.astype(np.int32), si * dt, period=T_trial, dt=dt, name=f"{nm}_inp")

    rec = NeuronGroup(N, """
        dv/dt = -v/tau_m : 1
        psi = gamma/v_th*clip(1 - abs((v - v_th)/v_th), 0, inf) : 1
        L : 1
        """, threshold="v > v_th", reset="v -= v_th", method="exact", dt=dt, name=f"{nm}_rec", namespace=ns)
    rec.run_regularly("v = 0", dt=T_trial, when="start", order=1, name=f"{nm}_rec_trial_reset")

    ta = TimedArray(np.tile(target, (trials, 1)), dt=dt, name=f"{nm}_target")
    out = NeuronGroup(K, """
        dy/dt = -y/tau_out : 1
        b : 1
        err : 1
        E_trial : 1
        grad_b : 1
        m_b : 1
        s_b : 1
        """, method="exact", dt=dt, name=f"{nm}_out", namespace=dict(ns, **{ta.name: ta}))
    out.b = b_out
    out.run_regularly(f"err = y + b - {ta.name}(t, i)\nE_trial += 0.5*err**2/n_steps\ngrad_b += err",
                      when="end", order=0, name=f"{nm}_out_error")
    out.run_regularly(_adam("b", "grad_b", "m_b", "s_b", "") + "y = 0\nE_trial = 0",
                      dt=T_trial, when="start", order=0, name=f"{nm}_out_trial")

    def plastic(src, tgt, W, skip_diagonal, label, learn):
        s = Synapses(src, tgt, _SYN_EQS + "learn : 1 (shared, constant)",
                     on_pre="v_post += w\nxbar += 1", method="exact", dt=dt, name=f"{nm}_{label}",
                     namespace=ns)
        i, j = _pairs(len(src), len(tgt), skip_diagonal)
        s.connect(i=i, j=j)
        s.w = W[j, i]
        s.learn = 1.0 if learn else 0.0
        s.run_regularly("ebar = kappa*ebar + psi_post*xbar", when="before_synapses",
                        name=f"{nm}_{label}_eligibility")
        s.run_regularly("grad += L_post*ebar", when="end", order=2, name=f"{nm}_{label}_accumulate")
        s.run_regularly(_adam() + "ebar = 0\nxbar = 0", dt=T_trial, when="start", order=0, name=f"{nm}_{label}_trial")
        return s, (i, j)

    syn_in, idx_in = plastic(inp, rec, W_in, False, "in", True)
    syn_rec, idx_rec = plastic(rec, rec, W_rec, True, "rec_syn", spec.train_recurrent)

    fb = "w" if spec.feedback == "symmetric" else "B"
    readout = Synapses(rec, out, _SYN_EQS.replace("dxbar/dt = -xbar/tau_m", "dzbar/dt = -zbar/tau_out")
                       + f"B : 1 (constant)\nlearn : 1 (shared, constant)\nL_pre = {fb}*err_post : 1 (summed)",
                       on_pre="y_post += w\nzbar += 1", method="exact", dt=dt, name=f"{nm}_readout", namespace=ns)
    ri, rj = _pairs(N, K)
    readout.connect(i=ri, j=rj)
    readout.w = W_out[rj, ri]
    readout.B = np.asarray(B, float)[ri, rj] if B is not None else 0.0
    readout.learn = 1.0
    readout.summed_updaters["L_pre"].when = "end"
    readout.summed_updaters["L_pre"].order = 1
    readout.run_regularly("grad += err_post*zbar", when="end", order=2, name=f"{nm}_readout_accumulate")
    readout.run_regularly(_adam() + "zbar = 0", dt=T_trial, when="start", order=0, name=f"{nm}_readout_trial")

    monitors = {"loss": StateMonitor(out, "E_trial", record=True, dt=T_trial, when="start", order=-1,
                                     name=f"{nm}_loss_mon")}
    if record:
        monitors["v"] = StateMonitor(rec, "v", record=True, when="before_synapses", order=-1, dt=dt,
                                     name=f"{nm}_v_mon")
        monitors["L"] = StateMonitor(rec, "L", record=True, when="end", order=5, dt=dt, name=f"{nm}_L_mon")
        monitors["ebar_in"] = StateMonitor(syn_in, "ebar", record=True, when="end", order=5, dt=dt,
                                           name=f"{nm}_ebar_in_mon")
        monitors["ebar_rec"] = StateMonitor(syn_rec, "ebar", record=True, when="end", order=5, dt=dt,
                                            name=f"{nm}_ebar_rec_mon")
    net = Network(inp, rec, out, syn_in, syn_rec, readout, *monitors.values(), name=f"{nm}_network")
    built = BuiltEprop(spec, net, inp, rec, out, syn_in, syn_rec, readout, monitors, steps, trials)
    built.index = {syn_in.name: idx_in, syn_rec.name: idx_rec, readout.name: (ri, rj)}
    return built


@dataclass
class EpropRun:
    """Result of :func:`run_eprop`: per-trial losses, final weights, optional recordings, timings."""

    losses: np.ndarray
    weights: dict[str, np.ndarray]
    records: dict[str, np.ndarray]
    timings: dict[str, float]
    backend: str


def run_eprop(spec: EpropNetwork, weights: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray, trials: int,
              *, B: np.ndarray | None = None, backend: str = "numpy", record: bool = False, seed: int | None = None,
              threads: int | None = None, directory=None) -> EpropRun:
    """Build and run ``trials`` trials of e-prop learning on ``backend``; see :func:`build_eprop`.

    ``records`` (with ``record=True``): ``v`` ``(steps*trials, N)`` before synaptic input,
    ``L`` ``(steps*trials, N)``, ``ebar_in`` ``(steps*trials, N, n_in)`` and ``ebar_rec``
    ``(steps*trials, N, N)`` (zero diagonal), arranged like the reference's matrices, and
    the accumulated gradients ``grad_<W>`` (raw sums over the last trial, not divided by
    the number of steps).
    """
    from ..backends import session

    with session(backend, directory=directory, threads=threads, seed=seed) as s:
        t0 = time.perf_counter()
        built = build_eprop(spec, weights, x, target, trials, B=B, record=record)
        t1 = time.perf_counter()
        built.network.run(built.duration, namespace={})
        t2 = time.perf_counter()
        s.finish()
        t3 = time.perf_counter()
        losses = built.losses()
        w = built.weights()
        records: dict[str, np.ndarray] = {}
        if record:
            N, n_in = w["W_in"].shape
            mv = built.monitors["v"]
            records["v"] = np.asarray(mv.v[:], float).T
            records["L"] = np.asarray(built.monitors["L"].L[:], float).T
            for key, syn, shape in (("ebar_in", built.syn_in, (N, n_in)), ("ebar_rec", built.syn_rec, (N, N))):
                i, j = built.index[syn.name]
                data = np.asarray(built.monitors[key].ebar[:], float)      # (n_syn, steps)
                full = np.zeros((data.shape[1],) + shape)
                full[:, j, i] = data.T
                records[key] = full
            records["grad_W_in"] = built._dense(built.syn_in, "grad", (N, n_in))
            records["grad_W_rec"] = built._dense(built.syn_rec, "grad", (N, N))
            records["grad_W_out"] = built._dense(built.readout, "grad", (len(built.out), N))
            records["grad_b_out"] = np.array(built.out.grad_b[:], float)
        timings = {"build_objects_s": t1 - t0, "total_s": t3 - t0}
        if s.standalone:
            timings["codegen_compile_run_s"] = t3 - t2
        else:
            timings["run_s"] = t2 - t1
        timings.update(s.timings)
    return EpropRun(losses, w, records, timings, backend)
