"""What an AE learns on natural-photo patches: the filters of sparse, denoising and plain AEs as 12×12 tiles next
to PCA's components (the classic contrast), with a number for how localised each filter is.

The filters shown are the decoder's weights, the patch each code unit adds to the reconstruction (with one layer
and a linear decoder, what the lecture's figures show; the encoder's weights follow them, more slowly).

    localisation of a filter w = max over 6×6 windows of Σ_window p_i,   p_i = w_i² / Σ_j w_j²
(the share of its energy in its best quarter of the 12×12 patch: 0.25 when spread evenly, 1 when all inside).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from engine.aelab.patches import whitened_patches
from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig

MODELS = {"sparse": "sparse AE (L1 on the code)", "denoising": "denoising AE", "plain": "plain AE",
          "pca": "PCA components"}


@dataclass
class FilterConfig:
    patches: int = 3000
    size: int = 12
    code_size: int = 64
    epochs: int = 10
    lr: float = 1e-2
    sparse_l1: float = 0.1
    noise_sigma: float = 0.5  # the whitened patches have a std of 1
    seed: int = 0

    def validate(self) -> None:
        if not 1 <= self.code_size <= 1024:
            raise ValueError(f"Number of filters (code size) must be between 1 and 1024, got {self.code_size}.")
        if not 100 <= self.patches <= 200_000:
            raise ValueError(f"Patches must be between 100 and 200 000, got {self.patches}.")
        if not 1 <= self.epochs <= 200:
            raise ValueError("Epochs must be between 1 and 200.")

    def ae_config(self, name: str) -> AEConfig:
        extra = {"sparse": {"sparse_l1": self.sparse_l1}, "denoising": {"noise_sigma": self.noise_sigma},
                 "plain": {"allow_identity": True}}[name]
        return AEConfig(kind="shallow", input_shape=(1, self.size, self.size), code_size=self.code_size, **extra)


def localisation(filters: np.ndarray) -> np.ndarray:
    """Each filter's share of energy in its best window of half the side (see the module's docstring)."""
    from numpy.lib.stride_tricks import sliding_window_view

    energy = filters.reshape(len(filters), *filters.shape[-2:]).astype(np.float64) ** 2
    p = energy / np.maximum(energy.sum((1, 2), keepdims=True), 1e-30)
    side = max(1, filters.shape[-1] // 2)
    return sliding_window_view(p, (side, side), axis=(1, 2)).sum((-1, -2)).max((1, 2))


def pca_filters(patches: np.ndarray, n: int) -> np.ndarray:
    """The first n principal components of the patches, as filters (n × 1 × size × size)."""
    from sklearn.decomposition import PCA

    flat = patches.reshape(len(patches), -1)
    return PCA(min(n, flat.shape[1]), random_state=0).fit(flat).components_.reshape(-1, *patches.shape[1:])


@dataclass
class FilterRun:
    filters: dict[str, np.ndarray] = field(default_factory=dict)  # name → k × 1 × size × size
    localisation: dict[str, float] = field(default_factory=dict)  # name → median localisation
    seconds: dict[str, float] = field(default_factory=dict)


def run_filters(config: FilterConfig, on_progress: Callable[[float, str], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> FilterRun:
    """Whitened patches → PCA, then the sparse, denoising and plain AEs; each one's first-layer weights."""
    config.validate()
    report = on_progress or (lambda f, t: None)
    report(0.0, "cutting and whitening patches")
    x, _ = whitened_patches(config.patches, config.size, config.seed)
    run = FilterRun()
    start = time.perf_counter()
    run.filters["pca"] = pca_filters(x, config.code_size)
    run.seconds["pca"] = time.perf_counter() - start
    names = ["sparse", "denoising", "plain"]
    for i, name in enumerate(names):
        torch.manual_seed(config.seed)
        model = Autoencoder(config.ae_config(name))

        def progress(p, i=i, name=name):
            report((i + p.step / max(1, p.steps_total)) / len(names), f"{name}: epoch {p.epoch}/{p.epochs}")

        start = time.perf_counter()
        result = model.fit(x, TrainConfig(epochs=config.epochs, batch_size=64, lr=config.lr, val_fraction=0.0,
                                          seed=config.seed), progress, should_stop)
        run.seconds[name] = time.perf_counter() - start
        run.filters[name] = model.decoder.weight.detach().numpy().T.reshape(-1, 1, config.size, config.size)
        if result.stopped:
            break
    run.filters = {k: run.filters[k] for k in MODELS if k in run.filters}
    run.localisation = {k: float(np.median(localisation(f))) for k, f in run.filters.items()}
    return run


def tiles(filters: np.ndarray) -> np.ndarray:
    """Filters as images in [0, 1], each scaled on its own (grey = 0, as in the lecture's figures)."""
    flat = filters.reshape(len(filters), -1)
    scale = np.maximum(np.abs(flat).max(1, keepdims=True), 1e-12)
    return (0.5 + 0.5 * flat / scale).reshape(filters.shape).astype(np.float32)
