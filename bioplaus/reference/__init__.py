"""Numpy reference: the MLP, the credit-assignment rules and the Hebbian learner.

Importing this package registers the built-in rules ``bp``, ``fa``, ``dfa``,
``sign`` and ``hebbian`` (see :mod:`bioplaus.reference.credit` for how to add one).
"""
from .mlp import ACTIVATIONS, LOSSES, MLP, SGD, ForwardPass, Grads
from .credit import (CREDIT_RULES, BP, DFA, FA, Alignment, ErrorRoutingLearner, Learner, NumpyLearner, CreditRule,
                     SignSymmetry, TrainSettings, angle_deg, make_credit_rule, register_credit_rule, credit_rule_names)
from .hebbian import Hebbian, HebbianLearner, krotov_hopfield_dw
from . import synthetic  # noqa: F401  (registers 'sg')
from . import forward_forward  # noqa: F401  (registers 'ff')
from . import perturbation  # noqa: F401  (registers 'np', 'wp')
from . import kolen_pollack, predictive_coding, equilibrium, target_prop, drtp  # noqa: F401,E501  (registers 'kp', 'mirror', 'pc', 'ep', 'dtp', 'drtp')
from . import direction  # noqa: F401  (registers 'random-dir', 'random-descent', 'sign-grad')

__all__ = [
    "ACTIVATIONS", "LOSSES", "MLP", "SGD", "ForwardPass", "Grads",
    "CREDIT_RULES", "BP", "FA", "DFA", "SignSymmetry", "Hebbian", "HebbianLearner", "krotov_hopfield_dw",
    "Alignment", "ErrorRoutingLearner", "Learner", "NumpyLearner", "CreditRule", "TrainSettings",
    "angle_deg", "make_credit_rule", "register_credit_rule", "credit_rule_names",
]
