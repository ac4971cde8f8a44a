"""The identity trap (lecture: "Expanding autoencoder … naive approach will learn identity function!").

An over-complete one-layer AE (code larger than the input) trained with no regulariser next to the same AE with
L1 on the code (sparse), noise on the input (denoising) and dropout on the code (redundant). The symptoms of the
identity: how much of a small noise added to an unseen image comes out again (the identity copies all of it), and
the reconstruction error on unseen images and on pure-noise images.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig

REGULARISERS = {
    "plain": "no regulariser",
    "sparse": "L1 on the code (sparse)",
    "denoising": "noise on the input (denoising)",
    "dropout": "dropout on the code (redundant)",
}
FORMULAS = {
    "plain": r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(x))\|^2",
    "sparse": r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(x))\|^2 + \lambda \sum_i |\mathrm{Enc}_i(x)|",
    "denoising": r"L = \|x - \mathrm{Dec}(\mathrm{Enc}(x + \sigma\varepsilon))\|^2",
    "dropout": r"L = \|x - \mathrm{Dec}(\mathrm{Drop}_p(\mathrm{Enc}(x)))\|^2",
}
MAX_CODE = 4096


@dataclass
class IdentityConfig:
    """The over-complete AE and its four regularisers."""

    code_size: int = 1024  # > 784, MNIST's input
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-3
    sparse_l1: float = 3e-4
    noise_sigma: float = 0.5
    dropout: float = 0.5
    seed: int = 0
    models: tuple[str, ...] = tuple(REGULARISERS)

    def ae_config(self, name: str, input_shape: tuple[int, int, int]) -> AEConfig:
        extra = {"plain": {"allow_identity": True}, "sparse": {"sparse_l1": self.sparse_l1},
                 "denoising": {"noise_sigma": self.noise_sigma}, "dropout": {"code_dropout": self.dropout}}[name]
        return AEConfig(kind="shallow", input_shape=input_shape, code_size=self.code_size, **extra)

    def validate(self, input_shape: tuple[int, int, int]) -> None:
        """ValueError with a message for settings that cannot run or that show nothing."""
        unknown = [m for m in self.models if m not in REGULARISERS]
        if unknown or not self.models:
            raise ValueError(f"Pick models among {', '.join(REGULARISERS)}.")
        size = int(np.prod(input_shape))
        if not size < self.code_size <= MAX_CODE:
            raise ValueError(f"The code must be larger than the input ({size} values) to be over-complete, and at "
                             f"most {MAX_CODE}; got {self.code_size}.")
        if self.epochs < 1 or self.epochs > 200:
            raise ValueError("Epochs must be between 1 and 200.")
        for name in self.models:
            self.ae_config(name, input_shape).validate()


def noise_images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Pure noise: every pixel uniform in [0, 1], independently."""
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def mse_per_image(model: Autoencoder, images: np.ndarray) -> np.ndarray:
    """Mean squared error per pixel of Dec(Enc(x)) against x, one number per image."""
    return np.mean((model.reconstruct(images) - images) ** 2, axis=tuple(range(1, images.ndim)))


def noise_passed(model: Autoencoder, images: np.ndarray, sigma: float = 0.1, seed: int = 0) -> float:
    """Share of the energy of a small Gaussian noise n added to the images that comes out of the AE:
    ‖f(x + n) − f(x)‖² / ‖n‖², f the AE before clipping to [0, 1]. The identity passes 1; a perfect denoiser 0."""
    n = (sigma * np.random.default_rng(seed).standard_normal(images.shape)).astype(np.float32)
    with torch.no_grad():
        model.eval()
        x = torch.as_tensor(np.asarray(images, np.float32))

        def f(v):
            return model.to_image(model.decode_tensor(model.posterior(v)[0]))

        passed = f(x + torch.as_tensor(n)) - f(x)
    return float((passed ** 2).sum() / max((n ** 2).sum(), 1e-12))


@dataclass
class Score:
    data_mse: float  # on test images the model never saw
    noise_mse: float  # on pure-noise images
    passed: float  # share of small added noise that comes out (noise_passed)
    seconds: float  # training time


@dataclass
class IdentityLab:
    """fit() trains one over-complete AE per regulariser; transform() reconstructs; score() measures both errors."""

    config: IdentityConfig = field(default_factory=IdentityConfig)
    models: dict[str, Autoencoder] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    losses: dict[str, list[float]] = field(default_factory=dict)

    def fit(self, images: np.ndarray, on_progress: Callable[[float, str], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> bool:
        """Train every model on the images (N×C×H×W in [0, 1]); True when stopped early."""
        cfg, shape = self.config, tuple(images.shape[1:])
        cfg.validate(shape)
        if len(images) < 2:
            raise ValueError("Need at least 2 training images.")
        for i, name in enumerate(cfg.models):
            torch.manual_seed(cfg.seed)
            model = Autoencoder(cfg.ae_config(name, shape))
            losses = self.losses.setdefault(name, [])

            def progress(p, i=i, name=name, losses=losses):
                losses.append(p.loss)
                if on_progress:
                    on_progress((i + p.step / max(1, p.steps_total)) / len(cfg.models),
                                f"{name}: epoch {p.epoch}/{p.epochs}")

            start = time.perf_counter()
            result = model.fit(images, TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                                   val_fraction=0.0, seed=cfg.seed), progress, should_stop)
            self.models[name], self.seconds[name] = model, time.perf_counter() - start
            if result.stopped:
                return True
        return False

    def transform(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Each model's reconstructions of the images."""
        return {name: model.reconstruct(images) for name, model in self.models.items()}

    def score(self, test_images: np.ndarray, noise: np.ndarray) -> dict[str, Score]:
        return {name: Score(float(mse_per_image(m, test_images).mean()), float(mse_per_image(m, noise).mean()),
                            noise_passed(m, test_images), self.seconds[name]) for name, m in self.models.items()}


@dataclass
class IdentityRun:
    """What the page shows of one run: the trained lab, its scores, and a few inputs with each model's outputs."""

    lab: IdentityLab
    images_shape: tuple[int, ...]
    scores: dict[str, Score] = field(default_factory=dict)
    data_in: np.ndarray | None = None
    data_out: dict[str, np.ndarray] = field(default_factory=dict)
    noise_in: np.ndarray | None = None
    noise_out: dict[str, np.ndarray] = field(default_factory=dict)


def run_identity(config: IdentityConfig, train: np.ndarray, test: np.ndarray,
                 on_progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, shown: int = 8) -> IdentityRun:
    """Fit the lab on `train`, score it on `test` and on as many pure-noise images; keep `shown` of each."""
    lab = IdentityLab(config)
    lab.fit(train, on_progress, should_stop)
    run = IdentityRun(lab, tuple(train.shape[1:]))
    if lab.models:
        noise = noise_images(len(test), tuple(train.shape[1:]), config.seed)
        run.scores = lab.score(test, noise)
        run.data_in, run.noise_in = test[:shown], noise[:shown]
        run.data_out, run.noise_out = lab.transform(run.data_in), lab.transform(run.noise_in)
    return run
