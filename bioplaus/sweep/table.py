"""The results table: ``DIR/results.csv``, one row per finished point, rebuilt from the point markers.

Swept values are written as plain numbers, with their unit in the column name: the
values ``"10 ms"`` and ``"0.02 s"`` of ``params.tau_plus`` become the column
``params.tau_plus_ms`` holding ``10.0`` and ``20.0`` (the unit of the first value), so
any CSV reader gets floats without parsing. Plain numbers keep the key as column name;
values that are not numbers or quantities of one dimension (``"stdp"``, a list) are
written as text under the key. :func:`value_columns` says which column each swept key
got (``sweep.toml`` records it as ``[columns]``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from ..results import write_csv

__all__ = ["MARKER", "read_records", "value_columns", "write_results_table", "read_results"]

#: a point's finished marker (written last in its directory)
MARKER = "point.json"

_NUMBER_THEN_UNIT = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\*?\s*(.*?)\s*$")


def read_records(out: str | os.PathLike, sweep=None) -> dict[str, dict]:
    """Finished point records (``points/<id>/point.json``), keyed by point id."""
    out = Path(out)
    ids = [p.id for p in sweep.points] if sweep is not None else \
        sorted(d.name for d in (out / "points").glob("*") if d.is_dir())
    recs = {}
    for pid in ids:
        f = out / "points" / pid / MARKER
        if f.exists():
            try:
                rec = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if rec.get("id") == pid and rec.get("status") != "interrupted":  # an interrupted point runs again
                recs[pid] = rec
    return recs


def _unit_of(text: str) -> str | None:
    """The unit part of a quantity string (``"10 ms"`` -> ``"ms"``, ``"0.5 mV/ms"`` -> ``"mV/ms"``), ``""`` for a
    bare number, ``None`` for anything else."""
    from ..spec.params import parse_quantity

    m = _NUMBER_THEN_UNIT.match(text)
    if not m:
        return None
    try:
        parse_quantity(text)
    except ValueError:
        return None
    return "".join(m.group(1).split())


def _numeric(values: list[Any]) -> tuple[list[float | int], str] | None:
    """``(numbers, unit)`` when every value is a number, or every value a quantity of one dimension
    (converted to the unit of the first); ``None`` otherwise."""
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return list(values), ""
    if not values or not all(isinstance(v, str) for v in values):
        return None
    units = [_unit_of(v) for v in values]
    if any(u is None or u == "" for u in units):
        return None
    from brian2.units.fundamentalunits import get_dimensions

    from ..spec.params import parse_quantity

    unit = units[0]
    ref = parse_quantity(f"1 {unit}")
    out = []
    for v in values:
        q = parse_quantity(v)
        if get_dimensions(q) != get_dimensions(ref):
            return None
        out.append(float(f"{float(q / ref):.12g}"))
    return out, unit


def value_columns(sweep) -> dict[str, str]:
    """Swept key -> its column in ``results.csv`` (``"params.tau_plus"`` -> ``"params.tau_plus_ms"``)."""
    cols = {}
    for key in sweep.swept_keys():
        num = _numeric([p.values[key] for p in sweep.points])
        cols[key] = f"{key}_{num[1]}" if num is not None and num[1] else key
    return cols


def _table_value(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def write_results_table(out: Path, sweep, records: Mapping[str, dict]) -> Path:
    """``results.csv``: one row per finished point, in study order (see the module docstring)."""
    keys = sweep.swept_keys()
    columns = value_columns(sweep)
    values: dict[str, dict[str, Any]] = {}
    for key in keys:
        raw = [p.values[key] for p in sweep.points]
        num = _numeric(raw)
        conv = num[0] if num is not None else [_table_value(v) for v in raw]
        values[key] = {p.id: x for p, x in zip(sweep.points, conv)}
    metric_cols: list[str] = []
    rows = []
    for p in sweep.points:
        rec = records.get(p.id)
        if rec is None:
            continue
        for m in rec.get("metrics", {}):
            if m not in metric_cols:
                metric_cols.append(m)
        row = {"point": p.id, "index": p.index, **{columns[k]: values[k][p.id] for k in keys}, "seed": p.seed,
               "status": rec.get("status", ""), "mode": rec.get("mode", ""),
               "wall_time_s": rec.get("wall_time_s", ""), **rec.get("metrics", {}), "error": rec.get("error", "")}
        rows.append(row)
    cols = ["point", "index", *(columns[k] for k in keys), "seed", "status", "mode", "wall_time_s", *metric_cols,
            "error"]
    return write_csv(out / "results.csv", rows, columns=cols)


def read_results(out: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of ``DIR/results.csv`` (strings, as in the file)."""
    from ..results import read_csv

    return read_csv(Path(out) / "results.csv")
