"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016) and texture synthesis, in PyTorch.

We optimise the pixels x of the image itself:
    L(x) = Σ_l w_l ‖G_l(x) − G_l(s)‖² + α ‖F(x) − F(c)‖² + β TV(x),   G = F Fᵀ / (C·H·W)
where F are a backbone layer's activations (C×HW), c the content and s the style image. Each squared norm is a mean
divided by its target's mean square (per-layer normalisation), so layers of any scale, random or trained, weigh alike.
Texture synthesis is the same with α = 0 from noise. Adam streams a result every step; L-BFGS converges in fewer.
Large images: coarse to fine, each level initialised with the previous result upsampled.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from engine.style.backbones import DEFAULT_BACKBONE, Backbone, load_backbone
from engine.device import configure_threads, pick_device
from engine.imageio import fit_longest, resize, rgb_float, rgb_uint8
from engine.jobs import BackgroundJob, JobStatus
from engine.style.fast import StyleError

MAX_WEIGHT = 1e6  # larger loss weights are clamped (with a note): beyond it float32 losses lose the other terms
EPS = 1e-8  # keeps the per-layer normalisation finite for all-black targets


@dataclass
class GatysConfig:
    mode: str = "transfer"  # "transfer" or "texture" (style loss only, from noise, α = 0)
    backbone: str = DEFAULT_BACKBONE  # "mobilenet_v2", "random_vgg19", "vgg19"
    download: bool = False  # allow downloading VGG19 ImageNet weights
    size: int = 256  # output longest side (texture: output is size × size)
    steps: int = 200  # in total over all levels
    optimizer: str = "adam"  # "adam" or "lbfgs"
    lr: float = 0.02  # Adam, on pixels in [0, 1]; L-BFGS uses 1
    content_weight: float = 1.0  # α
    style_weight: float = 1.0  # multiplies every w_l
    layer_weights: dict[str, float] | None = None  # w_l per style layer; None: 1 for each of the backbone's
    tv_weight: float = 10.0  # β (10 removes the high-frequency speckle Adam leaves at 256²)
    init: str = "content"  # "content" or "noise"
    levels: int = 1  # coarse-to-fine pyramid levels, each twice the previous size
    style_scale: float = 1.0  # style image longest side = style_scale × content's
    seed: int = 0
    device: str | None = None  # None: engine.device.pick_device()
    threads: int | None = None  # CPU threads; None: engine.device.configure_threads default

    def validate(self) -> list[str]:
        """Raise StyleError on impossible settings; return notes on settings that were adjusted."""
        for name, allowed in (("mode", ("transfer", "texture")), ("optimizer", ("adam", "lbfgs")),
                              ("init", ("content", "noise"))):
            if getattr(self, name) not in allowed:
                raise StyleError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}.")
        if not 32 <= self.size <= 2048:
            raise StyleError(f"Size must be between 32 and 2048 pixels, got {self.size}.")
        if not 1 <= self.steps <= 100_000:
            raise StyleError(f"Steps must be between 1 and 100 000, got {self.steps}.")
        if not 1 <= self.levels <= 4 or self.size / 2 ** (self.levels - 1) < 32:
            raise StyleError("Levels must be 1 to 4, and the coarsest level at least 32 pixels.")
        if not 0 < self.lr <= 1 or not 0.1 <= self.style_scale <= 4:
            raise StyleError("Learning rate must be in (0, 1] and style scale in [0.1, 4].")
        notes = []
        weights = {"content weight": self.content_weight, "style weight": self.style_weight,
                   "TV weight": self.tv_weight, **{f"weight of {k}": v for k, v in (self.layer_weights or {}).items()}}
        for name, value in weights.items():
            if not math.isfinite(value) or value < 0:
                raise StyleError(f"The {name} must be a finite number ≥ 0, got {value}.")
            if value > MAX_WEIGHT:
                notes.append(f"The {name} {value:g} was clamped to {MAX_WEIGHT:g}.")
        return notes


@dataclass
class LossTerms:
    total: float
    content: float
    tv: float
    style: dict[str, float]  # per layer, already weighted


@dataclass
class StepReport:
    step: int  # 1-based, over all levels
    steps_total: int
    level: int  # 0 = coarsest
    terms: LossTerms  # of the image before this step's update
    image: torch.Tensor  # the current image, 1×3×h×w in [0, 1] (do not modify)
    improved: bool  # terms.total is the lowest at this level so far: image is the new best


@dataclass
class GatysResult:
    image: np.ndarray  # the last image, H×W×3 float32
    best: np.ndarray  # the lowest-total-loss image of the finest level reached (kept when stopped)
    best_loss: float
    history: list[LossTerms]
    steps_done: int
    seconds: float
    backbone: str  # the label of the backbone actually used
    stopped: bool
    notes: list[str] = field(default_factory=list)  # fallbacks and clamped settings, for the user


def gram(f: torch.Tensor) -> torch.Tensor:
    """G = F Fᵀ / (C·H·W) for activations N×C×H×W → N×C×C."""
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def normalised_mse(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖x − t‖² as mean((x − t)²) / (mean(t²) + ε): scale-free, so every layer's term starts near 1."""
    return ((x - target) ** 2).mean() / ((target ** 2).mean() + EPS)


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Squared total variation: mean of squared neighbour differences, horizontally plus vertically."""
    return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()


class GatysLoss:
    """L(x) for fixed content and style targets on one backbone at one resolution."""

    def __init__(self, backbone: Backbone, content: torch.Tensor | None, style: torch.Tensor,
                 layer_weights: dict[str, float], content_weight: float, tv_weight: float):
        self.backbone, self.layer_weights = backbone, layer_weights
        self.content_weight, self.tv_weight = (content_weight if content is not None else 0.0), tv_weight
        with torch.no_grad():
            feats = backbone.features(style, tuple(layer_weights))
            self.style_targets = {k: gram(v) for k, v in feats.items()}
            self.content_target = (backbone.features(content, (backbone.content_layer,))[backbone.content_layer]
                                   if self.content_weight > 0 else None)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, LossTerms]:
        names = tuple(self.layer_weights) + ((self.backbone.content_layer,) if self.content_target is not None else ())
        feats = self.backbone.features(x, tuple(dict.fromkeys(names)))
        style = {k: w * normalised_mse(gram(feats[k]), self.style_targets[k]) for k, w in self.layer_weights.items()}
        tv = self.tv_weight * tv_loss(x)
        content = torch.zeros((), device=x.device)
        if self.content_target is not None:
            content = self.content_weight * normalised_mse(feats[self.backbone.content_layer], self.content_target)
        total = sum(style.values()) + tv + content
        scalar = lambda t: float(t.detach())  # noqa: E731
        terms = LossTerms(scalar(total), scalar(content), scalar(tv), {k: scalar(v) for k, v in style.items()})
        return total, terms


def _tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(device)


def _array(x: torch.Tensor) -> np.ndarray:
    return x.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def level_sizes(config: GatysConfig) -> list[int]:
    return [round(config.size / 2 ** k) for k in reversed(range(config.levels))]


def optimize(content, style, config: GatysConfig | None = None, on_step: Callable[[StepReport], None] | None = None,
             should_stop: Callable[[], bool] | None = None, backbone: Backbone | None = None) -> GatysResult:
    """Run the optimisation; `on_step` gets a StepReport every step, `should_stop()` ends it after any step.

    `content` is ignored in texture mode (may be None). Images: anything engine.imageio.rgb_float accepts.
    """
    config = config or GatysConfig()
    notes = config.validate()
    start = time.perf_counter()
    device = pick_device(config.device)
    if device.type == "cpu":
        configure_threads(config.threads)
    backbone = backbone or load_backbone(config.backbone, config.download, device)
    notes = ([backbone.message] if backbone.message else []) + notes
    texture = config.mode == "texture"
    style_img = rgb_float(style, 32)
    content_img = None if texture else rgb_float(content, 32)
    clamp = lambda v: min(v, MAX_WEIGHT)  # noqa: E731
    layer_weights = {k: clamp(config.style_weight) * clamp(v) for k, v in
                     (config.layer_weights or dict.fromkeys(backbone.style_layers, 1.0)).items()}
    if unknown := set(layer_weights) - set(backbone.layers):
        raise StyleError(f"{backbone.label} has no layer {', '.join(sorted(unknown))}.")
    alpha = 0.0 if texture else clamp(config.content_weight)
    if not any(layer_weights.values()) and alpha == 0:
        raise StyleError("Style and content weights are all 0: there is nothing to optimise.")

    generator = torch.Generator().manual_seed(config.seed)
    sizes, steps_total = level_sizes(config), config.steps
    per_level = [steps_total // len(sizes)] * (len(sizes) - 1)
    per_level.append(steps_total - sum(per_level))
    history: list[LossTerms] = []
    x = best = None
    best_loss, step, stopped = math.inf, 0, False
    for level, (side, n_steps) in enumerate(zip(sizes, per_level)):
        c = None if texture else fit_longest(content_img, side)
        hw = (side, side) if texture else c.shape[:2]
        s = fit_longest(style_img, max(16, round(max(hw) * config.style_scale)))
        loss = GatysLoss(backbone, None if c is None else _tensor(c, device), _tensor(s, device), layer_weights,
                         alpha, clamp(config.tv_weight))
        if x is None:
            start_img = (torch.rand((1, 3) + hw, generator=generator).to(device) if texture or config.init == "noise"
                         else _tensor(c, device))
        else:
            start_img = F.interpolate(x.detach(), size=hw, mode="bicubic", align_corners=False).clamp(0, 1)
        x = start_img.clone().requires_grad_(True)
        opt = (torch.optim.Adam([x], lr=config.lr) if config.optimizer == "adam"
               else torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=20))
        level_best = math.inf  # losses of different levels are not comparable: the finest level reached wins
        for _ in range(n_steps):
            if should_stop is not None and should_stop():
                stopped = True
                break
            record = {}

            def closure():
                opt.zero_grad(set_to_none=True)
                value, terms = loss(x)
                value.backward()
                record.setdefault("terms", terms)  # L-BFGS may evaluate twice: keep the pre-update one
                record.setdefault("image", x.detach().clone())
                return value

            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
            step += 1
            terms = record["terms"]
            if not math.isfinite(terms.total):
                raise StyleError(f"The loss became {terms.total} at step {step}; lower the learning rate or weights.")
            history.append(terms)
            improved = terms.total < level_best
            if improved:
                level_best = best_loss = terms.total
                best = record["image"]
            if on_step is not None:
                on_step(StepReport(step, steps_total, level, terms, record["image"], improved))
        if stopped:
            break
    out_hw = (config.size, config.size) if texture else fit_longest(content_img, config.size).shape[:2]
    final = resize(_array(x), out_hw, "bicubic")
    best_img = final if best is None else resize(_array(best), out_hw, "bicubic")
    return GatysResult(final, best_img, best_loss, history, step, time.perf_counter() - start, backbone.label,
                       stopped, notes)


@dataclass
class GatysSnapshot(JobStatus):
    step: int = 0
    steps_total: int = 0
    level: int = 0
    seconds: float = 0.0
    total: list[float] = field(default_factory=list)
    content: list[float] = field(default_factory=list)
    tv: list[float] = field(default_factory=list)
    style: dict[str, list[float]] = field(default_factory=dict)  # per layer
    image: np.ndarray | None = None  # current image, H×W×3 uint8, refreshed every `preview_every` steps
    image_step: int = 0
    best: np.ndarray | None = None  # lowest-loss image so far (finest level reached), uint8; kept when stopped
    best_loss: float = math.inf
    backbone: str = ""
    message: str = ""  # fallbacks and clamped settings


class GatysJob(BackgroundJob):
    """optimize() in a background thread under one of the server's job slots; stop() ends it after any step.

    A job runs once: a second start() raises StyleError (the page replaces it by a new one started with
    `replacing=` the old: see engine.jobs.BackgroundJob.start).
    """

    def __init__(self, content, style, config: GatysConfig | None = None, preview_every: int = 5):
        self.config = config or GatysConfig()
        self.config.validate()  # raise in the caller, not in the thread
        super().__init__(GatysSnapshot("running", steps_total=self.config.steps))
        self.content, self.style, self.preview_every = content, style, max(1, preview_every)
        self.result: GatysResult | None = None
        self._started_at: float | None = None  # when its work began (not while queued)
        self._best: torch.Tensor | None = None

    def start(self, replacing: BackgroundJob | None = None):
        if self.started:
            raise StyleError("This style transfer has already been started; stop it and start a new one.")
        return super().start(replacing)

    def _on_step(self, r: StepReport) -> None:
        preview = r.step == 1 or r.step % self.preview_every == 0 or r.step == r.steps_total
        image = rgb_uint8(_array(r.image)) if preview else None
        with self._lock:
            s = self._snap
            s.step, s.level = r.step, r.level
            s.total.append(r.terms.total)
            s.content.append(r.terms.content)
            s.tv.append(r.terms.tv)
            for k, v in r.terms.style.items():
                s.style.setdefault(k, []).append(v)
            if image is not None:
                s.image, s.image_step = image, r.step
            if r.improved:  # StepReport.image is a fresh copy: keep it, convert when someone looks
                self._best, s.best_loss = r.image, r.terms.total

    def snapshot(self) -> GatysSnapshot:
        with self._lock:
            best = self._best
        snap = super().snapshot()
        if not snap.finished:  # the clock and the best image are read live
            snap.seconds = time.monotonic() - self._started_at if self._started_at is not None else 0.0
            if best is not None:
                snap.best = rgb_uint8(_array(best))
        return snap

    def _work(self) -> bool:
        self._started_at = time.monotonic()
        backbone = load_backbone(self.config.backbone, self.config.download, pick_device(self.config.device))
        with self._lock:
            self._snap.backbone, self._snap.message = backbone.label, backbone.message
        self.result = optimize(self.content, self.style, self.config, self._on_step, self._stop.is_set, backbone)
        with self._lock:
            s = self._snap
            s.image, s.best, s.best_loss = rgb_uint8(self.result.image), rgb_uint8(self.result.best), self.result.best_loss
            s.seconds, s.message = self.result.seconds, " ".join(self.result.notes)
            self._best = None
        return self.result.stopped
