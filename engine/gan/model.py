"""The GAN itself: its settings, its data, G and D with their optimisers, and the lecture's loop step by step.

One iteration: k_d discriminator steps, then m_g generator steps, each on a fresh batch. No threads and no
locks here: engine.gan.trainer runs a GAN in the background. The networks and the five losses live in
engine.gan.nets.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from engine.device import configure_threads, pick_device
from engine.gan.nets import (LOSSES, ConvDiscriminator, ConvGenerator, d_loss, g_loss, gradient_penalty,
                             mlp_discriminator, mlp_generator)
from engine.gan.toy2d import TOY_SETS, toy_points

POINT_SETS = (*TOY_SETS, "custom")
IMAGE_SETS = ("mnist", "digits", "fashion", "faces", "custom-images")  # custom-images: the caller passes them
MAX_LR = 10.0
LOSS_LIMIT = 1e4  # |loss| above this counts as divergence
TOY_POINTS = 10_000  # size of a toy training set
# The 2-D MLPs are too small for a GPU: on an H100 they ran at 162 iterations/s against 272 on its CPU (kernel
# launches dominate), while the DCGAN ran 2.2× faster there (bench/gpu_engine.py). LATENTLAB_DEVICE still wins.
TINY_ON_CPU = not os.environ.get("LATENTLAB_DEVICE")
FIXED_POINTS, FIXED_IMAGES = 512, 64  # the fixed noise batch shown as samples
METRIC_IMAGES = 500  # images: the fixed noise batch the classifier scores
UPDATABLE = ("lr_d", "lr_g", "k_d", "m_g", "loss", "batch_size", "gp_weight", "max_steps")
PRESETS_2D = {  # one-click settings of the 2-D view (measured on ring8, seed 0)
    "Default": dict(loss="nonsaturating", k_d=1, m_g=1, lr_d=1e-3, lr_g=1e-3),  # 8/8 modes by ~1000 iterations
    "Mode collapse": dict(loss="nonsaturating", k_d=1, m_g=5, lr_d=1e-4, lr_g=1e-3),  # G outruns D: one mode at a time
    "Saturating G": dict(loss="minimax", k_d=5, m_g=1, lr_d=3e-3, lr_g=1e-3),  # D wins early, G's gradient vanishes
    # the critic needs k_d = 5 and, on these small scales, λ = 1: λ = 10 covered no mode (8/8 by ~1000 iterations)
    "WGAN-GP": dict(loss="wgan-gp", k_d=5, m_g=1, lr_d=1e-3, lr_g=1e-3, gp_weight=1.0),
}


@dataclass
class GANConfig:
    """What to train and how. None for noise_dim / lr_d / lr_g picks the data kind's default (2-D | images)."""

    data: str = "ring8"  # one of POINT_SETS (2-D) or IMAGE_SETS
    loss: str = "nonsaturating"  # one of LOSSES
    k_d: int = 1  # discriminator steps per iteration
    m_g: int = 1  # generator steps per iteration
    lr_d: float | None = None  # 2-D: 1e-3, images: 5e-4 (reached the digit score sooner here than DCGAN's 2e-4)
    lr_g: float | None = None
    optimizer: str = "adam"  # "adam" (β = 0.5, 0.999 as in DCGAN) or "sgd"
    batch_size: int = 64
    noise_dim: int | None = None  # 2-D: 2, images: 64
    width: int = 128  # 2-D MLP hidden units
    depth: int = 3  # 2-D MLP hidden layers
    channels: int = 32  # DCGAN: channels of D's first conv and G's last hidden layer (the others have 2×)
    gp_weight: float = 10.0  # λ of WGAN-GP (the paper's; on ring8 with k_d = 5, λ = 1 covered 8/8 modes in 3000
    #                           iterations here and λ = 10 none: the toy code of Gulrajani et al. uses 0.1)
    seed: int = 0
    device: str | None = None  # None: engine.device.pick_device() for images, the CPU for 2-D points (TINY_ON_CPU)
    threads: int | None = None  # CPU threads; None: engine.device.configure_threads default
    max_steps: int | None = None  # stop ("done") after this many iterations; None: until paused

    def __post_init__(self):
        points = self.data in POINT_SETS
        self.noise_dim = self.noise_dim if self.noise_dim is not None else (2 if points else 64)
        self.lr_d = self.lr_d if self.lr_d is not None else (1e-3 if points else 5e-4)
        self.lr_g = self.lr_g if self.lr_g is not None else (1e-3 if points else 5e-4)

    @property
    def is_2d(self) -> bool:
        return self.data in POINT_SETS

    def validate(self) -> None:
        if self.data not in POINT_SETS + IMAGE_SETS:
            raise ValueError(f"Unknown data {self.data!r}; choose one of: {', '.join(POINT_SETS + IMAGE_SETS)}.")
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}.")
        for name, value in (("k_d (discriminator steps per iteration)", self.k_d),
                            ("m_g (generator steps per iteration)", self.m_g)):
            if not 1 <= value <= 100:
                raise ValueError(f"{name} must be between 1 and 100, got {value}.")
        for name, value in (("discriminator", self.lr_d), ("generator", self.lr_g)):
            if not 0 < value <= MAX_LR:  # also refuses NaN
                raise ValueError(f"The {name} learning rate must be above 0 and at most {MAX_LR:g}, got {value:g}.")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; choose adam or sgd.")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"Batch size must be between 1 and 4096, got {self.batch_size}.")
        if not 1 <= self.noise_dim <= 512:
            raise ValueError(f"Noise dimension must be between 1 and 512, got {self.noise_dim}.")
        if not 1 <= self.width <= 2048 or not 1 <= self.depth <= 10:
            raise ValueError("The MLP needs 1–2048 hidden units and 1–10 hidden layers, "
                             f"got {self.width} × {self.depth}.")
        if not 4 <= self.channels <= 512:
            raise ValueError(f"DCGAN channels must be between 4 and 512, got {self.channels}.")
        if not 0 <= self.gp_weight <= 1e4:
            raise ValueError(f"The gradient-penalty weight must be between 0 and 10 000, got {self.gp_weight:g}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1 (or None), got {self.max_steps}.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Iteration:
    """One iteration's record: L_D and L_G (means over its steps) and mean σ(l) on real and fake samples.

    A kind of step the iteration did not take keeps the previous iteration's values. d_real / d_fake are mean
    σ(l): for lsgan, wgan-gp and hinge l is a score, not a logit, and σ(l) only a squashed view of it.
    """

    number: int = 0  # iterations so far, this one included
    loss_d: float = math.nan
    loss_g: float = math.nan
    d_real: float = math.nan
    d_fake: float = math.nan
    diverged: str | None = None  # why training cannot go on (a loss or a weight beyond bounds), None when fine


class GAN:
    """G, D and their optimisers on one device, trained one step at a time.

    `data`: 2-D points n×2 in any units (the networks see them standardised: to_model / from_model), or images
    N×C×H×W in [0, 1] (the networks see [−1, 1]). None loads config.data. z_fixed and real_fixed are a fixed noise
    batch and a fixed sample of the data to watch (512 points or 64 images); z_metric the images the digit
    classifier scores.
    """

    def __init__(self, config: GANConfig, data: np.ndarray | None = None):
        config.validate()
        self.config = replace(config)
        self.device = pick_device(config.device or ("cpu" if config.is_2d and TINY_ON_CPU else None))
        if self.device.type == "cpu":
            configure_threads(config.threads)
        self.data = _check_data(self.config, _load_data(self.config) if data is None else data)
        self.shift = self.scale = self.extent = None
        if self.config.is_2d:  # x_model = (x − shift) / scale; extent: the data's bounding box plus 15 %
            points = self.data.astype(np.float64)
            self.shift, self.scale = points.mean(0), float(points.std(0).max() or 1.0)
            pad = 0.15 * np.maximum(points.max(0) - points.min(0), 1e-3)
            self.extent = (*(points[:, 0].min() - pad[0], points[:, 0].max() + pad[0]),
                           *(points[:, 1].min() - pad[1], points[:, 1].max() + pad[1]))
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """New networks and optimisers from `seed` (default config.seed), counters back to 0."""
        if seed is not None:
            self.config.seed = int(seed)
        cfg, seed = self.config, self.config.seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if cfg.is_2d:
                self.G, self.D = mlp_generator(cfg), mlp_discriminator(cfg)
            else:
                shape = tuple(self.data.shape[1:])
                self.G = ConvGenerator(cfg.noise_dim, shape, cfg.channels)
                self.D = ConvDiscriminator(shape, cfg.channels)
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        self.opt_d, self.opt_g = (_optimizer(cfg.optimizer, net, lr) for net, lr in ((self.D, cfg.lr_d), (self.G, cfg.lr_g)))
        self._gen = torch.Generator(device=self.device).manual_seed(seed)
        self._x = self.to_model(self.data)
        n_fixed = FIXED_POINTS if cfg.is_2d else FIXED_IMAGES
        self.z_fixed = torch.randn(n_fixed, cfg.noise_dim, generator=self._gen, device=self.device)
        metric_gen = torch.Generator().manual_seed(seed + 1)  # its own stream: training batches stay as they were
        self.z_metric = torch.randn(METRIC_IMAGES, cfg.noise_dim, generator=metric_gen).to(self.device)
        pick = np.random.default_rng(seed).choice(len(self.data), n_fixed, replace=len(self.data) < n_fixed)
        self.real_fixed = self._x[torch.as_tensor(pick)]
        self.iterations = self.updates = 0  # iterations, and parameter updates (D steps + G steps)
        self.last = Iteration()

    def update(self, **hyper) -> None:
        """Change any of UPDATABLE (lr_d, lr_g, k_d, m_g, loss, batch_size, gp_weight, max_steps) from the next step."""
        unknown = set(hyper) - set(UPDATABLE)
        if unknown:
            raise ValueError(f"Cannot change {', '.join(sorted(unknown))} while training; "
                             f"change it in the settings and press Reset. Changeable: {', '.join(UPDATABLE)}.")
        config = replace(self.config, **hyper)
        config.validate()
        self.config = config
        for opt, lr in ((self.opt_d, config.lr_d), (self.opt_g, config.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr

    # ---- data ↔ the networks' units

    def to_model(self, array: np.ndarray) -> torch.Tensor:
        """Data units → the networks' units: 2-D points standardised, images from [0, 1] to [−1, 1]."""
        if self.config.is_2d:
            array = (np.asarray(array, np.float64) - self.shift) / self.scale
            return torch.as_tensor(array, dtype=torch.float32, device=self.device)
        return torch.as_tensor(array, dtype=torch.float32, device=self.device) * 2 - 1

    def from_model(self, x: torch.Tensor) -> np.ndarray:
        """The networks' units → data units (float32 numpy; images clipped to [0, 1])."""
        if self.config.is_2d:
            return (x.detach().cpu().double().numpy() * self.scale + self.shift).astype(np.float32)
        return ((x.detach().cpu().numpy() + 1) / 2).clip(0, 1).astype(np.float32)

    # ---- training

    def d_step(self) -> tuple[float, float, float]:
        """One discriminator update on a fresh batch (G fixed): L_D, mean σ(l) on real and on fake samples."""
        cfg = self.config
        real = self._batch()
        with torch.no_grad():
            fake = self.G(self._noise(len(real)))
        l_real, l_fake = self.D(real), self.D(fake)
        loss = d_loss(cfg.loss, l_real, l_fake)
        if cfg.loss == "wgan-gp":
            loss = loss + cfg.gp_weight * gradient_penalty(self.D, real, fake, self._gen)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.updates += 1
        return loss.item(), torch.sigmoid(l_real).mean().item(), torch.sigmoid(l_fake).mean().item()

    def g_step(self) -> tuple[float, float]:
        """One generator update on fresh noise (D's parameters get no gradient): L_G, mean σ(l) on its samples."""
        self.D.requires_grad_(False)
        try:
            l_fake = self.D(self.G(self._noise(self.config.batch_size)))
            loss = g_loss(self.config.loss, l_fake)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            self.D.requires_grad_(True)
        self.updates += 1
        return loss.item(), torch.sigmoid(l_fake).mean().item()

    def iterate(self, which: str = "both") -> Iteration:
        """One iteration: "both" = k_d D steps then m_g G steps, "d" = one D step, "g" = one G step.

        Stops at the first step whose loss is not finite or beyond ±LOSS_LIMIT, or when a weight becomes NaN or
        infinite; the record's `diverged` then says why (and training should not go on).
        """
        cfg, last = self.config, self.last
        k, m = {"both": (cfg.k_d, cfg.m_g), "d": (1, 0), "g": (0, 1)}[which]
        d_real, d_fake, why = last.d_real, last.d_fake, None
        d_losses, g_losses = [], []
        for _ in range(k):
            loss, d_real, d_fake = self.d_step()
            d_losses.append(loss)
            why = _loss_divergence(loss, "discriminator")
            if why:
                break
        for _ in range(0 if why else m):
            loss, d_fake = self.g_step()
            g_losses.append(loss)
            why = _loss_divergence(loss, "generator")
            if why:
                break
        self.iterations += 1
        self.last = Iteration(self.iterations, float(np.mean(d_losses)) if d_losses else last.loss_d,
                              float(np.mean(g_losses)) if g_losses else last.loss_g, d_real, d_fake,
                              why or self._weight_divergence())
        return self.last

    # ---- looking at it

    def eval_g(self, z: torch.Tensor) -> torch.Tensor:
        """G(z) in eval mode (batch norm on its running statistics), without gradients; G stays in train mode."""
        self.G.eval()
        try:
            with torch.no_grad():
                return self.G(z)
        finally:
            self.G.train()

    @torch.no_grad()
    def field(self, n: int = 64, extent: tuple[float, float, float, float] | None = None):
        """D's probability σ(l) on an n×n grid: (xs, ys, grid) with grid[i, j] at (xs[j], ys[i]); 2-D data only.

        extent = (x_min, x_max, y_min, y_max), default the data's bounding box plus 15 %.
        """
        if not self.config.is_2d:
            raise ValueError("The discriminator field is only drawn for 2-D data.")
        if not 2 <= n <= 512:
            raise ValueError(f"The field needs 2–512 points per side, got {n}.")
        x0, x1, y0, y1 = extent or self.extent
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
        prob = torch.sigmoid(self.D(self.to_model(grid))).view(n, n).cpu().numpy()
        return xs.astype(np.float32), ys.astype(np.float32), prob

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """n fresh samples from seeded noise: 2-D points n×2, or images n×C×H×W in [0, 1]."""
        z = torch.randn(n, self.config.noise_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)
        return self.from_model(self.eval_g(z))

    def interpolate(self, seed_a: int, seed_b: int, ts: np.ndarray) -> np.ndarray:
        """G((1 − t)·z_A + t·z_B) for each t, z_A and z_B the seeded noise vectors: the generator's morph."""
        z_a, z_b = (torch.randn(1, self.config.noise_dim, generator=torch.Generator().manual_seed(s))
                    for s in (seed_a, seed_b))
        t = torch.as_tensor(np.asarray(ts, np.float32))[:, None]
        return self.from_model(self.eval_g(((1 - t) * z_a + t * z_b).to(self.device)))

    # ---- checkpoints (engine.gan.checkpoint reads and writes the files)

    @property
    def normalisation(self) -> dict | None:
        """2-D: {"shift": [x, y], "scale": s} with x_model = (x − shift) / scale; None for images."""
        return None if self.shift is None else {"shift": self.shift.tolist(), "scale": self.scale}

    def restore(self, weights: dict[str, dict[str, torch.Tensor]], normalisation: dict | None,
                iterations: int, updates: int) -> None:
        """Start over from saved networks: their normalisation, fresh optimisers, G and D's weights
        (weights["G"], weights["D"]: state dicts that fit these networks) and counters."""
        if normalisation is not None:
            self.shift, self.scale = np.array(normalisation["shift"]), normalisation["scale"]
        self.reset()
        self.G.load_state_dict(weights["G"], strict=True)
        self.D.load_state_dict(weights["D"], strict=True)
        self.iterations, self.updates = iterations, updates

    # ---- internals

    def _batch(self) -> torch.Tensor:
        return self._x[torch.randint(len(self._x), (self.config.batch_size,), generator=self._gen, device=self.device)]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.noise_dim, generator=self._gen, device=self.device)

    def _weight_divergence(self) -> str | None:
        for name, net in (("generator", self.G), ("discriminator", self.D)):
            total = torch.stack([p.detach().sum() for p in net.parameters()]).sum()
            if not torch.isfinite(total):
                return f"The {name}'s weights became NaN or infinite"
        return None


def _loss_divergence(loss: float, net: str) -> str | None:
    if not math.isfinite(loss):
        return f"The {net} loss became {'NaN' if math.isnan(loss) else 'infinite'}"
    if abs(loss) > LOSS_LIMIT:
        return f"The {net} loss reached {loss:.3g} (beyond ±{LOSS_LIMIT:.0e})"
    return None


def _optimizer(kind: str, net: nn.Module, lr: float) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(net.parameters(), lr=lr)
    return torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))


def _load_data(config: GANConfig) -> np.ndarray:
    if config.data == "custom":
        raise ValueError("Custom 2-D data needs its points: read them with engine.gan.toy2d.read_points_csv.")
    if config.data == "custom-images":
        raise ValueError("Custom images need their array: load them with engine.data.load_image_zip or load_image_folder.")
    if config.is_2d:
        return toy_points(config.data, TOY_POINTS, config.seed)
    from engine.data import load_dataset

    return load_dataset(config.data).images


def _check_data(config: GANConfig, data: np.ndarray) -> np.ndarray:
    """The training data as float32, or ValueError saying why it does not fit config.data."""
    data = np.asarray(data, dtype=np.float32)
    if config.is_2d and (data.ndim != 2 or data.shape[1] != 2 or len(data) < 1):
        raise ValueError(f"2-D data must be an n×2 array of points, got shape {data.shape}.")
    if not config.is_2d:
        if data.ndim != 4 or data.shape[1] not in (1, 3) or len(data) < 1 or \
                not all(4 <= s <= 128 for s in data.shape[2:]):
            raise ValueError(f"Images must be N×C×H×W with C = 1 or 3 and 4–128 pixels a side, got shape {data.shape}.")
        if data.min() < -1e-6 or data.max() > 1 + 1e-6:
            raise ValueError("Image values must lie in [0, 1].")
    if not np.isfinite(data).all():
        raise ValueError("The data contains NaN or infinite values.")
    return data
