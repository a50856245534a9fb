"""Read any bioplaus results directory back into Python: ``bioplaus.load(path)``.

One call for the four kinds of directory bioplaus writes:

=========  ===========================================  ===============================
kind       written by                                   ``metrics`` is
=========  ===========================================  ===============================
run        ``bioplaus run`` / :func:`~bioplaus.runner.run_model`   ``metrics.csv``
compare    ``bioplaus compare`` / :func:`~bioplaus.harness.compare`  ``metrics.csv`` (rule, seed, epoch)
sweep      ``bioplaus sweep`` / :func:`~bioplaus.sweep.run_sweep`   ``results.csv``, swept values as numbers
bench      ``bioplaus bench``                           ``bench.csv``
=========  ===========================================  ===============================

``metrics`` is a tidy :class:`pandas.DataFrame` (one row per epoch / rule / seed /
point / measurement) whose column names carry their unit as a suffix
(``wall_time_s``, ``angle_update_l1_deg``, ``params.eta_Hz``); a swept value such
as ``"20 ms"`` becomes the number 20.0 in the column ``params.tau_plus_ms``.
``arrays`` reads ``arrays.npz`` lazily, one array at a time, with
``allow_pickle=False``. ``config`` is the resolved configuration (``config.toml``,
or ``sweep.toml`` for a study), ``provenance`` the parsed ``provenance.json``.

>>> import bioplaus
>>> r = bioplaus.load("results/demo")            # doctest: +SKIP
>>> r.kind, r.metrics.groupby("rule").test_acc.max()   # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import BioplausError

__all__ = ["load", "Results", "LazyArrays", "result_kind", "split_unit", "numeric_value", "KINDS"]

KINDS = ("run", "compare", "sweep", "bench")

#: columns written without a unit suffix -> the unit they are in
_COLUMN_UNITS = {"angle_update": "deg", "angle_weights": "deg"}

#: unit suffixes recognised in column names (``wall_time_s``, ``params.eta_Hz``)
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+)_(?P<unit>(?:[fpnumµkMG]?(?:s|Hz|A|V|S|F|ohm|siemens|volt|amp|second))"
                          r"|deg|mb|MB|hz|1/s)$")

_QTY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ][A-Za-z0-9µ/*^]*)?\s*$")


def split_unit(column: str) -> tuple[str, str]:
    """``("params.eta", "Hz")`` for the column ``params.eta_Hz``; ``(column, "")`` without a unit suffix.

    >>> split_unit("params.tau_plus_ms"), split_unit("test_acc")
    (('params.tau_plus', 'ms'), ('test_acc', ''))
    """
    m = _UNIT_SUFFIX.match(column)
    return (m.group("name"), m.group("unit")) if m else (column, "")


def numeric_value(v: Any) -> tuple[float | None, str]:
    """A value of a table as (number, unit): ``"20 ms"`` -> ``(20.0, "ms")``, ``"0.5"`` -> ``(0.5, "")``,
    anything else -> ``(None, text)``.

    >>> numeric_value("20 ms"), numeric_value(3), numeric_value("stdp")
    ((20.0, 'ms'), (3.0, ''), (None, 'stdp'))
    """
    if isinstance(v, bool) or v is None:
        return None, str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v), ""
    s = str(v).strip().strip('"')
    m = _QTY.match(s)
    if m:
        return float(m.group(1)), m.group(2) or ""
    return None, s


def _convert(values: list[Any]) -> tuple[list[float] | None, str]:
    """Values of one swept column as numbers in one unit, or ``(None, "")`` if they are not all quantities.

    Mixed units of one dimension (``"500 us"``, ``"2 ms"``) are converted to the unit of
    the first value with Brian2's unit table.
    """
    parsed = [numeric_value(v) for v in values]
    if not parsed or any(x is None for x, _ in parsed):
        return None, ""
    units = [u for _, u in parsed]
    unit = units[0]
    if all(u == unit for u in units):
        return [x for x, _ in parsed], unit
    try:
        import brian2.units as units

        def scale(u: str):
            return getattr(units, u) if u else 1.0

        ref = scale(unit)
        return [float(x * scale(u) / ref) for x, u in parsed], unit
    except Exception:  # noqa: BLE001 - units that do not convert leave the column as text
        return None, ""


def result_kind(path: str | os.PathLike) -> str:
    """``"run"``, ``"compare"``, ``"sweep"`` or ``"bench"``; :class:`BioplausError` otherwise.

    A study has ``sweep.toml`` and ``results.csv``; a benchmark ``bench.csv``; a run
    ``provenance.json`` naming its ``experiment``; a comparison ``metrics.csv`` with a
    ``rule`` column (or ``config.toml`` with a ``[compare]`` table).
    """
    d = Path(path)
    expected = ("expected a bioplaus results directory: a run (provenance.json naming the experiment), "
                "a comparison (metrics.csv with a 'rule' column), a parameter study (results.csv and "
                "sweep.toml) or a benchmark (bench.csv)")
    if not d.exists():
        raise BioplausError(f"{str(d)!r} does not exist; {expected}")
    if not d.is_dir():
        raise BioplausError(f"{str(d)!r} is not a directory; {expected}")
    if (d / "sweep.toml").is_file() and (d / "results.csv").is_file():
        return "sweep"
    if (d / "bench.csv").is_file():
        return "bench"
    prov = _read_json(d / "provenance.json")
    if prov.get("experiment"):
        return "run"
    if (d / "metrics.csv").is_file():
        import csv

        try:
            with open(d / "metrics.csv", newline="") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise BioplausError(f"{str(d / 'metrics.csv')!r} cannot be read ({exc}); {expected}") from None
        if "rule" in header:
            return "compare"
        raise BioplausError(f"{str(d / 'metrics.csv')!r} has no 'rule' column and {str(d)!r} has no "
                            f"provenance.json naming an experiment; {expected}")
    if "compare" in _read_toml(d / "config.toml"):
        return "compare"
    found = ", ".join(sorted(p.name for p in d.iterdir())[:8]) or "nothing"
    raise BioplausError(f"{str(d)!r} is not a bioplaus results directory (it holds: {found}); {expected}")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


class LazyArrays(Mapping):
    """The arrays of an ``arrays.npz``, read one at a time when first asked for (``allow_pickle=False``).

    A mapping: ``arrays["ff.w"]``, ``list(arrays)``, ``"ff.w" in arrays``. Missing
    file: an empty mapping. A missing name raises ``KeyError`` listing the names there.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._cache: dict[str, np.ndarray] = {}
        self._names: list[str] | None = None

    def _open(self):
        try:
            return np.load(self.path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BioplausError(f"{str(self.path)!r} cannot be read as an .npz archive ({exc})") from None

    @property
    def names(self) -> list[str]:
        if self._names is None:
            if not self.path.is_file():
                self._names = []
            else:
                with self._open() as z:
                    self._names = list(z.files)
        return self._names

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name not in self.names:
                raise KeyError(f"{name!r} is not in {self.path} (it holds: {', '.join(self.names) or 'nothing'})")
            with self._open() as z:
                try:
                    self._cache[name] = z[name]
                except ValueError as exc:  # object arrays need pickle: refused
                    raise BioplausError(f"{str(self.path)!r}: array {name!r} cannot be read without "
                                        f"unpickling ({exc})") from None
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"LazyArrays({str(self.path)!r}, {len(self)} arrays, {len(self._cache)} read)"


def _unit_columns(df) -> Any:
    """Rename columns stored without their unit (``angle_update_l1`` -> ``angle_update_l1_deg``)."""
    ren = {}
    for c in df.columns:
        for prefix, unit in _COLUMN_UNITS.items():
            if str(c).startswith(prefix) and not str(c).endswith("_" + unit):
                ren[c] = f"{c}_{unit}"
    return df.rename(columns=ren) if ren else df


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        return pd.DataFrame()
    try:
        df = pd.read_csv(path, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise BioplausError(f"{str(path)!r} cannot be read as a CSV table ({exc})") from None
    return df


class Results:
    """A results directory read back: :attr:`kind`, :attr:`metrics`, :attr:`arrays`, :attr:`config`,
    :attr:`provenance`, :attr:`summary`, :attr:`figures`; for a study also :attr:`points`,
    :attr:`swept` and :meth:`point`.

    Everything is read when first used, so opening a large directory costs nothing.
    """

    def __init__(self, path: str | os.PathLike, kind: str | None = None):
        self.path = Path(path)
        self.kind = kind or result_kind(self.path)
        if self.kind not in KINDS:
            raise BioplausError(f"unknown results kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    def __repr__(self) -> str:
        return f"Results({str(self.path)!r}, kind={self.kind!r})"

    # ----------------------------------------------------------------- files
    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved configuration (``config.toml``; a study: ``sweep.toml``; a benchmark: its settings)."""
        if self.kind == "sweep":
            return _read_toml(self.path / "sweep.toml")
        if self.kind == "bench":
            return dict(self.provenance.get("config", {}))
        return _read_toml(self.path / "config.toml")

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """``provenance.json`` (seed, backend, versions, compiler flags, status, command line)."""
        return _read_json(self.path / "provenance.json")

    @cached_property
    def summary(self) -> str:
        """``summary.md`` as text ("" when there is none)."""
        try:
            return (self.path / "summary.md").read_text()
        except OSError:
            return ""

    @property
    def figures(self) -> list[Path]:
        """The PNG figures of the directory (``figures/*.png``, and ``bench.png``)."""
        return sorted([*self.path.glob("figures/*.png"), *self.path.glob("bench.png")])

    @cached_property
    def arrays(self) -> LazyArrays:
        """``arrays.npz``, read lazily one array at a time."""
        return LazyArrays(self.path / "arrays.npz")

    @property
    def status(self) -> str:
        """The run's status (``ok``, ``diverged at ...``, ``interrupted``...) as recorded."""
        if self.kind == "sweep":
            df = self.metrics
            if "status" in df and len(df):
                return "ok" if (df["status"] == "ok").all() else ", ".join(
                    f"{n} {s}" for s, n in df["status"].value_counts().items())
            return "empty"
        if self.provenance.get("interrupted"):
            return "interrupted"
        return str(self.provenance.get("status", "ok"))

    # ----------------------------------------------------------------- metrics
    @cached_property
    def metrics(self):
        """The tidy table as a :class:`pandas.DataFrame`, units in column names (see the module docstring)."""
        if self.kind == "sweep":
            return self._sweep_table()
        name = "bench.csv" if self.kind == "bench" else "metrics.csv"
        return _unit_columns(_read_table(self.path / name))

    @property
    def swept(self) -> dict[str, str]:
        """A study's swept keys -> their column in :attr:`metrics` (``{"params.eta": "params.eta_Hz"}``)."""
        self.metrics  # noqa: B018 - fills _swept
        return dict(getattr(self, "_swept", {}))

    def _swept_keys(self) -> list[str]:
        cfg = self.config
        return [*dict(cfg.get("grid", {})), *dict(cfg.get("random", {}))]

    def _sweep_table(self):
        import pandas as pd

        path = self.path / "results.csv"
        if not path.is_file():
            return pd.DataFrame()
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        # a study written by this version names each swept key's column in sweep.toml ([columns]:
        # numbers with the unit in the name); older studies wrote "20 ms" under the key itself
        named = dict(self.config.get("columns", {}))
        keys = {named.get(k, k): k for k in self._swept_keys() if named.get(k, k) in raw.columns}
        swept: dict[str, str] = {}
        df = pd.DataFrame(index=raw.index)
        for c in raw.columns:
            if c in keys:
                nums, unit = _convert(list(raw[c]))
                if nums is not None:
                    name = f"{c}_{unit}" if unit else c
                    whole = not unit and all(re.fullmatch(r"\s*[-+]?\d+\s*", v) for v in raw[c])
                    df[name] = np.array(nums, dtype=int if whole else float)  # integers stay integers
                else:
                    name = c
                    df[name] = raw[c]
                swept[keys[c]] = name
            elif c in ("point", "status", "mode", "error"):
                df[c] = raw[c]
            else:
                df[c] = pd.to_numeric(raw[c].replace("", np.nan), errors="coerce") \
                    if _numeric_column(raw[c]) else raw[c]
        for c in ("index", "seed"):
            if c in df and df[c].notna().all():
                df[c] = df[c].astype(int)
        self._swept = swept
        return _unit_columns(df)

    # ----------------------------------------------------------------- studies
    @property
    def points(self) -> list[str]:
        """A study's point ids (directories under ``points/``), in table order."""
        if self.kind != "sweep":
            return []
        df = self.metrics
        if "point" in df:
            return list(df["point"])
        return sorted(p.name for p in (self.path / "points").glob("*") if p.is_dir())

    def point(self, point_id: str | int) -> "Results":
        """The results directory of one point of a study (by id, or by row number of :attr:`metrics`)."""
        if self.kind != "sweep":
            raise BioplausError(f"{str(self.path)!r} is a {self.kind} directory, not a parameter study")
        if isinstance(point_id, (int, np.integer)):
            point_id = self.points[int(point_id)]
        d = self.path / "points" / str(point_id)
        if not d.is_dir():
            raise BioplausError(f"point {point_id!r} is not in {str(self.path / 'points')!r}")
        return Results(d)

    def point_metrics(self):
        """Every point's own ``metrics.csv`` stacked, with the point id, seed and swept columns joined."""
        import pandas as pd

        table = self.metrics
        frames = []
        cols = ["point", *self.swept.values(), "seed"]
        for _, row in table.iterrows():
            d = self.path / "points" / str(row["point"]) / "metrics.csv"
            if not d.is_file():
                continue
            m = _unit_columns(_read_table(d))
            m = m.drop(columns=[c for c in cols if c in m.columns])
            for c in reversed(cols):
                m.insert(0, c, row[c])
            frames.append(m)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _numeric_column(col) -> bool:
    vals = [v for v in col if v != ""]
    if not vals:
        return True
    for v in vals:
        try:
            float(v)
        except ValueError:
            return False
    return True


def load(path: str | os.PathLike) -> Results:
    """Open a bioplaus results directory (run, compare, sweep or bench) for analysis.

    Parameters
    ----------
    path : str or Path
        A directory written by ``bioplaus run``, ``compare``, ``sweep`` or ``bench``.

    Returns
    -------
    Results
        ``.metrics`` (pandas DataFrame, units in column names), ``.arrays`` (lazy,
        by name), ``.config`` (resolved), ``.provenance``, ``.summary``, ``.figures``;
        for a study ``.swept``, ``.points``, ``.point(id)`` and ``.point_metrics()``.

    Raises
    ------
    BioplausError
        When ``path`` is not a bioplaus results directory (the message says what it holds).
    """
    return Results(path)
