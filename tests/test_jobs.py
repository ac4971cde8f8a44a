"""engine.jobs: background training that the UI polls, stops, and that never raises into the UI thread; the
server's training slots, their first-come first-served queue, and workers at a lower CPU priority."""
import os
import sys
import threading
import time

import numpy as np
import pytest
import torch

from engine import jobs
from engine.data import load_dataset
from engine.device import configure_threads
from engine.jobs import wait_for
from engine.latent.jobs import TrainingJob
from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig
from busy import every_slot_busy
from waiting import wait_until

configure_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images[:500]


@pytest.fixture
def started():
    """Start jobs through this, so every job is stopped and joined even when a test fails; afterwards every job
    has finished, every slot it took is free again and none waits in the queue."""
    made, free = [], jobs.SLOTS.free

    def start(model, images, config, replacing=None):
        job = TrainingJob(model, images, config).start(replacing)
        made.append(job)
        return job

    yield start
    for job in made:
        job.stop()
    for job in made:
        job.join(10)
    assert all(job.snapshot().finished for job in made)
    assert jobs.SLOTS.free == free and jobs.SLOTS.waiting == 0


def model(seed=0):
    torch.manual_seed(seed)
    return Autoencoder(AEConfig(kind="dense", input_shape=(1, 8, 8), code_size=4, hidden=32))


def config(**kw):
    return TrainConfig(**{"epochs": 3, "batch_size": 32, "lr": 3e-3, "device": "cpu", "threads": 1, **kw})


def test_runs_in_the_background_and_finishes(digits, started):
    job = started(model(), digits, config(epochs=200))
    assert job.snapshot().state == "running"  # start() returns without training
    wait_until(lambda: job.snapshot().step >= 10)
    snap = job.snapshot()
    assert snap.state == "running" and not snap.finished and snap.epochs == 200
    assert len(snap.losses) >= 10 and snap.steps_total == 200 * (450 // 32)
    job.stop()
    wait_for(job)

    job = started(model(), digits, config(epochs=3))
    final = wait_for(job, timeout=30)
    assert final.state == "done" and final.finished and final.error is None
    assert job.result is not None and not job.result.stopped
    assert final.losses == job.result.losses and final.val_mse == job.result.val_mse
    assert final.epoch == 3 and final.step == final.steps_total == len(final.losses)
    assert final.seconds == job.result.seconds


def test_stop_keeps_the_partly_trained_model(digits, started):
    m = model()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    job = started(m, digits, config(epochs=10_000))
    wait_until(lambda: job.snapshot().step >= 20)
    job.stop()
    final = wait_for(job, timeout=10)
    assert final.state == "stopped" and final.error is None
    assert job.result is not None and job.result.stopped
    assert 20 <= len(job.result.losses) < 10_000 * (450 // 32)
    assert final.losses == job.result.losses
    assert any(not torch.equal(before[k], v) for k, v in m.state_dict().items())  # it learned something
    assert m.encode(digits[:5]).shape == (5, 4)


def test_failure_is_reported_not_raised(started):
    job = started(model(), np.zeros((20, 1, 28, 28), np.float32), config())  # wrong image shape
    final = wait_for(job, timeout=10)
    assert final.state == "failed" and final.finished
    assert final.error.startswith("ValueError: The model expects images of shape (1, 8, 8)")
    assert job.result is None


def test_bad_config_fails_in_the_job(digits, started):
    final = wait_for(started(model(), digits, config(lr=5.0)), timeout=10)
    assert final.state == "failed" and "Learning rate" in final.error


def test_snapshots_are_consistent_while_training(digits, started):
    job = started(model(), digits, config(epochs=6, batch_size=16))
    problems, counts = [], []

    def reader():
        last_losses, last_step, seen = -1, -1, 0
        while True:
            s = job.snapshot()
            if len(s.losses) < last_losses or s.step < last_step:
                problems.append(("went back", last_losses, len(s.losses), last_step, s.step))
            if s.step != len(s.losses):  # both change together under the lock
                problems.append(("torn", s.step, len(s.losses)))
            if len(s.val_mse) > s.epoch:
                problems.append(("val ahead", s.epoch, len(s.val_mse)))
            s.losses.append(123.0)  # a snapshot is a copy: editing it changes nothing
            last_losses, last_step, seen = len(s.losses) - 1, s.step, seen + 1
            if s.finished:
                break
            time.sleep(0.0005)  # poll like a UI would, without starving the trainer of the GIL
        counts.append(seen)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(60)
    assert not any(r.is_alive() for r in readers)
    assert problems == []
    assert min(counts) > 10  # they really did read during training
    assert job.snapshot().state == "done" and 123.0 not in job.snapshot().losses


def ended(job):
    """The job's snapshot once it has finished (pytest-timeout guards a hang)."""
    wait_until(lambda: job.snapshot().finished)
    return job.snapshot()


def test_with_every_slot_busy_a_new_job_is_queued_and_starts_when_a_slot_frees(digits, started):
    with every_slot_busy() as held:
        first = started(model(1), digits, config(epochs=10_000))
        second = started(model(2), digits, config(epochs=1))
        s1, s2 = first.snapshot(), second.snapshot()
        assert (s1.state, s1.queue, s2.state, s2.queue) == ("queued", (1, 2), "queued", (2, 2))
        assert not s1.finished and s1.step == 0 and jobs.SLOTS.free == 0 and jobs.SLOTS.waiting == 2
        held[0].release()  # a slot frees: the first in the queue starts by itself, the second moves up
        wait_until(lambda: first.snapshot().step > 0)
        assert first.snapshot().state == "running" and first.snapshot().queue is None
        s2 = second.snapshot()
        assert (s2.state, s2.queue, s2.step) == ("queued", (1, 1), 0)  # every slot is still busy
        first.stop()  # its slot goes to the second
        assert ended(second).state == "done" and second.output is not None
        assert ended(first).state == "stopped" and first.output is not None


def test_a_stopped_queued_job_never_runs_and_the_ones_behind_move_up(digits, started):
    with every_slot_busy():
        queued = [started(model(i), digits, config(epochs=1)) for i in range(3)]
        assert [j.snapshot().queue for j in queued] == [(1, 3), (2, 3), (3, 3)]
        queued[1].stop()  # leaves at once, before its worker even looks
        assert [j.snapshot().queue for j in (queued[0], queued[2])] == [(1, 2), (2, 2)]
        stopped = ended(queued[1])
        assert stopped.state == "stopped" and stopped.queue is None and stopped.step == 0 and queued[1].output is None
        queued[0].stop()
        assert queued[2].snapshot().queue == (1, 1)
    assert ended(queued[2]).state == "done"  # the slots are back: it runs
    assert queued[0].snapshot().state == "stopped" and queued[0].output is None  # never ran
    assert jobs.SLOTS.waiting == 0


def test_the_queue_is_first_come_first_served():
    slots = jobs.Slots(2)
    running = [slots.request(), slots.request()]
    waiting = [slots.request() for _ in range(3)]
    assert all(t.granted for t in running) and slots.free == 0 and slots.busy == 2
    assert [t.place() for t in waiting] == [(1, 3), (2, 3), (3, 3)] and slots.waiting == 3
    running[1].release()  # its slot goes to the first in the queue
    assert waiting[0].granted and waiting[0].place() is None and slots.free == 0
    assert [t.place() for t in waiting[1:]] == [(1, 2), (2, 2)]
    assert waiting[2].leave_queue() and not waiting[2].leave_queue() and waiting[1].place() == (1, 1)
    assert not waiting[0].leave_queue()  # holding a slot: release() gives it back
    heir = waiting[1].hand_over()  # its place, to a new ticket; nothing given back
    assert heir.place() == (1, 1) and waiting[1].place() is None and waiting[1].hand_over() is None
    for t in (running[0], waiting[0], running[0], waiting[2]):  # twice, or after leaving: nothing more
        t.release()
    assert heir.granted and slots.busy == 1 and slots.waiting == 0
    assert slots.request().granted and slots.free == 0
    with pytest.raises(ValueError, match="at least 1"):
        jobs.Slots(0)


def test_a_waiting_ticket_wakes_when_granted_or_when_it_leaves():
    slots = jobs.Slots(1)
    holder, first, second = slots.request(), slots.request(), slots.request()
    answers = []
    waiters = [threading.Thread(target=lambda t=t: answers.append((t, t.wait()))) for t in (first, second)]
    for w in waiters:
        w.start()
    second.leave_queue()
    holder.release()
    for w in waiters:
        w.join(30)
    assert sorted(answers, key=lambda a: a[0] is second) == [(first, True), (second, False)]


def test_a_second_start_is_refused_and_takes_no_slot(digits, started):
    job = started(model(), digits, config(epochs=10_000))
    free_before, waiting_before = jobs.SLOTS.free, jobs.SLOTS.waiting
    with pytest.raises(RuntimeError, match="already been started"):
        job.start()
    assert jobs.SLOTS.free == free_before and jobs.SLOTS.waiting == waiting_before
    job.stop()
    assert wait_for(job, timeout=20).state == "stopped"


def test_a_replacing_job_takes_over_the_slot_of_the_job_it_replaces(digits, started):
    old = started(model(), digits, config(epochs=10_000))
    wait_until(lambda: old.snapshot().step > 0)
    with every_slot_busy():  # every other slot busy: a plain start would queue
        new = TrainingJob(model(1), digits, config(epochs=2))
        assert new.start(replacing=old) is new  # the old job's slot is handed over: not queued
        assert new.snapshot().queue is None and jobs.SLOTS.free == 0 and jobs.SLOTS.waiting == 0  # no second slot
        while not new.snapshot().finished:  # the new job works only once the old one has ended
            assert new.snapshot().step == 0 or old.snapshot().finished
            time.sleep(0.001)
        assert old.snapshot().state == "stopped" and new.snapshot().state == "done", new.snapshot().error
        assert old.result.stopped and len(new.snapshot().losses) == new.snapshot().steps_total
        assert jobs.SLOTS.free == 1  # the two jobs gave back one slot, once: the one they shared


def test_a_replacing_job_takes_over_the_queue_place_of_the_job_it_replaces(digits, started):
    with every_slot_busy():
        ahead = started(model(1), digits, config(epochs=1))
        old = started(model(2), digits, config(epochs=1))
        behind = started(model(3), digits, config(epochs=1))
        new = started(model(4), digits, config(epochs=1), replacing=old)
        assert [j.snapshot().queue for j in (ahead, new, behind)] == [(1, 3), (2, 3), (3, 3)]  # the same places
        assert ended(old).state == "stopped" and old.output is None  # it never ran
    for job in (ahead, new, behind):
        assert ended(job).state == "done"


def test_replacing_a_finished_job_queues_and_leaves_the_finished_job_as_it_is(digits, started):
    old = started(model(), digits, config(epochs=1))
    assert wait_for(old, timeout=20).state == "done"
    with every_slot_busy():
        new = started(model(1), digits, config(epochs=1), replacing=old)  # nothing to hand over: it queues
        assert new.snapshot().state == "queued" and new.snapshot().queue == (1, 1)
        assert old.snapshot().state == "done" and old.output is not None  # the finished job and its model stay
        new.stop()
        assert ended(new).state == "stopped" and jobs.SLOTS.waiting == 0


def test_failed_jobs_give_their_slot_back(digits, started):
    for _ in range(jobs.SLOTS.size + 1):
        assert wait_for(started(model(), digits[:, :, :4], config()), timeout=10).state == "failed"
    assert wait_for(started(model(), digits, config(epochs=1)), timeout=20).state == "done"


def test_slots_are_sized_from_the_machine_or_the_environment(monkeypatch):
    from engine import device

    monkeypatch.delenv("LATENTLAB_THREADS", raising=False)
    monkeypatch.delenv("LATENTLAB_JOB_SLOTS", raising=False)
    monkeypatch.setattr(device.torch.cuda, "is_available", lambda: False)
    for cores, slots in ((1, 1), (2, 2), (16, 2)):  # one job per default_threads() cores: 1 thread on ≤ 2 cores
        monkeypatch.setattr(device.os, "cpu_count", lambda c=cores: c)
        assert device.job_slots() == slots, cores
    monkeypatch.setenv("LATENTLAB_THREADS", "1")
    assert device.job_slots() == 16
    monkeypatch.setattr(device.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(device.torch.cuda, "device_count", lambda: 2)
    assert device.job_slots() == 18  # plus one per GPU
    for env, slots in (("3", 3), ("0", 1), ("-2", 1)):
        monkeypatch.setenv("LATENTLAB_JOB_SLOTS", env)
        assert device.job_slots() == slots
    monkeypatch.setenv("LATENTLAB_JOB_SLOTS", "many")
    with pytest.raises(ValueError, match="LATENTLAB_JOB_SLOTS must be a whole number, got 'many'"):
        device.job_slots()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="niceness per thread is Linux's")
def test_workers_run_at_a_lower_priority_than_the_caller():
    def nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = []
    loop = jobs.PausableLoop(lambda: seen.append(nice()), lambda e: None, name="latentlab-test-nice")
    try:
        loop.start()
        wait_until(lambda: seen)
    finally:
        loop.close()
    caller = nice()
    assert seen[0] == min(19, caller + jobs.JOB_NICE) > caller

    class Nice(jobs.BackgroundJob):
        output = None

        def _work(self):
            seen.append(nice())
            return False

    assert wait_for(Nice(jobs.JobStatus()).start(), timeout=10).state == "done"
    assert seen[-1] == seen[0] and nice() == caller  # the caller's own priority is unchanged


def test_pausable_loop_steps_pauses_resumes_and_reports_errors():
    steps, errors = [], []

    def step():
        steps.append(len(steps))
        if len(steps) == 50:
            raise ValueError("boom")

    free = jobs.SLOTS.free
    loop = jobs.PausableLoop(step, errors.append, name="latentlab-test-loop")
    try:
        assert loop.start() and loop.running and jobs.SLOTS.free == free - 1
        assert not loop.start()  # already running: no second slot
        wait_until(lambda: errors)
        assert str(errors[0]) == "boom" and len(steps) == 50  # the error paused it and gave back the slot
        assert not loop.running and jobs.SLOTS.free == free and loop.rate() == 0.0
        assert loop.start()  # resumes
        wait_until(lambda: len(steps) > 60 and loop.rate() > 0)
        with loop.exclusive():  # no step runs while a caller holds the loop
            held = len(steps)
            time.sleep(0.05)
            assert len(steps) == held
        wait_until(lambda: len(steps) > held)  # and it goes on afterwards
        assert loop.pause() and not loop.pause() and jobs.SLOTS.free == free
        paused, seconds = len(steps), loop.seconds
        time.sleep(0.05)
        assert len(steps) == paused and loop.seconds == seconds > 0  # paused: no step, the clock stands
        loop.reset_clock()
        assert loop.seconds == 0.0
    finally:
        loop.close()
    assert not loop.start() and jobs.SLOTS.free == free  # closed for good


def test_a_pausable_loop_queues_when_every_slot_is_busy_and_pause_leaves_the_queue():
    steps, free = [], jobs.SLOTS.free
    loop = jobs.PausableLoop(lambda: steps.append(1), lambda e: None, name="latentlab-test-queued-loop")
    try:
        with every_slot_busy() as held:
            assert loop.start() and loop.started and not loop.running and loop.place() == (1, 1)
            assert not loop.start() and jobs.SLOTS.waiting == 1  # already waiting: one place
            assert loop.pause() and not loop.started and loop.place() is None and jobs.SLOTS.waiting == 0
            assert loop.start() and loop.place() == (1, 1)
            assert steps == [] and loop.seconds == 0.0 and loop.rate() == 0.0  # no step, no clock while queued
            held[0].release()  # runs by itself in the freed slot
            wait_until(lambda: len(steps) > 5)
            assert loop.running and loop.place() is None and loop.seconds > 0 and jobs.SLOTS.free == 0
    finally:
        loop.close()
    assert jobs.SLOTS.waiting == 0 and jobs.SLOTS.free == free  # the slot it ran in is back


# --- word2vec in the background ------------------------------------------------------------------
@pytest.fixture(scope="module")
def news():
    from engine.words.corpora import load_corpus

    return load_corpus("lee")


@pytest.mark.parametrize("backend", ["torch", "gensim"])
def test_word2vec_job_reports_progress_probes_and_vectors(news, backend):
    from engine.words.word2vec import Word2VecJob
    from engine.words.word2vec import Word2VecConfig

    job = Word2VecJob(news, Word2VecConfig(backend=backend, epochs=2), ["police", "qqqzz"], probe_seconds=0.0).start()
    snap = wait_for(job, timeout=120)
    assert snap.state == "done", snap.error
    assert snap.words_done == snap.words_total > 50_000 and snap.words_per_second > 0
    assert (len(snap.losses) > 0) == (backend == "torch")  # gensim reports no loss
    assert len(snap.probes["police"]) == 6 and snap.probes["qqqzz"] == []
    assert "police" in job.result and job.result.dim == 50


def test_word2vec_job_refuses_min_count_at_once_and_stops(news):
    from engine.words.word2vec import Word2VecJob
    from engine.words.word2vec import Word2VecConfig

    with pytest.raises(ValueError, match="No word occurs 1000000 times"):
        Word2VecJob(news, Word2VecConfig(min_count=1_000_000), ["police"])
    job = Word2VecJob(news, Word2VecConfig(epochs=1000), ["police"]).start()
    time.sleep(1.0)
    job.stop()
    snap = wait_for(job, timeout=30)
    assert snap.state == "stopped" and job.result is not None  # a stopped run keeps its vectors
    assert snap.words_done < snap.words_total
