"""12×12 patches cut from natural photos (scikit-image's bundled ones), whitened as usual for learning filters
(Olshausen & Field 1996): each patch's mean removed, then ZCA whitening, x_w = U (Λ + εI)^{-1/2} Uᵀ x, so every
direction of pixel space has about the same variance and the filters are not dominated by the low frequencies."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle_left",
          "hubble_deep_field", "brick", "grass", "gravel")


def photos() -> list[np.ndarray]:
    """The bundled photos as grey float arrays in [0, 1] (ones that are missing here are skipped)."""
    from skimage import color, data, util

    out = []
    for name in PHOTOS:
        try:
            img = getattr(data, name)()
        except Exception:  # a photo this scikit-image would have to download
            continue
        img = util.img_as_float(img)
        if img.ndim == 3:
            img = color.rgb2gray(img[..., :3])
        out.append(img.astype(np.float32))
    if not out:
        raise ValueError("No scikit-image photos are available here.")
    return out


@dataclass
class Whitener:
    """ZCA whitening fitted on patches: fit(), transform(), and inverse_transform() back to pixels."""

    epsilon: float = 0.1  # regularises the smallest eigenvalues (relative to the largest), keeps noise in check
    mean: np.ndarray | None = None
    matrix: np.ndarray | None = None
    inverse: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Whitener:
        flat = x.reshape(len(x), -1).astype(np.float64)
        self.mean = flat.mean(0)
        cov = np.cov((flat - self.mean).T)
        values, vectors = np.linalg.eigh(cov)
        values = np.maximum(values, 0) + self.epsilon * values.max()
        self.matrix = (vectors / np.sqrt(values)) @ vectors.T
        self.inverse = (vectors * np.sqrt(values)) @ vectors.T
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(len(x), -1) - self.mean
        return (flat @ self.matrix).reshape(x.shape).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return (x.reshape(len(x), -1) @ self.inverse + self.mean).reshape(x.shape).astype(np.float32)


def sample_patches(n: int, size: int = 12, seed: int = 0) -> np.ndarray:
    """n random size×size grey patches (N×1×size×size) from the photos, each with its mean removed."""
    if not 2 <= size <= 64:
        raise ValueError(f"Patch size must be between 2 and 64 pixels, got {size}.")
    if n < 1:
        raise ValueError("Ask for at least one patch.")
    rng, images = np.random.default_rng(seed), photos()
    which = rng.integers(len(images), size=n)
    out = np.empty((n, 1, size, size), np.float32)
    for i, k in enumerate(which):
        img = images[k]
        y, x = rng.integers(img.shape[0] - size), rng.integers(img.shape[1] - size)
        patch = img[y:y + size, x:x + size]
        out[i, 0] = patch - patch.mean()
    return out


def whitened_patches(n: int, size: int = 12, seed: int = 0) -> tuple[np.ndarray, Whitener]:
    """Whitened patches (N×1×size×size) scaled to a standard deviation of 1, and the whitener."""
    raw = sample_patches(n, size, seed)
    whitener = Whitener().fit(raw)
    x = whitener.transform(raw)
    return x / x.std(), whitener
