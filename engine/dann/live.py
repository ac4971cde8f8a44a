"""A DANN run and its two bounds, to watch while they train: Experiment steps them (no threads), DANNTrainer runs
an Experiment in the background on an engine.jobs.PausableLoop and keeps a snapshot the page polls."""
from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass, field, replace

from engine.dann.domains import DomainPair
from engine.dann.train import MODES, Accuracies, DANNConfig, DANNRun
from engine.jobs import PausableLoop

EVALS_PER_EPOCH = 2  # the DANN run's accuracies are measured this often while it trains
EVAL_LIMIT = 500  # held-out images per domain in those measurements (the final ones use all)
CURVE_COLUMNS = ("iteration", "label_loss", "domain_loss", "lam", "lr")
EVAL_COLUMNS = ("iteration", "source", "target", "domain")
READY = "Ready: press Start to train DANN, then its two bounds."


@dataclass
class DANNSnapshot:
    """What the page draws; a deep copy, safe to keep. `curves` and `evals` belong to the DANN run (the first
    stage); `results` holds each finished stage's accuracies on all held-out images and its training seconds."""

    state: str = "paused"  # "paused", "queued" (for a training slot), "running", "diverged", "done", "stopped"
    message: str = ""
    queue: tuple[int, int] | None = None
    stage: str = "dann"  # the mode being trained (engine.dann.train.MODES)
    stages: tuple[str, ...] = ()
    iteration: int = 0  # in the current stage
    total: int = 0  # the current stage's iterations
    curves: dict[str, list] = field(default_factory=lambda: {c: [] for c in CURVE_COLUMNS})
    evals: dict[str, list] = field(default_factory=lambda: {c: [] for c in EVAL_COLUMNS})
    results: dict[str, dict] = field(default_factory=dict)
    map_before: dict | None = None  # engine.dann.train.DANNRun.feature_map at the DANN run's start
    map_after: dict | None = None  # … at its last measurement
    seconds: float = 0.0  # time spent running
    steps_per_second: float = 0.0

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "diverged")


class Experiment:
    """DANN, then "source only", then "train on target" (when the target has labels), all from one config and
    seed, a step at a time; `snap` is its record so far. The DANN model stays in `dann` after its stage."""

    def __init__(self, config: DANNConfig, pair: DomainPair):
        config.validate()
        self.config, self.pair = replace(config, mode="dann"), pair
        labelled = pair.target.labelled
        self.stages = ("dann", "source-only", "target") if labelled else ("dann", "source-only")
        self.run: DANNRun | None = DANNRun(self.config, pair)  # built now: bad settings are refused at once
        self.dann = self.run
        self.snap = DANNSnapshot(stages=self.stages, total=self.run.total, message=READY,
                                 map_before=self.run.feature_map(self.run.initial))
        self._eval_every = max(1, self.run.per_epoch // EVALS_PER_EPOCH)

    @property
    def finished(self) -> bool:
        return self.snap.finished

    def tick(self) -> None:
        """One training step of the current stage; measurements when they are due; the next stage when it ends."""
        snap, run = self.snap, self.run
        step = run.step()
        if snap.stage == "dann":
            for name in CURVE_COLUMNS:
                snap.curves[name].append(getattr(step, name))
        snap.iteration = run.iteration
        if step.diverged:
            snap.state, snap.message = "diverged", f"{step.diverged} — lower the learning rate or λ and start again."
            return
        if snap.stage == "dann" and (run.iteration % self._eval_every == 0 or run.finished):
            self._measure(run.evaluate(EVAL_LIMIT))
        if run.finished:
            self._finish_stage()

    def _measure(self, acc: Accuracies) -> None:
        snap = self.snap
        for name, value in zip(EVAL_COLUMNS, (self.run.iteration, acc.source, acc.target, acc.domain)):
            snap.evals[name].append(math.nan if value is None else value)
        snap.map_after = self.run.feature_map()

    def _finish_stage(self) -> None:
        snap, run = self.snap, self.run
        acc = run.evaluate()
        snap.results[snap.stage] = {"source": acc.source, "target": acc.target, "domain": acc.domain,
                                    "iterations": run.iteration}
        following = self.stages.index(snap.stage) + 1
        if following == len(self.stages):
            snap.state, snap.message = "done", "Done: DANN and its bounds are trained."
            return
        snap.stage = self.stages[following]
        self.run = DANNRun(replace(self.config, mode=snap.stage), self.pair)
        snap.iteration, snap.total = 0, self.run.total


class DANNTrainer:
    """An Experiment trained in a daemon thread that never touches the UI; every method is safe to call from the UI
    thread. Like engine.gan.trainer.GANTrainer it holds one of engine.jobs.SLOTS while running and queues for one
    when all are busy. `finished`: a finished Experiment to show (e.g. the shipped one) instead of a fresh one."""

    def __init__(self, config: DANNConfig, pair: DomainPair, finished: Experiment | None = None):
        self._config, self._pair = config, pair
        self._exp = finished or Experiment(config, pair)
        self._lock = threading.Lock()  # guards _snap; held only for copies
        self._snap = copy.deepcopy(self._exp.snap)
        self._loop = PausableLoop(self._tick, self._failed, name="latentlab-dann")

    @property
    def config(self) -> DANNConfig:
        return self._exp.config

    def start(self) -> DANNTrainer:
        """Train in the background, or queue for a slot; a finished experiment starts over from new networks."""
        with self._loop.exclusive():
            if self._exp.finished:
                self._exp = Experiment(self._config, self._pair)
                self._loop.reset_clock()
            if self._loop.start():
                self._set("running", "")
        return self

    def pause(self, message: str | None = None) -> None:
        """Stop after the current step, or leave the queue; when this returns no further step is taken."""
        with self._loop.exclusive():
            if self._loop.pause():
                self._set("paused", message or f"Paused at step {self._exp.snap.iteration} of "
                                               f"{MODES[self._exp.snap.stage]}.")

    def stop(self) -> None:
        """End this experiment, keeping what it measured; Start then trains a new one."""
        with self._loop.exclusive():
            self._loop.pause()
            if not self._exp.finished:
                self._exp.snap.state = "stopped"
                self._set("stopped", f"Stopped at step {self._exp.snap.iteration} of {MODES[self._exp.snap.stage]}.")

    def run_to_end(self) -> DANNSnapshot:
        """Train the whole experiment in the calling thread (scripts, tests); the loop must not be running."""
        with self._loop.exclusive():
            while not self._exp.finished:
                self._exp.tick()
            self._publish()
        return self.snapshot()

    def snapshot(self) -> DANNSnapshot:
        with self._lock:
            snap = copy.deepcopy(self._snap)
        snap.seconds, snap.steps_per_second = self._loop.seconds, self._loop.rate()
        if snap.state == "running":
            snap.queue = self._loop.place()
            snap.state = "queued" if snap.queue else "running"
        return snap

    @property
    def experiment(self) -> Experiment:
        """The experiment (read it only while paused or finished: a running worker changes it)."""
        return self._exp

    def close(self) -> None:
        self.pause("Closed.")
        self._loop.close()

    def _set(self, state: str, message: str) -> None:
        """Publish the experiment's record in this state (holding the loop, or from the worker)."""
        if state != "running":
            self._exp.snap.message = message
        with self._lock:
            self._snap = copy.deepcopy(self._exp.snap)
            self._snap.state, self._snap.message = state, message

    def _publish(self) -> None:
        with self._lock:
            running = self._snap.state == "running"
            self._snap = copy.deepcopy(self._exp.snap)
            if running and not self._exp.finished:
                self._snap.state, self._snap.message = "running", ""

    def _tick(self) -> None:
        self._exp.tick()
        snap = self._exp.snap
        if self._exp.finished:
            self._loop.pause()
            self._publish()
        elif snap.iteration % 5 == 0 or snap.iteration == 1:  # a copy costs little; every 5 steps keeps it so
            self._publish()

    def _failed(self, error: Exception) -> None:
        self._exp.snap.state = "stopped"
        self._set("stopped", f"Training stopped by an error: {type(error).__name__}: {error}")

