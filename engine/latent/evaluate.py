"""Numbers that say whether an autoencoder learned and whether its map is faithful: reconstruction error against
PCA at the same code size, and a map's neighbourhood scores."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.latent.models import Autoencoder, reconstruction_mse
from engine.latent.projection import knn_accuracy, trustworthiness
from engine.latent.retrieval import precision_at_k


def pca_mse(train_images: np.ndarray, test_images: np.ndarray, code_size: int) -> float:
    """Per-pixel MSE of the best linear code of that size (PCA fitted on train, scored on test)."""
    from sklearn.decomposition import PCA

    flat_train = train_images.reshape(len(train_images), -1)
    flat_test = test_images.reshape(len(test_images), -1)
    k = min(code_size, *flat_train.shape)
    pca = PCA(n_components=k, random_state=0).fit(flat_train)
    restored = pca.inverse_transform(pca.transform(flat_test))
    return float(np.mean((np.clip(restored, 0, 1) - flat_test) ** 2))


def compare_with_pca(model: Autoencoder, images: np.ndarray, train_index: np.ndarray, test_index: np.ndarray) -> dict:
    """Test MSE of the model and of PCA with the same code size, and their ratio (lower is better)."""
    test = images[test_index]
    model_mse = reconstruction_mse(model, test)
    baseline = pca_mse(images[train_index], test, model.config.code_size)
    return {"test_mse": model_mse, "pca_test_mse": baseline, "mse_ratio_vs_pca": model_mse / baseline, "test_images": len(test)}


@dataclass(frozen=True)
class ReconstructionErrors:
    """Per-pixel MSE of an autoencoder and of PCA with as many components, and what they were measured on."""

    model_mse: float
    pca_mse: float
    images: int | None  # how many images (None: a card that does not say)
    held_out: bool  # True: a held-out test set; False: the images given, training data included

    @property
    def ratio(self) -> float:
        """The autoencoder's error over PCA's: below 1 it beats the best linear code of its size."""
        return self.model_mse / self.pca_mse


def reconstruction_errors(metrics: dict | None, images: np.ndarray, recon: np.ndarray,
                          code_size: int) -> ReconstructionErrors:
    """A checkpoint card's held-out numbers (compare_with_pca's) when it has them; otherwise both measured on
    `images` against their reconstructions `recon`, PCA fitted on the same images."""
    if metrics and "test_mse" in metrics:
        return ReconstructionErrors(metrics["test_mse"], metrics["pca_test_mse"], metrics.get("test_images"), True)
    return ReconstructionErrors(float(np.mean((recon - images) ** 2)), pca_mse(images, images, code_size),
                                len(images), False)


@dataclass(frozen=True)
class MapQuality:
    """How faithful a map is and how good a feature the code is (k = 10 throughout)."""

    trustworthiness: float  # map neighbours are code neighbours (sklearn's trustworthiness)
    knn_accuracy: float | None = None  # leave-one-out 10-NN label accuracy on the map; None without labels
    code_precision: float | None = None  # retrieval by code: share of 10 neighbours with the query's label
    pixel_precision: float | None = None  # the same by raw pixels, the baseline a code should beat


def map_quality(codes: np.ndarray, coords: np.ndarray, labels: np.ndarray | None, images: np.ndarray,
                queries: int = 500) -> MapQuality:
    """Trustworthiness of the map; with labels also its kNN accuracy and retrieval precision by code and by
    pixels over `queries` random queries."""
    trust = trustworthiness(codes, coords)
    if labels is None:
        return MapQuality(trust)
    return MapQuality(trust, knn_accuracy(coords, labels),
                      precision_at_k(codes, labels, sample=queries),
                      precision_at_k(images.reshape(len(images), -1), labels, sample=queries))
