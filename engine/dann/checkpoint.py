"""DANN checkpoints: the DANN network in one .safetensors file, with a card (config, the three runs' accuracies,
the DANN run's curves, the command that made it); the shipped MNIST → MNIST-M-like experiment."""
from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path

from safetensors.torch import load_file

from engine.checkpoints import CHECKPOINT_DIR, CheckpointError, read_card_json, save_weights, stem
from engine.dann.domains import DomainPair
from engine.dann.live import DANNSnapshot, Experiment
from engine.dann.train import DANNConfig

CARD_KEY, FORMAT = "latentlab_dann_card", "latentlab-dann-2"  # 2: standardised inputs, 500-500 domain classifier
SHIPPED_PATH = CHECKPOINT_DIR / "mnist-m-dann.safetensors"


def save_experiment(exp: Experiment, path: str | Path, command: str, seconds: dict | None = None) -> Path:
    """Write <stem>.safetensors (the DANN network, card in the metadata) and <stem>.json (the card, readable)."""
    if exp.snap.state != "done":
        raise ValueError(f"Only a finished experiment is saved; this one is {exp.snap.state}.")
    snap = exp.snap
    card = {"name": stem(path), "format": FORMAT, "pair": exp.pair.key, "config": exp.config.to_dict(),
            "results": snap.results, "curves": snap.curves, "evals": snap.evals, "seconds": seconds or {},
            "command": command, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    return save_weights(exp.dann.model.state_dict(), path, CARD_KEY, card)


def read_card(path: str | Path) -> dict:
    return read_card_json(path, CARD_KEY, "DANN checkpoint", FORMAT)


def load_experiment(path: str | Path, pair: DomainPair) -> Experiment:
    """A finished Experiment from a checkpoint made for this pair: the DANN network's weights, the card's curves and
    results, and the feature maps of the network before (its seeded start) and after training."""
    card = read_card(path)
    if card["pair"] != pair.key:
        raise CheckpointError(f"{Path(path).name} was trained on the pair {card['pair']!r}, not {pair.key!r}.")
    known = {f.name for f in fields(DANNConfig)}
    exp = Experiment(DANNConfig(**{k: v for k, v in card["config"].items() if k in known}), pair)
    weights = load_file(str(path))
    try:
        exp.dann.model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{Path(path).name}: its weights do not fit the DANN network ({e}).") from None
    exp.dann.iteration = exp.dann.total
    exp.snap = DANNSnapshot(state="done", message=f"Loaded {Path(path).name}: {card['command']}",
                            stages=exp.stages, stage=exp.stages[-1], curves=card["curves"], evals=card["evals"],
                            results=card["results"], map_before=exp.snap.map_before,
                            map_after=exp.dann.feature_map())
    return exp
