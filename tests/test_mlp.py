"""The numpy reference MLP: exact gradients (finite differences), optimiser, initialisation."""
import doctest

import numpy as np
import pytest

from bioplaus.errors import ConfigError
from bioplaus.reference import mlp as mlp_mod
from bioplaus.reference.mlp import ACTIVATIONS, LOSSES, MLP, SGD, Grads, loss_value, softmax


def _batch(rng, n_in, n_out, loss, n=6, real_targets=False):
    x = rng.normal(size=(n, n_in))
    if loss == "mse" and real_targets:
        y = rng.normal(size=(n, n_out))
    else:
        y = rng.integers(0, n_out, size=n)
    return x, y


def _numeric_grads(net, x, y, eps=1e-6):
    dW = []
    db = []
    for params, out in ((net.weights, dW), (net.biases, db)):
        for p in params:
            g = np.zeros_like(p)
            it = np.nditer(p, flags=["multi_index"])
            for _ in it:
                i = it.multi_index
                old = p[i]
                p[i] = old + eps
                lp = net.loss_value(net.predict(x), y)
                p[i] = old - eps
                lm = net.loss_value(net.predict(x), y)
                p[i] = old
                g[i] = (lp - lm) / (2 * eps)
            out.append(g)
    return Grads(dW, db)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss,real", [("cross_entropy", False), ("mse", False), ("mse", True)])
def test_gradients_match_finite_differences(activation, loss, real):
    rng = np.random.default_rng(1)
    net = MLP.random((5, 7, 6, 3), activation, loss, rng)
    for b in net.biases:  # non-zero biases so every parameter is exercised
        b[:] = rng.normal(scale=0.3, size=b.shape)
    x, y = _batch(rng, 5, 3, loss, real_targets=real)
    _, g = net.gradients(x, y)
    num = _numeric_grads(net, x, y)
    for a, n in zip(g.dW + g.db, num.dW + num.db):
        assert a.shape == n.shape
        err = np.abs(a - n).max() / max(np.abs(n).max(), 1e-8)
        assert err < 1e-6, err
    assert any(np.abs(a).max() > 1e-3 for a in g.dW)  # gradients are not trivially zero


def test_gradient_check_catches_a_wrong_derivative(monkeypatch):
    # the check above can fail: with a wrong derivative the analytic gradient is off
    rng = np.random.default_rng(2)
    net = MLP.random((4, 5, 3), "tanh", "cross_entropy", rng)
    x, y = _batch(rng, 4, 3, "cross_entropy")
    num = _numeric_grads(net, x, y)
    net._df = lambda h: np.ones_like(h)
    _, g = net.gradients(x, y)
    assert np.abs(g.dW[0] - num.dW[0]).max() > 1e-3


def test_losses_and_output_error():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    p = softmax(z.copy())
    assert np.isfinite(p).all() and np.allclose(p.sum(1), 1)
    assert loss_value(z, y, "cross_entropy") == pytest.approx(np.log(3) / 2)
    net = MLP.random((2, 3, 3), rng=np.random.default_rng(0))
    e = net.output_error(z, y)
    assert np.allclose(e.sum(axis=1), 0)  # softmax-CE errors sum to zero per sample
    mse = MLP.random((2, 3, 3), loss="mse", rng=np.random.default_rng(0))
    onehot = np.eye(3)[y]
    assert mse.loss_value(z, y) == pytest.approx(0.5 * np.mean(np.sum((z - onehot) ** 2, axis=1)))
    assert np.allclose(mse.output_error(z, y), (z - onehot) / 2)


def test_sgd_momentum_and_weight_decay_follow_the_formula():
    rng = np.random.default_rng(3)
    net = MLP.random((3, 4, 2), rng=rng)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    g = Grads([rng.normal(size=w.shape) for w in net.weights], [rng.normal(size=b.shape) for b in net.biases])
    lr, mu, wd = 0.1, 0.9, 0.01
    opt = SGD(net, lr, mu, wd)
    opt.step(g)
    opt.step(g)
    for l in range(2):
        v1 = -lr * (g.dW[l] + wd * w0[l])
        w1 = w0[l] + v1
        v2 = mu * v1 - lr * (g.dW[l] + wd * w1)
        assert np.allclose(net.weights[l], w1 + v2)
        vb1 = -lr * g.db[l]
        assert np.allclose(net.biases[l], b0[l] + vb1 + (mu * vb1 - lr * g.db[l]))  # no decay on biases


def test_seeded_initialisation_dtype_and_scale():
    a = MLP.random((64, 256, 10), rng=np.random.default_rng(7))
    b = MLP.random((64, 256, 10), rng=np.random.default_rng(7))
    c = MLP.random((64, 256, 10), rng=np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    assert not np.array_equal(a.weights[0], c.weights[0])
    assert a.dtype == np.float64 and a.sizes == (64, 256, 10) and a.n_hidden == 1
    assert a.weights[0].std() == pytest.approx(1 / np.sqrt(64), rel=0.05)  # LeCun scale for tanh
    f32 = MLP.random((4, 3, 2), rng=np.random.default_rng(0), dtype=np.float32)
    assert f32.dtype == np.float32 and f32.predict(np.ones((2, 4), np.float32)).dtype == np.float32


def test_bad_network_arguments():
    with pytest.raises(ConfigError, match="did you mean 'relu'"):
        MLP.random((2, 3), activation="rellu")
    with pytest.raises(ConfigError, match="MLP.loss"):
        MLP.random((2, 3), loss="hinge")
    with pytest.raises(ConfigError, match="MLP.sizes"):
        MLP.random((2,))
    with pytest.raises(ConfigError, match=r"MLP.weights\[1\]"):
        MLP([np.zeros((3, 2)), np.zeros((2, 4))], [np.zeros(3), np.zeros(2)])


def test_training_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    net = MLP.random((5, 16, 2), "tanh", "cross_entropy", rng)
    before = net.evaluate(x, y)[0]
    opt = SGD(net, 0.1, 0.9)
    for _ in range(200):
        opt.step(net.gradients(x, y)[1])
    loss, acc = net.evaluate(x, y)
    assert loss < 0.5 * before and acc > 0.9


def test_doctests():
    assert doctest.testmod(mlp_mod).failed == 0
