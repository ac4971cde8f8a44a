"""Autoencoder training in the background: TrainingJob runs model.fit in a worker thread the page polls."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.jobs import BackgroundJob, JobStatus
from engine.latent.train import Progress, TrainConfig, TrainResult


@dataclass
class JobSnapshot(JobStatus):
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_total: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)


class TrainingJob(BackgroundJob):
    """Runs model.fit(images, config) in the background; stop() ends it after the current step."""

    def __init__(self, model, images: np.ndarray, config: TrainConfig):
        super().__init__(JobSnapshot("running", epochs=config.epochs))
        self.model, self.images, self.config = model, images, config
        self.result: TrainResult | None = None

    @property
    def output(self):
        """The trained model once fit() has returned (a stopped run included)."""
        return self.model if self.result is not None else None

    def _progress(self, p: Progress) -> None:
        with self._lock:
            s = self._snap
            s.epoch, s.epochs, s.step, s.steps_total, s.seconds = p.epoch, p.epochs, p.step, p.steps_total, p.seconds
            if p.val_mse is None:
                s.losses.append(p.loss)
            else:
                s.val_mse.append(p.val_mse)

    def _work(self) -> bool:
        self.result = self.model.fit(self.images, self.config, self._progress, self._stop.is_set)
        with self._lock:
            self._snap.seconds = self.result.seconds
        return self.result.stopped
