"""Epoch-by-epoch training of a network spec, with checkpoints and resume.

Each epoch is one run of the whole spec (e.g. a :class:`~bioplaus.spec.neurons.SampleSequence`
presenting the dataset once) that starts from the state the previous epoch ended in:
weights, thresholds, traces and last-event times (see :meth:`BuiltNetwork.state`).
Epoch ``k`` runs with the seed ``SeedSequence([spec.seed, k])``, so epochs draw fresh
random numbers and an interrupted training resumed from a checkpoint repeats exactly
what the uninterrupted one would have done: identical on the runtime backends, equal
within floating-point tolerance on ``cpp`` (state crosses the build boundary as
float64 arrays).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .errors import ConfigError
from .spec.network import NetworkSpec

__all__ = ["TrainingResult", "train_epochs", "epoch_seed"]


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch`` (1-based) derived from the network seed."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] % (2**31 - 1))


@dataclass
class TrainingResult:
    epochs: int
    state: dict[str, np.ndarray]
    results: list[Any] = field(default_factory=list)  # SimResult of the epochs run in this call
    resumed_from: int = 0


def train_epochs(spec: NetworkSpec, epochs: int, backend: str = "numpy", *, out: str | Path | None = None,
                 checkpoint_every: int = 0, resume: bool = False, threads: int | None = None,
                 on_epoch: Callable[[int, Any], None] | None = None) -> TrainingResult:
    """Run ``epochs`` epochs of ``spec``, each continuing from the last one's state.

    With ``checkpoint_every = k`` the state after every k-th (and the last) epoch is
    saved as ``out/checkpoints/checkpoint-<epoch>.npz``; ``resume=True`` continues from
    the newest one. ``on_epoch(epoch, sim_result)`` is called after every epoch.
    """
    from .simulation import simulate

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError("train.epochs", epochs, "an integer >= 1")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ConfigError("train.checkpoint_every", checkpoint_every, "an integer >= 0")
    if (checkpoint_every or resume) and out is None:
        raise ConfigError("train.out", None, "a directory for the checkpoints")
    ckpt_dir = Path(out) / "checkpoints" if out is not None else None
    state: dict[str, np.ndarray] | None = None
    start = 0
    if resume and ckpt_dir is not None and ckpt_dir.is_dir():
        path = latest_checkpoint(ckpt_dir)
        if path is not None:
            c = load_checkpoint(path)
            if c.meta.get("network") != spec.name or c.meta.get("seed") != spec.seed:
                raise ConfigError("train.resume", str(path), f"a checkpoint of network {spec.name!r} "
                                  f"with seed {spec.seed} (it holds {c.meta.get('network')!r}, "
                                  f"seed {c.meta.get('seed')})")
            state, start = c.arrays, c.epoch
    elapsed = float(spec.duration)
    results = []
    # standalone epochs share one build directory: the code is identical from epoch to epoch
    # (only initial values change), so Brian2 leaves the sources untouched and make rebuilds little
    import shutil
    import tempfile

    build_dir = tempfile.mkdtemp(prefix=f"bioplaus_train_{backend}_") if backend in ("cpp", "cuda") else None
    try:
        for epoch in range(start + 1, epochs + 1):
            r = simulate(spec.replace(seed=epoch_seed(spec.seed, epoch)), backend, threads=threads,
                         directory=build_dir, initial_state=state, elapsed=elapsed if state is not None else 0.0)
            state = r.state
            results.append(r)
            if on_epoch is not None:
                on_epoch(epoch, r)
            if ckpt_dir is not None and checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs):
                save_checkpoint(ckpt_dir / f"checkpoint-{epoch}.npz", epoch=epoch, arrays=state,
                                meta={"network": spec.name, "seed": spec.seed, "backend": backend})
    finally:
        if build_dir is not None:
            shutil.rmtree(build_dir, ignore_errors=True)
    return TrainingResult(epochs=epochs, state=state or {}, results=results, resumed_from=start)
