"""Neuron and input builders: spec -> Brian2 equations / groups.

Templates are symbolic: they name parameters by the spec's field names, and the
values enter as ``(shared, constant)`` variables (see :func:`declare_params`).

Integration method, per model (Brian2's ``method=``):

==============  ======================  ================================================
model           method                  why
==============  ======================  ================================================
LIF             ``exponential_euler``   every equation is linear in its own variable
                                        (``v`` given ``g_e``, ``g_i``; the decays
                                        ``dg/dt = -g/tau``; ``theta``): exact for the
                                        decays and for ``v`` over a step with constant
                                        conductances, stable for any dt
RateUnit        ``exponential_euler``   ``tau dr/dt = f - r`` is linear in ``r`` (so is the
                                        BCM threshold that joins the group)
AdEx            ``euler``               ``exp(v)`` is not linear in ``v``; dt is checked
                                        against every time constant
Izhikevich      ``euler``               the paper's scheme (quadratic ``v``); dt is checked
                                        against ``tau_e``, ``tau_i``; see the presets'
                                        recommended dt
==============  ======================  ================================================

A forward-Euler step of a decay ``dx/dt = -x/tau`` multiplies ``x`` by ``1 - dt/tau``
(exact: ``exp(-dt/tau)``); :func:`check_euler_dt` refuses ``dt > tau/EULER_STEPS_PER_TAU``.
"""
from __future__ import annotations

import math

import numpy as np
from brian2 import NeuronGroup, PoissonGroup, SpikeGeneratorGroup, TimedArray, ms, second

from ..spec.neurons import AdEx, Izhikevich, LIF, PoissonInput, RateUnit, SampleSequence, SpikeTrains
from ..errors import ConfigError
from .registry import Code, register

__all__ = ["TRANSFER_EXPR", "EULER_STEPS_PER_TAU", "check_euler_dt", "rate_input_name", "schedule_array",
           "frozen_poisson_steps"]

#: forward Euler needs at least this many steps per time constant: at dt = tau/5 a decay
#: over one tau ends 11 % below exp(-1) (0.8**5 = 0.33 instead of 0.37); at dt = tau/2 32 %
#: below, and at dt >= 2 tau it oscillates with growing amplitude
EULER_STEPS_PER_TAU = 5


def check_euler_dt(pop, dt, taus: dict) -> None:
    """Refuse a dt that forward Euler cannot carry for population ``pop``.

    ``taus`` maps a field name (or an expression such as ``"C_m/g_L"``) to a time
    constant integrated by forward Euler; each must be at least
    ``EULER_STEPS_PER_TAU * dt``. Raises :class:`~bioplaus.errors.ConfigError` naming
    ``populations.<name>.model.<field>``, its value and the largest dt it allows.
    """
    for name, tau in taus.items():
        if float(tau) * (1 + 1e-9) < EULER_STEPS_PER_TAU * float(dt):
            raise ConfigError(
                f"populations.{pop.name}.model.{name}", f"{float(tau) * 1e3:g} ms",
                f"a time constant of at least {EULER_STEPS_PER_TAU} dt = {EULER_STEPS_PER_TAU * float(dt) * 1e3:g} ms "
                f"({type(pop.model).__name__} is integrated by forward Euler; use dt <= "
                f"{float(tau) / EULER_STEPS_PER_TAU * 1e3:g} ms)")

TRANSFER_EXPR = {
    "linear": "u_in",
    "relu": "clip(u_in, 0, inf)",
    "tanh": "tanh(u_in)",
    "sigmoid": "1/(1 + exp(-u_in))",
}


def rate_input_name(projection: str) -> str:
    """Name of the summed-input variable a rate projection writes in its target."""
    return f"I_{projection}"


def _synaptic_current(model, code: Code, unit: str) -> None:
    """Add g_e/g_i dynamics and the ``I_syn`` expression (current- or conductance-based)."""
    code.equations += [
        f"dg_e/dt = -g_e/tau_e : {unit}",
        f"dg_i/dt = -g_i/tau_i : {unit}",
    ]
    code.params.update(tau_e=model.tau_e, tau_i=model.tau_i)
    if model.synapse == "conductance":
        code.equations.append("I_syn = g_e*(E_e - v) + g_i*(E_i - v) : amp")
        code.params.update(E_e=model.E_e, E_i=model.E_i)
    else:
        code.equations.append("I_syn = g_e - g_i : amp")


def _refractory(model, code: Code) -> str:
    """Equation flag and ``refractory`` argument: clamp ``v`` for ``t_ref`` after a spike (if > 0)."""
    if float(model.t_ref) > 0:
        code.refractory = model.t_ref
        return " (unless refractory)"
    code.refractory = False
    return ""


def _threshold(model, code: Code, v_th: str) -> None:
    """Fixed threshold, or adaptive :math:`V_{th} + \\theta` (AdaptiveThreshold)."""
    if model.adaptation is None:
        code.threshold = f"v > {v_th}"
        return
    code.equations.append("dtheta/dt = -theta/tau_theta : volt")
    code.params.update(theta_plus=model.adaptation.theta_plus, tau_theta=model.adaptation.tau_theta)
    code.threshold = f"v > {v_th} + theta"
    code.reset.append("theta += theta_plus")


@register(LIF)
def build_lif(model: LIF, pop, ctx) -> Code:
    code = Code(method="exponential_euler")
    code.equations = [
        "dv/dt = (g_L*(E_L - v) + I_syn + I_ext)/C_m : volt" + _refractory(model, code),
        "I_ext : amp",
    ]
    code.params.update(C_m=model.C_m, g_L=model.g_L, E_L=model.E_L, V_th=model.V_th, V_reset=model.V_reset)
    _synaptic_current(model, code, "siemens" if model.synapse == "conductance" else "amp")
    _threshold(model, code, "V_th")
    code.reset.insert(0, "v = V_reset")
    code.init = {"v": model.E_L, "I_ext": model.I_ext}
    return code


@register(AdEx)
def build_adex(model: AdEx, pop, ctx) -> Code:
    check_euler_dt(pop, ctx.spec.dt, {"C_m/g_L": model.C_m / model.g_L, "tau_w": model.tau_w,
                                      "tau_e": model.tau_e, "tau_i": model.tau_i})
    code = Code(method="euler")
    code.equations = [
        "dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w_a + I_syn + I_ext)/C_m"
        " : volt" + _refractory(model, code),
        "dw_a/dt = (a*(v - E_L) - w_a)/tau_w : amp",
        "I_ext : amp",
    ]
    code.params.update(C_m=model.C_m, g_L=model.g_L, E_L=model.E_L, V_T=model.V_T, Delta_T=model.Delta_T,
                       tau_w=model.tau_w, a=model.a, b=model.b, V_reset=model.V_reset, V_peak=model.V_peak)
    _synaptic_current(model, code, "siemens" if model.synapse == "conductance" else "amp")
    _threshold(model, code, "V_peak")
    code.reset[:0] = ["v = V_reset", "w_a += b"]
    code.init = {"v": model.E_L, "I_ext": model.I_ext}
    return code


@register(Izhikevich)
def build_izhikevich(model: Izhikevich, pop, ctx) -> Code:
    check_euler_dt(pop, ctx.spec.dt, {"tau_e": model.tau_e, "tau_i": model.tau_i})
    code = Code(method="euler")
    code.equations = [
        "dv/dt = (0.04/ms/mV)*v**2 + (5/ms)*v + 140*mV/ms - u + g_e - g_i + I_ext : volt",
        "du/dt = a_izh*(b_izh*v/ms - u)/ms : volt/second",
        "dg_e/dt = -g_e/tau_e : volt/second",
        "dg_i/dt = -g_i/tau_i : volt/second",
        "I_ext : volt/second",
    ]
    # Time is in ms in the paper, so its u (like dv/dt) is in mV/ms: b*v becomes b*v/ms and the
    # paper's d = 8 is a jump of u by 8 mV/ms (d is stored in mV, the jump is d_izh/ms).
    code.params.update(a_izh=model.a, b_izh=model.b, c_izh=model.c, d_izh=model.d,
                       v_peak=model.v_peak, tau_e=model.tau_e, tau_i=model.tau_i)
    _threshold(model, code, "v_peak")
    code.reset[:0] = ["v = c_izh", "u += d_izh/ms"]
    v0 = model.resting_potential()
    v0 = model.c if v0 is None else v0
    code.init = {"v": v0, "u": model.b * v0 / ms, "I_ext": model.I_ext}
    return code


@register(RateUnit)
def build_rate_unit(model: RateUnit, pop, ctx) -> Code:
    inputs = [rate_input_name(p.name) for p in ctx.spec.incoming(pop.name)]
    code = Code(method="exponential_euler")
    total = " + ".join(inputs + ["I_ext"])
    f = TRANSFER_EXPR[model.transfer]
    code.equations = [f"I_{name} : 1" for name in (p.name for p in ctx.spec.incoming(pop.name))]
    code.equations += ["I_ext : 1", f"u_in = gain*({total}) + bias : 1"]
    if model.tau is None:
        code.equations.append(f"r = {f} : 1")
    else:
        code.equations.append(f"dr/dt = ({f} - r)/tau : 1")
        code.params["tau"] = model.tau
    code.params.update(gain=model.gain, bias=model.bias)
    code.init = {"I_ext": model.I_ext}
    return code


# --------------------------------------------------------------------------- inputs

@register(PoissonInput)
def build_poisson(model: PoissonInput, pop, ctx):
    rates = model.rates if np.ndim(model.rates) == 1 else np.full(pop.size, float(model.rates)) * second ** -1
    if not model.frozen:
        return PoissonGroup(pop.size, rates=rates, name=pop.name)
    # identical spike trains on every backend: drawn once in numpy from the network seed
    duration = float(ctx.spec.duration)
    dt = float(ctx.spec.dt)
    nsteps = int(round(duration / dt))
    rng = ctx.rng(f"poisson:{pop.name}")
    p = np.clip(np.asarray(rates, dtype=float) * dt, 0, 1)
    steps, idx = frozen_poisson_steps(p, nsteps, rng)
    return SpikeGeneratorGroup(pop.size, idx, steps * dt * second, dt=ctx.spec.dt, name=pop.name)


def frozen_poisson_steps(p: np.ndarray, nsteps: int, rng: np.random.Generator, chunk_bytes: int = 1 << 25):
    """Time steps and unit indices of Bernoulli(``p[unit]``) spikes in each of ``nsteps`` steps.

    Drawn in blocks of time steps (same random stream as one ``rng.random((nsteps, n))``
    draw), so long runs with many units do not need an ``nsteps x n`` array.
    """
    p = np.asarray(p, dtype=float)
    n = p.size
    rows = max(1, chunk_bytes // (8 * max(n, 1)))
    steps, idx = [], []
    for start in range(0, nsteps, rows):
        block = rng.random((min(rows, nsteps - start), n)) < p
        s, i = np.nonzero(block)
        steps.append(s + start)
        idx.append(i)
    if not steps:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(steps), np.concatenate(idx)


@register(SpikeTrains)
def build_spike_trains(model: SpikeTrains, pop, ctx):
    return SpikeGeneratorGroup(pop.size, model.indices, model.times, name=pop.name)


def schedule_array(model: SampleSequence, dt) -> tuple[np.ndarray, float]:
    """Per-interval input values for a sample schedule.

    Returns ``(values, step)``: ``values[k]`` holds during ``[k*step, (k+1)*step)``, with
    ``step`` the greatest common divisor of ``present`` and ``rest`` in time steps.
    """
    ticks_present = int(round(float(model.present) / float(dt)))
    ticks_rest = int(round(float(model.rest) / float(dt)))
    g = math.gcd(ticks_present, ticks_rest) if ticks_rest else ticks_present
    n_on, n_off = ticks_present // g, ticks_rest // g
    n, m = model.samples.shape
    block = np.zeros((n, n_on + n_off, m))
    block[:, :n_on, :] = model.samples[:, None, :]
    values = block.reshape(n * (n_on + n_off), m)
    # one extra zero row so that the schedule ends in silence
    values = np.vstack([values, np.zeros((1, m))])
    return values, g * float(dt)


@register(SampleSequence)
def build_sample_sequence(model: SampleSequence, pop, ctx):
    values, step = schedule_array(model, ctx.spec.dt)
    name = f"stimulus_{pop.name}"
    stim = TimedArray(values, dt=step * second, name=name)
    if model.encoding == "rate":
        g = NeuronGroup(pop.size, f"r = scale*{name}(t, i) : 1", namespace={name: stim, "scale": model.scale},
                        name=pop.name)
    else:
        g = NeuronGroup(pop.size, f"rate = max_rate*{name}(t, i) : Hz", threshold="rand() < rate*dt",
                        namespace={name: stim, "max_rate": model.max_rate}, name=pop.name)
    return g
