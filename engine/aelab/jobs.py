"""One background job for every lab experiment: it runs work(report, should_stop) under the server's job slots and
shows a progress fraction, a line of text, and the result when done (engine.jobs.BackgroundJob)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from engine.jobs import BackgroundJob, JobStatus


@dataclass
class LabSnapshot(JobStatus):
    fraction: float = 0.0
    text: str = ""
    seconds: float = 0.0


class LabJob(BackgroundJob):
    """Runs work(report, should_stop) once; report(fraction, text) updates the snapshot; `output` is its return."""

    def __init__(self, work: Callable[[Callable[[float, str], None], Callable[[], bool]], Any]):
        super().__init__(LabSnapshot("running"))
        self._fn, self.result, self._start = work, None, None

    @property
    def output(self):
        return self.result

    def _report(self, fraction: float, text: str) -> None:
        with self._lock:
            self._snap.fraction, self._snap.text = min(1.0, max(0.0, fraction)), text
            self._snap.seconds = time.perf_counter() - self._start

    def _work(self) -> bool:
        self._start = time.perf_counter()
        self.result = self._fn(self._report, self._stop.is_set)
        with self._lock:
            self._snap.seconds = time.perf_counter() - self._start
        return self._stop.is_set()
