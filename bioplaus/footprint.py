"""Memory estimates, checked before anything is built.

One rough model of what building a network costs serves ``bioplaus bench`` (which
skips sizes that cannot fit), ``bioplaus run`` / ``sweep`` (which refuse a model
whose sizes cannot fit, e.g. a typo such as ``--set params.dims=1e9``) and
``bioplaus compare`` (whose numpy networks are smaller per connection)::

    bytes = per_synapse * synapses + per_neuron * neurons + base

with ``per_synapse`` about 150 bytes for a Brian2 build (indices drawn as int64
positions, int32 ``i``/``j``, float64 weights and Brian2's own copies). A run is
refused when the estimate exceeds :data:`FRACTION` of the memory available now
(``MemAvailable`` of ``/proc/meminfo``); where that is unknown nothing is refused.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable

from .errors import ConfigError

__all__ = ["BYTES_PER_SYNAPSE", "BYTES_PER_NEURON", "BASE_BYTES", "FRACTION", "estimate_bytes",
           "available_memory", "fits", "check_fits", "size_fields", "params_bytes", "check_params",
           "mlp_bytes", "gib"]

#: bytes per synapse of a Brian2 build (bench's measured rule of thumb)
BYTES_PER_SYNAPSE = 150
#: bytes per neuron: a dozen float64 state variables and their Brian2 bookkeeping
BYTES_PER_NEURON = 100
#: interpreter, Brian2 and the largest dense block of a connectivity draw
BASE_BYTES = 1 << 26
#: at most this fraction of the available memory may be planned for
FRACTION = 0.7

#: names of experiment parameters that are population or layer sizes
_SIZE_NAME = re.compile(r"^(n_(in|inputs?|hidden|neurons|rec|exc|inh|out|outputs?|units|cells)|dims?|hidden|"
                        r"widths?|sizes?)$")


def estimate_bytes(synapses: int, neurons: int = 0, *, per_synapse: float = BYTES_PER_SYNAPSE) -> int:
    """Rough peak memory of building ``neurons`` neurons joined by ``synapses`` connections."""
    return int(per_synapse * synapses + BYTES_PER_NEURON * neurons + BASE_BYTES)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``), or ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def gib(n: float) -> str:
    """``12.3 GiB`` (or ``1.2e+05 GiB`` when huge)."""
    g = n / 2**30
    return f"{g:.1f} GiB" if g < 1e5 else f"{g:.2g} GiB"


def fits(need: int, have: int | None = None) -> bool:
    have = available_memory() if have is None else have
    return have is None or need <= FRACTION * have


def check_fits(need: int, key: str, value: Any, what: str = "building", source: str | None = None) -> None:
    """Raise :class:`ConfigError` naming ``key``, the estimate and the available memory if ``need`` cannot fit."""
    have = available_memory()
    if fits(need, have):
        return
    raise ConfigError(key, value, f"a smaller size: {what} needs about {gib(need)} by estimate, "
                      f"{gib(have)} of memory available", source=source)


def _sizes(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, float) and value.is_integer():
        return [int(value)]
    if isinstance(value, (list, tuple)):
        return [v for x in value for v in _sizes(x)]
    return []


def size_fields(params: Any, prefix: str = "params") -> list[tuple[str, Any, list[int]]]:
    """``(key path, value, sizes)`` of the parameters of ``params`` that are population or layer sizes."""
    if params is None or not dataclasses.is_dataclass(params):
        return []
    out = []
    for f in dataclasses.fields(params):
        if _SIZE_NAME.match(f.name):
            v = getattr(params, f.name)
            s = _sizes(v)
            if s:
                out.append((f"{prefix}.{f.name}", v, s))
    return out


def params_bytes(params: Any, prefix: str = "params") -> tuple[int, str | None, Any]:
    """Estimated bytes of building the network(s) an experiment's ``params`` describe.

    Neurons: the sum of the size parameters; synapses: the two largest sizes fully
    connected (one size alone: one connection per neuron). Returns ``(bytes, key, value)``
    with the key path of the largest size (``None`` when ``params`` has no size).
    """
    fields = size_fields(params, prefix)
    if not fields:
        return estimate_bytes(0), None, None
    all_sizes = sorted((s for _, _, ss in fields for s in ss), reverse=True)
    neurons = sum(all_sizes)
    synapses = all_sizes[0] * all_sizes[1] if len(all_sizes) > 1 else all_sizes[0]
    key, value, _ = max(fields, key=lambda t: max(t[2]))
    return estimate_bytes(synapses, neurons), key, value


def check_params(params: Any, prefix: str = "params", source: str | None = None) -> None:
    """Refuse (:class:`ConfigError`) an experiment whose size parameters cannot fit in memory."""
    need, key, value = params_bytes(params, prefix)
    if key is not None:
        check_fits(need, key, value, "building the network", source=source)


def mlp_bytes(sizes: Iterable[int], copies: int = 6) -> int:
    """Estimated bytes of a numpy multilayer network with layer ``sizes`` (weights, gradients,
    momentum, feedback matrices, initial copy: ``copies`` float64 arrays per weight)."""
    sizes = [int(s) for s in sizes]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return estimate_bytes(weights, sum(sizes), per_synapse=8 * copies)
