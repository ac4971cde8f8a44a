"""The autoencoder family side by side on one dataset: held-out reconstruction error against code size, PCA's
curve for reference (the linear autoencoder's optimum, Baldi & Hornik 1989), and the same test images
reconstructed by every member.

Shipped checkpoints bring their held-out numbers on their cards (compare_with_pca at training time); models
trained in the session are measured here, on the same held-out images (the seeded split every training uses).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data import split_indices
from engine.latent.evaluate import pca_mse
from engine.latent.models import Autoencoder, reconstruction_mse
from engine.latent.train import TrainConfig

PCA_SIZES = (1, 2, 4, 8, 16, 32, 64)


def family_name(config) -> str:
    """The lecture's name for an autoencoder: its regulariser when it has one, else its architecture."""
    if config.kind == "vae":
        return "VAE"
    if config.sparse_l1 > 0:
        return "sparse"
    if config.noise_sigma > 0:
        return "denoising"
    if config.input_dropout > 0 or config.code_dropout > 0:
        return "dropout"
    return {"linear": "linear", "dense": "deep", "conv": "conv"}[config.kind]


@dataclass
class Member:
    """One autoencoder of the comparison and its held-out reconstruction error."""

    title: str  # as the page names it, e.g. "conv AE · code 16 (shipped)"
    family: str  # family_name()
    code_size: int
    test_mse: float
    shipped: bool  # True: the number comes from its checkpoint's card; False: measured in this session
    model: Autoencoder


def held_out(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices of the split every training run uses by default (its seed and validation share)."""
    defaults = TrainConfig()
    return split_indices(n, defaults.val_fraction, defaults.seed)


def member(title: str, model: Autoencoder, images: np.ndarray, card_metrics: dict | None = None) -> Member:
    """A shipped model with its card's held-out MSE, or any other model measured on the held-out images."""
    shipped = bool(card_metrics) and "test_mse" in card_metrics
    mse = card_metrics["test_mse"] if shipped else reconstruction_mse(model, images[held_out(len(images))[1]])
    return Member(title, family_name(model.config), model.config.code_size, float(mse), shipped, model)


def pca_curve(images: np.ndarray, sizes: tuple[int, ...] = PCA_SIZES) -> dict[int, float]:
    """PCA's held-out MSE for each number of components (fitted on the training part of the split)."""
    train, test = held_out(len(images))
    return {k: pca_mse(images[train], images[test], k) for k in sizes if k <= min(len(train), images[0].size)}


def side_by_side(members: list[Member], images: np.ndarray, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(the first n held-out images, each member's reconstructions of them: members × n × C × H × W)."""
    test = images[held_out(len(images))[1][:n]]
    return test, np.stack([m.model.reconstruct(test) for m in members]) if members else test[:0][None]
