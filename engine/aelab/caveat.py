"""The lecture's caveat ("may learn features irrelevant to your problem, e.g. background sky color"), built as a
dataset: each digit drawn over a random crop of a photo whose brightness varies a lot from image to image, so a
factor unrelated to the label dominates the pixels (in the spirit of MNIST-M, Ganin et al. 2016): x = max(b·p, d)."""
from __future__ import annotations

import numpy as np

from engine.aelab.data import Split
from engine.aelab.patches import photos
from engine.data import ImageDataset


def on_backgrounds(data: ImageDataset, seed: int = 0) -> ImageDataset:
    """Every grey image d (N×1×H×W in [0, 1]) drawn in white over a background: max(b·p, d), p a random H×W crop
    of a scikit-image photo, b a brightness drawn uniformly from [0.1, 1] per image. Labels unchanged."""
    rng, images = np.random.default_rng(seed), photos()
    n, _, h, w = data.images.shape
    out = np.empty_like(data.images)
    for i in range(n):
        img = images[rng.integers(len(images))]
        y, x = rng.integers(img.shape[0] - h), rng.integers(img.shape[1] - w)
        out[i, 0] = np.maximum(rng.uniform(0.1, 1.0) * img[y:y + h, x:x + w], data.images[i, 0])
    return ImageDataset(f"{data.name}-bg", out, data.labels, data.label_names,
                        f"{data.source}, drawn over photo crops of random brightness", notes=list(data.notes))


def split_on_backgrounds(split: Split, seed: int = 0) -> Split:
    return Split(on_backgrounds(split.pool, seed), on_backgrounds(split.test, seed + 1))
