r"""Credit rules of the comparison harness that train a Brian2 network built from specs.

``fa-brian2`` and ``dfa-brian2`` train the rate network of
:func:`bioplaus.networks.fa_rate.fa_rate_spec` (FA layer by layer, or DFA from the error
population) one epoch per :meth:`SpecLearner.train_epoch`, run by
:class:`bioplaus.simulation.Simulation`: on ``cpp``/``cuda`` the first epoch generates and
compiles the project and every later epoch reruns the same binary with the epoch's sample
order, the current weights and the optimiser state as ``run_args``. The harness
(:mod:`bioplaus.harness`) imports this module when such a rule is asked for; the numpy
reference (:mod:`bioplaus.reference`) knows nothing of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .errors import ConfigError
from .reference.credit import DFA, FA, Alignment, CreditRule, TrainSettings, register_credit_rule
from .reference.mlp import MLP
from .spec.params import choice, integer, number

__all__ = ["SpecLearner", "FABrian2", "DFABrian2"]


class SpecLearner:
    """Harness learner: each ``train_epoch`` is one run of the spec-built rate network.

    Feedback matrices are drawn exactly as the numpy ``fa``/``dfa`` rules draw them; the
    epoch's sample order is ``rng.permutation(n)`` as in the numpy learners, and the
    optimiser settings (learning rate, momentum, weight decay, batch size, loss) are the
    harness's. ``predict`` and ``alignment`` are the numpy forward pass and angle metrics
    applied to the weights the network learned. The simulation (and on standalone backends
    its compiled project) is released after ``settings.epochs`` epochs.
    """

    def __init__(self, rule: "FABrian2"):
        self.rule = rule
        self.sim = None
        self.epochs_done = 0

    def init(self, net: MLP, rng: np.random.Generator, settings: TrainSettings) -> None:
        from .networks.fa_rate import LOSSES, FARateNetwork

        self.net = net
        self.settings = settings
        ref = (DFA if self.rule.direct else FA)(feedback_scale=self.rule.feedback_scale)
        self.reference = ref.learner()
        self.reference.init(net, rng, settings)          # draws the fixed feedback matrices
        self.feedback = self.reference.feedback
        loss = settings.loss if settings.loss in LOSSES else "mse"
        routing = "dfa" if self.rule.direct else "fa"
        self.spec = FARateNetwork(sizes=net.sizes, rule=routing, lr=settings.lr, momentum=settings.momentum,
                                  weight_decay=settings.weight_decay, batch_size=settings.batch_size, loss=loss,
                                  activation=net.activation, present=self.rule.present, rest=self.rule.rest,
                                  dt=self.rule.dt, tau=self.rule.tau, name=f"{routing}_rate")
        self.close()
        self.epochs_done = 0
        self._optimiser: dict[str, np.ndarray] = {}
        #: per epoch: whether the network was built (and on cpp/cuda compiled) for it, or a build was rerun
        self.rebuilt: list[bool] = []

    def close(self) -> None:
        if self.sim is not None:
            sim, self.sim = self.sim, None
            sim.close()

    def _state(self, first) -> dict[str, np.ndarray]:
        """The current weights (in the synapse order of the built network) and the optimiser state."""
        state = dict(self._optimiser)
        for l, (W, b) in enumerate(zip(self.net.weights, self.net.biases), start=1):
            state[f"W{l}.w"] = W[first[f"W{l}.j"], first[f"W{l}.i"]]
            state[f"b{l}.w"] = b[first[f"b{l}.j"]]
        return state

    def train_epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        from .networks.fa_rate import mlp_weights
        from .simulation import Simulation
        from .spec.credit import SampleRates

        order = rng.permutation(len(x))
        targets = self.net.targets(y, self.net.sizes[-1])
        if self.sim is None:
            spec = self.spec.network(self.net.weights, self.net.biases, self.feedback, x, targets, [order])
            self.sim = Simulation(spec, self.rule.backend, threads=self.rule.threads)
            res = self.sim.run(state=self._optimiser or None)
            self._first = {k: v for k, v in res.arrays.items() if k.endswith((".i", ".j"))}
        else:
            inputs = {name: SampleRates(data, order, present=self.spec.present, rest=self.spec.rest)
                      for name, data in (("inp", x), ("target", targets))}
            res = self.sim.run(inputs=inputs, state=self._state(self._first))
        self.rebuilt.append(res.rebuilt)
        W, b = mlp_weights(res)
        for l, (w, v) in enumerate(zip(W, b)):
            self.net.weights[l][...] = w
            self.net.biases[l][...] = v
        names = {f"{k}{l}" for k in "Wb" for l in range(1, len(W) + 1)}
        self._optimiser = {k: v for k, v in res.state.items()
                           if k.split(".")[0] in names and k.split(".")[1] in ("v_w", "g_w")}
        self.epochs_done += 1
        if self.epochs_done >= self.settings.epochs:
            self.close()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def weights(self) -> dict[str, np.ndarray]:
        return self.reference.weights()

    def alignment(self, x: np.ndarray, y: np.ndarray) -> Alignment:
        return self.reference.alignment(x, y)


@register_credit_rule("fa-brian2")
@dataclass(frozen=True)
class FABrian2(CreditRule):
    r"""Feedback alignment simulated as rate dynamics in Brian2 (:func:`bioplaus.networks.fa_rate.fa_rate_spec`).

    Same mathematics as ``fa`` (Lillicrap et al. 2016), computed by forward, error and
    fixed random feedback populations with local weight updates once per presentation
    window. ``backend`` is the Brian2 backend; ``present``, ``rest``, ``dt`` and ``tau``
    set the presentation schedule and the rate dynamics (``tau = None``: instantaneous).
    """

    backend: str = "numpy"
    present: str = "1 ms"
    rest: str = "0 ms"
    dt: str | None = None
    tau: str | None = None
    feedback_scale: float = 1.0
    threads: int | None = None
    default_lr: ClassVar[float] = 0.05
    direct: ClassVar[bool] = False

    def __post_init__(self) -> None:
        from .backends import BACKENDS
        from .networks.fa_rate import FARateNetwork

        owner = type(self).__name__
        choice(owner, "backend", self.backend, BACKENDS)
        number(owner, "feedback_scale", self.feedback_scale, positive=True)
        if self.threads is not None:
            integer(owner, "threads", self.threads, minimum=1)
        try:  # the schedule is validated by the network settings it will build
            FARateNetwork(sizes=(1, 1, 1), present=self.present, rest=self.rest, dt=self.dt, tau=self.tau)
        except ConfigError as exc:
            field = exc.key_path.split(".", 1)[-1]
            raise ConfigError(f"{owner}.{field}", getattr(self, field, exc.value), exc.expected) from None

    def learner(self) -> SpecLearner:
        return SpecLearner(self)


@register_credit_rule("dfa-brian2")
@dataclass(frozen=True)
class DFABrian2(FABrian2):
    r"""Direct feedback alignment (Nøkland 2016) simulated as rate dynamics in Brian2.

    As ``fa-brian2``, but the error population projects through fixed random synapses
    :math:`D_l` straight to every hidden layer's error compartment.
    """

    direct: ClassVar[bool] = True
