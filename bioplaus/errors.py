"""One error hierarchy for bioplaus.

Every error a user can cause by their input is a :class:`BioplausError`; the CLI
prints it as a single line on stderr and exits with status 2. Anything else is a
bug and exits with status 1.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterable

__all__ = [
    "BioplausError",
    "ConfigError",
    "BackendUnavailable",
    "DataError",
    "DivergedError",
    "did_you_mean",
]


class BioplausError(Exception):
    """Base class of every error bioplaus raises on purpose."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``.

    >>> did_you_mean("tripplet", ["pair", "triplet"])
    " (did you mean 'triplet'?)"
    >>> did_you_mean("xyz", ["pair", "triplet"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConfigError(BioplausError, ValueError):
    """A parameter, configuration key or model-file entry is invalid.

    Parameters
    ----------
    key_path : str
        Where the bad value sits, e.g. ``"Oja.eta"`` or ``"projections.ff.rule.tau_plus"``.
    value : Any
        The offending value.
    expected : str
        What would have been accepted.
    source : str, optional
        The file the value came from, if any.

    Examples
    --------
    >>> err = ConfigError("Oja.eta", -1, "a positive rate in Hz", source="models/oja_pca.toml")
    >>> str(err)
    'models/oja_pca.toml: Oja.eta = -1: expected a positive rate in Hz'
    >>> err.with_source("m.toml", prefix="params").key_path
    'params.Oja.eta'
    """

    def __init__(self, key_path: str, value: Any, expected: str, source: str | None = None):
        self.key_path = key_path
        self.value = value
        self.expected = expected
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key_path} = {value!r}: expected {expected}")

    def with_source(self, source: str, prefix: str = "") -> "ConfigError":
        """Return a copy located in ``source`` with ``prefix`` prepended to the key path."""
        key = f"{prefix}.{self.key_path}" if prefix else self.key_path
        return ConfigError(key, self.value, self.expected, source=source)


class BackendUnavailable(BioplausError, RuntimeError):
    """A backend cannot run on this machine; ``reason`` says what is missing."""

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"backend {backend!r} is unavailable: {reason}")


class DataError(BioplausError, ValueError):
    """A dataset is missing, corrupt or inconsistent (names the file or field)."""


class DivergedError(BioplausError, FloatingPointError):
    """Training produced non-finite or runaway values.

    ``where`` is a human-readable position such as ``"epoch 3"`` or ``"t = 1.2 s"``.
    """

    def __init__(self, what: str, where: str, detail: str = ""):
        self.what = what
        self.where = where
        self.detail = detail
        msg = f"{what} diverged at {where}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
