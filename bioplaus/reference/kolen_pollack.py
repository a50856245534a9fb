r"""Feedback weights that learn: Kolen–Pollack learning and weight mirroring.

Both rules route the error backwards like feedback alignment, through a separate
matrix :math:`B_l` (shape of :math:`W_{l+1}^{\top}`, drawn like FA's),

.. math::

    \delta_l = \bigl(\delta_{l+1} B_l^{\top}\bigr) \odot f'(a_l), \qquad
    \Delta W_l = \delta_l^{\top} h_{l-1},

but :math:`B_l` is itself learned, so that it comes to mirror the forward weights.

**Kolen–Pollack** (``kp``). The forward matrix :math:`W_{l+1}` and the feedback matrix
:math:`B_l` receive the *same* local update, the outer product of the two activities they
connect (each synapse sees the activity at both its ends), and the same weight decay
:math:`\lambda` (applied to the mirrored pairs only, not to :math:`W_1`):

.. math::

    \Delta W_{l+1} = -\eta\,\bigl(\delta_{l+1}^{\top} h_l + \lambda W_{l+1}\bigr), \qquad
    \Delta B_l = -\eta\,\bigl((\delta_{l+1}^{\top} h_l)^{\top} + \lambda B_l\bigr).

Their difference :math:`D = W_{l+1} - B_l^{\top}` obeys :math:`\Delta D = -\eta\lambda D`
whatever the error, so it decays geometrically (with momentum :math:`\mu`, applied to both
alike, by the factor :math:`1 - \eta\lambda/(1-\mu)` per step, asymptotically) and
:math:`B_l \to W_{l+1}^{\top}`: the rule turns into backpropagation.

**Weight mirroring** (``mirror``). In a separate *mirror mode* each hidden layer :math:`l`
fires noise :math:`\xi_l \sim \mathcal N(0, \sigma^2 I)`; the layer above receives
:math:`\xi_l W_{l+1}^{\top}`, and the feedback synapses learn Hebbianly from the activity
at their two ends, with decay:

.. math::

    \Delta B_l = \eta_B\,\Bigl(\tfrac1B\,\xi_l^{\top}\bigl(\xi_l W_{l+1}^{\top}\bigr)
                 - \lambda B_l\Bigr), \qquad
    \mathrm E\bigl[\xi_l^{\top}\xi_l\bigr] / B = \sigma^2 I
    \;\Rightarrow\; \mathrm E[\Delta B_l] = \eta_B\,(\sigma^2 W_{l+1}^{\top} - \lambda B_l),

so :math:`B_l` tracks :math:`(\sigma^2/\lambda)\,W_{l+1}^{\top}`: the transposed forward
weights up to a positive scale. One mirror step follows every training step.

Kolen & Pollack (1994), *Backpropagation without weight transport*, IEEE ICNN;
Akrout, Wilson, Humphreys, Lillicrap & Tweed (2019), *Deep learning without weight
transport*, NeurIPS 32.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from .credit import CreditRule, NumpyLearner, _positive, register_credit_rule
from .mlp import SGD, Grads, backprop_errors, grads_from_errors, init_uniform

__all__ = ["KolenPollack", "WeightMirror", "LearnedFeedbackLearner", "feedback_angles"]


def _nonnegative(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"{owner}.{name}", value, "a finite number >= 0")


@dataclass(frozen=True)
class _LearnedFeedback(CreditRule):
    feedback_scale: float = 1.0
    decay: float = 0.01

    def learner(self) -> "LearnedFeedbackLearner":
        return LearnedFeedbackLearner(self)


@register_credit_rule("kp")
@dataclass(frozen=True)
class KolenPollack(_LearnedFeedback):
    r"""Kolen–Pollack: forward and feedback weights share local update and decay, so :math:`B_l \to W_{l+1}^{\top}`.

    Parameters
    ----------
    feedback_scale : float
        Initial :math:`B_l` drawn like FA's, times this.
    decay : float
        Weight decay :math:`\lambda` applied to every :math:`B_l` and to the forward matrices it
        mirrors, :math:`W_2 \ldots W_L` (on top of the harness's ``weight_decay``; the first
        layer has no mirror and gets none); 0 leaves :math:`W - B^{\top}` constant.
    """

    decay: float = 0.01
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("KolenPollack", "feedback_scale", self.feedback_scale)
        _nonnegative("KolenPollack", "decay", self.decay)


@register_credit_rule("mirror")
@dataclass(frozen=True)
class WeightMirror(_LearnedFeedback):
    r"""Weight mirroring: feedback learns from noise sent through forward weights, :math:`B_l \propto W_{l+1}^{\top}`.

    Parameters
    ----------
    feedback_scale : float
        Initial :math:`B_l` drawn like FA's, times this.
    decay : float
        Decay :math:`\lambda` of the feedback weights in mirror mode (> 0).
    sigma : float
        Standard deviation :math:`\sigma` of the mirror-mode noise.
    mirror_lr : float
        Learning rate :math:`\eta_B` of the feedback weights.
    mirror_batch : int
        Noise samples per mirror step.
    """

    decay: float = 0.5
    sigma: float = 1.0
    mirror_lr: float = 0.02
    mirror_batch: int = 64
    default_lr: ClassVar[float] = 0.05

    def __post_init__(self) -> None:
        _positive("WeightMirror", "feedback_scale", self.feedback_scale)
        _positive("WeightMirror", "decay", self.decay)
        _positive("WeightMirror", "sigma", self.sigma)
        _positive("WeightMirror", "mirror_lr", self.mirror_lr)
        if not isinstance(self.mirror_batch, int) or isinstance(self.mirror_batch, bool) or self.mirror_batch < 1:
            raise ConfigError("WeightMirror.mirror_batch", self.mirror_batch, "an integer >= 1")


class LearnedFeedbackLearner(NumpyLearner):
    """Learner of :class:`KolenPollack` and :class:`WeightMirror`: FA's error routing through learned :math:`B_l`.

    ``self.feedback[l]`` is :math:`B_l`, shape ``(n_l, n_{l+1})``.
    """

    rule: _LearnedFeedback

    def setup(self, rng: np.random.Generator) -> None:
        net, s = self.net, self.net.sizes
        self.feedback = [self.rule.feedback_scale * init_uniform(rng, s[l + 2], s[l + 1], net.activation,
                                                                 net.dtype).T.copy()
                         for l in range(net.n_hidden)]
        st = self.settings
        if isinstance(self.rule, KolenPollack):
            wd = st.weight_decay + self.rule.decay
            # the decay acts on the matrices that have a mirror (W_2..W_L) and on the mirrors, not on W_1
            self.opt = SGD(net, st.lr, st.momentum, st.weight_decay, layers=(0,))
            self.opt_mirrored = SGD(net, st.lr, st.momentum, wd, layers=range(1, len(net.weights)))
            # the feedback matrices, optimised exactly like the forward ones
            self._fb = SimpleNamespace(weights=self.feedback, biases=[np.zeros(0, net.dtype)] * len(self.feedback))
            self.fb_opt = SGD(self._fb, st.lr, st.momentum, wd)  # type: ignore[arg-type]
        else:
            self.rng = rng

    def updates(self, x: np.ndarray, y: np.ndarray) -> Grads:
        net = self.net
        fp = net.forward(x)
        e = net.output_error(fp.z, y)
        return grads_from_errors(fp, backprop_errors(net, fp, e, self.feedback))

    def step(self, x: np.ndarray, y: np.ndarray) -> Grads:
        g = self.updates(x, y)
        self.opt.step(g)
        H = self.net.n_hidden
        if isinstance(self.rule, KolenPollack):
            self.opt_mirrored.step(g)
            # B_l gets the transpose of W_{l+1}'s local update: (delta_{l+1}^T h_l)^T
            self.fb_opt.step(Grads([g.dW[l + 1].T for l in range(H)], [np.zeros(0)] * H))
        else:
            self.mirror_step()
        return g

    def mirror_step(self) -> None:
        """One mirror-mode step of every :math:`B_l` (weight mirroring only)."""
        r: WeightMirror = self.rule  # type: ignore[assignment]
        for l, B in enumerate(self.feedback):
            xi = r.sigma * self.rng.standard_normal((r.mirror_batch, B.shape[0]))
            above = xi @ self.net.weights[l + 1].T          # what layer l+1 receives
            B += r.mirror_lr * (xi.T @ above / r.mirror_batch - r.decay * B)

    def feedback_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        W = self.net.weights
        return [(self.feedback[l], W[l + 1].T) for l in range(self.net.n_hidden)]

    def weights(self) -> dict[str, np.ndarray]:
        out = super().weights()
        out.update({f"B{l + 1}": b for l, b in enumerate(self.feedback)})
        return out


def feedback_angles(learner: NumpyLearner) -> list[float]:
    """Angle in degrees between each :math:`B_l` and :math:`W_{l+1}^{\\top}` (any learner with feedback pairs)."""
    from ..metrics import angle_deg

    pairs = learner.feedback_pairs()
    if pairs is None:
        return [float("nan")] * learner.net.n_hidden
    return [angle_deg(b, w) for b, w in pairs]
