"""Background training: a worker thread that never touches the UI, and a lock-protected snapshot to poll."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine.train import Progress, TrainConfig, TrainResult

MAX_RUNNING_JOBS = 2  # trainers at once in one server process (2 cores)
_running = threading.BoundedSemaphore(MAX_RUNNING_JOBS)


class TooManyJobs(RuntimeError):
    """All training slots are busy; str(e) tells the user what to do."""


@dataclass
class JobSnapshot:
    state: str  # "running", "done", "stopped", "failed"
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_total: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"


class TrainingJob:
    """Runs model.fit(images, config) in a daemon thread; stop() asks it to end after the current step."""

    def __init__(self, model, images: np.ndarray, config: TrainConfig):
        self.model, self.images, self.config = model, images, config
        self.result: TrainResult | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._snap = JobSnapshot("running", epochs=config.epochs)
        self._thread = threading.Thread(target=self._run, daemon=True, name="latentlab-train")

    def start(self) -> "TrainingJob":
        if not _running.acquire(blocking=False):
            raise TooManyJobs(
                f"{MAX_RUNNING_JOBS} models are already training on this server; "
                "wait for one to finish or stop yours, then try again."
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            s = self._snap
            return JobSnapshot(s.state, s.epoch, s.epochs, s.step, s.steps_total, s.seconds,
                               list(s.losses), list(s.val_mse), s.error)

    def _progress(self, p: Progress) -> None:
        with self._lock:
            s = self._snap
            s.epoch, s.epochs, s.step, s.steps_total, s.seconds = p.epoch, p.epochs, p.step, p.steps_total, p.seconds
            if p.val_mse is None:
                s.losses.append(p.loss)
            else:
                s.val_mse.append(p.val_mse)

    def _run(self) -> None:
        try:
            self.result = self.model.fit(self.images, self.config, self._progress, self._stop.is_set)
            state, error = ("stopped" if self.result.stopped else "done"), None
        except Exception as e:  # reported to the user through the snapshot, never raised in the UI thread
            state, error = "failed", f"{type(e).__name__}: {e}"
        finally:
            _running.release()
        with self._lock:
            self._snap.state, self._snap.error = state, error
            self._snap.seconds = self.result.seconds if self.result else self._snap.seconds


def wait_for(job: TrainingJob, timeout: float = 60.0) -> JobSnapshot:
    """Block until the job finishes (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while not job.snapshot().finished and time.monotonic() < deadline:
        time.sleep(0.05)
    return job.snapshot()
