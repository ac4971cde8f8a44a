"""Maps that move while they optimise: t-SNE and UMAP fitted in a background job that publishes the layout
every few iterations, and can be stopped with the layout it has reached.

The fit is exactly projection.project's (same library calls, same seed), only watched: openTSNE's callbacks
(every `every` iterations of both phases, early exaggeration then the rest) and, for UMAP, each epoch of its
layout optimisation, read from the array umap-learn optimises in place. So a finished job's map equals the
non-animated one, point for point. Before the first frame comes the slow part — the nearest neighbours and
affinities (t-SNE) or the fuzzy graph and spectral start (UMAP) — during which the snapshot shows the codes' PCA.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine.jobs import BackgroundJob, JobStatus
from engine.latent import projection
from engine.latent.projection import Projection, ProjectionConfig

TSNE_PHASES = (("early exaggeration", 250), ("optimisation", 500))  # openTSNE's defaults, iterations each


@dataclass
class LayoutStatus(JobStatus):
    """The layout so far: coordinates (the codes' PCA until the optimisation starts), where the fit is."""

    coords: np.ndarray | None = None
    phase: str = "neighbours"  # what the fit is doing: neighbours/affinities, then its optimisation phases
    step: int = 0  # iterations (t-SNE) or epochs (UMAP) done, over all phases
    steps_total: int = 0
    frames: int = 0  # layouts published by the optimisation (0 while it prepares)
    seconds: float = 0.0
    first_frame_seconds: float | None = None  # from the start of the work to the first optimised layout
    notes: list[str] = field(default_factory=list)


class Stopped(Exception):
    """Raised inside umap-learn's epoch loop to end a fit the user stopped."""


class LayoutJob(BackgroundJob):
    """Fit a t-SNE or UMAP map of `codes` in the background; `output` is the finished Projection (also put in
    projection's cache), or after a stop a Projection of the layout reached, its `stopped_at` set."""

    def __init__(self, codes: np.ndarray, config: ProjectionConfig, every: int = 10):
        if config.method not in ("tsne", "umap"):
            raise ValueError(f"Only t-SNE and UMAP maps are optimised step by step, not {config.method!r}.")
        self.codes = np.ascontiguousarray(codes, dtype=np.float32)
        config.validate(len(self.codes), self.codes.shape[1])
        self.config, self.every = config, every
        total = sum(n for _, n in TSNE_PHASES) if config.method == "tsne" else projection.UMAP_EPOCHS
        super().__init__(LayoutStatus(coords=projection.pca_start(self.codes, config.dims), steps_total=total))
        self._result: Projection | None = None

    @property
    def output(self) -> Projection | None:
        with self._lock:
            return self._result

    def _publish(self, coords: np.ndarray, step: int, phase: str, started: float) -> None:
        with self._lock:
            snap = self._snap
            snap.coords, snap.step, snap.phase = np.array(coords, np.float32), step, phase
            snap.frames += 1
            snap.seconds = time.perf_counter() - started
            if snap.first_frame_seconds is None:
                snap.first_frame_seconds = snap.seconds

    def _work(self) -> bool:
        started = time.perf_counter()
        fit = self._tsne if self.config.method == "tsne" else self._umap
        try:
            coords, reducer = fit(started)
        except Stopped:
            coords, reducer = None, None
        stopped_at = None
        if self._stop.is_set():
            with self._lock:
                coords, stopped_at = (self._snap.coords, self._snap.step) if self._snap.frames else (None, None)
            if coords is None:  # stopped before the optimisation began: no layout of its own to keep
                return True
        seconds = time.perf_counter() - started
        result = Projection(np.asarray(coords, np.float32), self.config, seconds, self.codes, reducer, stopped_at)
        if stopped_at is None:
            projection.remember(result)
        with self._lock:
            self._result = result
            self._snap.seconds, self._snap.coords = seconds, result.coords
        return stopped_at is not None

    def _tsne(self, started: float):
        phases = iter([(name, sum(n for _, n in TSNE_PHASES[:i])) for i, (name, _) in enumerate(TSNE_PHASES)])
        phase = {"name": "", "offset": 0}

        def watch(iteration: int, error: float, embedding) -> bool:
            if iteration == self.every:  # openTSNE counts each phase's iterations from 0
                phase["name"], phase["offset"] = next(phases)
            self._publish(embedding, phase["offset"] + iteration, phase["name"], started)
            return self._stop.is_set()  # True ends openTSNE's optimisation

        return projection.fit_tsne(self.codes, self.config, callbacks=watch, callbacks_every_iters=self.every), None

    def _umap(self, started: float):
        with watching_umap_epochs(lambda epoch, embedding: self._umap_epoch(epoch, embedding, started)):
            return projection.fit_umap(self.codes, self.config)

    def _umap_epoch(self, epoch: int, embedding: np.ndarray, started: float) -> None:
        if self._stop.is_set():
            raise Stopped
        if epoch % max(1, self.every // 5) == 0 or epoch == projection.UMAP_EPOCHS:  # every 2 epochs by default
            self._publish(embedding, epoch, "optimisation", started)


_umap_watchers = threading.local()  # this thread's epoch watcher, when a LayoutJob's UMAP fit runs on it
_patch_lock = threading.Lock()


@contextlib.contextmanager
def watching_umap_epochs(watch):
    """While active on this thread, call watch(epochs done, the embedding being optimised) after each epoch of
    umap-learn's layout optimisation. umap.layouts wraps its epoch loop in tqdm: that name is replaced, once per
    process, by a wrapper that passes through untouched on threads without a watcher."""
    import umap.layouts

    with _patch_lock:
        if not getattr(umap.layouts.tqdm, "latentlab_watch", False):
            umap.layouts.tqdm = _epochs_watched(umap.layouts.tqdm)
    _umap_watchers.watch = watch
    try:
        yield
    finally:
        _umap_watchers.watch = None


def _epochs_watched(tqdm):
    def epochs(iterable, **kwargs):
        watch = getattr(_umap_watchers, "watch", None)
        if watch is None:
            return tqdm(iterable, **kwargs)
        embedding = sys._getframe(1).f_locals["head_embedding"]  # optimised in place by the loop that called us

        def loop():
            for epoch in tqdm(iterable, **kwargs):
                yield epoch
                watch(epoch + 1, embedding)

        return loop()

    epochs.latentlab_watch = True
    return epochs
