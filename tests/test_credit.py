"""Credit-assignment rules: FA/DFA/sign against BP, the Hebbian learner, the rule registry."""
import doctest
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from bioplaus.data import load_dataset
from bioplaus.errors import ConfigError
from bioplaus.metrics import angle_deg
from bioplaus.reference import credit, hebbian
from bioplaus.reference.credit import (CREDIT_RULES, DFA, FA, Alignment, CreditRule, Learner, SignSymmetry,
                                       TrainSettings, credit_rule_names, make_credit_rule, register_credit_rule,
                                       updates_with_feedback)
from bioplaus.reference.hebbian import Hebbian, krotov_hopfield_dw
from bioplaus.reference.mlp import MLP


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6))
    y = rng.integers(0, 4, size=32)
    return x, y


def _learner(rule, net, seed=0, lr=0.1):
    lr_ = rule.learner()
    lr_.init(net, np.random.default_rng(seed), TrainSettings(lr=lr, momentum=0.0, batch_size=8, epochs=3))
    return lr_


def test_builtin_rules_are_registered():
    assert set(credit_rule_names()) >= {"bp", "fa", "dfa", "sign", "hebbian"}
    assert isinstance(make_credit_rule("fa"), FA)


@pytest.mark.parametrize("hidden", [(10,), (10, 8)])
def test_fa_with_transposed_forward_weights_equals_bp(problem, hidden):
    x, y = problem
    net = MLP.random((6, *hidden, 4), "tanh", "cross_entropy", np.random.default_rng(1))
    bp = _learner(make_credit_rule("bp"), net.copy())
    fa = _learner(make_credit_rule("fa"), net.copy())
    g_fa_random = fa.updates(x, y)
    fa.feedback = [w.T.copy() for w in fa.net.weights[1:]]  # B_l := W_{l+1}^T
    g_bp, g_fa = bp.updates(x, y), fa.updates(x, y)
    for a, b in zip(g_bp.dW + g_bp.db, g_fa.dW + g_fa.db):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    # and the exact gradient is what BP returns
    exact = net.gradients(x, y)[1]
    for a, b in zip(exact.dW, g_bp.dW):
        np.testing.assert_array_equal(a, b)
    # with its random B, FA differs from BP in the hidden layers only
    assert not np.allclose(g_fa_random.dW[0], g_bp.dW[0])
    np.testing.assert_array_equal(g_fa_random.dW[-1], g_bp.dW[-1])
    al = fa.alignment(x, y)
    assert al.update[0] == pytest.approx(0, abs=1e-5) and al.weights[0] == pytest.approx(0, abs=1e-5)


def test_dfa_with_one_hidden_layer_and_w_out_transposed_equals_bp(problem):
    x, y = problem
    net = MLP.random((6, 12, 4), "relu", "cross_entropy", np.random.default_rng(2))
    dfa = _learner(make_credit_rule("dfa"), net.copy())
    assert dfa.feedback[0].shape == (12, 4)
    dfa.feedback = [net.weights[1].T.copy()]
    g_dfa, g_bp = dfa.updates(x, y), net.gradients(x, y)[1]
    for a, b in zip(g_dfa.dW + g_dfa.db, g_bp.dW + g_bp.db):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_dfa_sends_the_output_error_directly_to_every_layer(problem):
    x, y = problem
    net = MLP.random((6, 10, 8, 4), "tanh", "mse", np.random.default_rng(3))
    D = [np.random.default_rng(4).normal(size=(10, 4)), np.random.default_rng(5).normal(size=(8, 4))]
    g = updates_with_feedback(net, x, y, D, direct=True)
    fp = net.forward(x)
    e = net.output_error(fp.z, y)
    d1 = (e @ D[0].T) * (1 - fp.h[1] ** 2)  # layer 1 sees e through D_1, not through layer 2
    np.testing.assert_allclose(g.dW[0], d1.T @ x, rtol=1e-12)
    # with D_l = (W_L ... W_{l+1})^T and a linear network, DFA is BP
    lin = MLP.random((6, 10, 8, 4), "relu", "mse", np.random.default_rng(6))
    xp = np.abs(x)  # relu of positive pre-activations is linear: use positive weights and inputs
    lin.weights = [np.abs(w) for w in lin.weights]
    W = lin.weights
    Dlin = [(W[2] @ W[1]).T, W[2].T]
    gd = updates_with_feedback(lin, xp, y, Dlin, direct=True)
    gb = lin.gradients(xp, y)[1]
    for a, b in zip(gd.dW, gb.dW):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    learner = _learner(make_credit_rule("dfa"), lin)
    learner.feedback = Dlin
    assert all(a == pytest.approx(0, abs=1e-5) for a in learner.alignment(xp, y).weights)


def test_sign_symmetry_with_uniform_magnitudes_is_bp_rescaled(problem):
    x, y = problem
    rng = np.random.default_rng(4)
    net = MLP.random((6, 10, 8, 4), "tanh", "cross_entropy", rng)
    c = 0.3
    for l in (1, 2):  # every feedback-carrying matrix has entries +-c
        net.weights[l] = c * np.where(rng.random(net.weights[l].shape) < 0.5, -1.0, 1.0)
    sign = _learner(make_credit_rule("sign"), net.copy())
    g_s, g_bp = sign.updates(x, y), net.gradients(x, y)[1]
    # sign(W^T) = W^T / c: layer 2's error is BP's / c, layer 1's / c^2; the output layer is BP's
    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max())

    close(g_s.dW[2], g_bp.dW[2])
    close(g_s.dW[1], g_bp.dW[1] / c)
    close(g_s.dW[0], g_bp.dW[0] / c ** 2)
    assert np.abs(g_bp.dW[0]).max() > 1e-4
    assert sign.alignment(x, y).update == pytest.approx((0.0, 0.0), abs=1e-5)


def test_sign_symmetry_with_all_positive_output_weights_gives_no_hidden_update(problem):
    # sign(W_out^T) is all ones, so each hidden unit receives sum_k e_k, which is 0 for softmax-CE
    x, y = problem
    net = MLP.random((6, 10, 4), "tanh", "cross_entropy", np.random.default_rng(5))
    net.weights[1] = np.abs(net.weights[1]) + 0.01
    g_s = _learner(make_credit_rule("sign"), net.copy()).updates(x, y)
    g_bp = net.gradients(x, y)[1]
    assert np.abs(g_s.dW[0]).max() < 1e-15 and np.abs(g_s.db[0]).max() < 1e-15
    assert np.abs(g_bp.dW[0]).max() > 1e-3
    # with MSE (errors do not sum to zero) the same network does learn
    mse = MLP(net.weights, net.biases, "tanh", "mse")
    assert np.abs(_learner(make_credit_rule("sign"), mse).updates(x, y).dW[0]).max() > 1e-3


def test_sign_feedback_follows_the_forward_weights(problem):
    x, y = problem
    net = MLP.random((6, 10, 4), "tanh", "cross_entropy", np.random.default_rng(6))
    learner = _learner(SignSymmetry(scale=2.0), net)
    np.testing.assert_array_equal(learner.current_feedback()[0], 2.0 * np.sign(net.weights[1].T))
    net.weights[1][0, 0] = -net.weights[1][0, 0]
    assert learner.current_feedback()[0][0, 0] == 2.0 * np.sign(net.weights[1][0, 0])
    fa = _learner(make_credit_rule("fa"), net.copy())
    b = fa.feedback[0].copy()
    fa.train_epoch(x, y, np.random.default_rng(0))
    np.testing.assert_array_equal(fa.feedback[0], b)  # FA's B never changes
    assert not np.array_equal(fa.net.weights[0], net.weights[0])


def test_fa_alignment_angle_decreases_during_training():
    d = load_dataset("digits", seed=0)
    x, y = d.x_train, d.y_train
    net = MLP.random((64, 64, 10), "tanh", "cross_entropy", np.random.default_rng(0))
    fa = make_credit_rule("fa").learner()
    fa.init(net, np.random.default_rng(1), TrainSettings(lr=0.05, batch_size=16, epochs=4))
    a0 = fa.alignment(x[:256], y[:256])
    rng = np.random.default_rng(2)
    for _ in range(4):
        fa.train_epoch(x, y, rng)
    a1 = fa.alignment(x[:256], y[:256])
    assert 80 < a0.weights[0] < 100 and 70 < a0.update[0] < 110  # random feedback: about orthogonal
    assert a1.weights[0] < a0.weights[0] - 5
    assert a1.update[0] < 80
    assert np.mean(np.argmax(fa.predict(d.x_test), 1) == d.y_test) > 0.85


def test_krotov_hopfield_matches_the_dense_formula():
    def dense(W, v, p, k, delta):
        Wp = np.sign(W) * np.abs(W) ** (p - 1)
        I = Wp @ v.T
        order = np.argsort(I, axis=0)
        g = np.zeros_like(I)
        cols = np.arange(v.shape[0])
        g[order[-1], cols] = 1.0
        g[order[-k], cols] -= delta
        return g @ v - np.sum(g * I, axis=1)[:, None] * W

    rng = np.random.default_rng(0)
    W = rng.normal(size=(40, 9))
    v = rng.random((25, 9))
    for p, k in ((3, 7), (2, 2), (4.5, 3)):
        np.testing.assert_allclose(krotov_hopfield_dw(W, v, p, k, 0.4), dense(W, v, p, k, 0.4), atol=1e-12)


def test_krotov_hopfield_winner_converges_to_the_input_direction():
    W = np.array([[2.0, 0.5], [0.1, 0.1], [0.0, 0.2]])
    v = np.array([[1.0, 0.0]])
    for _ in range(2000):
        ds = krotov_hopfield_dw(W, v, p=2, k=2, delta=0.0)
        W += 0.01 * ds / np.abs(ds).max()
    np.testing.assert_allclose(W[0], [1.0, 0.0], atol=1e-2)  # ||W||_2 -> R = 1, along v


def test_hebbian_features_change_and_the_readout_beats_chance():
    d = load_dataset("digits", seed=0)
    x, y = d.x_train[:400], d.y_train[:400]
    net = MLP.random((64, 32, 10), "tanh", "cross_entropy", np.random.default_rng(0))
    rule = Hebbian(hebb_passes=1)
    learner = rule.learner()
    learner.init(net, np.random.default_rng(1), TrainSettings(lr=0.02, batch_size=16, epochs=6))
    W0 = learner.hidden[0].copy()
    rng = np.random.default_rng(2)
    for _ in range(6):
        learner.train_epoch(x, y, rng)
    W = learner.hidden[0]
    assert angle_deg(W, W0) > 20  # the features moved
    norms = np.sum(np.abs(W) ** 3, axis=1) ** (1 / 3)
    assert np.median(norms) < 0.5 * np.median(np.sum(np.abs(W0) ** 3, axis=1) ** (1 / 3))
    acc = np.mean(np.argmax(learner.predict(d.x_test), 1) == d.y_test)
    assert acc > 0.6  # chance is 0.1
    al = learner.alignment(x, y)
    assert np.isnan(al.update[0]) and np.isnan(al.weights[0])
    assert set(learner.weights()) >= {"W1", "W2", "b2"}
    assert isinstance(learner, Learner)


@pytest.mark.parametrize("call,key", [
    (lambda: FA(feedback_scale=-1.0), "FA.feedback_scale"),
    (lambda: DFA(feedback_scale=float("nan")), "DFA.feedback_scale"),
    (lambda: SignSymmetry(scale=0), "SignSymmetry.scale"),
    (lambda: Hebbian(delta=2.0), "Hebbian.delta"),
    (lambda: Hebbian(k=0), "Hebbian.k"),
    (lambda: make_credit_rule("fa", feedback_scael=2.0), "FA.feedback_scael"),
])
def test_rule_parameters_are_validated(call, key):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.key_path == key


def test_unknown_rule_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'dfa'"):
        make_credit_rule("dfaa")


def test_register_a_rule_computed_elsewhere():
    """A learner that is not numpy-based only needs the five protocol methods."""

    class MeanPredictor:
        def init(self, net, rng, settings):
            self.n_out = net.sizes[-1]
            self.prior = np.zeros(self.n_out)

        def train_epoch(self, x, y, rng):
            self.prior = np.log(np.bincount(y, minlength=self.n_out) + 1.0)

        def predict(self, x):
            return np.tile(self.prior, (len(x), 1))

        def weights(self):
            return {"prior": self.prior}

        def alignment(self, x, y):
            return Alignment.undefined(1)

    @register_credit_rule("test-prior")
    @dataclass(frozen=True)
    class Prior(CreditRule):
        default_lr: ClassVar[float] = 1.0

        def learner(self):
            return MeanPredictor()

    try:
        assert make_credit_rule("test-prior").name == "test-prior"
        assert isinstance(MeanPredictor(), Learner)
        with pytest.raises(ValueError, match="already registered"):
            register_credit_rule("test-prior")(type("Other", (CreditRule,), {}))
        from bioplaus.harness import CompareConfig, compare
        res = compare(CompareConfig(rules=("bp", "test-prior"), hidden=(8,), epochs=2, seeds=1), progress=False)
        s = res.summary_of("test-prior")
        assert s.status == "ok" and 0.05 < s.test_acc[0] < 0.2 and np.isnan(s.angle_update[0])
    finally:
        CREDIT_RULES.pop("test-prior", None)


def test_doctests():
    for mod in (credit, hebbian):
        assert doctest.testmod(mod).failed == 0
