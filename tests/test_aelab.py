"""engine.aelab: the identity trap measured, labelled subsets, pretraining's weight transfer, denoising's PSNR, and
bad input that gets a message. Small sizes on one CPU thread, seeded."""
from __future__ import annotations

import numpy as np
import pytest

from engine.aelab import denoise, labels
from engine.aelab.data import split
from engine.aelab.identity import IdentityConfig, noise_images, run_identity
from engine.data import ImageDataset, load_dataset
from engine.device import configure_threads

configure_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")  # 1797 × 1×8×8


@pytest.fixture(scope="module")
def trap(digits):
    """Plain vs denoising over-complete AEs (code 128 > 64 pixels) on the 8×8 digits."""
    x = digits.images
    return run_identity(IdentityConfig(code_size=128, epochs=10, models=("plain", "denoising")), x[:1200], x[1500:])


def test_the_plain_over_complete_ae_copies_noise_the_denoising_one_does_not(trap):
    plain, denoising = trap.scores["plain"], trap.scores["denoising"]
    assert plain.passed > 4 * denoising.passed, (plain, denoising)  # share of small added noise that comes out
    assert plain.noise_mse < denoising.noise_mse, (plain, denoising)  # pure-noise images: reconstructed better
    assert plain.data_mse < denoising.data_mse  # and it is the better copier of unseen digits too
    assert set(trap.noise_out) == {"plain", "denoising"} and trap.noise_out["plain"].shape == trap.noise_in.shape


def test_noise_images_are_uniform_pixels():
    noise = noise_images(50, (1, 8, 8), seed=3)
    assert noise.shape == (50, 1, 8, 8) and 0 <= noise.min() and noise.max() <= 1
    assert abs(noise.mean() - 0.5) < 0.02 and abs(noise.var() - 1 / 12) < 0.01


@pytest.mark.parametrize("code, message", [(64, "larger than the input"), (10**6, "at most"), (0, "larger")])
def test_codes_that_are_not_over_complete_or_absurd_get_a_message(code, message):
    with pytest.raises(ValueError, match=message):
        IdentityConfig(code_size=code).validate((1, 8, 8))


def test_unknown_regulariser_gets_a_message():
    with pytest.raises(ValueError, match="Pick models among"):
        IdentityConfig(code_size=128, models=("magic",)).validate((1, 8, 8))


# --- labelled subsets ---------------------------------------------------------------------------
def test_per_class_takes_exactly_k_of_every_class_and_depends_on_the_seed(digits):
    for k in (1, 10, 100):
        index = labels.per_class(digits.labels, k, seed=0)
        assert np.bincount(digits.labels[index]).tolist() == [k] * 10
        assert len(np.unique(index)) == len(index)
    assert not np.array_equal(labels.per_class(digits.labels, 10, 0), labels.per_class(digits.labels, 10, 1))
    assert np.array_equal(labels.per_class(digits.labels, 10, 1), labels.per_class(digits.labels, 10, 1))
    assert len(labels.per_class(digits.labels, labels.ALL, 0)) == len(digits.labels)


@pytest.mark.parametrize("y, k, message", [
    (np.array([0, 0, 1, 1]), 0, "at least 1"),
    (np.array([0, 0, 0, 1, 1]), 3, "Class 1 has only 2 labelled images; ask for at most 2"),
    (np.array([2, 2, 2]), 1, "one class"),
    (None, 1, "no labels"),
])
def test_bad_label_requests_get_a_message(y, k, message):
    with pytest.raises(ValueError, match=message):
        labels.per_class(y, k, seed=0)


def test_split_keeps_test_images_out_of_the_pool(digits):
    parts = split(digits, 0.2, seed=0)
    assert len(parts.pool) + len(parts.test) == len(digits)
    pool = {x.tobytes() for x in parts.pool.images}
    assert not any(x.tobytes() in pool for x in parts.test.images[:50])
    with pytest.raises(ValueError, match="cannot be split"):
        split(ImageDataset("one", digits.images[:1], digits.labels[:1], None, "one image"))


# --- denoising --------------------------------------------------------------------------------------
def test_psnr_matches_its_formula_and_noise_is_clipped():
    clean = np.full((2, 1, 4, 4), 0.5, np.float32)
    other = clean + 0.1
    assert denoise.psnr(clean, other) == pytest.approx(20.0, abs=1e-4)  # 10·log10(1/0.01)
    assert denoise.psnr(clean, clean) == float("inf")
    noisy = denoise.add_noise(clean, 2.0, seed=0)
    assert noisy.min() == 0 and noisy.max() == 1
    with pytest.raises(ValueError, match="Noise σ"):
        denoise.add_noise(clean, -1)


def test_the_denoising_ae_beats_the_plain_one_on_noisy_digits(trap, digits):
    models = {name: trap.lab.models[name] for name in ("plain", "denoising")}
    noisy, out = denoise.compare(models, digits.images[1500:1600], sigma=0.4, seed=0)
    assert out["denoising"][1] > out["plain"][1]  # dB
    assert out["denoising"][1] > denoise.psnr(digits.images[1500:1600], noisy)


def test_digits_on_backgrounds_keep_their_labels_and_the_background_dominates(digits):
    from engine.aelab.caveat import on_backgrounds

    moved = on_backgrounds(digits.subset(slice(0, 300)), seed=0)
    assert moved.images.shape == (300, 1, 8, 8) and np.array_equal(moved.labels, digits.labels[:300])
    assert 0 <= moved.images.min() and moved.images.max() <= 1
    # the brightness of whole images, which says nothing about the digit, now varies far more than before
    assert moved.images.mean((1, 2, 3)).std() > 2 * digits.images[:300].mean((1, 2, 3)).std()


def test_pretraining_starts_from_exactly_the_autoencoders_encoder_and_frozen_keeps_it(digits):
    import torch

    from engine.aelab.pretrain import PretrainConfig, classifier, fine_tune, pretrain_ae

    config = PretrainConfig(unlabelled=300, ae_epochs=1, code_size=16, channels=4, steps=5, encoder="frozen")
    shape = tuple(digits.images.shape[1:])
    ae = pretrain_ae(digits.images, config)
    trained = {k: v.clone() for k, v in ae.encoder.state_dict().items()}
    net = classifier(config, shape, 10, seed=0, ae=ae)
    start = net.encoder.state_dict()
    assert start.keys() == trained.keys() and all(torch.equal(start[k], trained[k]) for k in trained)
    scratch = classifier(config, shape, 10, seed=0).encoder.state_dict()
    assert not all(torch.equal(scratch[k], trained[k]) for k in trained)  # the baseline starts elsewhere

    head = {k: v.clone() for k, v in net.head.state_dict().items()}
    fine_tune(net, digits.images[:100], digits.labels[:100], config, seed=0, pretrained=True)
    assert all(torch.equal(net.encoder.state_dict()[k], trained[k]) for k in trained)  # frozen: untouched
    assert not all(torch.equal(net.head.state_dict()[k], head[k]) for k in head)  # only the head learnt
    assert all(torch.equal(ae.encoder.state_dict()[k], trained[k]) for k in trained)  # the AE keeps its own copy
