"""Checkpoints: safetensors weights + a JSON card (data, config, metrics, seed, the command that made it).

Loading never unpickles: only safetensors files carrying a Latent Lab card are accepted. This module holds what
every kind of checkpoint shares (autoencoders: engine.latent.checkpoints; GANs, classifiers: their packages).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


class CheckpointError(ValueError):
    """A file that is not a loadable Latent Lab checkpoint; str(e) says why, for the user."""


def jsonable(value):
    """json.dumps(default=jsonable): numpy scalars and arrays, tuples."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def stem(path: str | Path) -> str:
    """A checkpoint's name without ".safetensors" (not Path.stem: "beta0.5" must stay "beta0.5")."""
    return Path(path).name.removesuffix(".safetensors")


def save_weights(tensors: dict[str, torch.Tensor], path: str | Path, key: str, card: dict) -> Path:
    """Write tensors to <stem>.safetensors with the card (JSON) under `key` in its metadata, and <stem>.json beside
    it for people to read. Every checkpoint of the app is written here."""
    path = Path(path)
    out = path.with_name(stem(path) + ".safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(card, indent=2, sort_keys=True, default=jsonable)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(out), metadata={key: text})
    out.with_name(stem(path) + ".json").write_text(text + "\n")
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
