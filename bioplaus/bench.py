r"""Backends at scale: standard networks timed on every Brian2 backend, each run in a fresh process.

Networks (``size`` is the number of neurons; see :data:`NETWORKS`)

==================  ===========================================================================
``coba``            Vogels & Abbott (2005) as benchmark 1 of Brette et al. (2007): conductance LIF,
                    4:1 excitatory/inhibitory, connection probability ``80/size`` (80 synapses per
                    neuron on average), self-sustained activity from random initial states
``cuba``            the same with current synapses (benchmark 2: rest at -49 mV, 1.62/-9 mV jumps)
``coba-stdp``       ``coba`` with pair STDP on the excitatory synapses (exc->exc and exc->inh)
``fa-rate``         rate network trained by feedback alignment on ``digits``, one sample per
                    millisecond (:mod:`bioplaus.networks.fa_rate`; ``size - 84`` hidden units)
``stdp-classifier`` Diehl & Cook (2015) STDP classifier on ``digits``
                    (:mod:`bioplaus.networks.stdp_classifier`; ``(size - 64) // 2`` excitatory)
==================  ===========================================================================

Every measurement runs in its own Python process (``python -m bioplaus.bench --worker``), so
standalone builds, compiler caches in memory and peak memory are isolated. A measurement
reports

* ``build_s``: creating the Brian2 objects plus code generation and compilation (runtime
  backends: the first ``Network.run(0 ms)``, which generates and, for Cython, compiles the
  code objects; Cython reuses Brian2's on-disk extension cache);
* ``run_s``: the fastest of ``repeat`` runs of the simulation loop: ``Network.run`` (from a
  stored state) on the runtime backends, the time spent in the compiled binary's run loop as
  Brian2 reports it (:func:`bioplaus.brian2_internals.last_run_time`) on ``cpp``/``cuda``, the same binary rerun
  without recompiling;
* ``events``: spikes delivered through synapses, :math:`\sum_n c_n d_n` over presynaptic
  neurons with spike count :math:`c_n` and out-degree :math:`d_n` (:func:`synaptic_events`);
  for the rate network, synapse evaluations (synapses x time steps);
* peak memory: ``resource`` ``ru_maxrss`` of the simulating process (the worker on runtime
  backends, the compiled binary, measured through ``os.wait4``, on standalone ones) and of the
  Python process that built the network;
* ``rerun_s`` / ``rebuild_s`` (standalone): rerunning the compiled binary with new values
  through ``run_args`` against generating, compiling and running again;
* the ratio ``hand_run_s / run_s`` against the same network written by hand in plain Brian2
  (:func:`handwritten_vogels_abbott`: the same equations, parameters as namespace constants,
  the same synapses and initial state, so the same spikes): at least 0.95 means bioplaus adds
  no measurable run-time cost.

>>> spec = vogels_abbott_spec(1000)
>>> [p.size for p in spec.populations], sorted(p.name for p in spec.projections)
([800, 200], ['ee', 'ei', 'ie', 'ii'])
>>> synaptic_events({"exc": [2, 0, 1]}, [("exc", [0, 0, 2])])
5
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import BioplausError, ConfigError, did_you_mean

__all__ = [
    "NETWORKS", "BACKENDS", "COLUMNS", "BenchConfig", "BenchResult", "run_bench", "measure",
    "network_available", "vogels_abbott_spec", "vogels_abbott_init", "build_vogels_abbott",
    "handwritten_vogels_abbott", "draw_connections", "synaptic_events", "fit_exponent",
    "parse_list", "parse_sizes", "parse_duration", "H100_REFERENCE", "paired_ratio", "rerun_binaries",
    "build_variation", "read_result",
]

BACKENDS = ("numpy", "cython", "cpp", "cuda")
STANDALONE = ("cpp", "cuda")

#: network name -> what it is (``size`` = neurons)
NETWORKS: dict[str, str] = {
    "coba": "Vogels & Abbott COBA (Brette et al. 2007, benchmark 1), 80 synapses per neuron",
    "cuba": "Vogels & Abbott CUBA (Brette et al. 2007, benchmark 2), 80 synapses per neuron",
    "coba-stdp": "COBA with pair STDP on the excitatory synapses",
    "fa-rate": "feedback-alignment rate network training on digits (bioplaus.networks.fa_rate)",
    "stdp-classifier": "Diehl & Cook STDP classifier on digits (bioplaus.networks.stdp_classifier)",
}
_VOGELS_ABBOTT = ("coba", "cuba", "coba-stdp")

#: mean number of synapses per neuron (Brette et al. 2007: 2% of 4000)
SYNAPSES_PER_NEURON = 80

#: hand-measured reference (README, "Choosing a backend"): COBA-style, 80 synapses/neuron, seconds per second simulated
H100_REFERENCE = (
    # neurons, cpp_standalone with 16 OpenMP threads, brian2cuda on an H100
    (4_000, 0.60, 0.64),
    (100_000, 3.2, 0.71),
    (1_000_000, 24.0, 1.05),
)

#: columns of the printed table: (key, header)
COLUMNS = (
    ("network", "network"), ("backend", "backend"), ("threads", "thr"), ("neurons", "neurons"),
    ("synapses", "synapses"), ("build_s", "build s"), ("run_per_sim_s", "run s/sim s"),
    ("rate_hz", "rate Hz"), ("events_per_s", "events/s"), ("rss_sim_mb", "sim MB"), ("rss_build_mb", "build MB"),
    ("hand_ratio", "hand/bioplaus"), ("hand_ratio_paired", "paired"), ("rerun_s", "run_args rerun s"), ("rebuild_s", "rebuild s"),
    ("status", "status"),
)


# --------------------------------------------------------------------------- input validation

def parse_list(key: str, value: str | Sequence[str], choices: Sequence[str]) -> tuple[str, ...]:
    """``"a,b"`` (or a list) -> ``("a", "b")``, each one of ``choices`` (else :class:`ConfigError`)."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v).strip() for v in value]
    items = [v for v in items if v]
    if not items:
        raise ConfigError(key, value, "a comma-separated list of " + ", ".join(choices))
    for v in items:
        if v not in choices:
            raise ConfigError(key, v, "one of " + ", ".join(choices) + did_you_mean(v, choices))
    return tuple(dict.fromkeys(items))


def parse_sizes(value: str | Iterable[int], key: str = "sizes") -> tuple[int, ...]:
    """``"1000,4k"`` -> ``(1000, 4000)``: whole numbers of neurons, at least 10 (a network needs exc and inh)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for raw in items:
        text = str(raw).strip().lower().replace("_", "")
        if not text:
            continue
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text)
        n = None
        if m:
            n = float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)]
        if n is None or n != int(n) or n < 10:
            raise ConfigError(key, str(raw).strip(), "whole numbers of neurons >= 10, e.g. 1000,4000 or 4k")
        out.append(int(n))
    if not out:
        raise ConfigError(key, value, "a comma-separated list of network sizes, e.g. 1000,4000")
    return tuple(dict.fromkeys(out))


def parse_threads(value: str | Iterable[int], key: str = "threads") -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        if not text.isdigit():
            raise ConfigError(key, text, "OpenMP thread counts >= 0, e.g. 1,2 (0: compiled without OpenMP)")
        out.append(int(text))
    if not out:
        raise ConfigError(key, value, "thread counts, e.g. 1,2")
    return tuple(dict.fromkeys(out))


def parse_duration(value: Any, key: str = "duration") -> float:
    """``"1s"``, ``"500 ms"`` or a number of seconds -> seconds (float > 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        sec = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+)\s*(s|ms|second|seconds)?\s*", str(value), re.I)
        if not m:
            raise ConfigError(key, value, "a duration such as 1s or 500ms")
        sec = float(m.group(1)) * (1e-3 if (m.group(2) or "s").lower() == "ms" else 1.0)
    if not (math.isfinite(sec) and sec > 0):
        raise ConfigError(key, value, "a positive duration such as 1s or 500ms")
    return sec


@dataclass(frozen=True)
class BenchConfig:
    """What :func:`run_bench` measures (validated on creation; errors name the field)."""

    networks: tuple[str, ...] = ("coba", "cuba", "coba-stdp", "fa-rate", "stdp-classifier")
    backends: tuple[str, ...] = BACKENDS
    sizes: tuple[int, ...] = (1000, 4000)
    duration: float = 1.0
    threads: tuple[int, ...] = (1,)
    repeat: int = 3
    seed: int = 0
    handwritten: bool = True
    runtime_max_size: int = 4000
    timeout: float = 1800.0
    out: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "networks", parse_list("networks", self.networks, tuple(NETWORKS)))
        object.__setattr__(self, "backends", parse_list("backends", self.backends, BACKENDS))
        object.__setattr__(self, "sizes", parse_sizes(self.sizes))
        object.__setattr__(self, "duration", parse_duration(self.duration))
        object.__setattr__(self, "threads", parse_threads(self.threads))
        for f, low in (("repeat", 1), ("seed", 0), ("runtime_max_size", 10)):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ConfigError(f, v, f"an integer >= {low}")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ConfigError("timeout", self.timeout, "a positive number of seconds")


# --------------------------------------------------------------------------- the Vogels & Abbott networks

def _split(size: int) -> tuple[int, int]:
    ne = int(round(size * 0.8))
    return ne, size - ne


def _va_params(network: str) -> dict[str, Any]:
    """Neuron and synapse parameters of Brette et al. (2007), benchmarks 1 (COBA) and 2 (CUBA)."""
    from brian2 import mV, nS, pA

    if network == "cuba":
        # v jumps of 1.62 mV and -9 mV (Brian's CUBA example) as currents: jump * g_L (tau_m = C_m/g_L)
        return dict(synapse="current", E_L=-49 * mV, w_exc=1.62 * mV * 10 * nS, w_inh=9 * mV * 10 * nS)
    return dict(synapse="conductance", E_L=-60 * mV, w_exc=6 * nS, w_inh=67 * nS)


def vogels_abbott_spec(size: int, network: str = "coba", *, duration: Any = 1.0, seed: int = 0,
                       monitors: bool = True):
    """The COBA / CUBA / COBA-STDP network of ``size`` neurons as a :class:`~bioplaus.NetworkSpec`.

    ``exc`` (80 %) and ``inh`` (20 %) populations of :meth:`LIF.vogels_abbott` neurons, four
    projections with connection probability ``80/size``. With STDP (``coba-stdp``) the
    excitatory projections start at ``w = 0.5`` with ``weight_scale = 12 nS`` (so the same
    6 nS as COBA) and learn by :class:`~bioplaus.PairSTDP` (hard bounds ``[0, 1]``).
    The spec has no way to draw initial states, so :func:`build_vogels_abbott` sets them
    after building (:func:`vogels_abbott_init`).
    """
    from brian2 import nS, second

    from .spec import LIF, Monitor, NetworkSpec, PairSTDP, Population, Projection

    if network not in _VOGELS_ABBOTT:
        raise ConfigError("network", network, "one of " + ", ".join(_VOGELS_ABBOTT))
    ne, ni = _split(size)
    par = _va_params(network)
    lif = dataclasses.replace(LIF.vogels_abbott(par["synapse"]), E_L=par["E_L"])
    p = min(1.0, SYNAPSES_PER_NEURON / size)
    stdp = network == "coba-stdp"
    exc_kw = (dict(rule=PairSTDP(w_min=0.0, w_max=1.0), w_init=0.5, weight_scale=2 * par["w_exc"]) if stdp
              else dict(w_init=1.0, weight_scale=par["w_exc"]))
    projections = [
        Projection("ee", "exc", "exc", connectivity=p, receptor="exc", **exc_kw),
        Projection("ei", "exc", "inh", connectivity=p, receptor="exc", **exc_kw),
        Projection("ie", "inh", "exc", connectivity=p, receptor="inh", w_init=1.0, weight_scale=par["w_inh"]),
        Projection("ii", "inh", "inh", connectivity=p, receptor="inh", w_init=1.0, weight_scale=par["w_inh"]),
    ]
    mons = [Monitor("exc"), Monitor("inh")] if monitors else []
    return NetworkSpec([Population("exc", lif, ne), Population("inh", lif, ni)], projections, monitors=mons,
                       duration=float(duration) * second, seed=seed, name=network.replace("-", "_"))


def vogels_abbott_init(size: int, network: str = "coba", seed: int = 0) -> dict[str, dict[str, Any]]:
    """Initial states drawn in numpy (as Brian's COBA/CUBA examples draw them), ``{pop: {var: values}}``.

    COBA: ``v = E_L + (5 randn - 5) mV``, ``g_e = (1.5 randn + 4) 10 nS``,
    ``g_i = (12 randn + 20) 10 nS``; CUBA: ``v`` uniform between reset and threshold, no input.
    """
    from brian2 import amp, mV, nS

    ne, ni = _split(size)
    rng = np.random.default_rng(np.random.SeedSequence([seed, *b"init"]))
    if network == "cuba":
        v = (-60 + rng.random(size) * 10) * mV
        g_e = g_i = np.zeros(size) * amp
        ge, gi = g_e, g_i
    else:
        v = (-60 + rng.standard_normal(size) * 5 - 5) * mV
        ge = (rng.standard_normal(size) * 1.5 + 4) * 10 * nS
        gi = (rng.standard_normal(size) * 12 + 20) * 10 * nS
    return {"exc": {"v": v[:ne], "g_e": ge[:ne], "g_i": gi[:ne]},
            "inh": {"v": v[ne:], "g_e": ge[ne:], "g_i": gi[ne:]}}


def build_vogels_abbott(size: int, network: str = "coba", *, duration: Any = 1.0, seed: int = 0):
    """Build the spec network under the active device and set its initial state: a :class:`BuiltNetwork`."""
    from .build.network import build_network

    # weight_scale of ee stays a variable: the run_args measurement changes it without recompiling
    built = build_network(vogels_abbott_spec(size, network, duration=duration, seed=seed),
                          tunable=["projections.ee.weight_scale"])
    for pop, values in vogels_abbott_init(size, network, seed).items():
        for var, val in values.items():
            setattr(built.groups[pop], var, val)
    return built


def draw_connections(seed: int, name: str, n_pre: int, n_post: int, p: float,
                     chunk_bytes: int = 1 << 26) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli(``p``) synapses ``(i, j)`` of projection ``name``, without building a spec.

    The same generator (seeded from ``"connect:<name>"``) and the same draw
    (:func:`bioplaus.build.network.bernoulli_pairs`) as the spec's projections, so the
    hand-written networks have exactly bioplaus's synapses.
    """
    from .build.network import bernoulli_pairs

    rng = np.random.default_rng(np.random.SeedSequence([seed, *f"connect:{name}".encode()]))
    return bernoulli_pairs(rng, n_pre, n_post, p, block_bytes=chunk_bytes)


#: plain-Brian2 equations of the hand-written networks (identical to what bioplaus renders)
HAND_NEURON_EQS = {
    "conductance": """
dv/dt = (g_L*(E_L - v) + I_syn + I_ext)/C_m : volt (unless refractory)
I_ext : amp
dg_e/dt = -g_e/tau_e : siemens
dg_i/dt = -g_i/tau_i : siemens
I_syn = g_e*(E_e - v) + g_i*(E_i - v) : amp
""",
    "current": """
dv/dt = (g_L*(E_L - v) + I_syn + I_ext)/C_m : volt (unless refractory)
I_ext : amp
dg_e/dt = -g_e/tau_e : amp
dg_i/dt = -g_i/tau_i : amp
I_syn = g_e - g_i : amp
""",
}
HAND_STDP_EQS = """
w : 1
dapre/dt = -apre/tau_plus : 1 (event-driven)
dapost/dt = -apost/tau_minus : 1 (event-driven)
"""


def handwritten_vogels_abbott(size: int, network: str = "coba", *, seed: int = 0) -> dict[str, Any]:
    """The same network written by hand in plain Brian2 (parameters as namespace constants).

    Equations, synapses (:func:`draw_connections`), weights and initial state are those of
    :func:`build_vogels_abbott`, so both give the same spikes. Returns the objects by name
    (``"network"``, ``"exc"``, ``"inh"``, ``"ee"``..., ``"exc_spikes"``, ``"inh_spikes"``).
    """
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, mV, ms, nS, pF

    ne, ni = _split(size)
    par = _va_params(network)
    neuron_ns = dict(C_m=200 * pF, g_L=10 * nS, E_L=par["E_L"], V_th=-50 * mV, V_reset=-60 * mV,
                     tau_e=5 * ms, tau_i=10 * ms)
    if par["synapse"] == "conductance":
        neuron_ns.update(E_e=0 * mV, E_i=-80 * mV)
    groups = {}
    for name, n in (("exc", ne), ("inh", ni)):
        g = NeuronGroup(n, HAND_NEURON_EQS[par["synapse"]], threshold="v > V_th", reset="v = V_reset",
                        refractory=5 * ms, method="exponential_euler", namespace=dict(neuron_ns), name=name)
        g.v = par["E_L"]
        groups[name] = g
    for pop, values in vogels_abbott_init(size, network, seed).items():
        for var, val in values.items():
            setattr(groups[pop], var, val)
    p = min(1.0, SYNAPSES_PER_NEURON / size)
    stdp = network == "coba-stdp"
    objects: dict[str, Any] = dict(groups)
    for name, pre, post, g, w_scale in (("ee", "exc", "exc", "g_e", par["w_exc"]),
                                        ("ei", "exc", "inh", "g_e", par["w_exc"]),
                                        ("ie", "inh", "exc", "g_i", par["w_inh"]),
                                        ("ii", "inh", "inh", "g_i", par["w_inh"])):
        if stdp and pre == "exc":
            syn = Synapses(groups[pre], groups[post], HAND_STDP_EQS,
                           on_pre=f"{g}_post += weight_scale*w\nw = clip(w - A_minus*apost, w_min, w_max)\n"
                                  "apre += 1",
                           on_post="w = clip(w + A_plus*apre, w_min, w_max)\napost += 1",
                           namespace=dict(weight_scale=2 * w_scale, A_plus=0.01, A_minus=0.0105,
                                          tau_plus=20 * ms, tau_minus=20 * ms, w_min=0.0, w_max=1.0),
                           method="euler", name=name)
            w0 = 0.5
        else:
            syn = Synapses(groups[pre], groups[post], "w : 1", on_pre=f"{g}_post += weight_scale*w",
                           namespace=dict(weight_scale=w_scale), method="euler", name=name)
            w0 = 1.0
        i, j = draw_connections(seed, name, len(groups[pre]), len(groups[post]), p)
        syn.connect(i=i, j=j)
        syn.w = w0
        objects[name] = syn
    objects["exc_spikes"] = SpikeMonitor(groups["exc"], name="exc_spikes")
    objects["inh_spikes"] = SpikeMonitor(groups["inh"], name="inh_spikes")
    objects["network"] = Network(*objects.values(), name=f"{network.replace('-', '_')}_net")
    return objects


# --------------------------------------------------------------------------- counting

def synaptic_events(counts: dict[str, Sequence[int]], synapses: Iterable[tuple[str, Sequence[int]]]) -> int:
    r"""Spikes delivered through synapses: :math:`\sum_S \sum_n c_n\, d^S_n`.

    ``counts``: spikes of each neuron, by population name; ``synapses``: ``(source name,
    presynaptic index of every synapse)`` per synapse group. Sources without counts are skipped.

    >>> synaptic_events({"a": [3, 1], "b": [5]}, [("a", [0, 0, 1]), ("b", [0]), ("c", [0])])
    12
    """
    total = 0
    for src, pre in synapses:
        if src not in counts:
            continue
        c = np.asarray(counts[src], dtype=np.int64)
        deg = np.bincount(np.asarray(pre, dtype=np.int64), minlength=len(c))
        total += int(np.dot(c, deg[:len(c)]))
    return total


def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (``y ~ x**k``); NaN with fewer than 2 points.

    >>> round(fit_exponent([1e3, 1e4, 1e5], [2e-3, 2e-2, 2e-1]), 6)
    1.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if np.unique(x[ok]).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def paired_ratio(hand: Sequence[float], bio: Sequence[float]) -> float | None:
    """Median over alternated run pairs of ``hand[k] / bio[k]``.

    Each pair ran back to back under the same background load, so the median of their ratios
    is far less sensitive to load drifting during a measurement than a ratio of fastest runs.

    >>> paired_ratio([1.0, 2.0, 3.3], [1.0, 2.2, 3.0])
    1.0
    """
    pairs = [h / b for h, b in zip(hand, bio) if b > 0 and h > 0]
    return float(np.median(pairs)) if pairs else None


def _digest(arrays: Sequence[np.ndarray]) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- availability

def _networks_module(network: str):
    import importlib

    mod = {"fa-rate": "fa_rate", "stdp-classifier": "stdp_classifier"}[network]
    return importlib.import_module(f"bioplaus.networks.{mod}")


_NEEDS = {"fa-rate": ("fa_rate_spec",),
          "stdp-classifier": ("DiehlCook", "Schedule", "build_classifier")}


def network_available(network: str) -> tuple[bool, str]:
    """``(True, "")``, or ``(False, why)`` when a network's module is missing or lacks its API."""
    if network in _VOGELS_ABBOTT:
        return True, ""
    if network not in NETWORKS:
        return False, f"unknown network {network!r}"
    try:
        mod = _networks_module(network)
    except Exception as exc:  # a module being written may fail to import
        return False, f"not available: bioplaus.networks cannot provide it ({type(exc).__name__}: {exc})"
    missing = [n for n in _NEEDS[network] if not hasattr(mod, n)]
    if missing:
        return False, f"not available: {mod.__name__} lacks {', '.join(missing)}"
    try:
        from .data import load_dataset

        load_dataset("digits")
    except Exception as exc:
        return False, f"not available: the digits dataset cannot be loaded ({exc})"
    return True, ""


def _build_bytes(size: int) -> int:
    """Rough peak memory of building a Vogels & Abbott network of ``size`` neurons in Python
    (:func:`bioplaus.footprint.estimate_bytes`, the estimate ``run`` and ``compare`` check too)."""
    from .footprint import estimate_bytes

    return estimate_bytes(SYNAPSES_PER_NEURON * size)


def _available_memory() -> int | None:
    from .footprint import available_memory

    return available_memory()


# --------------------------------------------------------------------------- one measurement (worker side)

_RSS_WRAPPER = (
    "import os,sys\n"
    "pid=os.posix_spawn(sys.argv[2],sys.argv[2:],os.environ)\n"
    "_,st,ru=os.wait4(pid,0)\n"
    "f=open(sys.argv[1],'a');f.write('%d\\n'%ru.ru_maxrss);f.close()\n"
    "sys.exit(os.waitstatus_to_exitcode(st))\n"
)


def _rss_mb(kb: float) -> float:
    return float(kb) / 1024.0   # ru_maxrss is in kilobytes on Linux


@dataclass
class _Case:
    network: str
    backend: str
    size: int
    threads: int | None
    impl: str                  # "bioplaus" or "brian2" (hand-written)
    duration: float
    seed: int
    repeat: int
    directory: str


@dataclass
class _Built:
    network: Any
    duration: float
    neurons: int
    counters: Callable[[], dict[str, Any]]
    run_args: Callable[[], dict] | None = None
    notes: list[str] = field(default_factory=list)


def _spike_counters(monitors: dict[str, Any], net) -> Callable[[], dict[str, Any]]:
    """Counts spikes and synaptic events after a run from SpikeMonitors keyed by group name."""
    from brian2 import Synapses

    def count() -> dict[str, Any]:
        counts = {name: np.asarray(m.count[:], dtype=np.int64) for name, m in monitors.items()}
        syns = [(s.source.name, np.asarray(s.i[:])) for s in net.objects if isinstance(s, Synapses)]
        return {"spikes": int(sum(int(c.sum()) for c in counts.values())),
                "spike_digest": _digest([counts[k] for k in sorted(counts)]),
                "events": synaptic_events(counts, syns),
                "synapses": int(sum(len(i) for _, i in syns))}

    return count


def _build_case(case: _Case) -> _Built:
    from brian2 import SpikeMonitor, Synapses, defaultclock, ms, second

    if case.network in _VOGELS_ABBOTT:
        defaultclock.dt = 0.1 * ms
        if case.impl == "bioplaus":
            built = build_vogels_abbott(case.size, case.network, duration=case.duration, seed=case.seed)
            mons = {"exc": built.monitors["exc.spikes"], "inh": built.monitors["inh.spikes"]}

            def run_args():   # a sweep point: new initial voltages, excitatory weights 5 % stronger
                new = vogels_abbott_init(case.size, case.network, case.seed + 1)
                ws = _va_params(case.network)["w_exc"] * (2 if case.network == "coba-stdp" else 1) * 1.05
                return {built.groups["exc"].v: new["exc"]["v"], built.synapses["ee"].weight_scale: ws}

            return _Built(built.network, case.duration, case.size, _spike_counters(mons, built.network), run_args)
        objs = handwritten_vogels_abbott(case.size, case.network, seed=case.seed)
        mons = {"exc": objs["exc_spikes"], "inh": objs["inh_spikes"]}
        return _Built(objs["network"], case.duration, case.size, _spike_counters(mons, objs["network"]))

    from .data import load_dataset

    data = load_dataset("digits", seed=case.seed)
    if case.network == "fa-rate":
        from brian2 import defaultclock

        from .build.network import build_network

        mod = _networks_module("fa-rate")
        hidden = max(1, case.size - 84)
        rng = np.random.default_rng(case.seed)
        sizes = (64, hidden, 10)
        W = [rng.standard_normal((sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(len(sizes) - 1)]
        b = [np.zeros(s) for s in sizes[1:]]
        B = [rng.standard_normal((sizes[k], sizes[k + 1])) / np.sqrt(sizes[k + 1]) for k in range(1, len(sizes) - 1)]
        targets = np.eye(10)[data.y_train]
        windows = max(1, int(round(case.duration / 1e-3)) - 1)   # one window per 1 ms step, as before
        order = np.resize(rng.permutation(len(data.x_train)), windows)
        spec = mod.fa_rate_spec(sizes, W, b, B, data.x_train, targets, [order], rule="fa", lr=0.01)
        defaultclock.dt = spec.dt
        built = build_network(spec)
        net = built.network
        steps = int(round(float(spec.duration) / float(spec.dt)))
        neurons = sum(p.size for p in spec.populations)

        def count() -> dict[str, Any]:
            syn = [s for s in net.objects if isinstance(s, Synapses)]
            n_syn = int(sum(len(np.asarray(s.i[:])) for s in syn))
            w = np.concatenate([np.asarray(built.synapses[f"W{l}"].w[:]) for l in (1, 2)])
            return {"spikes": 0, "spike_digest": _digest([np.round(w * 1e6).astype(np.int64)]),
                    "events": n_syn * steps, "synapses": n_syn}

        return _Built(net, float(spec.duration), neurons, count,
                      notes=["events = synapse evaluations (rate network: every synapse every step)"])

    mod = _networks_module("stdp-classifier")
    n_exc = max(1, (case.size - 64) // 2)
    cfg = mod.DiehlCook(n_exc=n_exc)
    k = max(1, int(round(case.duration / float(cfg.window))))
    order = np.arange(k) % len(data.x_train)
    import inspect

    if "samples" in inspect.signature(mod.Schedule.build).parameters:   # build(samples, labels, parts)
        schedule = mod.Schedule.build(data.x_train, data.y_train, [("train", order, 1.0)])
    else:   # the earlier form: build([(phase, x, y, learn)])
        schedule = mod.Schedule.build([("train", data.x_train[order], data.y_train[order], True)])
    bc = mod.build_classifier(cfg, data.x_train.shape[1], schedule=schedule, seed=case.seed)
    m_in = SpikeMonitor(bc.inp, record=False, name="bench_input_count")
    m_inh = SpikeMonitor(bc.inh, record=False, name="bench_inh_count")
    bc.net.add(m_in, m_inh)
    mons = {bc.inp.name: m_in, bc.exc.name: bc.exc_spikes, bc.inh.name: m_inh}
    return _Built(bc.net, len(schedule) * float(cfg.window / second), 64 + 2 * n_exc, _spike_counters(mons, bc.net))


def _measure_runtime(case: _Case, info: dict) -> None:
    from brian2 import ms, prefs, second, seed as brian_seed, set_device

    set_device("runtime")
    prefs.codegen.target = case.backend
    brian_seed(case.seed)
    t0 = time.perf_counter()
    b = _build_case(case)
    t1 = time.perf_counter()
    b.network.run(0 * ms)   # code generation (and Cython compilation) happens here
    t2 = time.perf_counter()
    b.network.store("bench_start")
    runs = []
    result = None
    for r in range(case.repeat):
        if r:
            b.network.restore("bench_start")
        tic = time.perf_counter()
        b.network.run(b.duration * second)
        runs.append(time.perf_counter() - tic)
        if result is None:
            result = b.counters()
    info.update(objects_s=t1 - t0, compile_s=t2 - t1, build_s=t2 - t0, run_s=min(runs), run_all_s=runs,
                first_run_wall_s=runs[0], neurons=b.neurons, sim_s=b.duration, notes=b.notes, **result)
    info["rss_build_mb"] = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    info["rss_sim_mb"] = info["rss_build_mb"]


def _measure_standalone(case: _Case, info: dict) -> None:
    from brian2 import device, prefs, second, seed as brian_seed, set_device

    from .brian2_internals import last_run_time

    rss_file = os.path.join(case.directory, "binary_maxrss.txt")
    wrapper = [sys.executable, "-S", "-c", _RSS_WRAPPER, rss_file, "./main"]
    threads = int(case.threads or 0)
    if case.impl == "bioplaus":
        from .backends import session

        ctx = session(case.backend, directory=case.directory, threads=threads if case.backend == "cpp" else None,
                      seed=case.seed)
        ctx.__enter__()
    else:   # plain Brian2, as a user would write it
        ctx = None
        if case.backend == "cuda":
            import brian2cuda  # noqa: F401

            from brian2cuda.utils.gputools import reset_gpu_selection

            from .backends import apply_cuda_cpp17_fix, gpu_index   # the same flags and GPU as bioplaus uses

            apply_cuda_cpp17_fix(prefs)
            gpu = gpu_index()
            if gpu is not None:
                prefs.devices.cuda_standalone.cuda_backend.gpu_id = gpu
            reset_gpu_selection()
            set_device("cuda_standalone", directory=case.directory, build_on_run=False)
        else:
            prefs.devices.cpp_standalone.openmp_threads = threads
            set_device("cpp_standalone", directory=case.directory, build_on_run=False)
        brian_seed(case.seed)
    try:
        prefs.devices.cpp_standalone.run_cmd_unix = wrapper
        t0 = time.perf_counter()
        b = _build_case(case)
        b.network.run(b.duration * second)
        t1 = time.perf_counter()
        device.build(directory=case.directory, compile=True, run=False, with_output=False)
        t2 = time.perf_counter()
        walls, runs = [], []
        for _ in range(case.repeat):
            tic = time.perf_counter()
            device.run(with_output=False)
            walls.append(time.perf_counter() - tic)
            runs.append(last_run_time(device))
        result = b.counters()
        if b.run_args is not None:
            tic = time.perf_counter()
            device.run(run_args=b.run_args(), with_output=False)
            info["rerun_s"] = time.perf_counter() - tic
        info.update(objects_s=t1 - t0, compile_s=t2 - t1, build_s=t2 - t0, run_s=min(runs), run_all_s=runs,
                    first_run_wall_s=walls[0], run_binary_min_s=min(walls), rebuild_s=(t2 - t0) + walls[0],
                    neurons=b.neurons, sim_s=b.duration, notes=b.notes, **result)
        info["rss_build_mb"] = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        try:
            info["rss_sim_mb"] = _rss_mb(max(int(x) for x in Path(rss_file).read_text().split()))
        except (OSError, ValueError):
            info["rss_sim_mb"] = None
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)


def _alternate_runtime(case: _Case, info: dict) -> None:
    """Both implementations in one process, runs alternated (A, B, A, B...) from their stored states.

    On a busy machine separate processes see different background load; alternating the
    runs exposes both to the same load, which their ratio needs.
    """
    from brian2 import ms, prefs, second, seed as brian_seed, set_device

    set_device("runtime")
    prefs.codegen.target = case.backend
    brian_seed(case.seed)
    built = {impl: _build_case(dataclasses.replace(case, impl=impl)) for impl in ("bioplaus", "brian2")}
    for b in built.values():
        b.network.run(0 * ms)
        b.network.store("bench_start")
    times: dict[str, list[float]] = {impl: [] for impl in built}
    for _ in range(case.repeat):
        for impl, b in built.items():
            b.network.restore("bench_start")
            tic = time.perf_counter()
            b.network.run(b.duration * second)
            times[impl].append(time.perf_counter() - tic)
    info["alternating_s"] = times


def _worker(args: dict) -> dict:
    alternate = args.get("impl") == "alternate"
    case = _Case(**{**{k: args[k] for k in _Case.__dataclass_fields__}, "impl": "bioplaus" if alternate
                    else args["impl"]})
    info: dict[str, Any] = {"status": "ok"}
    if alternate:
        _alternate_runtime(case, info)
    elif case.backend in STANDALONE:
        _measure_standalone(case, info)
    else:
        _measure_runtime(case, info)
    return info


# --------------------------------------------------------------------------- one measurement (parent side)

def measure(network: str, backend: str, size: int, *, impl: str = "bioplaus", threads: int | None = None,
            duration: float = 1.0, seed: int = 0, repeat: int = 3, timeout: float = 1800.0,
            in_process: bool = False, directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """Measure one network on one backend in a fresh Python process; a dict of timings and counts.

    ``impl``: ``"bioplaus"`` (the spec / network module) or ``"brian2"`` (hand-written, Vogels &
    Abbott networks only); ``"alternate"`` (runtime backends) builds both in one process and
    returns their alternated run times in ``alternating_s``. ``directory``: where a standalone
    project is built and kept (default: a temporary directory, deleted afterwards);
    :func:`rerun_binaries` reruns it. ``in_process=True`` runs in this process instead (runtime
    backends only; used by the tests). Failures are reported in ``status``, not raised.
    """
    if impl not in ("bioplaus", "brian2", "alternate"):
        raise ConfigError("impl", impl, "'bioplaus', 'brian2' or 'alternate' (both, runs alternated; runtime "
                          "backends)")
    if impl == "alternate" and backend in STANDALONE:
        raise ConfigError("impl", impl, "'bioplaus' or 'brian2' on standalone backends (see rerun_binaries)")
    if impl != "bioplaus" and network not in _VOGELS_ABBOTT:
        raise ConfigError("impl", impl, f"'bioplaus' for {network!r} (hand-written versions exist for "
                          + ", ".join(_VOGELS_ABBOTT) + ")")
    with tempfile.TemporaryDirectory(prefix=f"bioplaus_bench_{backend}_") as tmp:
        build_dir = str(directory) if directory is not None else os.path.join(tmp, "project")
        os.makedirs(build_dir, exist_ok=True)
        args = dict(network=network, backend=backend, size=int(size), threads=threads, impl=impl,
                    duration=float(duration), seed=int(seed), repeat=int(repeat), directory=build_dir)
        if in_process:
            if backend in STANDALONE:
                raise ConfigError("in_process", True, "False for standalone backends (one build per process)")
            from brian2 import defaultclock, prefs

            target, dt = prefs.codegen.target, defaultclock.dt
            try:
                return _worker(args)
            finally:
                prefs.codegen.target = target
                defaultclock.dt = dt
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "bioplaus.bench", "--worker", json.dumps(args), out]
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"status": f"timeout after {timeout:g} s"}
        if proc.returncode == 0 and os.path.exists(out):
            with open(out) as fh:
                return json.load(fh)
        if proc.returncode < 0:
            return {"status": f"killed by signal {-proc.returncode} (out of memory?)"}
        lines = [ln for ln in (proc.stderr or proc.stdout or "").strip().splitlines() if ln.strip()]
        return {"status": "error: " + (lines[-1].strip()[:300] if lines else f"exit code {proc.returncode}")}


def build_variation(network: str, size: int, *, backend: str = "cpp", copies: int = 2, rounds: int = 10,
                    threads: int | None = 1, duration: float = 1.0, seed: int = 0,
                    timeout: float = 1800.0) -> dict[str, list[float]]:
    """Control for the overhead ratio: ``copies`` separate builds of each implementation, rerun in turn.

    Two builds of the *same* code differ only in where the process places its data, so their
    run-time ratio shows how far a ratio between two binaries moves for reasons that have
    nothing to do with the code (memory layout, load); the bioplaus/hand-written ratio is
    meaningful only beyond that. Returns run-loop times keyed ``"bioplaus#1"``, ``"brian2#1"``...
    """
    if backend not in STANDALONE:
        raise ConfigError("backend", backend, "cpp or cuda (builds are compared)")
    with tempfile.TemporaryDirectory(prefix="bioplaus_bench_variation_") as tmp:
        dirs: dict[str, str] = {}
        for k in range(copies):
            for impl in ("bioplaus", "brian2"):
                d = os.path.join(tmp, f"{impl}{k + 1}")
                r = measure(network, backend, size, impl=impl, threads=threads, duration=duration, seed=seed,
                            repeat=1, timeout=timeout, directory=d)
                if r.get("status") != "ok":
                    raise BioplausError(f"build of {impl} #{k + 1} failed: {r.get('status')}")
                dirs[f"{impl}#{k + 1}"] = d
        times = rerun_binaries(list(dirs.values()), rounds, timeout)
    return dict(zip(dirs, times))


def rerun_binaries(directories: Sequence[str | os.PathLike], rounds: int, timeout: float = 1800.0
                   ) -> list[list[float]]:
    """Run compiled standalone projects alternately (A, B, A, B...), ``rounds`` times each.

    Returns the run-loop times (``results/last_run_info.txt``) per project. Alternating the
    binaries exposes them to the same background load, which a ratio between them needs on
    a busy machine.
    """
    times: list[list[float]] = [[] for _ in directories]
    for _ in range(rounds):
        for k, d in enumerate(directories):
            results = os.path.join(os.path.abspath(d), "results", "")
            subprocess.run(["./main", "--results_dir", results], cwd=d, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout, check=True)
            with open(os.path.join(results, "last_run_info.txt")) as fh:
                times[k].append(float(fh.read().split()[0]))
    return times


# --------------------------------------------------------------------------- the whole benchmark

@dataclass
class BenchResult:
    """Rows of a benchmark (one per network x backend x threads x size) and what follows from them."""

    config: BenchConfig
    rows: list[dict[str, Any]]
    environment: dict[str, Any] = field(default_factory=dict)
    availability: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def ok(self, **match) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") == "ok" and all(r.get(k) == v for k, v in match.items())]

    def exponents(self) -> list[dict[str, Any]]:
        """Fitted ``run time ~ synapses**k`` per network, backend and threads (at least two sizes)."""
        out = []
        keys = dict.fromkeys((r["network"], r["backend"], r["threads"]) for r in self.ok())
        for net, be, th in keys:
            rows = self.ok(network=net, backend=be, threads=th)
            k = fit_exponent([r["synapses"] for r in rows], [r["run_per_sim_s"] for r in rows])
            if not math.isfinite(k):
                continue
            # sizes in the same activity regime as the largest (rate within a factor of 2): a network
            # that is nearly silent at a small size costs per neuron, not per synaptic event
            top = max(rows, key=lambda r: r["synapses"]).get("rate_hz")
            same = [r for r in rows if not top or (r.get("rate_hz") and 0.5 <= r["rate_hz"] / top <= 2)]
            k_same = fit_exponent([r["synapses"] for r in same], [r["run_per_sim_s"] for r in same])
            out.append({"network": net, "backend": be, "threads": th, "exponent": k, "points": len(rows),
                        "synapses": f"{min(r['synapses'] for r in rows):,}-{max(r['synapses'] for r in rows):,}",
                        "exponent_same_rate": k_same if math.isfinite(k_same) else None,
                        "points_same_rate": len(same)})
        return out

    def thread_speedups(self) -> list[dict[str, Any]]:
        """cpp: run time with the fewest threads measured / with ``t`` threads, per network and size."""
        out = []
        for r in self.ok(backend="cpp"):
            same = self.ok(backend="cpp", network=r["network"], size=r["size"])
            base = min(same, key=lambda x: x["threads"])
            if r is base:
                continue
            out.append({"network": r["network"], "size": r["size"], "threads": r["threads"],
                        "base_threads": base["threads"], "speedup": base["run_s"] / r["run_s"]})
        return out

    def crossover(self) -> str:
        """Where ``cuda`` overtakes ``cpp`` (measured), or why no crossover was measured."""
        lines = []
        for net in self.config.networks:
            cuda = {r["size"]: r for r in self.ok(network=net, backend="cuda")}
            cpp: dict[int, dict] = {}
            for r in self.ok(network=net, backend="cpp"):
                if r["size"] not in cpp or r["run_s"] < cpp[r["size"]]["run_s"]:
                    cpp[r["size"]] = r
            common = sorted(set(cuda) & set(cpp))
            if not common:
                continue
            faster = [n for n in common if cuda[n]["run_s"] < cpp[n]["run_s"]]
            total = [n for n in common if cuda[n]["build_s"] + cuda[n]["run_s"] < cpp[n]["build_s"] + cpp[n]["run_s"]]
            lines.append(f"- {net}: run time: cuda faster than the best cpp from "
                         + (f"{faster[0]:,} neurons" if faster else f"no measured size (up to {common[-1]:,})")
                         + "; build + run: "
                         + (f"from {total[0]:,} neurons" if total else f"not at any measured size (up to {common[-1]:,})"))
        if lines:
            return "Crossover (measured here):\n" + "\n".join(lines)
        why = self.availability.get("cuda", "not requested")
        if why == "ok":
            why = "cuda and cpp were not both measured at a common size"
        ref = "\n".join(f"| {n:,} | {cpu:.2f} s | {gpu:.2f} s |" for n, cpu, gpu in H100_REFERENCE)
        return ("No cuda/cpp crossover was measured here (cuda: " + why + ").\n\n"
                "Reference measured by hand on an NVIDIA H100 (not by this benchmark; README, section \"Choosing a backend\"), "
                "COBA-style network, 80 synapses per neuron, run time per second simulated:\n\n"
                "| neurons | cpp_standalone, 16 OpenMP threads | brian2cuda, H100 |\n|---|---|---|\n" + ref + "\n\n"
                "By that reference cpp is still faster at 4,000 neurons and cuda is 4.5x faster at 100,000, so "
                "the run-time crossover lies between (about 5,000 neurons by log-log interpolation); counting "
                "build time (20 s or more for a CUDA build) the GPU pays off only for large networks or long runs.")

    def table(self, columns: Sequence[tuple[str, str]] = COLUMNS) -> str:
        """Markdown table of the rows."""
        head = "| " + " | ".join(h for _, h in columns) + " |"
        sep = "|" + "|".join("---" for _ in columns) + "|"
        body = ["| " + " | ".join(_fmt(k, r.get(k)) for k, _ in columns) + " |" for r in self.rows]
        return "\n".join([head, sep, *body])

    def summary(self) -> str:
        """Markdown: the table, exponents, thread speedups, run_args vs rebuild, overhead ratios, crossover."""
        c = self.config
        parts = [f"Networks {', '.join(c.networks)}; backends {', '.join(c.backends)}; sizes "
                 f"{', '.join(f'{s:,}' for s in c.sizes)}; {c.duration:g} s simulated; cpp threads "
                 f"{', '.join(map(str, c.threads))}; fastest of {c.repeat} runs.", "", self.table(), ""]
        parts += ["Columns: build = object creation + code generation + compilation; run = simulation loop "
                  "only (standalone: inside the binary), per second simulated; events = spikes x out-degree "
                  "(fa-rate: synapse evaluations); sim MB = peak RSS of the simulating process (standalone: "
                  "the binary), build MB = the Python process that built it; hand/bioplaus = run time of the "
                  "hand-written Brian2 network / bioplaus's, fastest runs (>= 0.95: no measurable overhead); paired = "
                  "the median of that ratio over alternated back-to-back runs; run_args rerun "
                  "= rerunning the compiled binary with new values vs rebuild = generate + compile + run.", ""]
        ratios = [r["hand_ratio"] for r in self.rows if r.get("hand_ratio") is not None]
        spread = [r["run_spread"] for r in self.rows if r.get("run_spread")]
        if spread:
            parts.append(f"Noise: the slowest of a measurement's runs took {np.median(spread):.2f}x the fastest "
                         f"(median over rows; max {max(spread):.2f}x); every figure is the fastest run.")
        paired = [r["hand_ratio_paired"] for r in self.rows if r.get("hand_ratio_paired") is not None]
        if paired:
            parts.append(f"Overhead, paired (median over alternated run pairs of hand-written / bioplaus): median "
                         f"{np.median(paired):.3f}, min {min(paired):.3f}, max {max(paired):.3f} over "
                         f"{len(paired)} rows.")
        if ratios:
            parts.append(f"Overhead (hand-written / bioplaus fastest run): median {np.median(ratios):.3f}, "
                         f"min {min(ratios):.3f}, max {max(ratios):.3f} over {len(ratios)} rows; spikes "
                         f"identical in {sum(1 for r in self.rows if r.get('spikes_match') is True)} of "
                         f"{sum(1 for r in self.rows if r.get('spikes_match') is not None)}.")
        exps = self.exponents()
        if exps:
            parts += ["", "Scaling, run time ~ synapses^k (log-log least squares; k same rate: only the sizes whose "
                      "firing rate is within 2x of the largest size's):", "",
                      "| network | backend | threads | k | sizes | synapses | k same rate | sizes |",
                      "|---|---|---|---|---|---|---|---|"]
            parts += [f"| {e['network']} | {e['backend']} | {_fmt('threads', e['threads'])} | {e['exponent']:.2f} | "
                      f"{e['points']} | {e['synapses']} | "
                      + (f"{e['exponent_same_rate']:.2f}" if e["exponent_same_rate"] is not None else "-")
                      + f" | {e['points_same_rate']} |" for e in exps]
        sp = self.thread_speedups()
        if sp:
            parts += ["", "cpp OpenMP threads: run time with the base thread count / with t threads "
                      "(0 = compiled without OpenMP; above 1: faster):", "",
                      "| network | neurons | base | t | speedup |", "|---|---|---|---|---|"]
            parts += [f"| {s['network']} | {s['size']:,} | {s['base_threads']} | {s['threads']} | "
                      f"{s['speedup']:.2f} |" for s in sp]
        ra = [r for r in self.ok() if r.get("rerun_s") is not None]
        if ra:
            parts += ["", "run_args (no recompilation) against rebuilding, standalone:", "",
                      "| network | backend | threads | neurons | run_args rerun s | rebuild s | saved |",
                      "|---|---|---|---|---|---|---|"]
            parts += [f"| {r['network']} | {r['backend']} | {_fmt('threads', r['threads'])} | {r['size']:,} | "
                      f"{r['rerun_s']:.2f} | {r['rebuild_s']:.2f} | {r['rebuild_s'] / r['rerun_s']:.0f}x |"
                      for r in ra]
        parts += ["", self.crossover()]
        unavailable = {k: v for k, v in self.availability.items() if v != "ok"}
        if unavailable:
            parts += ["", "Not available here: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items())]
        return "\n".join(parts) + "\n"

    def figure(self, path: str | os.PathLike) -> Path:
        """Log-log figure of run time per simulated second against synapse count
        (:func:`bioplaus.plots.plot_bench`, which ``bioplaus plot DIR`` draws too)."""
        from .plots import plot_bench, save_figure

        return save_figure(plot_bench(self), path)

    def write(self, out: str | os.PathLike) -> dict[str, str]:
        """``bench.csv``, ``bench.png``, ``summary.md`` and ``provenance.json`` in ``out`` (atomically)."""
        from .results import atomic_write_text, ensure_dir, provenance, write_csv, write_json

        d = ensure_dir(out)
        cols = list(CSV_COLUMNS) + [k for r in self.rows for k in r if k not in CSV_COLUMNS]
        write_csv(d / "bench.csv", [{k: _csv(v) for k, v in r.items()} for r in self.rows],
                  columns=list(dict.fromkeys(cols)))
        self.figure(d / "bench.png")
        atomic_write_text(d / "summary.md", "# Backend benchmark\n\n" + self.summary())
        write_json(d / "provenance.json", provenance(seed=self.config.seed, backend=",".join(self.config.backends),
                                                     config=dataclasses.asdict(self.config),
                                                     environment=self.environment, availability=self.availability))
        self.files = {k: str(d / f) for k, f in (("csv", "bench.csv"), ("figure", "bench.png"),
                                                  ("summary", "summary.md"), ("provenance", "provenance.json"))}
        return self.files


CSV_COLUMNS = ("network", "backend", "threads", "size", "neurons", "synapses", "sim_s", "build_s", "objects_s",
               "compile_s", "run_s", "run_per_sim_s", "spikes", "rate_hz", "events", "events_per_s", "rss_sim_mb",
               "rss_build_mb", "hand_run_s", "hand_ratio", "hand_ratio_alternating", "hand_ratio_paired", "run_spread", "hand_build_s",
               "hand_rss_build_mb", "spikes_match", "rerun_s", "rebuild_s", "first_run_wall_s", "status", "note")

_INT = ("threads", "size", "neurons", "synapses", "spikes", "events")
_TEXT = ("network", "backend", "status", "note", "spike_digest")


def read_result(out: str | os.PathLike) -> BenchResult:
    """A :class:`BenchResult` from a results directory written by :meth:`BenchResult.write`."""
    from .results import read_csv

    d = Path(out)
    prov = json.loads((d / "provenance.json").read_text())
    config = BenchConfig(**{k: v for k, v in prov["config"].items() if k in BenchConfig.__dataclass_fields__})
    rows = []
    for raw in read_csv(d / "bench.csv"):
        row: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _TEXT:
                row[k] = v
            elif v in ("", None):
                row[k] = None
            elif v in ("True", "False"):
                row[k] = v == "True"
            elif k.endswith("run_all_s") or k == "alternating_s":
                row[k] = [float(x) for x in v.split()]
            elif k in _INT:
                row[k] = int(float(v))
            else:
                try:
                    row[k] = float(v)
                except ValueError:
                    row[k] = v
        if (row.get("hand_ratio_paired") is None and row.get("hand_run_all_s") and row.get("run_all_s")
                and config.repeat and len(row["hand_run_all_s"]) >= 2 * config.repeat):
            # the last ``repeat`` runs of each are the alternated ones
            row["hand_ratio_paired"] = paired_ratio(row["hand_run_all_s"][-config.repeat:],
                                                    row["run_all_s"][-config.repeat:])
        if row.get("status") == "ok" and row.get("spikes") is not None and row.get("rate_hz") is None:
            row["rate_hz"] = row["spikes"] / (row["neurons"] * row["sim_s"]) if row["spikes"] else None
        rows.append(row)
    return BenchResult(config, rows, environment=prov.get("environment", {}),
                       availability=prov.get("availability", {}))


def _csv(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return " ".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in v)
    return "" if v is None else v


def _fmt(key: str, v: Any) -> str:
    if v is None or v == "":
        return "-"
    if key in ("neurons", "synapses", "size"):
        return f"{int(v):,}"
    if key == "rate_hz":
        return f"{v:.1f}"
    if key == "events_per_s":
        return f"{v:.3g}"
    if key in ("rss_sim_mb", "rss_build_mb"):
        return f"{v:.0f}"
    if key in ("hand_ratio", "hand_ratio_paired"):
        return f"{v:.3f}"
    if isinstance(v, float):
        return f"{v:.3g}" if v < 10 else f"{v:.1f}"
    return str(v).replace("|", "/")


def _backend_reasons(backends: Sequence[str]) -> dict[str, str]:
    from .backends import check_backend
    from .errors import BackendUnavailable

    out = {}
    for b in backends:
        try:
            check_backend(b)
            out[b] = "ok"
        except BackendUnavailable as exc:
            out[b] = exc.reason
    return out


def _row_plan(cfg: BenchConfig, avail: dict[str, str], nets: dict[str, tuple[bool, str]]):
    for net in cfg.networks:
        for be in cfg.backends:
            threads = cfg.threads if be == "cpp" else (None,)
            if not nets[net][0] or avail[be] != "ok":   # one row says why, whatever the sizes
                yield {"network": net, "backend": be, "threads": None, "size": None, "neurons": None,
                       "synapses": None, "note": "",
                       "status": nets[net][1] if not nets[net][0] else f"unavailable: {avail[be]}"}
                continue
            for th in threads:
                for size in cfg.sizes:
                    row = {"network": net, "backend": be, "threads": th, "size": size, "neurons": size,
                           "synapses": None, "status": "ok", "note": ""}
                    if be in ("numpy", "cython") and size > cfg.runtime_max_size:
                        row["status"] = (f"skipped: {be} is run only up to {cfg.runtime_max_size:,} neurons "
                                         "(runtime_max_size)")
                    elif net in _VOGELS_ABBOTT:
                        need, have = _build_bytes(size), _available_memory()
                        if have is not None and need > 0.7 * have:
                            row["status"] = (f"skipped: building needs ~{need / 2**30:.1f} GB, "
                                             f"{have / 2**30:.1f} GB available")
                    yield row


def run_bench(config: BenchConfig | None = None, *, progress: Callable[[str], None] | None = None,
              **kwargs) -> BenchResult:
    """Measure every network x backend x threads x size of ``config``; write results if ``config.out``.

    Keyword arguments build the :class:`BenchConfig` when none is given. Unavailable backends
    (e.g. ``cuda`` without a GPU) and networks become rows whose ``status`` gives the reason.
    """
    cfg = config if config is not None else BenchConfig(**kwargs)
    from .backends import environment

    avail = _backend_reasons(cfg.backends)
    nets = {n: network_available(n) for n in cfg.networks}
    env = _safe_environment(environment)
    availability = {**avail, **{n: ("ok" if ok else why) for n, (ok, why) in nets.items()}}
    rows: list[dict[str, Any]] = []
    k = 0
    for row in _row_plan(cfg, avail, nets):
        rows.append(row)
        if row["status"] != "ok":
            if progress:
                progress(f"{row['network']} {row['backend']}" + (f" {row['size']:,}" if row["size"] else "")
                         + f": {row['status']}")
            continue
        # the hand-written baseline: Vogels & Abbott networks, at the first thread count of cpp
        hand = (cfg.handwritten and row["network"] in _VOGELS_ABBOTT
                and row["threads"] in (None, cfg.threads[0]))
        kw = dict(threads=row["threads"], duration=cfg.duration, seed=cfg.seed, repeat=cfg.repeat,
                  timeout=cfg.timeout)
        order = ["bioplaus", "brian2"] if k % 2 == 0 else ["brian2", "bioplaus"]   # alternate against drift
        order = [impl for impl in order if impl == "bioplaus" or hand]
        k += 1
        res = {}
        with tempfile.TemporaryDirectory(prefix="bioplaus_bench_") as tmp:
            for impl in order:
                if progress:
                    progress(f"{row['network']} {row['backend']}"
                             + (f" {row['threads']} thr" if row["threads"] is not None else "")
                             + f" {row['size']:,} neurons: {impl} ...")
                res[impl] = measure(row["network"], row["backend"], row["size"], impl=impl,
                                    directory=os.path.join(tmp, impl), **kw)
            if len(res) == 2 and all(r.get("status") == "ok" for r in res.values()):
                # both again, runs alternated, so that the ratio sees the same background load
                extra: dict[str, list[float]] = {impl: [] for impl in order}
                if row["backend"] in STANDALONE:
                    try:
                        times = rerun_binaries([os.path.join(tmp, impl) for impl in order], cfg.repeat,
                                               cfg.timeout)
                        extra = dict(zip(order, times))
                    except (OSError, subprocess.SubprocessError, ValueError) as exc:
                        res["bioplaus"].setdefault("notes", []).append(f"alternating reruns failed: {exc}")
                else:
                    if progress:
                        progress("  both in one process, runs alternated ...")
                    alt = measure(row["network"], row["backend"], row["size"], impl="alternate", **kw)
                    if alt.get("status") == "ok":
                        extra = alt["alternating_s"]
                    else:
                        res["bioplaus"].setdefault("notes", []).append(f"alternating runs: {alt.get('status')}")
                for impl, times in extra.items():
                    res[impl]["run_all_s"] = list(res[impl]["run_all_s"]) + list(times)
                    res[impl]["run_s"] = min(res[impl]["run_all_s"])
                    res[impl]["alternating_s"] = list(times)
        _merge_row(row, res.get("bioplaus", {}), res.get("brian2"))
        if progress and row["status"] == "ok":
            progress(f"  build {row['build_s']:.2f} s, run {row['run_per_sim_s']:.3g} s/sim s"
                     + (f", hand/bioplaus {row['hand_ratio']:.3f}" if row.get("hand_ratio") else ""))
        elif progress:
            progress(f"  {row['status']}")
        if cfg.out:   # finished rows are on disk at once: an interrupted benchmark keeps them
            BenchResult(cfg, rows, environment=env, availability=availability).write(cfg.out)
    result = BenchResult(cfg, rows, environment=env, availability=availability)
    if cfg.out:
        result.write(cfg.out)
    return result


def _safe_environment(fn) -> dict:
    try:
        return fn()
    except Exception as exc:  # pragma: no cover - provenance must not fail a benchmark
        return {"error": str(exc)}


def _merge_row(row: dict, bio: dict, hand: dict | None) -> None:
    if bio.get("status") != "ok":
        row["status"] = bio.get("status", "error: no result")
        return
    for key in ("neurons", "synapses", "sim_s", "build_s", "objects_s", "compile_s", "run_s", "spikes", "events",
                "rss_sim_mb", "rss_build_mb", "rerun_s", "rebuild_s", "first_run_wall_s", "run_all_s",
                "spike_digest"):
        row[key] = bio.get(key)
    row["run_per_sim_s"] = row["run_s"] / row["sim_s"]
    runs = [x for x in (row.get("run_all_s") or []) if x > 0]
    row["run_spread"] = max(runs) / min(runs) if runs else None   # slowest / fastest run: the noise
    row["events_per_s"] = row["events"] / row["run_s"] if row["run_s"] > 0 else None
    row["rate_hz"] = row["spikes"] / (row["neurons"] * row["sim_s"]) if row.get("spikes") else None
    notes = list(bio.get("notes") or [])
    if hand is not None:
        if hand.get("status") == "ok":
            row["hand_run_s"] = hand["run_s"]
            row["hand_build_s"] = hand["build_s"]
            row["hand_rss_build_mb"] = hand.get("rss_build_mb")
            row["hand_ratio"] = hand["run_s"] / row["run_s"]
            if bio.get("alternating_s") and hand.get("alternating_s"):
                row["hand_ratio_alternating"] = min(hand["alternating_s"]) / min(bio["alternating_s"])
                row["hand_ratio_paired"] = paired_ratio(hand["alternating_s"], bio["alternating_s"])
                row["hand_run_all_s"] = hand.get("run_all_s")
            row["spikes_match"] = hand.get("spike_digest") == bio.get("spike_digest")
            row["hand_spikes"] = hand.get("spikes")
            if not row["spikes_match"]:
                notes.append(f"hand-written spikes {hand.get('spikes')} vs {bio.get('spikes')}")
        else:
            notes.append(f"hand-written: {hand.get('status')}")
    row["note"] = "; ".join(notes)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bioplaus.bench --worker ARGS_JSON RESULT_PATH`` (one measurement; used by :func:`measure`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 3 or argv[0] != "--worker":
        print("usage: python -m bioplaus.bench --worker ARGS_JSON RESULT_PATH (use 'bioplaus bench' instead)",
              file=sys.stderr)
        return 2
    import warnings

    warnings.filterwarnings("ignore")
    info = _worker(json.loads(argv[1]))
    tmp = argv[2] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(info, fh, default=float)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
