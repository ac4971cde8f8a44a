"""Background training: a worker thread that never touches the UI, and a lock-protected snapshot to poll."""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field



MAX_RUNNING_JOBS = 2  # trainers at once in one server process (2 cores)
_running = threading.BoundedSemaphore(MAX_RUNNING_JOBS)


class TooManyJobs(RuntimeError):
    """All training slots are busy; str(e) tells the user what to do."""


@dataclass
class JobStatus:
    """What every background job's snapshot says: its state and, when it failed, why."""

    state: str = "running"  # "running", "done", "stopped", "failed"
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"


class BackgroundJob:
    """A daemon thread running `_work()` under one of the server's training slots, with a snapshot to poll.

    Subclasses write `self._snap` (a dataclass with `state` and `error`) only while holding `self._lock`.
    """

    def __init__(self, snapshot):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._snap = snapshot
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"latentlab-{type(self).__name__}")

    def start(self):
        """Run the job in its thread; a job runs once (a second start is refused before taking a slot)."""
        if self._thread.ident is not None:
            raise RuntimeError("This job has already been started; make a new one.")
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

    def snapshot(self):
        with self._lock:
            return copy.deepcopy(self._snap)

    def _work(self) -> bool:
        """Do the work; return True when it ended early because stop() was called."""
        raise NotImplementedError

    def _run(self) -> None:
        try:
            state, error = ("stopped" if self._work() else "done"), None
        except Exception as e:  # reported to the user through the snapshot, never raised in the UI thread
            state, error = "failed", f"{type(e).__name__}: {e}"
        finally:
            _running.release()
        with self._lock:
            self._snap.state, self._snap.error = state, error


def wait_for(job: BackgroundJob, timeout: float = 60.0):
    """Block until the job finishes (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while not job.snapshot().finished and time.monotonic() < deadline:
        time.sleep(0.05)
    return job.snapshot()


@dataclass
class Word2VecSnapshot(JobStatus):
    epoch: int = 0
    epochs: int = 0
    words_done: int = 0
    words_total: int = 0
    words_per_second: float = 0.0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # torch backend only
    probes: dict[str, list[str]] = field(default_factory=dict)  # probe word → its nearest words right now


class Word2VecJob(BackgroundJob):
    """word2vec training in the background; the probe words' neighbours are refreshed every `probe_seconds`."""

    def __init__(self, sentences: list[list[str]], config, probes: list[str], probe_seconds: float = 1.0):
        from engine.word2vec import build_vocab

        config.validate()
        build_vocab(sentences, config.min_count)  # raises now, in the caller, when min_count is too high
        super().__init__(Word2VecSnapshot("running", epochs=config.epochs))
        self.sentences, self.config, self.probes, self.probe_seconds = sentences, config, probes, probe_seconds
        self.result = None  # WordVectors once finished (also when stopped)
        self._started, self._probed = time.monotonic(), -float("inf")

    def _progress(self, p) -> None:
        now, probes = time.monotonic(), None
        if p.current is not None and now - self._probed >= self.probe_seconds:
            self._probed, probes = now, probe_neighbours(p.current(), self.probes)
        with self._lock:
            s = self._snap
            s.epoch, s.words_done, s.words_total, s.words_per_second = p.epoch, p.words_done, p.words_total, p.words_per_second
            s.seconds = now - self._started
            if p.loss is not None:
                s.losses.append(p.loss)
            if probes is not None:
                s.probes = probes

    def snapshot(self) -> Word2VecSnapshot:
        snap = super().snapshot()
        if not snap.finished:  # the clock runs between progress reports too (e.g. while examples are drawn)
            snap.seconds = time.monotonic() - self._started
        return snap

    def _work(self) -> bool:
        from engine.word2vec import train_word2vec

        self.result = train_word2vec(self.sentences, self.config, self._progress, self._stop.is_set)
        probes = probe_neighbours(self.result, self.probes)
        with self._lock:
            self._snap.probes, self._snap.seconds = probes, time.monotonic() - self._started
        return self._stop.is_set()


def probe_neighbours(wv, probes: list[str], topn: int = 6) -> dict[str, list[str]]:
    """The nearest words of each probe word (an empty list when it is not in the vocabulary)."""
    return {p: [w for w, _ in wv.neighbours(p, topn)] if p in wv else [] for p in probes}
