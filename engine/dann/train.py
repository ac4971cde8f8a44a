"""One DANN run step by step, and its two bounds from the same code: the paper's schedules, no threads.

Modes: "dann" (labelled source + unlabelled target through the gradient reversal layer), "source-only" (the
source alone: no adaptation) and "target" (the target's own labels: what perfect adaptation would reach). Ganin &
Lempitsky's schedules: p = progress from 0 to 1, λ_p = 2 / (1 + exp(−10 p)) − 1, lr_p = 0.01 / (1 + 10 p)^0.75,
SGD with momentum 0.9.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from engine.dann.domains import PAIRS, DomainPair, without_digits
from engine.dann.model import DANN
from engine.device import configure_threads

MODES = {"dann": "DANN", "source-only": "source only", "target": "train on target"}
MAX_LR = 10.0
LOSS_LIMIT = 1e4  # |loss| above this counts as divergence
MAP_POINTS = 300  # per domain, in the 2-D map of h(x)
EVAL_BATCH = 500


@dataclass
class DANNConfig:
    """What to train and how; the defaults are the paper's MNIST settings but for the batch size, epochs and λ's
    final value."""

    pair: str = "mnist-m"  # one of engine.dann.domains.PAIRS
    mode: str = "dann"  # one of MODES
    epochs: int = 15  # passes over the labelled training set
    batch_size: int = 24  # labelled images per step (and as many target images for the domain classifier); the
    # paper's 64 (+ 64) gave fewer, larger steps for the same time and aligned the domains less here (bench/README.md)
    lr: float = 0.01  # lr_0 of the annealing lr_0 / (1 + 10 p)^0.75
    momentum: float = 0.9
    lambda_max: float = 1.5  # λ_p is this times 2 / (1 + exp(−γ p)) − 1 (or this from the start: lambda_schedule off);
    # the paper's 1 closed less of the gap here, at batch 32 and at 24 (bench/README.md)
    lambda_schedule: bool = True
    gamma: float = 10.0  # how fast λ_p grows
    drop_digits: tuple[int, ...] = ()  # digits taken out of the target domain (train and test)
    seed: int = 0
    threads: int | None = None  # CPU threads; None: engine.device.configure_threads's default

    def __post_init__(self):
        self.drop_digits = tuple(sorted(int(d) for d in self.drop_digits))

    def validate(self) -> None:
        if self.pair not in PAIRS:
            raise ValueError(f"Unknown domain pair {self.pair!r}; choose one of: {', '.join(PAIRS)}.")
        if self.mode not in MODES:
            raise ValueError(f"Unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}.")
        if not 1 <= self.epochs <= 500:
            raise ValueError(f"Epochs must be between 1 and 500, got {self.epochs}.")
        if not 2 <= self.batch_size <= 1024:
            raise ValueError(f"Batch size must be between 2 and 1024, got {self.batch_size}.")
        if not 0 < self.lr <= MAX_LR:  # also refuses NaN
            raise ValueError(f"The learning rate must be above 0 and at most {MAX_LR:g}, got {self.lr:g}.")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"Momentum must be in [0, 1), got {self.momentum:g}.")
        if not 0 <= self.lambda_max <= 100:
            raise ValueError(f"λ must be between 0 and 100, got {self.lambda_max:g}.")
        if not 0 < self.gamma <= 1000:
            raise ValueError(f"γ must be above 0 and at most 1000, got {self.gamma:g}.")
        if not set(self.drop_digits) <= set(range(10)) or len(self.drop_digits) > 8:
            raise ValueError(f"Dropped digits must be at most 8 of 0–9, got {list(self.drop_digits)}.")

    def to_dict(self) -> dict:
        return asdict(self)


def lambda_at(p: float, lambda_max: float = 1.0, gamma: float = 10.0, schedule: bool = True) -> float:
    """λ_p = λ_max · (2 / (1 + exp(−γ p)) − 1): 0 at the start, → λ_max; λ_max throughout without the schedule."""
    return lambda_max * (2 / (1 + math.exp(-gamma * p)) - 1) if schedule else lambda_max


def lr_at(p: float, lr: float = 0.01) -> float:
    """lr_p = lr_0 / (1 + 10 p)^0.75."""
    return lr / (1 + 10 * p) ** 0.75


@dataclass(frozen=True)
class Step:
    """One training step: its losses, λ and learning rate; `diverged` says why training cannot go on (else None)."""

    iteration: int
    label_loss: float
    domain_loss: float  # NaN without a domain classifier (source only, train on target)
    lam: float
    lr: float
    diverged: str | None = None


@dataclass
class Accuracies:
    """Accuracy on the held-out source and target images, and the domain classifier's on both (None: not known)."""

    source: float
    target: float | None
    domain: float | None


def standardised(images: np.ndarray) -> torch.Tensor:
    """Images in [0, 1] → the network's input: each image's channels shifted and scaled to mean 0, deviation 1.
    A photo's overall brightness and contrast then never reach the network; a digit's strokes still do."""
    x = torch.as_tensor(images, dtype=torch.float32)
    return (x - x.mean((2, 3), keepdim=True)) / (x.std((2, 3), keepdim=True) + 1e-3)


class DANNRun:
    """One run of DANNConfig on a DomainPair, a step at a time; `finished` after epochs × ⌈N / batch⌉ steps.

    The labelled set is the source's training images (mode "target": the target's, with its labels); the domain
    classifier (mode "dann") sees as many target training images per step, without their labels."""

    def __init__(self, config: DANNConfig, pair: DomainPair):
        config.validate()
        self.config = config
        self.threads = configure_threads(config.threads)
        self.pair = pair = without_digits(pair, config.drop_digits)
        if config.mode == "target" and not pair.target.labelled:
            raise ValueError("“Train on target” needs the target's labels; these images have none.")
        if config.pair != pair.key:
            raise ValueError(f"The config names pair {config.pair!r}, the data is {pair.key!r}.")
        labelled = pair.target if config.mode == "target" else pair.source
        self._x, self._y = standardised(labelled.train_x), torch.as_tensor(labelled.train_y)
        self._xt = standardised(pair.target.train_x)
        if len(self._x) < 1 or len(self._xt) < 1:
            raise ValueError("Both domains need training images.")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = DANN()
        self.initial = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum)
        self._labelled_gen = torch.Generator().manual_seed(config.seed)
        self._target_gen = torch.Generator().manual_seed(config.seed + 1)  # its own stream: source batches stay put
        self.per_epoch = math.ceil(len(self._x) / config.batch_size)
        self.total = config.epochs * self.per_epoch
        self.iteration = 0
        self._order = self._target_order = torch.empty(0, dtype=torch.long)
        self._target_at = 0

    @property
    def finished(self) -> bool:
        return self.iteration >= self.total

    @property
    def progress(self) -> float:
        return self.iteration / self.total

    def _batches(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        b, i = self.config.batch_size, self.iteration % self.per_epoch
        if i == 0:
            self._order = torch.randperm(len(self._x), generator=self._labelled_gen)
        pick = self._order[i * b:(i + 1) * b]
        if self.config.mode != "dann":
            return self._x[pick], self._y[pick], None
        parts, need = [], len(pick)  # target images in a cycled permutation, as many as source images
        while need:
            if self._target_at == len(self._target_order):
                self._target_order, self._target_at = torch.randperm(len(self._xt), generator=self._target_gen), 0
            take = self._target_order[self._target_at:self._target_at + need]
            parts.append(take)
            self._target_at += len(take)
            need -= len(take)
        return self._x[pick], self._y[pick], self._xt[torch.cat(parts)]

    def step(self) -> Step:
        """One SGD step at progress p: label loss on a labelled batch, plus (DANN) the domain loss of h on it and a
        target batch, whose gradient reaches h reversed and scaled by λ_p."""
        cfg, p = self.config, self.progress
        lam, lr = lambda_at(p, cfg.lambda_max, cfg.gamma, cfg.lambda_schedule), lr_at(p, cfg.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y, xt = self._batches()
        both = self.model.features(x if xt is None else torch.cat([x, xt]))  # one pass: the same maths, faster
        h = both[:len(x)]
        label_loss = F.cross_entropy(self.model.labels(h), y)
        loss, domain_loss = label_loss, torch.tensor(math.nan)
        if xt is not None:
            logits = self.model.domain_logit(both, lam)
            domains = torch.cat([torch.zeros(len(x)), torch.ones(len(xt))])
            domain_loss = F.binary_cross_entropy_with_logits(logits, domains)
            loss = label_loss + domain_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.iteration += 1
        step = Step(self.iteration, label_loss.item(), domain_loss.item(), lam, lr)
        why = _loss_divergence(step.label_loss, "label") or _loss_divergence(step.domain_loss, "domain") \
            or self._weight_divergence()
        return step if why is None else Step(**{**asdict(step), "diverged": f"{why} at step {self.iteration} "
                                                f"(learning rate {lr:.3g}, λ {lam:.3g})"})

    @torch.no_grad()
    def evaluate(self, limit: int | None = None) -> Accuracies:
        """Accuracy on the held-out source and target images (at most `limit` of each), and the domain classifier's
        on both (DANN only; it is not trained otherwise)."""
        source, target = self.pair.source, self.pair.target
        hs, ps = _features_and_predictions(self.model, source.test_x[:limit])
        ht, pt = _features_and_predictions(self.model, target.test_x[:limit])
        source_acc = float((ps == source.test_y[:limit]).mean())
        target_acc = float((pt == target.test_y[:limit]).mean()) if target.test_y is not None else None
        domain_acc = None
        if self.config.mode == "dann":
            logits = self.model.domain(torch.cat([hs, ht])).squeeze(1)
            truth = torch.cat([torch.zeros(len(hs)), torch.ones(len(ht))])
            domain_acc = float(((logits > 0).float() == truth).float().mean())
        return Accuracies(source_acc, target_acc, domain_acc)

    @torch.no_grad()
    def feature_map(self, weights: dict | None = None) -> dict:
        """h(x) of MAP_POINTS held-out images of each domain on their first two principal components, with the
        points' domain (0 source, 1 target) and digit (−1 unknown); `weights`: another state of this network
        (e.g. self.initial, the map before training)."""
        model = self.model
        if weights is not None:
            model = DANN()
            model.load_state_dict(weights)
        parts = [(d.test_x[:MAP_POINTS], d.test_y[:MAP_POINTS] if d.test_y is not None else None)
                 for d in (self.pair.source, self.pair.target)]
        feats = np.concatenate([_features_and_predictions(model, x)[0].numpy() for x, _ in parts])
        centre = feats - feats.mean(0)
        _, _, vt = np.linalg.svd(centre, full_matrices=False)
        xy = centre @ vt[:2].T
        digits = np.concatenate([y if y is not None else np.full(len(x), -1) for x, y in parts])
        return {"xy": xy.astype(np.float32), "domain": np.repeat([0, 1], [len(x) for x, _ in parts]),
                "digit": digits.astype(np.int64)}

    def _weight_divergence(self) -> str | None:
        total = torch.stack([p.detach().sum() for p in self.model.parameters()]).sum()
        return None if torch.isfinite(total) else "The weights became NaN or infinite"


def _features_and_predictions(model: DANN, images: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    feats = [model.features(standardised(images[i:i + EVAL_BATCH])) for i in range(0, len(images), EVAL_BATCH)]
    h = torch.cat(feats) if feats else torch.empty(0, 768)
    return h, model.labels(h).argmax(1).numpy()


def _loss_divergence(loss: float, which: str) -> str | None:
    if math.isnan(loss) and which == "domain":
        return None  # no domain classifier in this mode
    if not math.isfinite(loss):
        return f"The {which} loss became {'NaN' if math.isnan(loss) else 'infinite'}"
    if abs(loss) > LOSS_LIMIT:
        return f"The {which} loss reached {loss:.3g} (beyond ±{LOSS_LIMIT:.0e})"
    return None


@dataclass
class Result:
    """A finished (or diverged) run: its accuracies, training time (without the evaluations) and message."""

    config: dict
    accuracies: Accuracies
    seconds: float
    iterations: int
    diverged: str | None = None
    steps: list[Step] = field(default_factory=list, repr=False)


def train(config: DANNConfig, pair: DomainPair, report=None) -> Result:
    """Run to the end (or to divergence): for scripts, benchmarks and tests. report(run, step) after each step."""
    run = DANNRun(config, pair)
    seconds, steps, why = 0.0, [], None
    while not run.finished:
        start = time.perf_counter()
        step = run.step()
        seconds += time.perf_counter() - start
        steps.append(step)
        if report:
            report(run, step)
        if step.diverged:
            why = step.diverged
            break
    return Result(config.to_dict(), run.evaluate(), seconds, run.iteration, why, steps)


def gap_closed(source_only: float, dann: float, on_target: float) -> float:
    """The share of the gap between source only and train on target that DANN closes (Ganin et al.: 56 %)."""
    return (dann - source_only) / (on_target - source_only) if on_target != source_only else math.nan
