"""engine.latent.models: shapes, what each regulariser is for, and the config checks users hit first.

Everything trains on scikit-learn's 8×8 digits with tiny models on one CPU thread, seeded.
"""
import numpy as np
import pytest
import torch

from engine.data import load_dataset
from engine.device import configure_threads
from engine.latent.evaluate import pca_mse
from engine.latent.models import MODEL_KINDS, AEConfig, Autoencoder, reconstruction_mse
from engine.latent.train import TrainConfig

configure_threads(1)

KINDS = ["linear", "dense", "shallow", "conv", "vae"]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images  # 1797×1×8×8 in [0, 1]


def make(seed=0, **cfg):
    torch.manual_seed(seed)
    cfg.setdefault("input_shape", (1, 8, 8))
    cfg.setdefault("hidden", 64)
    cfg.setdefault("channels", 8)
    return Autoencoder(AEConfig(**cfg))


def fit(model, images, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("threads", 1)
    return model.fit(images, TrainConfig(**kw))


def test_every_kind_is_tested():
    assert set(KINDS) == set(MODEL_KINDS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (1, 25, 25), (3, 32, 32), (3, 64, 64), (1, 27, 45)])
def test_shapes_and_pixel_range(kind, shape):
    model = make(kind=kind, input_shape=shape, code_size=5, hidden=32)
    rng = np.random.default_rng(0)
    x = rng.random((3, *shape), dtype=np.float32)
    codes = model.encode(x)
    assert codes.shape == (3, 5) and codes.dtype == np.float32
    # huge codes push every decoder (the linear one has no sigmoid) far outside [0, 1]
    wild = rng.normal(0, 50, (4, 5)).astype(np.float32)
    images = model.decode(wild)
    assert images.shape == (4, *shape)
    assert images.min() >= 0 and images.max() <= 1
    if kind == "linear":  # the clamp is what keeps the linear AE in range
        raw = model.decode_tensor(torch.as_tensor(wild)).detach().numpy()
        assert raw.min() < 0 or raw.max() > 1
    assert model.reconstruct(x).shape == x.shape
    assert model.encode(x[:0]).shape == (0, 5)
    assert model.decode(wild[:0]).shape == (0, *shape)


def test_linear_ae_matches_pca(digits):
    """A converged linear AE spans the PCA subspace: same reconstruction error, never better."""
    model = make(kind="linear", code_size=8)
    fit(model, digits, epochs=1000, batch_size=len(digits), lr=2e-2, val_fraction=0)
    ratio = reconstruction_mse(model, digits) / pca_mse(digits, digits, 8)
    assert 0.95 < ratio < 1.05, ratio


def test_training_lowers_the_loss(digits):
    model = make(kind="conv", code_size=4)
    before = reconstruction_mse(model, digits)
    result = fit(model, digits, epochs=5, batch_size=64, lr=3e-3)
    assert len(result.val_mse) == 5
    assert result.val_mse[-1] < 0.6 * result.val_mse[0]
    assert reconstruction_mse(model, digits) < 0.5 * before
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])


def l1_over_l2(codes):
    """Σ|z| / ‖z‖ per code, averaged: √k for a flat code, 1 for a one-hot one."""
    a = np.abs(codes)
    return float(np.mean(a.sum(1) / np.maximum(np.sqrt((a**2).sum(1)), 1e-12)))


def near_zero(codes):
    a = np.abs(codes)
    return float(np.mean(a < 0.05 * a.max(1, keepdims=True)))


def test_sparse_codes_are_sparser(digits):
    codes = {}
    for lam in (0.0, 3e-3):
        model = make(kind="dense", code_size=32, sparse_l1=lam)
        fit(model, digits, epochs=30, batch_size=64, lr=3e-3)
        codes[lam] = model.encode(digits)
        assert reconstruction_mse(model, digits) < 0.06  # still an autoencoder, not a constant
    plain, sparse = codes[0.0], codes[3e-3]
    assert l1_over_l2(sparse) < 0.8 * l1_over_l2(plain)
    assert near_zero(sparse) > near_zero(plain) + 0.3


def test_denoising_beats_plain_on_noisy_input(digits):
    sigma = 0.4
    noisy = digits + sigma * np.random.default_rng(1).standard_normal(digits.shape).astype(np.float32)
    errors = {}
    for noise in (0.0, sigma):
        model = make(kind="dense", code_size=16, noise_sigma=noise)
        fit(model, digits, epochs=30, batch_size=64, lr=3e-3)
        errors[noise] = float(np.mean((model.reconstruct(noisy) - digits) ** 2))  # against the clean images
    assert errors[sigma] < 0.8 * errors[0.0], errors


def test_dropout_trains_and_is_off_at_eval(digits):
    model = make(kind="dense", code_size=8, input_dropout=0.3, code_dropout=0.3)
    result = fit(model, digits, epochs=3, batch_size=128, lr=3e-3)
    assert np.all(np.isfinite(result.losses)) and result.val_mse[-1] < result.val_mse[0]
    x = torch.as_tensor(digits[:256])
    model.train()
    assert model.loss(x)[1]["mse"] != model.loss(x)[1]["mse"]  # dropout active while training
    model.eval()
    assert model.loss(x)[1]["mse"] == model.loss(x)[1]["mse"]  # and off at eval
    first, second = model.encode(digits), model.encode(digits)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(model.reconstruct(digits[:50]), model.decode(first[:50]))


@pytest.mark.parametrize("changes, message", [
    ({"kind": "pca"}, "Unknown model kind"),
    ({"kind": "linear", "code_size": 65, "sparse_l1": 1e-3}, "larger than its input"),  # even regularised
    ({"kind": "dense", "code_size": 64}, "identity"),
    ({"kind": "conv", "code_size": 100}, "identity"),
    ({"code_size": 0}, "Code size must be"),
    ({"input_dropout": 1.0}, "input dropout"),
    ({"code_dropout": -0.1}, "code dropout"),
    ({"sparse_l1": -1e-3}, "≥ 0"),
    ({"noise_sigma": -0.1}, "≥ 0"),
    ({"kind": "vae", "kl_weight": -1.0}, "≥ 0"),
])
def test_bad_configs_raise_with_a_message(changes, message):
    cfg = AEConfig(**{"kind": "dense", "input_shape": (1, 8, 8), "code_size": 4, **changes})
    with pytest.raises(ValueError, match=message):
        cfg.validate()
    with pytest.raises(ValueError, match=message):
        Autoencoder(cfg)


@pytest.mark.parametrize("changes", [
    {"kind": "dense", "code_size": 64, "sparse_l1": 1e-3},  # overcomplete is fine once regularised
    {"kind": "conv", "code_size": 100, "noise_sigma": 0.3},
    {"kind": "vae", "code_size": 64},  # the KL term regularises the VAE
    {"kind": "linear", "code_size": 64, "noise_sigma": 0.1},
])
def test_regularised_or_vae_large_codes_are_allowed(changes):
    Autoencoder(AEConfig(input_shape=(1, 8, 8), hidden=32, channels=4, **changes))


def test_vae_encodes_the_posterior_mean_and_reports_kl(digits):
    model = make(kind="vae", code_size=4)
    fit(model, digits, epochs=2, batch_size=128, lr=3e-3)
    first, second = model.encode(digits[:100]), model.encode(digits[:100])
    np.testing.assert_array_equal(first, second)
    mu, logvar = model.posterior(torch.as_tensor(digits[:100]))
    np.testing.assert_allclose(first, mu.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert logvar is not None
    model.train()
    total, parts = model.loss(torch.as_tensor(digits[:128]))
    assert {"kl", "reconstruction", "mse", "loss"} <= set(parts)
    assert parts["kl"] >= 0
    assert parts["loss"] == pytest.approx(parts["reconstruction"] + parts["kl"], rel=1e-5)
    total.backward()  # the loss is differentiable end to end
    assert all(p.grad is not None for p in model.parameters())
