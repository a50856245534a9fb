"""Export a results directory's spikes, recorded state and weights to NWB (Neurodata Without Borders).

``bioplaus export DIR --format nwb`` (or :func:`export_nwb`) writes one NWB 2 file
that pynwb, NWB Widgets, Neurosift and MATLAB's matnwb open:

==================================  ==================================================
``arrays.npz`` keys                 NWB
==================================  ==================================================
``P.spikes.t`` + ``P.spikes.i``     ``units`` table, one row per neuron that fired, with
                                    columns ``population`` and ``neuron`` (its index in P)
``P.spikes`` (1-D spike times)      one ``units`` row (``neuron`` 0)
``P.state.t`` + ``P.state.v`` ...   ``acquisition``: ``TimeSeries`` ``P.state.v`` with the
                                    recorded times as ``timestamps`` (data time-first:
                                    shape ``(n_times, n_recorded)``)
``P.t`` + ``P.v`` (same length)     ``acquisition``: ``TimeSeries`` ``P.v``
``S.w`` + ``S.i`` + ``S.j``         processing module ``synapses``: table ``S`` with
                                    columns ``pre``, ``post``, ``weight``
anything else numeric               ``scratch`` data under its own name
==================================  ==================================================

Names containing ``/`` (a comparison's ``bp/seed0/W1``) are written with ``.``.
Values are in the SI units Brian2 records (volts, amperes, siemens, seconds);
the metrics table, config and provenance go into the file's ``notes`` and
``scratch`` so the file stands alone. Needs ``pip install 'bioplaus[nwb]'``.
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import BackendUnavailable, BioplausError, ConfigError

__all__ = ["export_nwb", "FORMATS", "nwb_layout"]

FORMATS = ("nwb",)

#: units of recorded variables by name (Brian2 records SI base units)
_UNITS = {"v": "volts", "V": "volts", "V_th": "volts", "vt": "volts", "theta": "volts", "I": "amperes",
          "I_ext": "amperes", "I_syn": "amperes", "g_e": "siemens", "g_i": "siemens", "ge": "siemens",
          "gi": "siemens", "w_ad": "amperes", "u": "volts"}


def _nwb_name(key: str) -> str:
    return key.replace("/", ".")


def nwb_layout(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """How ``arrays`` map to NWB: ``{"units": {pop: (t, i)}, "series": {name: (t, data)},
    "synapses": {proj: (i, j, w)}, "scratch": {name: array}}`` (every key used once)."""
    keys = set(arrays)
    used: set[str] = set()
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    synapses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def arr(k: str) -> np.ndarray:
        return np.asarray(arrays[k])

    for k in sorted(keys):  # spike monitors: P.t (float) + P.i (integer), same length
        if k.endswith(".spikes.t") and k[:-2] + ".i" in keys:
            t, i = arr(k), arr(k[:-2] + ".i")
            if t.ndim == 1 and i.shape == t.shape and i.dtype.kind in "iu":
                units[k[:-len(".spikes.t")]] = (t.astype(float), i.astype(int))
                used |= {k, k[:-2] + ".i"}
    for k in sorted(keys - used):  # a single neuron's spike times
        if k.endswith(".spikes") and arr(k).ndim == 1 and arr(k).dtype.kind == "f":
            t = arr(k)
            units[k[:-len(".spikes")]] = (t.astype(float), np.zeros(t.size, int))
            used.add(k)
    for k in sorted(keys - used):  # synapses: S.w with S.i and S.j
        if k.endswith(".w"):
            p = k[:-2]
            if p + ".i" in keys and p + ".j" in keys and p + ".i" not in used:
                w, i, j = arr(k), arr(p + ".i"), arr(p + ".j")
                if w.ndim == 1 and i.shape == w.shape == j.shape:
                    synapses[p] = (i.astype(int), j.astype(int), w.astype(float))
                    used |= {k, p + ".i", p + ".j"}
    for k in sorted(keys - used):  # state monitors: P.t and P.<var> whose last axis is time
        if not k.endswith(".t"):
            continue
        t = arr(k)
        if t.ndim != 1 or t.dtype.kind != "f":
            continue
        p = k[:-2]
        for v in sorted(keys - used):
            if v.startswith(p + ".") and v != k and "." not in v[len(p) + 1:]:
                d = arr(v)
                if d.dtype.kind in "fiub" and d.ndim in (1, 2) and d.shape[-1] == t.size and t.size > 0:
                    series[v] = (t.astype(float), d.T if d.ndim == 2 else d)
                    used.add(v)
        if any(s.startswith(p + ".") for s in series):
            used.add(k)
    scratch = {k: arr(k) for k in sorted(keys - used) if arr(k).dtype.kind in "fiub"}
    return {"units": units, "series": series, "synapses": synapses, "scratch": scratch}


def export_nwb(path: str | os.PathLike, out: str | os.PathLike | None = None, *, overwrite: bool = False) -> Path:
    """Write the results directory ``path`` as an NWB file; returns its path.

    Parameters
    ----------
    path : str or Path
        A results directory (run or compare; see :func:`bioplaus.load`) with ``arrays.npz``.
    out : str or Path, optional
        The file to write (default ``path/export/<directory name>.nwb``).
    overwrite : bool
        Replace an existing file (otherwise refused with a :class:`ConfigError`).
    """
    try:
        from hdmf.common import DynamicTable, ElementIdentifiers, VectorData
        from pynwb import NWBHDF5IO, NWBFile, TimeSeries
        from pynwb.core import ScratchData
    except ImportError as exc:
        raise BackendUnavailable("nwb", f"pynwb is not installed ({exc.name or exc}); "
                                 "pip install 'bioplaus[nwb]'") from None
    from .loader import load

    res = load(path)
    if res.kind in ("sweep", "bench"):
        raise ConfigError("export DIR", str(path), f"a run or comparison directory (this is a {res.kind} "
                          "directory; export one of its points: DIR/points/<id>)")
    arrays = {k: res.arrays[k] for k in res.arrays}
    if not arrays:
        raise BioplausError(f"{str(path)!r} has no arrays.npz (or it is empty): nothing to export")
    target = Path(out) if out is not None else res.path / "export" / f"{res.path.resolve().name}.nwb"
    if target.exists() and not overwrite:
        raise ConfigError("--out", str(target), "a file that does not exist yet (add --overwrite to replace it)")

    prov = res.provenance
    name = str(prov.get("experiment") or res.kind)
    try:
        started = datetime.fromtimestamp((res.path / "provenance.json").stat().st_mtime, tz=timezone.utc)
    except OSError:
        started = datetime.now(timezone.utc)
    nwb = NWBFile(session_description=f"bioplaus {res.kind}: {name}", identifier=str(uuid.uuid4()),
                  session_start_time=started, source_script="bioplaus", source_script_file_name="bioplaus",
                  notes=json.dumps({"config": res.config, "provenance": prov}, default=str)[:100000])
    lay = nwb_layout(arrays)
    if lay["units"]:  # the units table built from whole arrays (add_unit row by row is slow for 10^4 neurons)
        from hdmf.common import VectorIndex
        from pynwb.misc import Units

        times, ends, pops, neurons = [], [], [], []
        n_spikes = 0
        for pop, (t, i) in lay["units"].items():
            order = np.lexsort((t, i))
            t, i = t[order], i[order]
            cut = np.flatnonzero(np.diff(i)) + 1
            for n, chunk in zip(i[np.r_[0, cut]] if i.size else [], np.split(t, cut)):
                times.append(chunk)
                n_spikes += chunk.size
                ends.append(n_spikes)
                pops.append(pop)
                neurons.append(int(n))
        st = VectorData(name="spike_times", data=np.concatenate(times) if times else np.zeros(0),
                        description="spike times (s)")
        nwb.units = Units(name="units", description="neurons of the monitored populations that fired",
                          id=ElementIdentifiers(name="id", data=np.arange(len(ends))), columns=[
                              st, VectorIndex(name="spike_times_index", data=np.array(ends), target=st),
                              VectorData(name="population", data=pops,
                                         description="bioplaus population (spike monitor) name"),
                              VectorData(name="neuron", data=np.array(neurons),
                                         description="index of the neuron in its population")])
    for key, (t, data) in lay["series"].items():
        var = key.rsplit(".", 1)[-1]
        nwb.add_acquisition(TimeSeries(name=_nwb_name(key), data=data, timestamps=t,
                                       unit=_UNITS.get(var, "SI base units"),
                                       description=f"recorded variable {var!r} ({key} in arrays.npz)"))
    if lay["synapses"]:
        mod = nwb.create_processing_module("synapses", "final synaptic weights per projection")
        for proj, (i, j, w) in lay["synapses"].items():
            mod.add(DynamicTable(name=_nwb_name(proj), description=f"synapses of projection {proj!r}",
                                 id=ElementIdentifiers(name="id", data=np.arange(w.size)), columns=[
                VectorData(name="pre", data=i, description="presynaptic neuron index"),
                VectorData(name="post", data=j, description="postsynaptic neuron index"),
                VectorData(name="weight", data=w, description="final weight w")]))
    for key, a in lay["scratch"].items():
        nwb.add_scratch(ScratchData(name=_nwb_name(key), data=a, description=f"{key} from arrays.npz"))
    metrics = res.metrics
    if len(metrics):
        nwb.add_scratch(ScratchData(name="metrics.csv", data=metrics.to_csv(index=False),
                                    description="the tidy metrics table (CSV text)"))
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".nwb")
    os.close(fd)
    try:  # written beside the target, then renamed into place: never a half-written file
        with NWBHDF5IO(tmp, "w") as io:
            io.write(nwb)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
