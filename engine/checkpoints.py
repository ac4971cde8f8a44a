"""Checkpoints: safetensors weights + a JSON card (data, config, metrics, seed, the command that made it).

Loading never unpickles: only safetensors files carrying a Latent Lab card are accepted.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file, save_file

from engine.models import AEConfig, Autoencoder

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
CARD_KEY = "latentlab_card"
FORMAT = "latentlab-autoencoder-1"


class CheckpointError(ValueError):
    """A file that is not a loadable Latent Lab checkpoint; str(e) says why, for the user."""


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

    @property
    def title(self) -> str:
        m = self.model
        return f"{self.dataset} · {m['kind']} · code {m['code_size']}"

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=jsonable)


def jsonable(value):
    """json.dumps(default=jsonable): numpy scalars and arrays, tuples."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def save_checkpoint(model: Autoencoder, card: Card, stem: str | Path) -> Path:
    """Write <stem>.safetensors (weights + card in its metadata) and <stem>.json (the card, readable)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    card.model = model.config.to_dict()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    base = stem.name.removesuffix(".safetensors")  # not with_suffix: "beta0.5" must stay "beta0.5"
    path = stem.with_name(base + ".safetensors")
    save_file(state, str(path), metadata={CARD_KEY: card.to_json()})
    stem.with_name(base + ".json").write_text(card.to_json() + "\n")
    return path


def save_weights(tensors: dict[str, torch.Tensor], path: str | Path, key: str, card: dict) -> Path:
    """Write tensors to <stem>.safetensors with the card (JSON) under `key` in its metadata, and <stem>.json beside
    it for people to read. Shared by GAN, classifier and other small-network checkpoints."""
    path = Path(path)
    base = path.name.removesuffix(".safetensors")
    out = path.with_name(base + ".safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(card, indent=2, sort_keys=True, default=jsonable)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(out), metadata={key: text})
    out.with_name(base + ".json").write_text(text + "\n")
    return out


def read_card_json(path: str | Path, key: str, what: str, fmt: str | None = None) -> dict:
    """The JSON card stored under `key` in a .safetensors file's metadata; anything else is refused, never opened
    as a pickle. Shared by autoencoder, GAN and classifier checkpoints; `fmt` also checks the card's format."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(
            f"{path.name}: only .safetensors files made by Latent Lab are accepted "
            "(pickled .pt/.pth/.pkl files can run code when loaded and are refused)."
        )
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path.name} is not a valid safetensors file ({e}).") from None
    if key not in meta:
        raise CheckpointError(f"{path.name} is a safetensors file but not a Latent Lab {what}.")
    try:
        card = json.loads(meta[key])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path.name} has an unreadable card ({e}).") from None
    if fmt is not None and card.get("format") != fmt:
        raise CheckpointError(f"{path.name} has format {card.get('format')!r}; this version reads {fmt!r}.")
    return card


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
        model = Autoencoder(AEConfig(**card.model))
        model.load_state_dict(load_file(str(path), device=str(device)), strict=True)
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path.name}: weights do not match the card's model ({e}).") from None
    return model.to(device).eval(), card


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
    path = Path(checkpoint)
    return path.with_name(path.name.removesuffix(".safetensors") + ".map.safetensors")


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
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            info = json.loads((f.metadata() or {}).get("info", "{}"))
        return load_numpy(str(path)), info
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path.name} is not a readable map file ({e}).") from None
