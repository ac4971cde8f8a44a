"""Walking the latent space: straight lines between codes and a grid of positions over a map."""
from __future__ import annotations

import numpy as np


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    """steps points from a to b for t evenly in [0, 1]: on the segment (1 − t)·a + t·b (the lecture's morph),
    or along the arc between them with method="slerp" (see slerp)."""
    return path(a, b, np.linspace(0.0, 1.0, steps, dtype=np.float32), method)


def path(a: np.ndarray, b: np.ndarray, t, method: str = "linear") -> np.ndarray:
    """The points at positions t (a number or an array) between codes a and b; one row per t."""
    t = np.atleast_1d(np.asarray(t, np.float32))[:, None]
    a, b = np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel()
    if method == "slerp":
        return slerp(a, b, t)
    if method != "linear":
        raise ValueError(f"Unknown interpolation {method!r}; choose linear or slerp.")
    return (1 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for VAE codes):
        slerp(a, b; t) = sin((1 − t)·Ω)/sin Ω · a + sin(t·Ω)/sin Ω · b,   cos Ω = a·b / (‖a‖‖b‖).
    Why: a Gaussian code of many dimensions lies near a sphere of radius ≈ √k, and the straight line
    between two codes cuts through the low-probability middle; the arc stays at their norms.
    Falls back to the straight line when Ω ≈ 0 (the same direction, e.g. two identical images) or a code is 0.
    """
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.clip(a @ b / (na * nb), -1, 1)) if na > 0 and nb > 0 else 1.0
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-4:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def grid_over(coords: np.ndarray, per_side: int, margin: float = 0.04) -> np.ndarray:
    """per_side² positions covering the bounding box of 2-D coords (plus a margin), row by row."""
    lo, hi = coords.min(0), coords.max(0)
    pad = margin * (hi - lo + 1e-6)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], per_side)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], per_side)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
