"""Long jobs in the background: the server's training slots, run-once jobs and a pausable loop.

Worker threads never touch the UI; callers poll lock-protected snapshots. Every long job holds one of SLOTS
while it runs.
"""
from __future__ import annotations

import copy
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

MAX_RUNNING_JOBS = 2  # trainers at once in one server process (2 cores)
RATE_SECONDS = 2.0  # PausableLoop.rate(): steps per second over this window


class TooManyJobs(RuntimeError):
    """All training slots are busy; str(e) tells the user what to do."""


class Slots:
    """At most `size` long jobs at once in this process; a running job holds one slot.

    take() and try_acquire() answer at once and never wait: a job that finds none free is refused. (A fair queue
    would add a waiting acquire here; holders keep calling take/try_acquire and release.)
    """

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def busy(self) -> int:
        with self._lock:
            return self._busy

    @property
    def free(self) -> int:
        with self._lock:
            return self.size - self._busy

    def try_acquire(self) -> bool:
        """Take a slot when one is free (True), else change nothing (False)."""
        with self._lock:
            if self._busy == self.size:
                return False
            self._busy += 1
            return True

    def take(self, advice: str) -> None:
        """Take a slot, or raise TooManyJobs: "<size> models are already training on this server; <advice>"."""
        if not self.try_acquire():
            raise TooManyJobs(f"{self.size} models are already training on this server; {advice}")

    def release(self) -> None:
        with self._lock:
            if self._busy == 0:
                raise RuntimeError("A training slot was given back that was never taken.")
            self._busy -= 1


SLOTS = Slots(MAX_RUNNING_JOBS)


@dataclass
class JobStatus:
    """What every background job's snapshot says: its state and, when it failed, why."""

    state: str = "running"  # "running", "done", "stopped", "failed"
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"


class BackgroundJob:
    """A daemon thread running `_work()` once under one of SLOTS, with a snapshot to poll.

    Subclasses write `self._snap` (a dataclass with `state` and `error`) only while holding `self._lock`, and say
    through `output` what the job made (a model, word vectors), None until there is something to use.
    """

    def __init__(self, snapshot):
        self._lock = threading.Lock()  # guards _snap and _holds_slot
        self._stop = threading.Event()
        self._snap = snapshot
        self._holds_slot = False  # True from start() until the job ends or hands its slot to a replacing job
        self._after: BackgroundJob | None = None  # the replaced job, whose end this one waits for
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"latentlab-{type(self).__name__}")

    def start(self, replacing: BackgroundJob | None = None):
        """Run the job in its thread; a job runs once (a second start is refused before taking a slot).

        replacing: the job this one replaces (the same session's previous one). While that job still holds its
        slot it is stopped and its slot handed over, so this start cannot be refused; this job's work begins once
        that job has ended (after its current step). Otherwise a free slot is taken, and when none is, TooManyJobs
        is raised with nothing stopped."""
        if self._thread.ident is not None:
            raise RuntimeError("This job has already been started; make a new one.")
        if replacing is not None and replacing._hand_over_slot():
            self._after = replacing
        else:
            SLOTS.take("wait for one to finish or stop yours, then try again.")
        with self._lock:
            self._holds_slot = True
        self._thread.start()
        return self

    def _hand_over_slot(self) -> bool:
        """Stop this job and give up its slot to the caller (True); False, changing nothing, when it holds none
        (not started, or ended)."""
        with self._lock:
            held, self._holds_slot = self._holds_slot, False
        if held:
            self._stop.set()
        return held

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
        if self._after is not None:
            self._after.join()  # one slot, one job at work: the replaced job ends its current step first
            self._after = None
        try:
            state, error = ("stopped" if self._work() else "done"), None
        except Exception as e:  # reported to the user through the snapshot, never raised in the UI thread
            state, error = "failed", f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                held, self._holds_slot = self._holds_slot, False
            if held:  # not when it was handed over to a replacing job
                SLOTS.release()
        with self._lock:
            self._snap.state, self._snap.error = state, error


class PausableLoop:
    """Calls `step()` again and again in a daemon thread while running, holding one of SLOTS.

    start() runs (or resumes) it; pause() returns once the step in progress has ended and gives the slot back;
    close() ends the thread for good. step() may call pause() itself (work done, or gone wrong); an exception
    it raises pauses the loop and goes to `on_error(e)`. Both run in the worker thread, holding the loop as
    exclusive() does.

    exclusive() holds the loop between two steps: the worker waits on a condition while any caller holds or
    waits for it, so a fast step never starves the UI thread.
    """

    def __init__(self, step: Callable[[], None], on_error: Callable[[Exception], None], name: str):
        self._step, self._on_error, self._name = step, on_error, name
        self._hold = threading.RLock()  # the worker holds it for a step, callers inside exclusive()
        self._gate = threading.Condition()  # guards _waiting; the worker waits on it between steps
        self._waiting = 0  # callers holding or waiting for exclusive()
        self._running = self._closed = False
        self._thread: threading.Thread | None = None
        self._clock = threading.Lock()  # guards the running time and step marks; held only for copies
        self._seconds, self._since = 0.0, None  # time run before, and since when it runs now (None: paused)
        self._steps = 0
        self._marks: deque[tuple[float, int]] = deque(maxlen=200)  # (time, steps) after each step while running

    @property
    def running(self) -> bool:
        return self._running

    @contextmanager
    def exclusive(self):
        """Hold the loop (reentrant): no step runs until the block ends."""
        with self._gate:
            self._waiting += 1
        try:
            with self._hold:
                yield
        finally:
            with self._gate:
                self._waiting -= 1
                self._gate.notify_all()

    def start(self, advice: str) -> bool:
        """Run, taking one of SLOTS (TooManyJobs, with `advice`, when none is free); False when it already runs
        or was closed."""
        with self.exclusive():
            if self._running or self._closed:
                return False
            SLOTS.take(advice)
            self._running = True
            with self._clock:
                self._since = time.perf_counter()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, daemon=True, name=self._name)
                self._thread.start()
            return True

    def pause(self) -> bool:
        """Stop after the step in progress and give back the slot; True when it was running."""
        with self.exclusive():
            if not self._running:
                return False
            self._running = False
            with self._clock:
                self._seconds += time.perf_counter() - self._since
                self._since = None
            SLOTS.release()
            return True

    def close(self) -> None:
        """Pause and end the thread for good."""
        with self.exclusive():
            self._closed = True
            self.pause()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)

    @property
    def seconds(self) -> float:
        """Time spent running since the loop was made or its clock reset."""
        with self._clock:
            return self._seconds + (time.perf_counter() - self._since if self._since is not None else 0.0)

    def rate(self) -> float:
        """Steps per second over the last RATE_SECONDS while running; 0 when paused."""
        now = time.perf_counter()
        with self._clock:
            marks = [m for m in self._marks if now - m[0] <= RATE_SECONDS] if self._since is not None else []
        return (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0]) if len(marks) > 1 else 0.0

    def reset_clock(self) -> None:
        """Running time back to 0 and the step rate forgotten (the work starts over)."""
        with self._clock:
            self._seconds, self._since = 0.0, None if self._since is None else time.perf_counter()
            self._marks.clear()

    def _work(self) -> None:
        while True:
            with self._gate:
                while self._waiting or not (self._running or self._closed):
                    self._gate.wait()
                if self._closed:
                    return
            with self._hold:
                if not self._running:  # paused between the gate and here
                    continue
                try:
                    self._step()
                    self._steps += 1
                    with self._clock:
                        self._marks.append((time.perf_counter(), self._steps))
                except Exception as e:  # reported by on_error, never raised into the UI thread
                    self.pause()
                    self._on_error(e)


def wait_for(job: BackgroundJob, timeout: float = 60.0):
    """Block until the job finishes (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while not job.snapshot().finished and time.monotonic() < deadline:
        time.sleep(0.05)
    return job.snapshot()
