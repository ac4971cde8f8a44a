"""Walking the latent space: straight lines between codes and a grid of positions over a map."""
from __future__ import annotations

import numpy as np


def interpolate(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """steps points on the segment (1 − t)·a + t·b for t evenly in [0, 1] (the lecture's morph)."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return (1 - t) * a + t * b


def grid_over(coords: np.ndarray, per_side: int, margin: float = 0.04) -> np.ndarray:
    """per_side² positions covering the bounding box of 2-D coords (plus a margin), row by row."""
    lo, hi = coords.min(0), coords.max(0)
    pad = margin * (hi - lo + 1e-6)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], per_side)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], per_side)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
