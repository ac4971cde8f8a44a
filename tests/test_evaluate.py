"""engine.latent.evaluate (reconstruction error against PCA, map scores) and the label summaries of
engine.latent.retrieval, checked against scikit-learn and numpy computed independently.

Data: 200 points in 4 overlapping Gaussian blobs in 6-D (seeded), a noisy linear 2-D "map" of them and 4×4 "images"
made from them, so every score lands strictly between 0 and 1.
"""
from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from engine.latent.evaluate import map_quality, reconstruction_errors
from engine.latent.retrieval import most_common_labels, same_label_share

N, K = 200, 10


@pytest.fixture(scope="module")
def labelled():
    codes, labels = make_blobs(N, n_features=6, centers=4, cluster_std=4.0, center_box=(-8, 8), random_state=0)
    rng = np.random.default_rng(0)
    coords = codes @ rng.normal(size=(6, 2)) + rng.normal(scale=1.0, size=(N, 2))
    images = (codes @ rng.normal(size=(6, 16)) + rng.normal(scale=3.0, size=(N, 16))).reshape(N, 1, 4, 4)
    return codes.astype(np.float32), coords.astype(np.float32), labels, images.astype(np.float32)


def same_label_precision(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Mean share of each point's K nearest other points (scikit-learn's exact search) with its label."""
    _, idx = NearestNeighbors(n_neighbors=K + 1).fit(vectors).kneighbors(vectors)
    return float(np.mean(labels[idx[:, 1:]] == labels[:, None]))


def test_map_quality_matches_scikit_learn(labelled):
    codes, coords, labels, images = labelled
    quality = map_quality(codes, coords, labels, images)  # 500 queries ≥ 200 points: every point is a query
    assert quality.trustworthiness == pytest.approx(sklearn_trustworthiness(codes, coords, n_neighbors=K))
    loo = cross_val_predict(KNeighborsClassifier(n_neighbors=K), coords, labels, cv=LeaveOneOut())
    assert quality.knn_accuracy == pytest.approx(accuracy_score(labels, loo))
    assert quality.code_precision == pytest.approx(same_label_precision(codes, labels))
    assert quality.pixel_precision == pytest.approx(same_label_precision(images.reshape(N, -1), labels))
    for score in (quality.trustworthiness, quality.knn_accuracy, quality.code_precision, quality.pixel_precision):
        assert 0.3 < score < 1  # the data is hard enough for the comparison to mean something


def test_map_quality_without_labels_has_only_trustworthiness(labelled):
    codes, coords, _, images = labelled
    quality = map_quality(codes, coords, None, images)
    assert quality.trustworthiness == pytest.approx(sklearn_trustworthiness(codes, coords, n_neighbors=K))
    assert quality.knn_accuracy is None and quality.code_precision is None and quality.pixel_precision is None


def pca_reference_mse(images: np.ndarray, k: int) -> float:
    """Rank-k reconstruction through numpy's SVD of the centred data, clipped to [0, 1] like pixels."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    mean = flat.mean(0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    restored = mean + (flat - mean) @ vt[:k].T @ vt[:k]
    return float(np.mean((np.clip(restored, 0, 1) - flat) ** 2))


def test_errors_measured_on_the_shown_images():
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(60, 1, 5, 5)).astype(np.float32)
    recon = np.clip(images + rng.normal(scale=0.1, size=images.shape), 0, 1).astype(np.float32)
    errors = reconstruction_errors(None, images, recon, code_size=4)
    assert errors.model_mse == pytest.approx(mean_squared_error(images.reshape(60, -1), recon.reshape(60, -1)))
    assert errors.pca_mse == pytest.approx(pca_reference_mse(images, 4), rel=1e-4)
    assert errors.ratio == pytest.approx(errors.model_mse / errors.pca_mse)
    assert errors.images == 60 and not errors.held_out
    assert reconstruction_errors({"train_seconds": 3}, images, recon, 4) == errors  # a card without test numbers


def test_errors_from_a_card_are_its_held_out_numbers():
    images = np.zeros((3, 1, 2, 2), np.float32)
    errors = reconstruction_errors({"test_mse": 0.01, "pca_test_mse": 0.04, "test_images": 7000}, images, images, 2)
    assert (errors.model_mse, errors.pca_mse, errors.images, errors.held_out) == (0.01, 0.04, 7000, True)
    assert errors.ratio == pytest.approx(0.25)
    assert reconstruction_errors({"test_mse": 0.01, "pca_test_mse": 0.04}, images, images, 2).images is None


def test_most_common_labels_agree_with_counter():
    labels = np.random.default_rng(2).choice(6, size=300, p=[0.05, 0.4, 0.0, 0.25, 0.2, 0.1])
    expected = Counter(labels.tolist()).most_common(3)
    assert len({count for _, count in expected}) == 3  # no ties: the order is defined
    assert most_common_labels(labels, 6) == expected
    assert most_common_labels(np.array([4, 4, 1]), 6) == [(4, 2), (1, 1)]  # absent labels are left out


def test_same_label_share():
    labels = np.array([0, 1, 0, 0, 2, 0])
    assert same_label_share(labels, np.array([1, 2, 3]), 0) == pytest.approx(2 / 3)
    assert same_label_share(labels, np.array([4]), 1) == 0.0
