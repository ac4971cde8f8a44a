"""One training loop for every autoencoder: minibatch Adam on the model's own loss.

Usable from a background worker: progress goes to a callback, a stop flag is polled every step.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from engine.data import split_indices
from engine.device import configure_threads, pick_device


@dataclass
class TrainConfig:
    """How to train (the what lives in AEConfig)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    val_fraction: float = 0.1
    seed: int = 0
    device: str | None = None  # None: CUDA, then MPS, then CPU
    threads: int | None = None  # CPU threads; None: engine.device.configure_threads default
    max_seconds: float | None = None  # stop after this wall time
    augment: bool = False  # mirror and shift each batch (augment_batch): for small sets of faces, not for digits

    def validate(self) -> None:
        if self.epochs < 1 or self.epochs > 10_000:
            raise ValueError("Epochs must be between 1 and 10 000.")
        if self.batch_size < 1:
            raise ValueError("Batch size must be at least 1.")
        if not 0 < self.lr <= 1:
            raise ValueError("Learning rate must be in (0, 1].")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("Validation fraction must be in [0, 1).")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """One report of the loop, sent after every step (val_mse only at epoch ends)."""

    epoch: int
    epochs: int
    step: int
    steps_total: int
    loss: float
    seconds: float
    val_mse: float | None = None


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)  # training loss per step
    val_mse: list[float] = field(default_factory=list)  # validation MSE per finished epoch
    seconds: float = 0.0
    epochs_done: int = 0
    stopped: bool = False
    train_index: np.ndarray | None = None
    val_index: np.ndarray | None = None


def train(
    model,
    images: np.ndarray,
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Minimise model.loss over images (N×C×H×W in [0, 1]); returns per-step losses and per-epoch val MSE."""
    config.validate()
    if len(images) == 0:
        raise ValueError("No images to train on.")
    if tuple(images.shape[1:]) != tuple(model.config.input_shape):
        raise ValueError(
            f"The model expects images of shape {model.config.input_shape}, the data has {tuple(images.shape[1:])}."
        )
    device = pick_device(config.device)
    if device.type == "cpu":
        configure_threads(config.threads)
    torch.manual_seed(config.seed)
    train_idx, val_idx = split_indices(len(images), config.val_fraction, config.seed)
    x_train = torch.as_tensor(images[train_idx], dtype=torch.float32, device=device)
    x_val = torch.as_tensor(images[val_idx], dtype=torch.float32, device=device)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    batch = min(config.batch_size, len(x_train))
    steps_per_epoch = max(1, len(x_train) // batch)
    result = TrainResult(train_index=train_idx, val_index=val_idx)
    start, step = time.perf_counter(), 0

    def out_of_time() -> bool:
        return config.max_seconds is not None and time.perf_counter() - start > config.max_seconds

    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator).to(device)
        for b in range(steps_per_epoch):
            if (should_stop and should_stop()) or out_of_time():
                result.stopped = True
                break
            xb = x_train[order[b * batch : (b + 1) * batch]]
            loss, _ = model.loss(augment_batch(xb, generator) if config.augment else xb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            value = loss.item()
            if not np.isfinite(value):
                raise FloatingPointError(f"The loss became {value} at step {step}: lower the learning rate.")
            result.losses.append(value)
            if on_progress:
                on_progress(Progress(epoch, config.epochs, step, steps_per_epoch * config.epochs, value,
                                     time.perf_counter() - start))
        if result.stopped:
            break
        result.epochs_done = epoch
        if len(x_val):
            result.val_mse.append(_mse(model, x_val))
            if on_progress:
                on_progress(Progress(epoch, config.epochs, step, steps_per_epoch * config.epochs,
                                     result.losses[-1], time.perf_counter() - start, result.val_mse[-1]))
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability ½ and shift the batch by up to 1 pixel each way (edges
    repeated): 9 × 2 variants of every face, so 90 training faces (the LFW subset) overfit less."""
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)[:, None, None, None]
    x = torch.where(flip, x.flip(-1), x)
    dy, dx = torch.randint(0, 3, (2,), generator=generator).tolist()
    h, w = x.shape[-2:]
    return torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")[..., dy:dy + h, dx:dx + w]


@torch.no_grad()
def _mse(model, x: torch.Tensor, batch: int = 2048) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        code, _ = model.posterior(xb)
        total += torch.sum((model.to_image(model.decode_tensor(code)).clamp(0, 1) - xb) ** 2).item()
    model.train()
    return total / x.numel()
