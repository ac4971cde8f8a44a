"""Autoencoder checkpoints: the card, save and load, the shipped list, and the precomputed maps beside them."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file

from engine.checkpoints import CHECKPOINT_DIR, CheckpointError, jsonable, read_card_json, save_weights, stem
from engine.latent.models import AEConfig, Autoencoder

CARD_KEY = "latentlab_card"
FORMAT = "latentlab-autoencoder-1"
MAX_PARAMETERS = 50_000_000  # 200 MB of float32; the largest shipped autoencoder has under a million


@dataclass
class Card:
    """Everything needed to know what a checkpoint is and to rebuild it."""

    name: str
    dataset: str
    dataset_options: dict
    dataset_source: str
    model: dict  # AEConfig fields
    train: dict  # TrainConfig fields
    metrics: dict = field(default_factory=dict)
    command: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    format: str = FORMAT

    def fits(self, dataset: str, image_shape: tuple[int, int, int], options: dict | None = None) -> bool:
        """Whether this model was trained on `dataset` loaded with these options (whether it may download aside)
        at this image shape: LFW's faces-only models do not stand for the faces-and-non-faces set."""
        def kept(o):
            return {k: v for k, v in (o or {}).items() if k != "download"}

        return (self.dataset == dataset and tuple(self.model["input_shape"]) == tuple(image_shape)
                and kept(self.dataset_options) == kept(options))

    @property
    def title(self) -> str:
        m = self.model
        return f"{self.dataset} · {m['kind']} · code {m['code_size']}"

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=jsonable)


def save_checkpoint(model: Autoencoder, card: Card, path: str | Path) -> Path:
    """Write <stem>.safetensors (weights + card in its metadata) and <stem>.json (the card, readable)."""
    card.model = model.config.to_dict()
    return save_weights(model.state_dict(), path, CARD_KEY, card.__dict__)


def read_card(path: str | Path) -> Card:
    """The card stored inside a safetensors checkpoint, without loading the weights."""
    data = read_card_json(path, CARD_KEY, "checkpoint (no card)")
    try:
        return Card(**data)
    except TypeError as e:
        raise CheckpointError(f"{Path(path).name} has an unreadable card ({e}).") from None


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[Autoencoder, Card]:
    """Rebuild the model from its card and load the weights strictly (no pickle involved)."""
    path = Path(path)
    card = read_card(path)
    if card.format != FORMAT:
        raise CheckpointError(f"{path.name} has format {card.format!r}; this version reads {FORMAT!r}.")
    try:
        config = AEConfig(**card.model)
        check_shapes(path, config)
        model = Autoencoder(config)
        model.load_state_dict(load_file(str(path), device=str(device)), strict=True)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path.name}: weights do not match the card's model ({e}).") from None
    return model.to(device).eval(), card


def check_shapes(path: str | Path, config: AEConfig) -> None:
    """Before any real tensor is made: the card's model, built on PyTorch's "meta" device (shapes, no memory), must
    stay under MAX_PARAMETERS and have exactly the file's tensor names and shapes (read from its header)."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in Autoencoder(config).state_dict().items()}
    size = sum(math.prod(shape) for shape in expected.values())
    if size > MAX_PARAMETERS:
        raise CheckpointError(f"{Path(path).name}: its card describes a model of {size:,} parameters; this server "
                              f"loads at most {MAX_PARAMETERS:,}.")
    with safe_open(str(path), framework="pt") as f:
        found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    if found != expected:
        wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
        raise CheckpointError(f"{Path(path).name}: weights do not match the card's model "
                              f"({len(wrong)} tensors differ, e.g. {wrong[0]}).")


def list_checkpoints(folder: str | Path = CHECKPOINT_DIR) -> list[tuple[Path, Card]]:
    """All readable checkpoints in a folder, sorted by name; unreadable files are left out."""
    found = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        if path.name.endswith(".map.safetensors"):
            continue
        try:
            found.append((path, read_card(path)))
        except CheckpointError:
            continue
    return found


def map_path(checkpoint: str | Path) -> Path:
    return Path(checkpoint).with_name(stem(checkpoint) + ".map.safetensors")


def save_maps(checkpoint: str | Path, maps: dict[str, np.ndarray], info: dict) -> Path:
    """Precomputed 2-D maps of a checkpoint's dataset codes (one array per method)."""
    path = map_path(checkpoint)
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in maps.items()}
    save_numpy(arrays, str(path), metadata={"info": json.dumps(info, default=jsonable)})
    return path


def load_maps(checkpoint: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """The shipped maps of a checkpoint, or ({}, {}) when there are none."""
    path = map_path(checkpoint)
    if not path.exists():
        return {}, {}
    try:
        with safe_open(str(path), framework="np") as f:
            info = json.loads((f.metadata() or {}).get("info", "{}"))
        return load_numpy(str(path)), info
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path.name} is not a readable map file ({e}).") from None
