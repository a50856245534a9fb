r"""Training protocols and read-outs as spec data.

A :class:`Protocol` says what a run shows, window by window: each window presents one
sample for ``present``, then ``rest`` of silence. Windows are grouped in named
:class:`Phase`\ s (``"train0"``, ``"train1"``, ``"assign"``, ``"test"``...), each with a
learning-rate factor (``learn = 0``: plasticity off). Training epochs, label assignment
and evaluation are therefore one simulation run (one compiled binary on ``cpp``), with no
Python between samples. The protocol stores sample *indices* per phase, not copies, so
MNIST-sized schedules stay small.

A network with a protocol is driven by populations of :class:`ProtocolInput` (the sample
of the current window, Poisson- or rate-encoded) and *gated*: every plastic projection and
every adaptive threshold learns at the window's factor, and with ``learn_in_rest=False``
only while a sample is presented.

A :class:`SpikeCountReadout` turns the spike counts of any monitored spiking population
into a classifier (Diehl & Cook 2015): each neuron is labelled with the class for which its
mean count over the ``assign`` phase is highest; a window is classified as the class whose
neurons fire most on average. :func:`bioplaus.simulation.simulate` returns the assignments,
predictions and accuracies per phase (:mod:`bioplaus.readout`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Hz, ms

from ..errors import ConfigError
from .neurons import InputModel
from .params import Spec, param, set_field

__all__ = ["Phase", "Protocol", "ProtocolInput", "SpikeCountReadout"]


@dataclass(frozen=True, eq=False)
class Phase(Spec):
    """A named run of windows: sample ``indices`` shown in this order at learning-rate factor ``learn``."""

    name: str
    indices: Any = param((), integer=True, ndim=1, doc="sample indices shown, one window each, in this order")
    learn: Any = param(1.0, nonnegative=True, doc="learning-rate factor of the phase's windows (0: plasticity off)")

    @property
    def _owner(self) -> str:
        return f"phases.{self.name}"

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError("Phase.name", self.name, "an identifier (e.g. 'train0', 'test')")
        super().__post_init__()

    def __len__(self) -> int:
        return len(self.indices)


def _short(v: Any) -> Any:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


@dataclass(frozen=True, eq=False)
class Protocol(Spec):
    r"""Samples presented in windows (``present`` + ``rest``), in phases, inside one run.

    Parameters
    ----------
    samples : array ``(n_samples, n_input)``
        Each distinct sample once (values >= 0; for Poisson input, fractions of ``max_rate``).
    phases : sequence of :class:`Phase`
        Shown in order; window ``k`` shows ``samples[order[k]]``.
    labels : array ``(n_samples,)`` of int, optional
        Class of each sample (needed by read-outs).
    present, rest : quantity
        Presentation and rest time of every window (multiples of the network's ``dt``).
    learn_in_rest : bool
        ``True`` (Diehl & Cook): the window's learning factor holds for the whole window;
        ``False``: plasticity is on only while the sample is presented (gated windows).
    batch : int
        Number of consecutive windows whose weight updates are accumulated and applied
        together, at the end of the batch (mini-batch learning): within a batch every
        update is computed from the weights at its start. ``1`` (the default): each update
        is applied when it happens (online learning).
    """

    samples: Any = param(ndim=2)
    phases: Any
    labels: Any = param(None, integer=True, minimum=0, ndim=1, allow_none=True)
    present: Any = param("350 ms", unit=ms, positive=True, doc="presentation time of each sample")
    rest: Any = param("150 ms", unit=ms, nonnegative=True, doc="silent time after each sample")
    learn_in_rest: bool = param(True, boolean=True, doc="plasticity stays on during the rest after a sample")
    batch: int = param(1, integer=True, minimum=1, doc="windows whose weight updates are applied together "
                                                     "(1: online)")

    def __post_init__(self):
        o = "Protocol"
        super().__post_init__()
        samples = self.samples
        if samples.shape[0] == 0:
            raise ConfigError(f"{o}.samples", "0 samples", "at least one sample")
        if samples.min() < 0:
            raise ConfigError(f"{o}.samples", float(samples.min()), "values >= 0 (they scale input rates)")
        phases = tuple(self.phases)
        if not phases:
            raise ConfigError(f"{o}.phases", [], "at least one Phase")
        seen = set()
        for ph in phases:
            if not isinstance(ph, Phase):
                raise ConfigError(f"{o}.phases", _short(ph), "Phase(name, indices, learn) objects")
            if ph.name in seen:
                raise ConfigError(f"phases.{ph.name}.name", ph.name, "a unique phase name")
            seen.add(ph.name)
            if ph.indices.size and (ph.indices.min() < 0 or ph.indices.max() >= len(samples)):
                bad = int(ph.indices.max() if ph.indices.max() >= len(samples) else ph.indices.min())
                raise ConfigError(f"phases.{ph.name}.indices", bad, f"indices in [0, {len(samples) - 1}]")
        if sum(len(p) for p in phases) == 0:
            raise ConfigError(f"{o}.phases", "0 windows", "at least one window")
        set_field(self, "phases", phases)
        if self.labels is not None and self.labels.shape != (len(samples),):
            raise ConfigError(f"{o}.labels", f"{self.labels.size} labels", f"{len(samples)} integer class labels "
                              "(one per sample)")

    # ------------------------------------------------------------------ derived
    @property
    def window(self):
        return self.present + self.rest

    @property
    def n_input(self) -> int:
        return int(self.samples.shape[1])

    @property
    def order(self) -> np.ndarray:
        """Index of the sample shown in each window."""
        return np.concatenate([p.indices for p in self.phases])

    @property
    def learn(self) -> np.ndarray:
        """Learning-rate factor of each window."""
        return np.concatenate([np.full(len(p), p.learn) for p in self.phases])

    @property
    def slices(self) -> dict[str, slice]:
        """Windows of each phase."""
        out, k = {}, 0
        for p in self.phases:
            out[p.name] = slice(k, k + len(p))
            k += len(p)
        return out

    def __len__(self) -> int:
        return int(sum(len(p) for p in self.phases))

    @property
    def duration(self):
        """Time to show every window."""
        return len(self) * self.window

    def window_labels(self, phase: str | None = None) -> np.ndarray:
        """Class of the sample shown in each window (of one phase)."""
        if self.labels is None:
            raise ConfigError("Protocol.labels", None, "class labels of the samples (needed for read-outs)")
        order = self.order if phase is None else self.phase(phase).indices
        return self.labels[order]

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def check_dt(self, dt) -> None:
        """``present`` and ``rest`` must be whole numbers of time steps."""
        for f in ("present", "rest"):
            ticks = float(getattr(self, f) / dt)
            if abs(ticks - round(ticks)) > 1e-6:
                raise ConfigError(f"protocol.{f}", str(getattr(self, f)), f"a multiple of dt = {dt}")

    # ------------------------------------------------------------------ recipes
    @classmethod
    def classifier(cls, samples, labels, train, epochs: int, evaluate: dict[str, Any], rng: np.random.Generator,
                   assign=None, **kw) -> "Protocol":
        """Training epochs (``train0``, ``train1``...: each a fresh random order of ``train``, learning
        on), then ``assign`` (default: the training samples, learning off), then each set of
        ``evaluate`` (learning off)."""
        train = np.asarray(train)
        phases = [Phase(f"train{e}", train[rng.permutation(len(train))], 1.0) for e in range(int(epochs))]
        phases.append(Phase("assign", train if assign is None else np.asarray(assign), 0.0))
        phases += [Phase(name, np.asarray(idx, dtype=np.int64), 0.0) for name, idx in evaluate.items()]
        return cls(samples=samples, phases=phases, labels=labels, **kw)


@dataclass(frozen=True, eq=False)
class ProtocolInput(InputModel):
    """Input units showing the current window's sample of the network's :class:`Protocol`.

    ``encoding="poisson"``: unit ``i`` fires Poisson spikes at ``max_rate * sample[i]`` while
    the sample is presented, silence during rest. ``encoding="rate"``: rate variable
    ``r = scale * sample[i]`` (rate networks).
    """

    encoding: str = param("poisson", choices=("poisson", "rate"))
    max_rate: Any = param("63.75 Hz", unit=Hz, positive=True)
    scale: Any = param(1.0)
    _probeable: ClassVar[tuple[str, ...]] = ()

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "spike" if self.encoding == "poisson" else "rate"

    @property
    def probeable(self) -> tuple[str, ...]:
        return ("rate",) if self.encoding == "poisson" else ("r",)


@dataclass(frozen=True, eq=False)
class SpikeCountReadout(Spec):
    """Label assignment and prediction from spike counts per window (Diehl & Cook 2015).

    ``population``: a spiking population with a spike monitor; ``assign``: the phase whose
    counts label the neurons (class of highest mean count; ``-1`` for a neuron that never
    fired); predictions and accuracies are computed for every phase of the protocol.
    """

    population: str
    assign: str = "assign"
    name: str = "readout"

    def __post_init__(self):
        for f in ("population", "assign", "name"):
            v = getattr(self, f)
            if not isinstance(v, str) or not v.isidentifier():
                raise ConfigError(f"readouts.{self.name}.{f}", v, "a name (identifier)")


def check_protocol(net, pops: dict) -> None:
    """Checks of :class:`~bioplaus.spec.network.NetworkSpec` that involve its protocol and read-outs."""
    proto = net.protocol
    if proto is not None and not isinstance(proto, Protocol):
        raise ConfigError("network.protocol", _short(proto), "a Protocol(samples, phases, ...) or None")
    for pop in net.populations:
        if isinstance(pop.model, ProtocolInput):
            if proto is None:
                raise ConfigError(f"populations.{pop.name}.model", "ProtocolInput",
                                  "a network with a protocol (NetworkSpec(protocol=Protocol(...)))")
            if pop.size != proto.n_input:
                raise ConfigError(f"populations.{pop.name}.size", pop.size,
                                  f"{proto.n_input} (the number of inputs of the protocol's samples)")
    if proto is not None:
        proto.check_dt(net.dt)
    names = set()
    for r in net.readouts:
        if not isinstance(r, SpikeCountReadout):
            raise ConfigError("network.readouts", _short(r), "SpikeCountReadout(population, ...) objects")
        owner = f"readouts.{r.name}"
        if r.name in names:
            raise ConfigError(f"{owner}.name", r.name, "a unique read-out name")
        names.add(r.name)
        if proto is None or proto.labels is None:
            raise ConfigError(f"{owner}", r.name, "a network protocol with sample labels")
        if r.population not in pops or pops[r.population].kind != "spike":
            raise ConfigError(f"{owner}.population", r.population, "the name of a spiking population")
        if not any(m.target == r.population and "spikes" in m.variables for m in net.monitors):
            raise ConfigError(f"{owner}.population", r.population,
                              f"a population with a spike monitor (add Monitor({r.population!r}))")
        if r.assign not in {p.name for p in proto.phases}:
            raise ConfigError(f"{owner}.assign", r.assign, "a phase of the protocol: "
                              + ", ".join(p.name for p in proto.phases))
