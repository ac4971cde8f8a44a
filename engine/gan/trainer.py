"""GANs to watch while they train: an MLP GAN on 2-D points and a DCGAN on images, five losses, one trainer.

The networks and the five losses live in engine.gan.nets; the digit score in engine.gan.digit_score.
One iteration is the lecture's loop: k_d discriminator steps, then m_g generator steps, each on a fresh batch.

GANTrainer runs iterations in a daemon thread that never touches the UI; the page polls snapshot().
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from engine import jobs
from engine.checkpoints import CHECKPOINT_DIR, CheckpointError, read_card_json, save_weights
from engine.gan.digit_score import CLASSIFIER_PATH, classifier_score
from engine.gan.nets import (LOSSES, ConvDiscriminator, ConvGenerator, d_loss, g_loss, gradient_penalty,
                             mlp_discriminator, mlp_generator)
from engine.device import configure_threads, pick_device
from engine.gan.toy2d import TOY_SETS, mode_metrics, toy_points

POINT_SETS = (*TOY_SETS, "custom")
IMAGE_SETS = ("mnist", "digits", "fashion", "faces", "custom-images")  # custom-images: the caller passes them
HIST_EDGES = np.linspace(0, 1, 21)  # bins of hist_real / hist_fake
MAX_LR = 10.0
LOSS_LIMIT = 1e4  # |loss| above this counts as divergence
MAX_HISTORY = 5000  # snapshot curves are block-averaged down to this many points
VIEW_SECONDS = 0.1  # 2-D: samples, field, histograms and metric are refreshed at most this often while running
IMAGE_VIEW_SECONDS = 0.5  # images: a G and D pass over the fixed batch costs more; the page polls at 0.5 s
TOY_POINTS = 10_000  # size of a toy training set
# The 2-D MLPs are too small for a GPU: on an H100 they ran at 162 iterations/s against 272 on its CPU (kernel
# launches dominate), while the DCGAN ran 2.2× faster there (bench/gpu_engine.py). LATENTLAB_DEVICE still wins.
TINY_ON_CPU = not os.environ.get("LATENTLAB_DEVICE")
FIXED_POINTS, FIXED_IMAGES = 512, 64  # the fixed noise batch shown as samples
METRIC_IMAGES, METRIC_SECONDS = 500, 2.0  # images: classifier score of 500 fixed samples, at most every 2 s
MANIFOLD_LINES, MANIFOLD_RANGE = 15, 2.5  # G over a 15×15 grid of z in [−2.5, 2.5]²
CARD_KEY, FORMAT = "latentlab_gan_card", "latentlab-gan-1"
DCGAN_PATH = CHECKPOINT_DIR / "mnist-dcgan.safetensors"
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


@dataclass
class GANSnapshot:
    """What the page draws; a deep copy, safe to keep.

    History lists hold one entry per iteration (block-averaged down to MAX_HISTORY entries; history_x holds the
    last iteration of each block). An iteration is k_d D steps then m_g G steps, or one single "d"/"g" step.
    d_real / d_fake are mean σ(l) — for lsgan, wgan-gp and hinge l is a score, not a logit, and σ(l) only a
    squashed view of it. hist_real / hist_fake count σ(l) of the fixed real sample and the fixed fake batch in
    the bins HIST_EDGES.
    """

    state: str = "paused"  # "paused", "running", "diverged", "done"
    message: str = ""  # why it is not running, for the user
    step: int = 0  # parameter updates so far (D steps + G steps)
    iterations: int = 0
    loss_d: list[float] = dataclasses.field(default_factory=list)
    loss_g: list[float] = dataclasses.field(default_factory=list)
    d_real: list[float] = dataclasses.field(default_factory=list)
    d_fake: list[float] = dataclasses.field(default_factory=list)
    history_x: list[int] = dataclasses.field(default_factory=list)
    hist_real: np.ndarray | None = None
    hist_fake: np.ndarray | None = None
    samples: np.ndarray | None = None  # 2-D: G(fixed z), 512×2; images: 64×C×H×W in [0, 1]
    real: np.ndarray | None = None  # a fixed sample of the data, same layout as samples
    grad: np.ndarray | None = None  # 2-D: −∂L_G/∂G(z) at each sample (L_G summed, not averaged)
    manifold: np.ndarray | None = None  # 2-D: G over a 15×15 grid of (z₁, z₂), other z 0; rows and columns are lines
    field: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # 2-D: field() at the default extent
    steps_per_second: float = 0.0  # iterations per second while running
    seconds: float = 0.0  # time spent running
    metric: dict = dataclasses.field(default_factory=dict)  # ring8, grid25: mode_metrics of the samples;
    #                                                          mnist: classifier_score of 500 fixed-noise samples


class GANTrainer:
    """Owns G, D, their optimisers and a daemon thread; every method is safe to call from the UI thread.

    `data`: 2-D points n×2 (in any units: the networks see them standardised), or images N×C×H×W in [0, 1]
    (the networks see [−1, 1]). None loads config.data. Running trainers take one of engine.jobs' training
    slots; start() raises engine.jobs.TooManyJobs when all are busy.
    """

    def __init__(self, config: GANConfig, data: np.ndarray | None = None):
        config.validate()
        self.config = replace(config)
        self.device = pick_device(config.device or ("cpu" if config.is_2d and TINY_ON_CPU else None))
        if self.device.type == "cpu":
            configure_threads(config.threads)
        self.data = _check_data(self.config, _load_data(self.config) if data is None else data)
        self._lock = threading.Lock()  # guards the snapshot state below; held only for copies
        self._models = threading.Condition(threading.RLock())  # guards networks and optimisers
        self._waiting = 0  # callers queued for _models: the worker lets them in between iterations
        self._running = self._closed = self._slot = False
        self._thread: threading.Thread | None = None
        points = self.data.astype(np.float64)
        self._shift = points.mean(0) if self.config.is_2d else None
        self._scale = float(points.std(0).max() or 1.0) if self.config.is_2d else None
        if self.config.is_2d:
            pad = 0.15 * np.maximum(points.max(0) - points.min(0), 1e-3)
            self.extent = (*(points[:, 0].min() - pad[0], points[:, 0].max() + pad[0]),
                           *(points[:, 1].min() - pad[1], points[:, 1].max() + pad[1]))
        self._build(self.config.seed)

    # ---- public controls

    def start(self) -> GANTrainer:
        """Train continuously in the background (no-op when running, diverged or done)."""
        with self._exclusive():
            if self._running or self._closed or self._state in ("diverged", "done"):
                return self
            jobs.SLOTS.take("pause one of them or wait, then press Start again.")
            self._slot, self._running = True, True
            with self._lock:
                self._run_start = time.perf_counter()
            self._set_state("running", "")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="latentlab-gan")
                self._thread.start()
            self._models.notify_all()
        return self

    def pause(self, message: str | None = None) -> None:
        """Stop after the current iteration; when this returns no further step is taken."""
        with self._exclusive():
            if self._running:
                self._stop_running("paused", message or f"Paused at iteration {self._iterations}.")

    def step(self, which: str = "both", n: int = 1) -> None:
        """Take n iterations by hand, pausing first: "d" = one D step, "g" = one G step, "both" = k_d + m_g steps."""
        if which not in ("d", "g", "both"):
            raise ValueError(f"step() takes 'd', 'g' or 'both', got {which!r}.")
        if not 1 <= n <= 100_000:
            raise ValueError(f"n must be between 1 and 100 000, got {n}.")
        with self._exclusive():
            self.pause()
            if self._state == "diverged":
                return
            for _ in range(n):
                if not self._iterate(which) or self._state == "done":
                    break
            if self._state == "paused":
                self._set_state("paused", f"Stepped by hand to iteration {self._iterations}.")
            self._refresh_view()

    def reset(self, seed: int | None = None) -> None:
        """New networks and optimisers (from `seed`, default config.seed), empty history, paused."""
        with self._exclusive():
            self.pause()
            if seed is not None:
                self.config.seed = int(seed)
            self._build(self.config.seed)

    def update(self, **hyper) -> None:
        """Change lr_d, lr_g, k_d, m_g, loss, batch_size, gp_weight or max_steps; applied from the next step."""
        unknown = set(hyper) - set(UPDATABLE)
        if unknown:
            raise ValueError(f"Cannot change {', '.join(sorted(unknown))} while training; "
                             f"change it in the settings and press Reset. Changeable: {', '.join(UPDATABLE)}.")
        with self._exclusive():
            config = replace(self.config, **hyper)
            config.validate()
            self.config = config
            for opt, lr in ((self._opt_d, config.lr_d), (self._opt_g, config.lr_g)):
                for group in opt.param_groups:
                    group["lr"] = lr
            if self._state == "done" and (config.max_steps is None or self._iterations < config.max_steps):
                self._set_state("paused", f"Paused at iteration {self._iterations}.")

    def snapshot(self) -> GANSnapshot:
        """A deep copy of the current state; never waits for a training step."""
        with self._lock:
            snap = copy.deepcopy(self._snap)
            history = self._history[: self._n].copy()
            seconds = self._seconds + (time.perf_counter() - self._run_start if self._running else 0.0)
        snap.seconds = seconds
        if len(history) > MAX_HISTORY:
            starts = np.arange(0, len(history), math.ceil(len(history) / MAX_HISTORY))
            counts = np.diff(np.append(starts, len(history)))[:, None]
            means = np.add.reduceat(history, starts) / counts
            means[:, 0] = history[np.append(starts[1:], len(history)) - 1, 0]
            history = means
        snap.history_x = history[:, 0].astype(int).tolist()
        snap.loss_d, snap.loss_g, snap.d_real, snap.d_fake = (history[:, i].tolist() for i in range(1, 5))
        return snap

    @torch.no_grad()
    def field(self, n: int = 64, extent: tuple[float, float, float, float] | None = None):
        """D's probability σ(l) on an n×n grid: (xs, ys, grid) with grid[i, j] at (xs[j], ys[i]); 2-D data only.

        extent = (x_min, x_max, y_min, y_max), default the data's bounding box plus 15 %.
        """
        if not self.config.is_2d:
            raise ValueError("The discriminator field is only drawn for 2-D data.")
        if not 2 <= n <= 512:
            raise ValueError(f"The field needs 2–512 points per side, got {n}.")
        with self._exclusive():
            return self._field(n, extent or self.extent)

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """n fresh samples from seeded noise: 2-D points n×2, or images n×C×H×W in [0, 1]."""
        z = torch.randn(n, self.config.noise_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)
        with self._exclusive():
            return self._from_model(self._eval_g(z))

    @torch.no_grad()
    def interpolate(self, seed_a: int, seed_b: int, ts: np.ndarray) -> np.ndarray:
        """G((1 − t)·z_A + t·z_B) for each t, z_A and z_B the seeded noise vectors: the generator's morph."""
        z_a, z_b = (torch.randn(1, self.config.noise_dim, generator=torch.Generator().manual_seed(s)) for s in (seed_a, seed_b))
        t = torch.as_tensor(np.asarray(ts, np.float32))[:, None]
        with self._exclusive():
            return self._from_model(self._eval_g(((1 - t) * z_a + t * z_b).to(self.device)))

    def save(self, path: str | Path, command: str = "", metrics: dict | None = None) -> Path:
        """Write <stem>.safetensors (G and D, card in the metadata) and <stem>.json (the card, readable)."""
        stem = Path(path)
        base = stem.name.removesuffix(".safetensors")
        out = stem.with_name(base + ".safetensors")
        out.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive():
            tensors = {f"{net}.{k}": v.detach().cpu().contiguous()
                       for net, module in (("G", self.G), ("D", self.D)) for k, v in module.state_dict().items()}
            card = {
                "name": base, "format": FORMAT, "data": self.config.data, "data_shape": list(self.data.shape[1:]),
                "config": self.config.to_dict(), "iterations": self._iterations, "step": self._step,
                "metrics": self._snap.metric if metrics is None else metrics, "command": command,
                "normalisation": None if self._shift is None else {"shift": self._shift.tolist(), "scale": self._scale},
                "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        return save_weights(tensors, out, CARD_KEY, card)

    def load(self, path: str | Path) -> dict:
        """Load G and D from a checkpoint made for this data shape and architecture; returns its card. Paused."""
        card = read_gan_card(path)
        mine = self.config.to_dict()
        different = [k for k in ("noise_dim", "width", "depth", "channels") if card["config"].get(k) != mine[k]]
        if card["data_shape"] != list(self.data.shape[1:]) or different:
            raise CheckpointError(f"{Path(path).name} was trained with another architecture or data shape "
                                  f"({', '.join(different) or 'data shape ' + str(card['data_shape'])}); "
                                  "use load_trainer() to rebuild it from its card.")
        tensors = load_file(str(path), device=str(self.device))
        with self._exclusive():
            self.pause()
            if card["normalisation"] is not None:
                self._shift, self._scale = np.array(card["normalisation"]["shift"]), card["normalisation"]["scale"]
            self._build(self.config.seed)
            try:
                for net, module in (("G", self.G), ("D", self.D)):
                    own = {k[2:]: v for k, v in tensors.items() if k.startswith(net + ".")}
                    module.load_state_dict(own, strict=True)
            except RuntimeError as e:
                raise CheckpointError(f"{Path(path).name}: weights do not match the card's networks ({e}).") from None
            self._iterations, self._step = card["iterations"], card["step"]
            with self._lock:
                self._snap.iterations, self._snap.step = self._iterations, self._step
            self._set_state("paused", f"Loaded {Path(path).name} at iteration {self._iterations}.")
            self._refresh_view()
        return card

    def close(self) -> None:
        """Stop the thread for good and give back the training slot."""
        with self._exclusive():
            self._closed = True
            if self._running:
                self._stop_running("paused", "Closed.")
            self._models.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    # ---- internals

    def _build(self, seed: int) -> None:
        cfg = self.config
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
        self._opt_d, self._opt_g = (self._optimizer(net, lr) for net, lr in ((self.D, cfg.lr_d), (self.G, cfg.lr_g)))
        self._gen = torch.Generator(device=self.device).manual_seed(seed)
        rng = np.random.default_rng(seed)
        self._x = self._to_model(self.data)
        n_fixed = FIXED_POINTS if cfg.is_2d else FIXED_IMAGES
        self._z_fixed = torch.randn(n_fixed, cfg.noise_dim, generator=self._gen, device=self.device)
        metric_gen = torch.Generator().manual_seed(seed + 1)  # its own stream: training batches stay as they were
        self._z_metric = torch.randn(METRIC_IMAGES, cfg.noise_dim, generator=metric_gen).to(self.device)
        pick = rng.choice(len(self.data), n_fixed, replace=len(self.data) < n_fixed)
        self._real_fixed = self._x[torch.as_tensor(pick)]
        self._iterations = self._step = 0
        self._last = {"loss_d": math.nan, "loss_g": math.nan, "d_real": math.nan, "d_fake": math.nan}
        self._rate_marks: deque[tuple[float, int]] = deque(maxlen=200)  # (time, iterations) while running
        with self._lock:
            self._history, self._n = np.zeros((1024, 5)), 0
            self._seconds, self._run_start = 0.0, time.perf_counter()
            self._snap = GANSnapshot(message="Ready: press Start to train, or Step to take one step at a time.")
        self._state = "paused"
        self._refresh_view()

    @torch.no_grad()
    def _field(self, n: int, extent: tuple[float, float, float, float]):
        x0, x1, y0, y1 = extent
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
        prob = torch.sigmoid(self.D(self._to_model(grid))).view(n, n).cpu().numpy()
        return xs.astype(np.float32), ys.astype(np.float32), prob

    def _optimizer(self, net: nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=lr)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))

    @contextmanager
    def _exclusive(self):
        """Hold the networks; the worker yields between iterations while a caller waits here."""
        with self._lock:
            self._waiting += 1
        try:
            with self._models:
                yield
        finally:
            with self._lock:
                self._waiting -= 1

    def _set_state(self, state: str, message: str) -> None:
        self._state = state
        with self._lock:
            self._snap.state, self._snap.message = state, message

    def _stop_running(self, state: str, message: str) -> None:
        """Leave the running state (under _models): stop the clock, give back the slot."""
        self._running = False
        with self._lock:
            self._seconds += time.perf_counter() - self._run_start
        if self._slot:
            self._slot = False
            jobs.SLOTS.release()
        self._set_state(state, message)
        self._refresh_view()

    def _loop(self) -> None:
        last_view = last_metric = 0.0
        view_seconds = VIEW_SECONDS if self.config.is_2d else IMAGE_VIEW_SECONDS
        while True:
            while self._waiting:
                time.sleep(0.001)
            with self._models:
                while not self._running and not self._closed:
                    self._models.wait()
                if self._closed:
                    return
                try:
                    self._iterate("both")
                    self._rate_marks.append((time.perf_counter(), self._iterations))
                    now = time.perf_counter()
                    if self._running and now - last_view >= view_seconds:
                        metric = self.config.is_2d or now - last_metric >= METRIC_SECONDS
                        self._refresh_view(metric)
                        last_view, last_metric = now, now if metric else last_metric
                except Exception as e:  # reported to the user, never raised into the UI thread
                    self._stop_running("paused", f"Training stopped by an error: {type(e).__name__}: {e}")

    def _batch(self) -> torch.Tensor:
        return self._x[torch.randint(len(self._x), (self.config.batch_size,), generator=self._gen, device=self.device)]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.noise_dim, generator=self._gen, device=self.device)

    def _d_step(self) -> tuple[float, float, float]:
        cfg = self.config
        real = self._batch()
        with torch.no_grad():
            fake = self.G(self._noise(len(real)))
        l_real, l_fake = self.D(real), self.D(fake)
        loss = d_loss(cfg.loss, l_real, l_fake)
        if cfg.loss == "wgan-gp":
            loss = loss + cfg.gp_weight * gradient_penalty(self.D, real, fake, self._gen)
        self._opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self._opt_d.step()
        return loss.item(), torch.sigmoid(l_real).mean().item(), torch.sigmoid(l_fake).mean().item()

    def _g_step(self) -> tuple[float, float]:
        self.D.requires_grad_(False)  # D's parameters get no gradient (and stay as they are)
        try:
            l_fake = self.D(self.G(self._noise(self.config.batch_size)))
            loss = g_loss(self.config.loss, l_fake)
            self._opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self._opt_g.step()
        finally:
            self.D.requires_grad_(True)
        return loss.item(), torch.sigmoid(l_fake).mean().item()

    def _iterate(self, which: str) -> bool:
        """One iteration; records it and returns False when training diverged (then it is paused)."""
        cfg, last = self.config, self._last
        k, m = {"both": (cfg.k_d, cfg.m_g), "d": (1, 0), "g": (0, 1)}[which]
        d_losses, g_losses = [], []
        for _ in range(k):
            loss, last["d_real"], last["d_fake"] = self._d_step()
            d_losses.append(loss)
            self._step += 1
            if self._diverged(loss, "discriminator"):
                break
        for _ in range(m if self._state != "diverged" else 0):
            loss, last["d_fake"] = self._g_step()
            g_losses.append(loss)
            self._step += 1
            if self._diverged(loss, "generator"):
                break
        last["loss_d"] = float(np.mean(d_losses)) if d_losses else last["loss_d"]
        last["loss_g"] = float(np.mean(g_losses)) if g_losses else last["loss_g"]
        self._iterations += 1
        with self._lock:
            if self._n == len(self._history):
                self._history = np.concatenate([self._history, np.zeros_like(self._history)])
            self._history[self._n] = (self._iterations, last["loss_d"], last["loss_g"], last["d_real"], last["d_fake"])
            self._n += 1
            self._snap.step, self._snap.iterations = self._step, self._iterations
        if self._state != "diverged":
            self._check_weights()
        if self._state == "diverged":
            return False
        if cfg.max_steps is not None and self._iterations >= cfg.max_steps:
            message = f"Done: reached max_steps = {cfg.max_steps} iterations."
            if self._running:
                self._stop_running("done", message)
            else:
                self._set_state("done", message)
        return True

    def _diverge(self, why: str) -> None:
        message = f"{why} at iteration {self._iterations + 1} — lower the learning rate and press Reset."
        if self._running:
            self._stop_running("diverged", message)
        else:
            self._set_state("diverged", message)

    def _diverged(self, loss: float, net: str) -> bool:
        if not math.isfinite(loss):
            self._diverge(f"The {net} loss became {'NaN' if math.isnan(loss) else 'infinite'}")
        elif abs(loss) > LOSS_LIMIT:
            self._diverge(f"The {net} loss reached {loss:.3g} (beyond ±{LOSS_LIMIT:.0e})")
        return self._state == "diverged"

    def _check_weights(self) -> None:
        for name, net in (("generator", self.G), ("discriminator", self.D)):
            total = torch.stack([p.detach().sum() for p in net.parameters()]).sum()
            if not torch.isfinite(total):
                self._diverge(f"The {name}'s weights became NaN or infinite")
                return

    def _to_model(self, array: np.ndarray) -> torch.Tensor:
        if self.config.is_2d:
            array = (np.asarray(array, np.float64) - self._shift) / self._scale
            return torch.as_tensor(array, dtype=torch.float32, device=self.device)
        return torch.as_tensor(array, dtype=torch.float32, device=self.device) * 2 - 1

    def _from_model(self, x: torch.Tensor) -> np.ndarray:
        if self.config.is_2d:
            return (x.detach().cpu().double().numpy() * self._scale + self._shift).astype(np.float32)
        return ((x.detach().cpu().numpy() + 1) / 2).clip(0, 1).astype(np.float32)

    def _eval_g(self, z: torch.Tensor) -> torch.Tensor:
        """G in eval mode (batch norm on its running statistics), then back to train mode."""
        self.G.eval()
        try:
            with torch.no_grad():
                return self.G(z)
        finally:
            self.G.train()

    def _refresh_view(self, metric: bool = True) -> None:
        """Recompute what the page draws from the fixed noise and the fixed real sample (under _models);
        metric=False keeps the last image metric (it costs more than the rest of the view)."""
        cfg = self.config
        fake = self._eval_g(self._z_fixed)
        with torch.no_grad():
            p_real = torch.sigmoid(self.D(self._real_fixed)).flatten().cpu().numpy()
        view = {"samples": self._from_model(fake), "real": self._from_model(self._real_fixed),
                "hist_real": np.histogram(p_real, HIST_EDGES)[0]}
        if cfg.is_2d:
            x = fake.clone().requires_grad_(True)
            logits = self.D(x)
            with torch.no_grad():
                view["hist_fake"] = np.histogram(torch.sigmoid(logits).flatten().cpu().numpy(), HIST_EDGES)[0]
            grad, = torch.autograd.grad(g_loss(cfg.loss, logits) * len(x), x)
            view["grad"] = (-grad / self._scale).cpu().numpy().astype(np.float32)
            if cfg.noise_dim >= 2:
                u = torch.linspace(-MANIFOLD_RANGE, MANIFOLD_RANGE, MANIFOLD_LINES)
                z = torch.zeros(MANIFOLD_LINES ** 2, cfg.noise_dim)
                z[:, 0], z[:, 1] = u.repeat(MANIFOLD_LINES), u.repeat_interleave(MANIFOLD_LINES)
                view["manifold"] = self._from_model(self._eval_g(z.to(self.device))).reshape(
                    MANIFOLD_LINES, MANIFOLD_LINES, 2)
            view["field"] = self._field(64, self.extent)
            view["metric"] = mode_metrics(view["samples"], cfg.data)
        else:
            with torch.no_grad():
                view["hist_fake"] = np.histogram(torch.sigmoid(self.D(fake)).flatten().cpu().numpy(), HIST_EDGES)[0]
            if metric and _classifiable(cfg.data, self.data):
                view["metric"] = classifier_score(self._from_model(self._eval_g(self._z_metric)))
        now = time.perf_counter()
        marks = [m for m in self._rate_marks if now - m[0] <= 2.0] if self._running else []
        rate = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0]) if len(marks) > 1 else 0.0
        with self._lock:
            for key, value in view.items():
                setattr(self._snap, key, value)
            self._snap.steps_per_second = rate


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


def read_gan_card(path: str | Path) -> dict:
    """The card inside a GAN checkpoint (data, config, iterations, metrics, command), without the weights."""
    return read_card_json(path, CARD_KEY, "GAN checkpoint", FORMAT)


def load_trainer(path: str | Path = DCGAN_PATH, data: np.ndarray | None = None, **overrides) -> GANTrainer:
    """A paused trainer rebuilt from a GAN checkpoint's card (config fields may be overridden), weights loaded."""
    card = read_gan_card(path)
    known = {f.name for f in fields(GANConfig)}
    config = GANConfig(**{**{k: v for k, v in card["config"].items() if k in known}, **overrides})
    trainer = GANTrainer(config, data)
    trainer.load(path)
    return trainer


def _classifiable(data: str, images: np.ndarray) -> bool:
    return data == "mnist" and images.shape[1:] == (1, 28, 28) and CLASSIFIER_PATH.exists()


def train_until_score(trainer: GANTrainer, iterations: int | None = None, max_seconds: float | None = None,
                      every: int = 100, samples: int = 500, stop_on_pass: bool = False, report=None) -> dict:
    """Step an MNIST trainer, scoring `samples` generated digits every `every` iterations.

    Returns seconds / iterations trained, and seconds_to_pass / iterations_to_pass: the first score with at least
    engine.gan.digit_score.PASS_SHARE of samples confident (None if never). Training time excludes the scoring.
    """
    seconds, result = 0.0, {"seconds_to_pass": None, "iterations_to_pass": None}
    snap = trainer.snapshot()
    while snap.state == "paused" and (iterations is None or snap.iterations < iterations) and \
            (max_seconds is None or seconds < max_seconds):
        n = every if iterations is None else min(every, iterations - snap.iterations)
        start = time.perf_counter()
        trainer.step("both", n)
        seconds += time.perf_counter() - start
        snap = trainer.snapshot()
        score = classifier_score(trainer.generate(samples, seed=1))
        if score["passed"] and result["seconds_to_pass"] is None:
            result.update(seconds_to_pass=round(seconds, 1), iterations_to_pass=snap.iterations)
        if report:
            report(snap, seconds, score)
        if score["passed"] and stop_on_pass:
            break
    result.update(seconds=round(seconds, 1), iterations=snap.iterations, state=snap.state,
                  score=classifier_score(trainer.generate(samples, seed=1)))
    return result
