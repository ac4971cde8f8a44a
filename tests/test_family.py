"""engine.latent.family: the autoencoder family on one dataset, held-out error vs code size, PCA for reference."""
import numpy as np
import pytest

from engine.checkpoints import CHECKPOINT_DIR
from engine.data import load_dataset
from engine.latent.checkpoints import list_checkpoints, load_checkpoint
from engine.latent.family import held_out, member, pca_curve, side_by_side
from engine.latent.models import reconstruction_mse


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def shipped(mnist):
    return [(path.stem, *load_checkpoint(path)) for path, card in list_checkpoints()
            if card.fits("mnist", mnist.image_shape)]


def test_the_pca_curve_is_measured_on_the_images_training_held_out(mnist):
    """PCA here and PCA on the card (scikit-learn at training time, on the training run's own split) agree."""
    card = load_checkpoint(CHECKPOINT_DIR / "mnist-conv-16.safetensors")[1]
    curve = pca_curve(mnist.images, sizes=(16, 32))
    assert curve[16] == pytest.approx(card.metrics["pca_test_mse"], rel=1e-4)
    assert curve[16] > curve[32]  # more components, less error


def test_a_model_measured_here_gets_its_cards_number(mnist, shipped):
    name, model, card = next(s for s in shipped if s[0] == "mnist-linear-32")
    measured = member("linear", model, mnist.images)  # no card given: measured on the held-out images
    assert not measured.shipped and measured.test_mse == pytest.approx(card.metrics["test_mse"], rel=1e-4)
    from_card = member("linear", model, mnist.images, card.metrics)
    assert from_card.shipped and from_card.test_mse == card.metrics["test_mse"]


def test_mnist_ships_the_lectures_whole_family(mnist, shipped):
    families = {member(name, model, mnist.images, card.metrics).family for name, model, card in shipped}
    assert {"linear", "deep", "conv", "VAE", "sparse", "denoising"} <= families, families


def test_the_nonlinear_autoencoders_beat_pca_and_the_linear_one_does_not(mnist, shipped):
    curve = pca_curve(mnist.images, sizes=(16, 32))
    members = {name: member(name, model, mnist.images, card.metrics) for name, model, card in shipped}
    assert members["mnist-conv-16"].test_mse < 0.7 * curve[16]
    assert members["mnist-dense-16"].test_mse < curve[16]
    assert members["mnist-linear-32"].test_mse >= 0.98 * curve[32]  # PCA is the linear optimum


def test_every_member_reconstructs_the_same_held_out_images(mnist, shipped):
    members = [member(name, model, mnist.images, card.metrics) for name, model, card in shipped[:3]]
    test, recon = side_by_side(members, mnist.images, n=8)
    np.testing.assert_array_equal(test, mnist.images[held_out(len(mnist.images))[1][:8]])
    assert recon.shape == (3, *test.shape)
    for m, images in zip(members, recon):
        assert np.mean((images - test) ** 2) == pytest.approx(reconstruction_mse(m.model, test), rel=1e-5)
