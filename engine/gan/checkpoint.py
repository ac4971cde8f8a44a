"""GAN checkpoints: G and D in one .safetensors file, with a card (data, config, iterations, metrics, command)."""
from __future__ import annotations

import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from engine.checkpoints import CHECKPOINT_DIR, CheckpointError, read_card_json, save_weights, stem
from engine.gan.model import GAN

CARD_KEY, FORMAT = "latentlab_gan_card", "latentlab-gan-1"
DCGAN_PATH = CHECKPOINT_DIR / "mnist-dcgan.safetensors"
ARCHITECTURE = ("noise_dim", "width", "depth", "channels")  # config fields the weights depend on


def read_gan_card(path: str | Path) -> dict:
    """The card inside a GAN checkpoint (data, config, iterations, metrics, command), without the weights."""
    return read_card_json(path, CARD_KEY, "GAN checkpoint", FORMAT)


def save_gan(gan: GAN, path: str | Path, command: str, metrics: dict) -> Path:
    """Write <stem>.safetensors (G and D, card in the metadata) and <stem>.json (the card, readable)."""
    tensors = {f"{net}.{k}": v for net, module in (("G", gan.G), ("D", gan.D)) for k, v in module.state_dict().items()}
    card = {
        "name": stem(path), "format": FORMAT, "data": gan.config.data, "data_shape": list(gan.data.shape[1:]),
        "config": gan.config.to_dict(), "iterations": gan.iterations, "step": gan.updates, "metrics": metrics,
        "command": command, "normalisation": gan.normalisation, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return save_weights(tensors, path, CARD_KEY, card)


def read_gan_weights(path: str | Path, gan: GAN) -> tuple[dict, dict[str, dict[str, torch.Tensor]]]:
    """The card and the weights ({"G": state dict, "D": state dict}, on the GAN's device) of a checkpoint made
    for this GAN's data shape and architecture; CheckpointError when it was not. Changes nothing."""
    card = read_gan_card(path)
    mine = gan.config.to_dict()
    different = [k for k in ARCHITECTURE if card["config"].get(k) != mine[k]]
    if card["data_shape"] != list(gan.data.shape[1:]) or different:
        raise CheckpointError(f"{Path(path).name} was trained with another architecture or data shape "
                              f"({', '.join(different) or 'data shape ' + str(card['data_shape'])}); "
                              "use load_trainer() to rebuild it from its card.")
    tensors = load_file(str(path), device=str(gan.device))
    weights = {net: {k[2:]: v for k, v in tensors.items() if k.startswith(net + ".")} for net in ("G", "D")}
    for net, module in (("G", gan.G), ("D", gan.D)):
        expected = {k: v.shape for k, v in module.state_dict().items()}
        if {k: v.shape for k, v in weights[net].items()} != expected:
            raise CheckpointError(f"{Path(path).name}: weights do not match the card's networks "
                                  f"({net}'s tensors differ in names or shapes).")
    return card, weights


def load_gan(gan: GAN, card: dict, weights: dict[str, dict[str, torch.Tensor]]) -> None:
    """Put what read_gan_weights() returned into the GAN: normalisation, fresh optimisers, G, D and counters."""
    gan.restore(weights, card["normalisation"], card["iterations"], card["step"])
