"""The small image classifiers shipped as checkpoints: seeded construction, one training loop, batched
probabilities, and save/load as safetensors + card (engine.checkpoints).

Used by the digit score (engine.gan.digit_score) and the attribute classifier (engine.faces.attributes); each
keeps its own layers, loss (softmax vs per-attribute sigmoid) and augmentation.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from engine.checkpoints import CheckpointError, read_card_json, save_weights, stem


@dataclass(frozen=True)
class ClassifierFile:
    """How one kind of classifier is stored: the metadata key of its card, the card's format, what the user is
    told it is, and the network a card describes (its layers, untrained)."""
    key: str
    format: str
    what: str
    net: Callable[[dict], nn.Module]


def seeded(make: Callable[[], nn.Module], seed: int) -> nn.Module:
    """make() with its initial weights drawn from torch.manual_seed(seed), leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def fit(net: nn.Module, loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor], train_idx: np.ndarray, *,
        epochs: int, seed: int, batch_size: int, lr: float,
        epoch_rows: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        params: list[dict] | None = None) -> nn.Module:
    """Adam on loss(rows, gen) over `epochs` seeded shuffles of train_idx, batch_size rows at a time; gen is the
    one seeded generator of the run (for noise and augmentation). epoch_rows(order, gen) turns an epoch's shuffled
    indices into the rows that are batched (default: the indices themselves). params: Adam's parameter groups
    (e.g. a lower rate for some layers; default: all of net's parameters at lr). Returns net, in eval mode."""
    opt = torch.optim.Adam(params if params is not None else net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        rows = torch.as_tensor(train_idx)[torch.randperm(len(train_idx), generator=gen)]
        if epoch_rows is not None:
            rows = epoch_rows(rows, gen)
        for b in range(0, len(rows), batch_size):
            value = loss(rows[b:b + batch_size], gen)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def probabilities(net: nn.Module, images: np.ndarray, squash: Callable[[torch.Tensor], torch.Tensor],
                  batch: int) -> np.ndarray:
    """squash(net(x)) for the images, `batch` at a time (softmax over classes, or a sigmoid per attribute)."""
    x = torch.as_tensor(np.asarray(images, np.float32))
    return torch.cat([squash(net(x[i:i + batch])) for i in range(0, len(x), batch)]).numpy()


def save(kind: ClassifierFile, net: nn.Module, path: str | Path, card: dict) -> Path:
    """<stem>.safetensors (weights, the card in its metadata) and <stem>.json; the card gains name, format and
    the time it was written."""
    card = {**card, "name": stem(path), "format": kind.format, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    return save_weights(net.state_dict(), path, kind.key, card)


def load(kind: ClassifierFile, path: str | Path) -> tuple[nn.Module, dict]:
    """The classifier and its card, in eval mode; safetensors weights only, never a pickle."""
    card = read_card_json(path, kind.key, kind.what, kind.format)
    net = kind.net(card)
    try:
        net.load_state_dict(load_file(str(path)), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{Path(path).name}: weights do not match the classifier ({e}).") from None
    return net.eval(), card
