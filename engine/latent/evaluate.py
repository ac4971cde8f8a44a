"""Numbers that say whether an autoencoder learned: reconstruction error against PCA at the same code size."""
from __future__ import annotations

import numpy as np

from engine.latent.models import Autoencoder, reconstruction_mse


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
