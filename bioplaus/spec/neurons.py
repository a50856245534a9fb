"""Neuron populations and inputs, described as inert validated objects.

Each class only holds parameters (with physical units) and declares what it
offers to projections: its ``kind`` (``"spike"`` or ``"rate"``) and, for spiking
models, the unit of the variable an incoming spike increments (``receptor_unit``).
The Brian2 equations are rendered by :mod:`bioplaus.build.neurons`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Hz, amp, ms, mV, nA, nS, pA, pF, second, siemens, volt

from ..errors import ConfigError, did_you_mean
from .params import Spec, param

__all__ = [
    "NeuronModel", "InputModel", "AdaptiveThreshold", "LIF", "AdEx", "Izhikevich", "RateUnit",
    "PoissonInput", "SpikeTrains", "SampleSequence", "TRANSFER_FUNCTIONS", "NEURONS", "INPUTS", "neuron_class",
]

TRANSFER_FUNCTIONS = ("linear", "relu", "tanh", "sigmoid")
SYNAPSE_TYPES = ("current", "conductance")


class NeuronModel(Spec):
    """Base of neuron models. ``kind`` is ``"spike"`` or ``"rate"``."""

    kind: ClassVar[str] = "spike"
    _probeable: ClassVar[tuple[str, ...]] = ()

    def receptor_unit(self):
        """Unit of ``g_e``/``g_i`` (what an incoming spike increments)."""
        raise NotImplementedError

    @property
    def probeable(self) -> tuple[str, ...]:
        """Variables a :class:`~bioplaus.spec.network.Monitor` can record (besides ``"spikes"``)."""
        extra = ("theta",) if getattr(self, "adaptation", None) is not None else ()
        return self._probeable + extra


class InputModel(Spec):
    """Base of input populations (no incoming projections)."""

    kind: ClassVar[str] = "spike"

    def size(self) -> int | None:
        """Number of units implied by the input's data (``None``: taken from the population)."""
        return None

    @property
    def probeable(self) -> tuple[str, ...]:
        """Variables a :class:`~bioplaus.spec.network.Monitor` can record (besides ``"spikes"``)."""
        return ()


@dataclass(frozen=True)
class AdaptiveThreshold(Spec):
    r"""Homeostatic adaptive threshold (Diehl & Cook 2015).

    Each spike raises the threshold, which decays back slowly:
    :math:`V_{th} + \theta`, :math:`\theta \leftarrow \theta + \theta_+` at a spike,
    :math:`\tau_\theta \dot\theta = -\theta`.
    """

    theta_plus: Any = param("0.05 mV", unit=mV, nonnegative=True)
    tau_theta: Any = param("1e7 ms", unit=ms, positive=True)


@dataclass(frozen=True)
class LIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron with current- or conductance-based synapses.

    .. math::
        C_m \dot V = g_L (E_L - V) + I_{syn} + I_{ext}

    with :math:`I_{syn} = g_e - g_i` (current-based, :math:`g` in amperes) or
    :math:`I_{syn} = g_e (E_e - V) + g_i (E_i - V)` (conductance-based, :math:`g` in
    siemens); :math:`\tau_e \dot g_e = -g_e`, :math:`\tau_i \dot g_i = -g_i`. A spike
    is emitted when :math:`V > V_{th} (+\theta)`, then :math:`V \leftarrow V_{reset}`
    for ``t_ref``.
    """

    C_m: Any = param("200 pF", unit=pF, positive=True)
    g_L: Any = param("10 nS", unit=nS, positive=True)
    E_L: Any = param("-70 mV", unit=mV)
    V_th: Any = param("-50 mV", unit=mV)
    V_reset: Any = param("-60 mV", unit=mV)
    t_ref: Any = param("2 ms", unit=ms, nonnegative=True)
    synapse: str = param("current", choices=SYNAPSE_TYPES)
    tau_e: Any = param("5 ms", unit=ms, positive=True)
    tau_i: Any = param("10 ms", unit=ms, positive=True)
    E_e: Any = param("0 mV", unit=mV)
    E_i: Any = param("-80 mV", unit=mV)
    I_ext: Any = param("0 nA", unit=nA)
    adaptation: AdaptiveThreshold | None = param(None, types=AdaptiveThreshold, allow_none=True,
                                                 expected="an AdaptiveThreshold or None")
    _probeable: ClassVar[tuple[str, ...]] = ("v", "g_e", "g_i", "I_syn", "I_ext")

    def __post_init__(self):
        super().__post_init__()
        if not self.V_reset < self.V_th:
            raise ConfigError("LIF.V_reset", self.V_reset, f"a value below V_th = {self.V_th}")

    def receptor_unit(self):
        return siemens if self.synapse == "conductance" else amp

    @classmethod
    def vogels_abbott(cls, synapse: str = "conductance") -> "LIF":
        """The COBA/CUBA benchmark neuron of Vogels & Abbott (2005) as in Brette et al. (2007)."""
        return cls(C_m=200 * pF, g_L=10 * nS, E_L=-60 * mV, V_th=-50 * mV, V_reset=-60 * mV, t_ref=5 * ms,
                   synapse=synapse, tau_e=5 * ms, tau_i=10 * ms, E_e=0 * mV, E_i=-80 * mV)

    @classmethod
    def diehl_cook_excitatory(cls) -> "LIF":
        """Excitatory neuron of Diehl & Cook (2015): conductance synapses, adaptive threshold."""
        return cls(C_m=100 * pF, g_L=1 * nS, E_L=-65 * mV, V_th=-52 * mV, V_reset=-65 * mV, t_ref=5 * ms,
                   synapse="conductance", tau_e=1 * ms, tau_i=2 * ms, E_e=0 * mV, E_i=-100 * mV,
                   adaptation=AdaptiveThreshold())


@dataclass(frozen=True)
class AdEx(NeuronModel):
    r"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    .. math::
        C_m \dot V = -g_L (V - E_L) + g_L \Delta_T e^{(V - V_T)/\Delta_T} - w_a + I_{syn} + I_{ext}, \qquad
        \tau_w \dot w_a = a (V - E_L) - w_a

    Spike when :math:`V > V_{peak}`; then :math:`V \leftarrow V_{reset}`, :math:`w_a \leftarrow w_a + b`.
    """

    C_m: Any = param("281 pF", unit=pF, positive=True)
    g_L: Any = param("30 nS", unit=nS, positive=True)
    E_L: Any = param("-70.6 mV", unit=mV)
    V_T: Any = param("-50.4 mV", unit=mV)
    Delta_T: Any = param("2 mV", unit=mV, positive=True)
    tau_w: Any = param("144 ms", unit=ms, positive=True)
    a: Any = param("4 nS", unit=nS)
    b: Any = param("0.0805 nA", unit=nA)
    V_reset: Any = param("-70.6 mV", unit=mV)
    V_peak: Any = param("-40.4 mV", unit=mV)
    t_ref: Any = param("0 ms", unit=ms, nonnegative=True)
    synapse: str = param("current", choices=SYNAPSE_TYPES)
    tau_e: Any = param("5 ms", unit=ms, positive=True)
    tau_i: Any = param("10 ms", unit=ms, positive=True)
    E_e: Any = param("0 mV", unit=mV)
    E_i: Any = param("-80 mV", unit=mV)
    I_ext: Any = param("0 nA", unit=nA)
    adaptation: AdaptiveThreshold | None = param(None, types=AdaptiveThreshold, allow_none=True,
                                                 expected="an AdaptiveThreshold or None")
    _probeable: ClassVar[tuple[str, ...]] = ("v", "w_a", "g_e", "g_i", "I_syn", "I_ext")

    def __post_init__(self):
        super().__post_init__()
        if not self.V_peak > self.V_T:
            raise ConfigError("AdEx.V_peak", self.V_peak, f"a value above V_T = {self.V_T}")

    def receptor_unit(self):
        return siemens if self.synapse == "conductance" else amp

    #: preset name -> the step current that shows its pattern: Naud et al. (2008), Table 1,
    #: except ``transient`` (see :meth:`transient`)
    PAPER_STEP: ClassVar[dict[str, Any]] = {
        "tonic": 500 * pA, "adapting": 500 * pA, "initial_bursting": 400 * pA, "regular_bursting": 210 * pA,
        "delayed_accelerating": 300 * pA, "delayed_regular_bursting": 110 * pA, "transient": 250 * pA,
        "irregular": 160 * pA,
    }
    #: the eight firing patterns of Naud et al. (2008), Fig. 4a-h, in the paper's order
    PRESETS: ClassVar[tuple[str, ...]] = tuple(PAPER_STEP)

    @classmethod
    def _naud(cls, C, gL, EL, tau_w, a, b, Vr) -> "AdEx":
        # common to every row of Naud et al. (2008), Table 1: V_T = -50 mV, Delta_T = 2 mV; the
        # spike is cut at 0 mV (the figures' peak), which only matters above V_T + 5 Delta_T
        return cls(C_m=C * pF, g_L=gL * nS, E_L=EL * mV, V_T=-50 * mV, Delta_T=2 * mV, tau_w=tau_w * ms,
                   a=a * nS, b=b * pA, V_reset=Vr * mV, V_peak=0 * mV)

    @classmethod
    def tonic(cls) -> "AdEx":
        """Tonic spiking (Naud et al. 2008, Table 1, Fig. 4a; 500 pA step): constant ISIs.

        Integrated by forward Euler. Recommended dt for every AdEx preset: 0.1 ms (the
        default); the largest dt that keeps each preset's spike count in a 300 ms step within
        10 % of the dt = 0.01 ms count is 0.25 ms (regular and delayed regular bursting),
        0.5 ms (tonic, delayed accelerating, irregular) or 1 ms (adapting, initial bursting,
        transient); ``benchmarks/bench_neuron_dt.py``, table in ``benchmarks/RESULTS.md``.
        """
        return cls._naud(200, 10, -70, 30, 2, 0, -58)

    @classmethod
    def adapting(cls) -> "AdEx":
        """Spike-frequency adaptation (Naud et al. 2008, Table 1, Fig. 4b; 500 pA step): ISIs lengthen."""
        return cls._naud(200, 12, -70, 300, 2, 60, -58)

    @classmethod
    def initial_bursting(cls) -> "AdEx":
        """Initial bursting (Naud et al. 2008, Table 1, Fig. 4c; 400 pA step): a burst, then tonic spikes."""
        return cls._naud(130, 18, -58, 150, 4, 120, -50)

    @classmethod
    def bursting(cls) -> "AdEx":
        """Same as :meth:`initial_bursting` (the name used before the eight patterns were added)."""
        return cls.initial_bursting()

    @classmethod
    def regular_bursting(cls) -> "AdEx":
        """Regular bursting (Naud et al. 2008, Table 1, Fig. 4d; 210 pA step): bursts repeat."""
        return cls._naud(200, 10, -58, 120, 2, 100, -46)

    @classmethod
    def delayed_accelerating(cls) -> "AdEx":
        """Delayed accelerating (Naud et al. 2008, Table 1, Fig. 4e; 300 pA step): a delayed
        first spike, then ISIs shorten (``a < 0``: subthreshold facilitation)."""
        return cls._naud(200, 12, -70, 300, -10, 0, -58)

    @classmethod
    def delayed_regular_bursting(cls) -> "AdEx":
        """Delayed regular bursting (Naud et al. 2008, Table 1, Fig. 4f; 110 pA step)."""
        return cls._naud(100, 10, -65, 90, -10, 30, -47)

    @classmethod
    def transient(cls) -> "AdEx":
        """Transient spiking (Naud et al. 2008, Table 1, Fig. 4g): a few spikes, then silence.

        Published reproductions of this row drive it with 180-350 pA. At 350 pA this model
        fires three spikes and then keeps firing slowly (ISI 83 ms, at dt = 0.1 and 0.02 ms
        alike), which is not the figure's pattern, so :attr:`PAPER_STEP` uses 250 pA: two
        spikes, then silence.
        """
        return cls._naud(100, 10, -65, 90, 10, 100, -47)

    @classmethod
    def irregular(cls) -> "AdEx":
        """Irregular spiking (Naud et al. 2008, Table 1, Fig. 4h; 160 pA step): ISIs vary without a trend."""
        return cls._naud(100, 12, -60, 130, -11, 30, -48)


@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    r"""Izhikevich (2003) simple model.

    .. math::
        \dot v = 0.04 v^2/\mathrm{mV} + 5 v + 140\,\mathrm{mV} - u + I, \qquad \dot u = a (b v - u)

    (time in ms). Spike when :math:`v \geq v_{peak}`; then :math:`v \leftarrow c`, :math:`u \leftarrow u + d`.
    As in the paper, :math:`u`, the input and the synaptic input ``g_e``/``g_i`` are in
    mV/ms (current-based); ``a`` and ``b`` are the paper's numbers (per ms), ``c`` and
    ``d`` are given in mV and ``d`` is a jump of :math:`u` by ``d``/ms (the paper's
    ``d = 8``). :math:`v` starts at rest (:meth:`resting_potential` without input, so that
    ``I_ext`` acts as a step at t = 0; ``c`` if the model has no rest) and :math:`u` at
    ``b*v``/ms. The presets respond to ``I_ext = "10 mV/ms"`` as in Izhikevich (2003), Fig. 2.
    Integrated by forward Euler (the paper's scheme), which this quadratic model needs small
    steps for: see the presets' recommended dt.
    """

    a: Any = param(0.02, positive=True)
    b: Any = param(0.2)
    c: Any = param("-65 mV", unit=mV)
    d: Any = param("8 mV", unit=mV)
    v_peak: Any = param("30 mV", unit=mV)
    tau_e: Any = param("5 ms", unit=ms, positive=True)
    tau_i: Any = param("10 ms", unit=ms, positive=True)
    I_ext: Any = param("0 mV/ms", unit=mV / ms)
    synapse: str = param("current", choices=SYNAPSE_TYPES)
    E_e: Any = param("0 mV", unit=mV)
    E_i: Any = param("-80 mV", unit=mV)
    adaptation: AdaptiveThreshold | None = param(None, types=AdaptiveThreshold, allow_none=True,
                                                 expected="an AdaptiveThreshold or None")
    _probeable: ClassVar[tuple[str, ...]] = ("v", "u", "g_e", "g_i", "I_ext")

    def __post_init__(self):
        if self.synapse != "current":
            raise ConfigError("Izhikevich.synapse", self.synapse, "'current' (the model has no reversal potentials)")
        super().__post_init__()

    def receptor_unit(self):
        return volt / second

    #: preset name -> the paper's abbreviation (Izhikevich 2003, Fig. 2), in the figure's order
    PRESETS: ClassVar[dict[str, str]] = {
        "regular_spiking": "RS", "intrinsically_bursting": "IB", "chattering": "CH", "fast_spiking": "FS",
        "thalamo_cortical": "TC", "resonator": "RZ", "low_threshold_spiking": "LTS",
    }

    def resting_potential(self, I=0.0):
        """Stable fixed point of ``v`` for a constant input ``I`` (mV/ms, the paper's units), or ``None``.

        The lower root of :math:`0.04 v^2 + (5 - b) v + 140 + I = 0` (v in mV): -70 mV for
        ``b = 0.2``, -64.4 mV for LTS/TC (``b = 0.25``), -62.5 mV for RZ (``b = 0.26``).
        """
        disc = (5 - self.b) ** 2 - 4 * 0.04 * (140 + float(I))
        if disc < 0:
            return None
        return (-(5 - self.b) - np.sqrt(disc)) / (2 * 0.04) * mV

    @classmethod
    def regular_spiking(cls) -> "Izhikevich":
        """Regular spiking (RS) excitatory cell (Izhikevich 2003, Fig. 2: a=0.02, b=0.2, c=-65, d=8):
        spike-frequency adaptation.

        Recommended dt: 0.25 ms or less (spikes in a 300 ms, 10 mV/ms step at dt = 1 / 0.1 /
        0.01 ms: 7 / 8 / 8; ``benchmarks/bench_neuron_dt.py``). The paper integrates with 1 ms
        (two 0.5 ms half steps for v); forward Euler at 1 ms loses 12-38 % of the spikes of
        the RS, FS, TC and LTS protocols (table in ``benchmarks/RESULTS.md``).
        """
        return cls(a=0.02, b=0.2, c=-65 * mV, d=8 * mV)

    @classmethod
    def intrinsically_bursting(cls) -> "Izhikevich":
        """Intrinsically bursting (IB; Izhikevich 2003, Fig. 2: a=0.02, b=0.2, c=-55, d=4):
        an initial burst, then single spikes. Recommended dt: 1 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 11 / 11 / 12; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.02, b=0.2, c=-55 * mV, d=4 * mV)

    @classmethod
    def chattering(cls) -> "Izhikevich":
        """Chattering (CH; Izhikevich 2003, Fig. 2: a=0.02, b=0.2, c=-50, d=2): repeated
        high-frequency bursts. Recommended dt: 0.5 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 25 / 28 / 28; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.02, b=0.2, c=-50 * mV, d=2 * mV)

    @classmethod
    def fast_spiking(cls) -> "Izhikevich":
        """Fast spiking (FS) inhibitory cell (Izhikevich 2003, Fig. 2: a=0.1, b=0.2, c=-65, d=2):
        high-frequency tonic firing with little adaptation. Recommended dt: 0.25 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 34 / 40 / 41; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.1, b=0.2, c=-65 * mV, d=2 * mV)

    @classmethod
    def thalamo_cortical(cls) -> "Izhikevich":
        """Thalamo-cortical (TC; Izhikevich 2003, Fig. 2: a=0.02, b=0.25, c=-65, d=0.05): tonic
        firing when depolarised from rest, a rebound burst after release from hyperpolarisation
        (about -90 mV). Recommended dt: 0.1 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 5 / 8 / 8; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.02, b=0.25, c=-65 * mV, d=0.05 * mV)

    @classmethod
    def resonator(cls) -> "Izhikevich":
        """Resonator (RZ; Izhikevich 2003, Fig. 2: a=0.1, b=0.26, c=-65, d=2): damped
        subthreshold oscillations; fires to input pulses timed at the oscillation period.
        Recommended dt: 1 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 1 / 1 / 1; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.1, b=0.26, c=-65 * mV, d=2 * mV)

    @classmethod
    def low_threshold_spiking(cls) -> "Izhikevich":
        """Low-threshold spiking (LTS) inhibitory cell (Izhikevich 2003, Fig. 2: a=0.02, b=0.25,
        c=-65, d=2): high-frequency trains with adaptation, and a rebound spike after release
        from hyperpolarisation. Recommended dt: 0.1 ms or less (spikes in its
        protocol at dt = 1 / 0.1 / 0.01 ms: 2 / 3 / 3; ``benchmarks/bench_neuron_dt.py``)."""
        return cls(a=0.02, b=0.25, c=-65 * mV, d=2 * mV)


@dataclass(frozen=True)
class RateUnit(NeuronModel):
    r"""Rate unit with a time constant and a transfer function.

    .. math:: \tau \dot r = -r + f(\text{gain}\,(\textstyle\sum_p I_p + I_{ext}) + \text{bias})

    or, with ``tau=None``, the instantaneous :math:`r = f(\cdot)`. :math:`I_p` is the
    summed input :math:`\sum_j w_{ij} r_j` of incoming projection :math:`p`; ``I_ext`` a
    constant external input (dimensionless, like ``r``).
    ``transfer`` is one of ``linear``, ``relu``, ``tanh``, ``sigmoid``.
    """

    kind: ClassVar[str] = "rate"
    _probeable: ClassVar[tuple[str, ...]] = ("r", "u_in", "I_ext")
    tau: Any = param("10 ms", unit=ms, positive=True, allow_none=True)
    transfer: str = param("linear", choices=TRANSFER_FUNCTIONS)
    gain: Any = param(1.0)
    bias: Any = param(0.0)
    I_ext: Any = param(0.0)

    def receptor_unit(self):
        return None


# --------------------------------------------------------------------------- inputs

@dataclass(frozen=True, eq=False)
class PoissonInput(InputModel):
    """Poisson spike sources with a rate per unit (or one shared rate).

    ``frozen=True`` draws the spike trains once in numpy from the network seed and
    replays them through a spike generator, so every backend sees identical input
    (for cross-backend comparisons); otherwise Brian2's own ``PoissonGroup`` is used.
    """

    rates: Any = param("10 Hz", unit=Hz, nonnegative=True, ndim=(0, 1))
    frozen: bool = param(False, boolean=True)

    def size(self):
        return len(self.rates) if np.ndim(self.rates) == 1 else None

    @property
    def probeable(self) -> tuple[str, ...]:
        return () if self.frozen else ("rates",)


@dataclass(frozen=True, eq=False)
class SpikeTrains(InputModel):
    """Spikes given as arrays: unit ``indices[k]`` fires at ``times[k]``."""

    indices: Any = param((), integer=True, minimum=0, ndim=1)
    times: Any = param((), unit=ms, nonnegative=True, ndim=1)
    n: int | None = param(None, integer=True, minimum=1, allow_none=True)

    def __post_init__(self):
        super().__post_init__()
        if self.indices.shape != self.times.shape:
            raise ConfigError("SpikeTrains.times", f"{self.times.size} times",
                              f"one time per index ({self.indices.size} indices)")
        if self.n is not None and self.indices.size and self.indices.max() >= self.n:
            raise ConfigError("SpikeTrains.indices", int(self.indices.max()), f"indices < n = {self.n}")

    def size(self):
        if self.n is not None:
            return int(self.n)
        return int(self.indices.max()) + 1 if self.indices.size else None


@dataclass(frozen=True, eq=False)
class SampleSequence(InputModel):
    """Present a sequence of samples, one per window, inside one compiled run.

    Sample ``k`` (a row of ``samples``, values in [0, 1] for ``poisson``) is shown from
    ``k*(present+rest)`` for ``present``, followed by ``rest`` of zero input. With
    ``encoding="rate"`` the units' rate ``r`` equals the sample value times ``scale``;
    with ``encoding="poisson"`` units fire Poisson spikes at ``value * max_rate``.
    The schedule becomes a Brian2 ``TimedArray``, so no Python runs per sample.
    """

    samples: Any = param(((0.0,),), ndim=2)
    present: Any = param("100 ms", unit=ms, positive=True)
    rest: Any = param("0 ms", unit=ms, nonnegative=True)
    encoding: str = param("rate", choices=("rate", "poisson"))
    max_rate: Any = param("63.75 Hz", unit=Hz, positive=True)
    scale: Any = param(1.0)

    def __post_init__(self):
        super().__post_init__()
        n = "SampleSequence"
        if self.samples.shape[0] == 0:
            raise ConfigError(f"{n}.samples", "0 samples", "at least one sample")
        if self.encoding == "poisson" and (self.samples.min() < 0):
            raise ConfigError(f"{n}.samples", float(self.samples.min()), "values >= 0 for Poisson encoding")

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "rate" if self.encoding == "rate" else "spike"

    @property
    def probeable(self) -> tuple[str, ...]:
        return ("r",) if self.encoding == "rate" else ("rate",)

    def size(self):
        return int(self.samples.shape[1])

    @property
    def window(self):
        return self.present + self.rest

    @property
    def duration(self):
        """Time needed to present every sample once."""
        return self.samples.shape[0] * self.window


# --------------------------------------------------------------------------- names for model files

#: neuron models by the name a model file uses
NEURONS: dict[str, type] = {"lif": LIF, "adex": AdEx, "izhikevich": Izhikevich, "rate": RateUnit}
#: input populations by the name a model file uses
INPUTS: dict[str, type] = {"poisson": PoissonInput, "spike_trains": SpikeTrains, "samples": SampleSequence}


def neuron_class(name: str, *, inputs: bool = True) -> type:
    """The class of a population model named in a model file.

    ``name`` is a key of :data:`NEURONS` or (with ``inputs=True``) :data:`INPUTS`, or a
    class name; case does not matter.

    >>> neuron_class("LIF").__name__
    'LIF'
    >>> neuron_class("adexp")
    Traceback (most recent call last):
    ...
    bioplaus.errors.ConfigError: model = 'adexp': expected one of adex, izhikevich, lif, rate, poisson, samples, spike_trains (did you mean 'adex'?)
    """
    table = {**NEURONS, **(INPUTS if inputs else {})}
    if isinstance(name, str):
        key = name.strip().lower()
        if key in table:
            return table[key]
        for cls in table.values():
            if cls.__name__.lower() == key:
                return cls
    names = sorted(NEURONS) + (sorted(INPUTS) if inputs else [])
    raise ConfigError("model", name, "one of " + ", ".join(names) + did_you_mean(str(name).lower(), names))
