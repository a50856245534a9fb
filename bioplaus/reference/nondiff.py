r"""Hidden units whose derivative is zero or unknown, for the non-differentiability study.

``step``
    Heaviside units, :math:`h = [a > 0] \in \{0, 1\}`; :math:`f'(a) = 0` wherever it exists.
``staircase``
    a black box seen only through its outputs: :math:`\tanh` quantised to the five levels
    :math:`\{-1, -\tfrac12, 0, \tfrac12, 1\}`, :math:`h = \mathrm{round}(2\tanh a)/2`;
    again :math:`f' = 0` almost everywhere.

Every learner of :mod:`bioplaus.reference.credit` reads the derivative through
``net.derivative(h)``, and perturbation learners only run the forward pass, so a network
with such units is an :class:`~bioplaus.reference.mlp.MLP` whose forward non-linearity and
derivative are replaced (:func:`with_units`). The derivative given to the learners is one of

``true``
    the true derivative, zero: backpropagation and FA/DFA then change no hidden weight;
``ste``
    the straight-through pseudo-derivative :math:`f' := 1` (Hinton 2012, lecture 15b;
    Bengio, Léonard & Courville 2013, arXiv:1308.3432).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError
from .mlp import MLP

__all__ = ["UNITS", "DERIVATIVES", "with_units", "step", "staircase"]


def step(a: np.ndarray) -> np.ndarray:
    """Heaviside step, in place: 1 where ``a > 0``, else 0."""
    np.greater(a, 0, out=a, casting="unsafe")
    return a


def staircase(a: np.ndarray) -> np.ndarray:
    """:math:`\\mathrm{round}(2\\tanh a)/2`, in place."""
    np.tanh(a, out=a)
    a *= 2
    np.round(a, out=a)
    a /= 2
    return a


UNITS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"step": step, "staircase": staircase}
DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "true": np.zeros_like,
    "ste": np.ones_like,
}


def with_units(net: MLP, units: str, derivative: str) -> MLP:
    """A copy of ``net`` whose hidden units are ``units`` and whose learners see ``derivative``.

    >>> net = with_units(MLP.random((2, 3, 2), rng=np.random.default_rng(0)), "step", "true")
    >>> set(net.forward(np.array([[1.0, -1.0], [0.5, 2.0]])).h[1].ravel()) <= {0.0, 1.0}
    True
    """
    if units not in UNITS:
        raise ConfigError("units", units, "one of " + ", ".join(UNITS))
    if derivative not in DERIVATIVES:
        raise ConfigError("derivative", derivative, "one of " + ", ".join(DERIVATIVES))
    out = net.copy()
    out._f = UNITS[units]
    out._df = DERIVATIVES[derivative]
    return out
