"""A GAN to watch while it trains: engine.gan.model's GAN run by an engine.jobs.PausableLoop, with its history
(engine.gan.history) and pictures (engine.gan.snapshot) in a snapshot the page polls."""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from engine.gan.checkpoint import DCGAN_PATH, load_gan, read_gan_card, read_gan_weights, save_gan
from engine.gan.digit_score import classifier_score
from engine.gan.history import History, curves
from engine.gan.model import GAN, GANConfig
from engine.gan.snapshot import GANSnapshot, observe
from engine.jobs import PausableLoop

VIEW_SECONDS = 0.1  # 2-D: samples, field, histograms and metric are refreshed at most this often while running
IMAGE_VIEW_SECONDS = 0.5  # images: a G and D pass over the fixed batch costs more; the page polls at 0.5 s
METRIC_SECONDS = 2.0  # images: the classifier score is refreshed at most this often while running
READY = "Ready: press Start to train, or Step to take one step at a time."


class GANTrainer:
    """A GAN trained in a daemon thread that never touches the UI; every method is safe to call from the UI thread.

    `data`: as engine.gan.model.GAN takes it (None loads config.data). A running trainer holds one of
    engine.jobs.SLOTS; start() queues it for one when all are busy (its snapshot says "queued" and where), and it
    runs by itself when its turn comes.
    """

    def __init__(self, config: GANConfig, data: np.ndarray | None = None):
        self._gan = GAN(config, data)
        self._loop = PausableLoop(self._tick, self._failed, name="latentlab-gan")
        self._lock = threading.Lock()  # guards _snap and _history; held only for copies
        self._view_at = self._metric_at = 0.0  # when the worker last refreshed the view, and the image metric
        self._start_over(READY)

    # ---- what it trains (read while paused: a running worker changes the networks)

    @property
    def config(self) -> GANConfig:
        return self._gan.config

    @property
    def data(self) -> np.ndarray:
        return self._gan.data

    @property
    def device(self):
        return self._gan.device

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """2-D: the data's bounding box plus 15 %, (x_min, x_max, y_min, y_max); None for images."""
        return self._gan.extent

    @property
    def G(self):
        return self._gan.G

    @property
    def D(self):
        return self._gan.D

    # ---- controls

    def start(self) -> GANTrainer:
        """Train continuously in the background, or queue for a training slot (no-op when running or queued,
        diverged, done or closed)."""
        with self._loop.exclusive():
            if self._state not in ("diverged", "done") and self._loop.start():
                self._set_state("running", "")
        return self

    def pause(self, message: str | None = None) -> None:
        """Stop after the current iteration, or leave the queue; when this returns no further step is taken."""
        with self._loop.exclusive():
            if self._loop.started:
                self._halt("paused", message or f"Paused at iteration {self._gan.iterations}.")

    def step(self, which: str = "both", n: int = 1) -> None:
        """Take n iterations by hand, pausing first: "d" = one D step, "g" = one G step, "both" = k_d + m_g steps."""
        if which not in ("d", "g", "both"):
            raise ValueError(f"step() takes 'd', 'g' or 'both', got {which!r}.")
        if not 1 <= n <= 100_000:
            raise ValueError(f"n must be between 1 and 100 000, got {n}.")
        with self._loop.exclusive():
            self.pause()
            if self._state == "diverged":
                return
            for _ in range(n):
                if not self._iterate(which) or self._state == "done":
                    break
            if self._state == "paused":
                self._set_state("paused", f"Stepped by hand to iteration {self._gan.iterations}.")
            self._refresh_view()

    def reset(self, seed: int | None = None) -> None:
        """New networks and optimisers (from `seed`, default config.seed), empty history, paused."""
        with self._loop.exclusive():
            self.pause()
            self._gan.reset(seed)
            self._start_over(READY)

    def update(self, **hyper) -> None:
        """Change lr_d, lr_g, k_d, m_g, loss, batch_size, gp_weight or max_steps; applied from the next step."""
        with self._loop.exclusive():
            self._gan.update(**hyper)
            max_steps = self.config.max_steps
            if self._state == "done" and (max_steps is None or self._gan.iterations < max_steps):
                self._set_state("paused", f"Paused at iteration {self._gan.iterations}.")

    def snapshot(self) -> GANSnapshot:
        """A deep copy of the current state; never waits for a training step."""
        with self._lock:
            snap = copy.deepcopy(self._snap)
            rows = self._history.rows()
        snap.seconds, snap.steps_per_second = self._loop.seconds, self._loop.rate()
        if snap.state == "running":
            snap.queue = self._loop.place()
            snap.state = "queued" if snap.queue else "running"
        for name, values in curves(rows).items():
            setattr(snap, name, values)
        return snap

    def field(self, n: int = 64, extent: tuple[float, float, float, float] | None = None):
        """engine.gan.model.GAN.field: D's probability on an n×n grid; 2-D data only."""
        with self._loop.exclusive():
            return self._gan.field(n, extent)

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """n fresh samples from seeded noise: 2-D points n×2, or images n×C×H×W in [0, 1]."""
        with self._loop.exclusive():
            return self._gan.generate(n, seed)

    def interpolate(self, seed_a: int, seed_b: int, ts: np.ndarray) -> np.ndarray:
        """G((1 − t)·z_A + t·z_B) for each t, z_A and z_B the seeded noise vectors: the generator's morph."""
        with self._loop.exclusive():
            return self._gan.interpolate(seed_a, seed_b, ts)

    def save(self, path: str | Path, command: str = "", metrics: dict | None = None) -> Path:
        """Write <stem>.safetensors (G and D, card in the metadata) and <stem>.json (the card, readable);
        metrics default to the snapshot's."""
        with self._loop.exclusive():
            with self._lock:
                metrics = copy.deepcopy(self._snap.metric) if metrics is None else metrics
            return save_gan(self._gan, path, command, metrics)

    def load(self, path: str | Path) -> dict:
        """Load G and D from a checkpoint made for this data shape and architecture; returns its card. Paused."""
        card, weights = read_gan_weights(path, self._gan)
        with self._loop.exclusive():
            self.pause()
            load_gan(self._gan, card, weights)
            self._start_over(f"Loaded {Path(path).name} at iteration {self._gan.iterations}.")
        return card

    def close(self) -> None:
        """Stop the thread for good and give back the training slot."""
        self.pause("Closed.")
        self._loop.close()

    # ---- internals

    def _start_over(self, message: str) -> None:
        """After new or loaded networks: empty history, clock at 0, paused, the view redrawn."""
        self._loop.reset_clock()
        with self._lock:
            self._history = History()
            self._snap = GANSnapshot(message=message, iterations=self._gan.iterations, step=self._gan.updates)
        self._state = "paused"
        self._refresh_view()

    def _set_state(self, state: str, message: str) -> None:
        self._state = state
        with self._lock:
            self._snap.state, self._snap.message = state, message

    def _halt(self, state: str, message: str) -> None:
        """Leave the running state (giving back the slot) and say why; the view is redrawn when it was running."""
        was_running = self._loop.pause()
        self._set_state(state, message)
        if was_running:
            self._refresh_view()

    def _iterate(self, which: str) -> bool:
        """One iteration, recorded; False when training diverged (then it is paused)."""
        it = self._gan.iterate(which)
        with self._lock:
            self._history.append(it.number, it.loss_d, it.loss_g, it.d_real, it.d_fake)
            self._snap.step, self._snap.iterations = self._gan.updates, it.number
        if it.diverged:
            self._halt("diverged", f"{it.diverged} at iteration {it.number} — lower the learning rate and press Reset.")
            return False
        max_steps = self.config.max_steps
        if max_steps is not None and it.number >= max_steps:
            self._halt("done", f"Done: reached max_steps = {max_steps} iterations.")
        return True

    def _tick(self) -> None:
        """The worker's step: one iteration, and the view refreshed when it is due."""
        self._iterate("both")
        now = time.perf_counter()
        if self._loop.running and now - self._view_at >= (VIEW_SECONDS if self.config.is_2d else IMAGE_VIEW_SECONDS):
            metric = self.config.is_2d or now - self._metric_at >= METRIC_SECONDS
            self._refresh_view(metric)
            self._view_at, self._metric_at = now, now if metric else self._metric_at

    def _failed(self, error: Exception) -> None:
        self._set_state("paused", f"Training stopped by an error: {type(error).__name__}: {error}")
        self._refresh_view()

    def _refresh_view(self, metric: bool = True) -> None:
        """Recompute what the page draws (holding the loop); metric=False keeps the last image metric."""
        view = observe(self._gan, metric)
        with self._lock:
            for key, value in view.items():
                setattr(self._snap, key, value)


def load_trainer(path: str | Path = DCGAN_PATH, data: np.ndarray | None = None, **overrides) -> GANTrainer:
    """A paused trainer rebuilt from a GAN checkpoint's card (config fields may be overridden), weights loaded."""
    card = read_gan_card(path)
    known = {f.name for f in fields(GANConfig)}
    config = GANConfig(**{**{k: v for k, v in card["config"].items() if k in known}, **overrides})
    trainer = GANTrainer(config, data)
    trainer.load(path)
    return trainer


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
