"""Long jobs in the background: the server's training slots and their queue, run-once jobs and a pausable loop.

Worker threads never touch the UI; callers poll lock-protected snapshots. Every long job holds one of SLOTS
while it runs; when none is free it waits in their first-come, first-served queue and starts by itself. Workers
run at a lower CPU priority than the threads answering requests.
"""
from __future__ import annotations

import copy
import os
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from engine.device import job_slots

RATE_SECONDS = 2.0  # PausableLoop.rate(): steps per second over this window
JOB_NICE = int(os.environ.get("LATENTLAB_JOB_NICE", "10"))  # added to a worker thread's niceness (Linux)


def lower_priority() -> None:
    """Run the calling thread JOB_NICE steps nicer than it is (Linux sets niceness per thread; threads it starts
    inherit it), so requests are served first; nothing on other systems."""
    if JOB_NICE > 0 and sys.platform.startswith("linux"):
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + JOB_NICE))
        except OSError:  # not allowed here: the job runs at the normal priority
            pass


class Slots:
    """At most `size` long jobs at once in this process; the others wait in one first-come, first-served queue.

    request() gives a Ticket: granted at once when a slot is free and nobody waits, else queued last. A slot given
    back goes to the first in the queue.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"A server needs at least 1 training slot, got {size}.")
        self.size = size
        self._cond = threading.Condition()  # guards _busy, _queue and every ticket's state
        self._busy = 0
        self._queue: list[Ticket] = []

    @property
    def busy(self) -> int:
        with self._cond:
            return self._busy

    @property
    def free(self) -> int:
        with self._cond:
            return self.size - self._busy

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def request(self) -> Ticket:
        """A ticket for a slot: granted at once when one is free and nobody waits, else queued last."""
        ticket = Ticket(self)
        with self._cond:
            self._queue.append(ticket)
            self._grant()
        return ticket

    def _grant(self) -> None:
        """Free slots to the first in the queue (holding _cond)."""
        while self._queue and self._busy < self.size:
            self._queue.pop(0)._state = "granted"
            self._busy += 1
        self._cond.notify_all()


class Ticket:
    """One job's claim on a slot of its Slots: "queued", then "granted" until released, then "closed"."""

    def __init__(self, slots: Slots):
        self._slots = slots
        self._state = "queued"

    @property
    def granted(self) -> bool:
        with self._slots._cond:
            return self._state == "granted"

    def place(self) -> tuple[int, int] | None:
        """(position k, 1-based; n waiting) while queued, else None."""
        with self._slots._cond:
            queue = self._slots._queue
            return (queue.index(self) + 1, len(queue)) if self._state == "queued" else None

    def wait(self) -> bool:
        """Block while queued: True once granted, False when it left the queue."""
        with self._slots._cond:
            self._slots._cond.wait_for(lambda: self._state != "queued")
            return self._state == "granted"

    def leave_queue(self) -> bool:
        """Leave the queue (the ones behind move up) and close; False, changing nothing, when not queued."""
        with self._slots._cond:
            if self._state != "queued":
                return False
            self._slots._queue.remove(self)
            self._state = "closed"
            self._slots._cond.notify_all()
            return True

    def release(self) -> None:
        """Give back the slot (to the first in the queue) or the place in the queue, and close; nothing when closed."""
        with self._slots._cond:
            if not self.leave_queue() and self._state == "granted":
                self._slots._busy -= 1
                self._state = "closed"
                self._slots._grant()

    def hand_over(self) -> Ticket | None:
        """A new ticket in this one's place — its slot when granted, its position when queued — and this one closed
        without giving anything back; None, changing nothing, when it is closed."""
        slots = self._slots
        with slots._cond:
            if self._state == "closed":
                return None
            heir = Ticket(slots)
            heir._state, self._state = self._state, "closed"
            if heir._state == "queued":
                slots._queue[slots._queue.index(self)] = heir
            slots._cond.notify_all()
            return heir


SLOTS = Slots(job_slots())


@dataclass
class JobStatus:
    """What every background job's snapshot says: its state and, when it failed, why."""

    state: str = "running"  # "queued", "running", "done", "stopped", "failed"
    error: str | None = None
    queue: tuple[int, int] | None = None  # while queued: (position k, 1-based; n waiting)

    @property
    def finished(self) -> bool:
        return self.state not in ("queued", "running")


class BackgroundJob:
    """A daemon thread running `_work()` once under one of SLOTS, with a snapshot to poll.

    Subclasses write `self._snap` (a JobStatus dataclass) only while holding `self._lock`, and say through `output`
    what the job made (a model, word vectors), None until there is something to use.
    """

    def __init__(self, snapshot):
        self._lock = threading.Lock()  # guards _snap and _ticket
        self._stop = threading.Event()
        self._snap = snapshot
        self._ticket: Ticket | None = None  # from start() until the job ends or hands it to a replacing job
        self._after: BackgroundJob | None = None  # the replaced job, whose end this one waits for
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"latentlab-{type(self).__name__}")

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self, replacing: BackgroundJob | None = None):
        """Run the job in its thread; a job runs once (a second start is refused before it queues).

        It takes a free slot, or else waits in the queue (its snapshot says "queued" and where) and begins by itself
        when its turn comes. replacing: the job this one replaces (the same session's previous one). While that job
        still holds a slot or a place in the queue it is stopped and this job takes over that slot or place,
        queueing behind nobody new; its work begins once that job has ended (after its current step)."""
        if self.started:
            raise RuntimeError("This job has already been started; make a new one.")
        ticket = replacing._hand_over() if replacing is not None else None
        if ticket is not None:
            self._after = replacing
        with self._lock:
            self._ticket = ticket or SLOTS.request()
        self._thread.start()
        return self

    def _hand_over(self) -> Ticket | None:
        """Stop this job and give its slot or queue place to the caller as a new ticket; None, changing nothing,
        when it holds neither (not started, or ended)."""
        with self._lock:
            ticket, self._ticket = self._ticket, None
        if ticket is None:
            return None
        self._stop.set()
        return ticket.hand_over()

    def stop(self) -> None:
        """End the work after its current step; a queued job leaves the queue at once."""
        self._stop.set()
        with self._lock:
            ticket = self._ticket
        if ticket is not None:
            ticket.leave_queue()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def snapshot(self):
        with self._lock:
            snap, ticket = copy.deepcopy(self._snap), self._ticket
        place = ticket.place() if ticket is not None and not snap.finished else None
        if place is not None:
            snap.state, snap.queue = "queued", place
        return snap

    @property
    def output(self):
        """What the job made, for the user to take on (also after a stop); None while there is nothing."""
        raise NotImplementedError

    def _work(self) -> bool:
        """Do the work; return True when it ended early because stop() was called."""
        raise NotImplementedError

    def _run(self) -> None:
        lower_priority()
        if self._after is not None:
            self._after.join()  # one slot, one job at work: the replaced job ends its current step first
            self._after = None
        with self._lock:
            ticket = self._ticket
        try:
            if ticket is None or not ticket.wait():  # replaced, or stopped, before its turn came
                state, error = "stopped", None
            else:
                state, error = ("stopped" if self._work() else "done"), None
        except Exception as e:  # reported to the user through the snapshot, never raised in the UI thread
            state, error = "failed", f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                ticket, self._ticket = self._ticket, None
            if ticket is not None:  # not when it was handed over to a replacing job
                ticket.release()
        with self._lock:
            self._snap.state, self._snap.error = state, error


class PausableLoop:
    """Calls `step()` again and again in a daemon thread while running, holding one of SLOTS.

    start() runs (or resumes) it, or queues it for a slot when none is free (it then runs by itself when its turn
    comes); pause() returns once the step in progress has ended and gives back the slot or the place in the queue;
    close() ends the thread for good. step() may call pause() itself (work done, or gone wrong); an exception it
    raises pauses the loop and goes to `on_error(e)`. Both run in the worker thread, holding the loop as exclusive()
    does.

    exclusive() holds the loop between two steps: the worker waits on a condition while any caller holds or
    waits for it, so a fast step never starves the UI thread.
    """

    def __init__(self, step: Callable[[], None], on_error: Callable[[Exception], None], name: str):
        self._step, self._on_error, self._name = step, on_error, name
        self._hold = threading.RLock()  # the worker holds it for a step, callers inside exclusive()
        self._gate = threading.Condition()  # guards _waiting; the worker waits on it between steps
        self._waiting = 0  # callers holding or waiting for exclusive()
        self._ticket: Ticket | None = None  # from start() until pause(): granted (running) or queued
        self._closed = False
        self._thread: threading.Thread | None = None
        self._clock = threading.Lock()  # guards the running time and step marks; held only for copies
        self._seconds, self._since = 0.0, None  # time run before, and since when it runs now (None: not running)
        self._steps = 0
        self._marks: deque[tuple[float, int]] = deque(maxlen=200)  # (time, steps) after each step while running

    @property
    def started(self) -> bool:
        """Running, or queued for a slot."""
        return self._ticket is not None

    @property
    def running(self) -> bool:
        """Started and holding a slot."""
        ticket = self._ticket
        return ticket is not None and ticket.granted

    def place(self) -> tuple[int, int] | None:
        """While queued: (position k, 1-based; n waiting); else None."""
        ticket = self._ticket
        return ticket.place() if ticket is not None else None

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

    def start(self) -> bool:
        """Run, taking one of SLOTS or queueing for one; False when it already runs or waits, or was closed."""
        with self.exclusive():
            if self._ticket is not None or self._closed:
                return False
            self._ticket = SLOTS.request()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, daemon=True, name=self._name)
                self._thread.start()
            return True

    def pause(self) -> bool:
        """Stop after the step in progress and give back the slot, or leave the queue; True when it was started."""
        with self.exclusive():
            ticket, self._ticket = self._ticket, None
            if ticket is None:
                return False
            with self._clock:
                if self._since is not None:
                    self._seconds += time.perf_counter() - self._since
                    self._since = None
            ticket.release()
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
        """Steps per second over the last RATE_SECONDS while running; 0 when paused or queued."""
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
        lower_priority()
        while True:
            with self._gate:
                while self._waiting or not (self._ticket is not None or self._closed):
                    self._gate.wait()
                if self._closed:
                    return
                ticket = self._ticket
            if not ticket.wait():  # queued: until its turn, or until it leaves the queue (pause, close)
                continue
            with self._hold:
                if self._ticket is not ticket:  # paused between the gate and here
                    continue
                with self._clock:
                    if self._since is None:
                        self._since = time.perf_counter()
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
