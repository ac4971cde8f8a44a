"""Image to image: noise on a test image, and what a denoising AE vs a plain AE gives back, scored by PSNR.

    PSNR = 10 · log10(1 / MSE)   (pixels in [0, 1]; higher is better, +6 dB ≈ half the error's amplitude)
"""
from __future__ import annotations

import numpy as np


def add_noise(images: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """x + σ·ε, ε ~ N(0, 1) per pixel, clipped to [0, 1]."""
    if not 0 <= sigma <= 5:
        raise ValueError(f"Noise σ must be between 0 and 5, got {sigma}.")
    eps = np.random.default_rng(seed).standard_normal(images.shape).astype(np.float32)
    return np.clip(images + sigma * eps, 0, 1).astype(np.float32)


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of `other` against `clean` (both in [0, 1]); inf when identical."""
    mse = float(np.mean((np.asarray(clean, np.float64) - np.asarray(other, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def compare(models: dict, clean: np.ndarray, sigma: float, seed: int = 0) -> tuple[np.ndarray, dict]:
    """(noisy images, {name: (outputs, PSNR of the outputs)}) for each model's reconstruct() of the noisy images."""
    noisy = add_noise(clean, sigma, seed)
    out = {}
    for name, model in models.items():
        rec = model.reconstruct(noisy)
        out[name] = (rec, psnr(clean, rec))
    return noisy, out
