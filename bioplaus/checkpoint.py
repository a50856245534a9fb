"""Checkpoints of long training runs: arrays, RNG state and position, written atomically.

A checkpoint is one ``.npz`` file holding every array of the training state
(weights, thresholds, traces, optimiser momentum...) plus a JSON header with the
epoch, the state of every named numpy ``Generator`` and free-form metadata.
Because it is written through a temporary file and a rename, a run killed while
saving leaves the previous checkpoint intact.

>>> import numpy as np, tempfile, os
>>> rng = np.random.default_rng(1)
>>> d = tempfile.mkdtemp()
>>> path = save_checkpoint(os.path.join(d, "ckpt.npz"), epoch=3, arrays={"W": np.eye(2)}, rngs={"batch": rng})
>>> c = load_checkpoint(path)
>>> c.epoch, c.arrays["W"].shape, c.restore_rng("batch").random() == rng.random()
(3, (2, 2), True)
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import BioplausError
from .results import atomic_write_bytes

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "latest_checkpoint", "rng_state", "rng_from_state"]

_HEADER = "__checkpoint__"


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """JSON-able state of a numpy Generator."""
    st = rng.bit_generator.state
    return json.loads(json.dumps(st, default=int))


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    name = state["bit_generator"]
    bg = getattr(np.random, name)()
    bg.state = dict(state)
    return np.random.Generator(bg)


@dataclass
class Checkpoint:
    epoch: int
    arrays: dict[str, np.ndarray]
    rng_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def restore_rng(self, name: str) -> np.random.Generator:
        try:
            return rng_from_state(self.rng_states[name])
        except KeyError:
            raise BioplausError(f"checkpoint {self.path}: no random generator named {name!r} "
                                f"(has {', '.join(self.rng_states) or 'none'})") from None


def save_checkpoint(path: str | os.PathLike, *, epoch: int, arrays: Mapping[str, Any],
                    rngs: Mapping[str, np.random.Generator] | None = None, meta: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically; returns its path."""
    header = {"epoch": int(epoch), "rng_states": {k: rng_state(g) for k, g in (rngs or {}).items()},
              "meta": dict(meta or {}), "format": 1}
    buf = io.BytesIO()
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    if _HEADER in payload:
        raise ValueError(f"array name {_HEADER!r} is reserved")
    payload[_HEADER] = np.frombuffer(json.dumps(header, default=_json_default).encode(), dtype=np.uint8)
    np.savez(buf, **payload)
    return atomic_write_bytes(path, buf.getvalue())


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint; a missing or corrupt file raises :class:`BioplausError` naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != _HEADER}
            header = json.loads(bytes(z[_HEADER]).decode())
    except FileNotFoundError:
        raise BioplausError(f"checkpoint {str(path)!r} does not exist") from None
    except (KeyError, ValueError, OSError, json.JSONDecodeError) as exc:
        raise BioplausError(f"checkpoint {str(path)!r} is not a readable bioplaus checkpoint ({exc})") from None
    return Checkpoint(epoch=int(header["epoch"]), arrays=arrays, rng_states=header.get("rng_states", {}),
                      meta=header.get("meta", {}), path=path)


def latest_checkpoint(directory: str | os.PathLike, pattern: str = "checkpoint-*.npz") -> Path | None:
    """The checkpoint with the highest epoch number in ``directory`` (``checkpoint-<epoch>.npz``)."""
    d = Path(directory)
    best, best_epoch = None, -1
    for f in d.glob(pattern):
        try:
            e = int(f.stem.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if e > best_epoch:
            best, best_epoch = f, e
    return best
