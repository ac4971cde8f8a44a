"""Background training: a worker thread that never touches the UI, and a lock-protected snapshot to poll."""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass



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

    Subclasses write `self._snap` (a dataclass with `state` and `error`) only while holding `self._lock`, and say
    through `output` what the job made (a model, word vectors), None until there is something to use.
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

    @property
    def output(self):
        """What the job made, for the user to take on (also after a stop); None while there is nothing."""
        raise NotImplementedError

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
