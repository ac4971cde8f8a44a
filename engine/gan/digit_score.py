"""The shipped MNIST classifier that tells whether a generator draws digits: confidence and class balance.

A GAN's losses do not say whether its samples look right; a classifier trained once on real digits does
(the idea behind the Inception Score, Salimans et al. 2016, on a small scale).
"""
from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine import classifier
from engine.checkpoints import CHECKPOINT_DIR

CLASSIFIER_PATH = CHECKPOINT_DIR / "mnist-classifier.safetensors"
CONFIDENT = 0.8  # classifier_score: a sample counts as confident above this max probability
PASS_SHARE = 0.7  # ... and the generator passes when this share of its samples is confident


def classifier_net() -> nn.Sequential:
    """28×28 digit → Conv 32 (3×3), pool → Conv 64 (3×3), pool → Linear 64 → 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


CLASSIFIER_FILE = classifier.ClassifierFile(key="latentlab_classifier_card", format="latentlab-classifier-1",
                                            what="classifier", net=lambda card: classifier_net())


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 10, seed: int = 0,
                     test_fraction: float = 0.1, batch_size: int = 64, lr: float = 1e-3,
                     outlier_weight: float = 0.5) -> tuple[nn.Sequential, dict]:
    """Adam on cross-entropy over a seeded train split, plus outlier exposure (Hendrycks et al. 2019) to uniform
    noise images x̃: L = CE(f(x), y) + w · CE(f(x̃), uniform), so noise (and an untrained generator) gets low
    confidence instead of passing the score (a plain CNN calls 70 % of noise images a confident "3").
    Metrics: accuracy and the confident share on the held-out split, and the confident share of noise."""
    from engine.data import split_indices

    start = time.perf_counter()
    train_idx, test_idx = split_indices(len(images), test_fraction, seed)
    x = torch.as_tensor(images, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    net = classifier.seeded(classifier_net, seed)

    def loss(idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        noise = net(torch.rand(x[idx].shape, generator=gen))
        return F.cross_entropy(net(x[idx]), y[idx]) - outlier_weight * F.log_softmax(noise, 1).mean()

    classifier.fit(net, loss, train_idx, epochs=epochs, seed=seed, batch_size=batch_size, lr=lr)
    noise = torch.rand((len(test_idx), *images.shape[1:]), generator=torch.Generator().manual_seed(seed + 1)).numpy()
    metrics = {"test_accuracy": classifier_accuracy(net, images[test_idx], labels[test_idx]),
               "test_confident": classifier_score(images[test_idx], net)["confident"],
               "noise_confident": classifier_score(noise, net)["confident"],
               "train_images": len(train_idx), "test_images": len(test_idx), "epochs": epochs,
               "outlier_weight": outlier_weight, "seconds": round(time.perf_counter() - start, 1)}
    return net, metrics


def probabilities(images: np.ndarray, net: nn.Module | None = None) -> np.ndarray:
    """N×10 class probabilities (softmax) of 28×28 digits, by the shipped classifier unless net is given."""
    net = net if net is not None else load_classifier()[0]
    return classifier.probabilities(net, images, lambda logits: torch.softmax(logits, 1), batch=1000)


def classifier_accuracy(net: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float((probabilities(images, net).argmax(1) == np.asarray(labels)).mean())


def save_classifier(net: nn.Module, path: str | Path, card: dict) -> Path:
    """Write <stem>.safetensors (weights, card in the metadata) and <stem>.json."""
    return classifier.save(CLASSIFIER_FILE, net, path, card)


@functools.lru_cache(maxsize=4)
def load_classifier(path: str | Path = CLASSIFIER_PATH) -> tuple[nn.Sequential, dict]:
    """The digit classifier and its card (cached per path; safetensors only)."""
    return classifier.load(CLASSIFIER_FILE, path)


def classifier_score(images: np.ndarray, net: nn.Module | None = None) -> dict:
    """How digit-like generated 28×28 images are: confident = share with max class probability > 0.8,
    balance = entropy of the predicted-class histogram / log 10 (1 = all digits equally often), classes = counts."""
    probs = probabilities(images, net)
    counts = np.bincount(probs.argmax(1), minlength=10)
    freq = counts[counts > 0] / max(counts.sum(), 1)
    confident = float((probs.max(1) > CONFIDENT).mean()) if len(probs) else 0.0
    return {"confident": confident, "balance": float(-(freq * np.log(freq)).sum() / math.log(10)),
            "classes": counts.tolist(), "passed": confident >= PASS_SHARE}
