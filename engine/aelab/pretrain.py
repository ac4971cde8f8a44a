"""Unsupervised pretraining (lecture: "use autoencoder as initialization"): a conv classifier whose conv part starts
from a conv AE's encoder, trained without labels on the whole pool, vs the same network from random weights,
fine-tuned on k labels per class.

    classifier(x) = head(Enc(x)),  Enc from Autoencoder(kind="conv"),  head = Linear(code, classes)
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine import classifier as clf
from engine.aelab.data import Split
from engine.aelab.labels import per_class
from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig

AE_KINDS = {"plain": {}, "denoising": {"noise_sigma": 0.3}, "sparse": {"sparse_l1": 0.01},
            "masking": {"input_dropout": 0.5}}
ENCODER_MODES = {"finetune": "fine-tuned at the same learning rate", "slow": "fine-tuned at 1/10 the learning rate",
                 "frozen": "frozen (only the head learns)"}


@dataclass
class PretrainConfig:
    """One setting of the pretraining table: how the AE learns without labels, and how the classifier fine-tunes."""

    ae: str = "denoising"  # a key of AE_KINDS
    unlabelled: int = 20_000  # pool images the AE trains on (no labels)
    ae_epochs: int = 5
    channels: int = 16  # first conv layer's channels (the second has twice as many)
    code_size: int = 64
    encoder: str = "finetune"  # a key of ENCODER_MODES
    steps: int = 300  # fine-tuning steps (Adam)
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0  # the AE's seed

    def validate(self) -> None:
        if self.ae not in AE_KINDS:
            raise ValueError(f"Unknown autoencoder {self.ae!r}; choose one of {', '.join(AE_KINDS)}.")
        if self.encoder not in ENCODER_MODES:
            raise ValueError(f"Unknown encoder mode {self.encoder!r}; choose one of {', '.join(ENCODER_MODES)}.")
        if not 1 <= self.code_size <= 4096:
            raise ValueError(f"Code size must be between 1 and 4096, got {self.code_size}.")
        if not 1 <= self.channels <= 256:
            raise ValueError(f"Channels must be between 1 and 256, got {self.channels}.")
        if self.unlabelled < 1 or self.ae_epochs < 1 or self.steps < 1:
            raise ValueError("Unlabelled images, AE epochs and fine-tuning steps must each be at least 1.")

    def ae_config(self, input_shape: tuple[int, int, int]) -> AEConfig:
        return AEConfig(kind="conv", input_shape=input_shape, code_size=self.code_size, channels=self.channels,
                        **AE_KINDS[self.ae])


class ConvClassifier(nn.Module):
    """A conv AE's encoder (stride-2 convs, then a linear layer to the code) with a linear head on the code."""

    def __init__(self, encoder: nn.Module, code_size: int, classes: int):
        super().__init__()
        self.encoder, self.head = encoder, nn.Linear(code_size, classes)

    def forward(self, x):
        return self.head(F.relu(self.encoder(x)))


def pretrain_ae(images: np.ndarray, config: PretrainConfig, on_progress=None, should_stop=None) -> Autoencoder:
    """The conv AE of this setting, trained on the images without labels."""
    config.validate()
    torch.manual_seed(config.seed)
    ae = Autoencoder(config.ae_config(tuple(images.shape[1:])))
    ae.fit(images[: config.unlabelled], TrainConfig(epochs=config.ae_epochs, batch_size=128, lr=2e-3,
                                                    val_fraction=0.0, seed=config.seed, device="cpu"),
           on_progress, should_stop)
    return ae


def classifier(config: PretrainConfig, input_shape: tuple[int, int, int], classes: int, seed: int,
               ae: Autoencoder | None = None) -> ConvClassifier:
    """The classifier with a copy of `ae`'s encoder (its weights exactly), or a seeded random one of the same shape."""
    def make():
        encoder = copy.deepcopy(ae.encoder) if ae is not None else Autoencoder(config.ae_config(input_shape)).encoder
        return ConvClassifier(encoder, config.code_size, classes)

    return clf.seeded(make, seed)


def fine_tune(net: ConvClassifier, images: np.ndarray, labels: np.ndarray, config: PretrainConfig, seed: int,
              pretrained: bool) -> ConvClassifier:
    """config.steps Adam steps of cross-entropy on the labelled images; a pretrained encoder as config.encoder says
    (a random one always learns at the full rate)."""
    x, y = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels)
    mode = config.encoder if pretrained else "finetune"
    for p in net.encoder.parameters():
        p.requires_grad_(mode != "frozen")
    groups = [{"params": net.head.parameters()}]
    if mode != "frozen":
        groups.append({"params": net.encoder.parameters(), "lr": config.lr * (0.1 if mode == "slow" else 1.0)})
    batch = min(config.batch_size, len(x))
    epochs = max(1, math.ceil(config.steps * batch / len(x)))

    def loss(rows, _gen):
        return F.cross_entropy(net(x[rows]), y[rows])

    return clf.fit(net, loss, np.arange(len(x)), epochs=epochs, seed=seed, batch_size=batch, lr=config.lr,
                   params=groups)


def accuracy(net: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    probs = clf.probabilities(net, images, lambda t: t, batch=2048)
    return float(np.mean(probs.argmax(1) == labels))


@dataclass
class PretrainResult:
    """Test accuracy per labels-per-class k: one list of seeds each for the pretrained and the scratch network."""

    config: dict
    ks: list[int]
    pretrained: dict[int, list[float]] = field(default_factory=dict)
    scratch: dict[int, list[float]] = field(default_factory=dict)
    ae_seconds: float = 0.0
    seconds: float = 0.0
    stopped: bool = False

    def gain(self, k: int) -> float:
        """Mean pretrained − mean scratch accuracy at k labels per class."""
        return float(np.mean(self.pretrained[k]) - np.mean(self.scratch[k]))

    def to_dict(self) -> dict:
        return asdict(self)


def run(split: Split, config: PretrainConfig, ks: tuple[int, ...] = (10,), seeds: int = 5,
        scratch: dict[int, list[float]] | None = None, ae: Autoencoder | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None) -> PretrainResult:
    """Pretrain the AE on the pool, then for each k and seed fine-tune the pretrained and a random network on the
    same k labels per class; test accuracy of both. `scratch`: accuracies of the random network already measured
    with the same fine-tuning (they do not depend on the AE), reused; `ae`: this setting's AE, already trained."""
    config.validate()
    pool, test = split.pool, split.test
    for k in ks:
        per_class(pool.labels, k, 0, pool.label_names)  # bad k: a message before any training
    start, result = time.perf_counter(), PretrainResult(asdict(config), list(ks))
    report = on_progress or (lambda frac, text: None)
    stop = should_stop or (lambda: False)
    ae_share = 0.5 if ae is None else 0.0

    def ae_progress(p):
        report(ae_share * p.step / max(1, p.steps_total), f"autoencoder epoch {p.epoch}/{p.epochs}")

    if ae is None:
        ae = pretrain_ae(pool.images, config, ae_progress, stop)
    result.ae_seconds = time.perf_counter() - start
    classes, shape = len(pool.label_names or np.unique(pool.labels)), tuple(pool.images.shape[1:])
    jobs = [(k, s) for k in ks for s in range(seeds)]
    for i, (k, s) in enumerate(jobs):
        if stop():
            result.stopped = True
            break
        index = per_class(pool.labels, k, s, pool.label_names)
        xs, ys = pool.images[index], pool.labels[index]
        net = fine_tune(classifier(config, shape, classes, s, ae), xs, ys, config, s, pretrained=True)
        result.pretrained.setdefault(k, []).append(accuracy(net, test.images, test.labels))
        known = (scratch or {}).get(k, [])
        if s < len(known):
            result.scratch.setdefault(k, []).append(known[s])
        else:
            net = fine_tune(classifier(config, shape, classes, s), xs, ys, config, s, pretrained=False)
            result.scratch.setdefault(k, []).append(accuracy(net, test.images, test.labels))
        report(ae_share + (1 - ae_share) * (i + 1) / len(jobs), f"k = {k}, seed {s}")
    result.seconds = time.perf_counter() - start
    return result


# The table of settings (dataset, config): the naive recipe first, then one change at a time.
SETTINGS: dict[str, tuple[str, PretrainConfig]] = {
    "naive": ("fashion", PretrainConfig()),
    "frozen": ("fashion", PretrainConfig(encoder="frozen")),
    "slow": ("fashion", PretrainConfig(encoder="slow")),
    "plain": ("fashion", PretrainConfig(ae="plain", encoder="slow")),
    "sparse": ("fashion", PretrainConfig(ae="sparse", encoder="slow")),
    "masking": ("fashion", PretrainConfig(ae="masking", encoder="slow")),
    "all-60k": ("fashion", PretrainConfig(unlabelled=60_000, ae_epochs=3, encoder="slow")),
    "mnist-naive": ("mnist", PretrainConfig(unlabelled=4000, ae_epochs=25)),
    "mnist-frozen": ("mnist", PretrainConfig(unlabelled=4000, ae_epochs=25, encoder="frozen")),
    "mnist-slow": ("mnist", PretrainConfig(unlabelled=4000, ae_epochs=25, encoder="slow")),
}


def describe(config: PretrainConfig) -> str:
    return (f"{config.ae} conv AE (code {config.code_size}, {config.channels}/{2 * config.channels} channels), "
            f"{config.unlabelled:,} unlabelled images × {config.ae_epochs} epochs; encoder {ENCODER_MODES[config.encoder]}")


