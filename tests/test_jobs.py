"""engine.jobs: background training that the UI polls, stops, and that never raises into the UI thread."""
import threading
import time

import numpy as np
import pytest
import torch

from engine import jobs
from engine.data import load_dataset
from engine.device import configure_threads
from engine.jobs import MAX_RUNNING_JOBS, TooManyJobs, wait_for
from engine.latent.jobs import TrainingJob
from engine.latent.models import AEConfig, Autoencoder
from engine.latent.train import TrainConfig
from waiting import wait_until

configure_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").images[:500]


@pytest.fixture
def started():
    """Start jobs through this, so every job is stopped and joined even when a test fails; afterwards every job
    has finished and every slot it took is free again."""
    made, free = [], jobs.SLOTS.free

    def start(model, images, config):
        job = TrainingJob(model, images, config).start()
        made.append(job)
        return job

    yield start
    for job in made:
        job.stop()
    for job in made:
        job.join(10)
    assert all(job.snapshot().finished for job in made)
    assert jobs.SLOTS.free == free


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


def test_too_many_jobs_and_slot_release(digits, started):
    assert jobs.SLOTS.size == MAX_RUNNING_JOBS
    running = [started(model(i), digits, config(epochs=10_000)) for i in range(jobs.SLOTS.free)]
    wait_until(lambda: all(j.snapshot().step > 0 for j in running))
    assert jobs.SLOTS.free == 0 and jobs.SLOTS.busy == MAX_RUNNING_JOBS
    extra = TrainingJob(model(), digits, config(epochs=1))
    with pytest.raises(TooManyJobs, match=f"{MAX_RUNNING_JOBS} models are already training"):
        extra.start()
    assert extra.snapshot().state == "running" and jobs.SLOTS.free == 0  # refused: it holds no slot
    running[0].stop()
    assert wait_for(running[0], timeout=10).state == "stopped" and jobs.SLOTS.free == 1
    assert wait_for(extra.start(), timeout=20).state == "done"  # the refused job starts in the freed slot
    running[-1].stop()
    wait_for(running[-1], timeout=10)
    # failed jobs give their slot back too
    for _ in range(MAX_RUNNING_JOBS + 1):
        assert wait_for(started(model(), digits[:, :, :4], config()), timeout=10).state == "failed"
    assert wait_for(started(model(), digits, config(epochs=1)), timeout=20).state == "done"


def test_a_second_start_is_refused_and_takes_no_slot(digits, started):
    job = started(model(), digits, config(epochs=10_000))
    free_before = jobs.SLOTS.free
    with pytest.raises(RuntimeError, match="already been started"):
        job.start()
    assert jobs.SLOTS.free == free_before
    job.stop()
    assert wait_for(job, timeout=20).state == "stopped"


@pytest.fixture
def other_users():
    """take(): every free slot taken, as by other sessions' jobs; all given back afterwards."""
    taken = []

    def take():
        while jobs.SLOTS.try_acquire():
            taken.append(1)

    yield take
    for _ in taken:
        jobs.SLOTS.release()


def test_a_replacing_job_takes_over_the_slot_of_the_job_it_replaces(digits, started, other_users):
    old = started(model(), digits, config(epochs=10_000))
    wait_until(lambda: old.snapshot().step > 0)
    other_users()  # every other slot busy: a plain start would be refused
    new = TrainingJob(model(1), digits, config(epochs=2))
    assert new.start(replacing=old) is new  # the old job's slot is handed over: not refused
    assert jobs.SLOTS.free == 0  # and no second slot was taken
    while not new.snapshot().finished:  # the new job works only once the old one has ended
        assert new.snapshot().step == 0 or old.snapshot().finished
        time.sleep(0.001)
    assert old.snapshot().state == "stopped" and new.snapshot().state == "done", new.snapshot().error
    assert old.result.stopped and len(new.snapshot().losses) == new.snapshot().steps_total
    assert jobs.SLOTS.free == 1  # the two jobs gave back one slot, once: the one they shared


def test_replacing_a_finished_job_needs_a_free_slot_and_changes_nothing_when_refused(digits, started, other_users):
    old = started(model(), digits, config(epochs=1))
    assert wait_for(old, timeout=20).state == "done"
    other_users()
    new = TrainingJob(model(1), digits, config(epochs=1))
    with pytest.raises(TooManyJobs):
        new.start(replacing=old)
    assert old.snapshot().state == "done" and old.output is not None  # the finished job and its model stay
    assert new.snapshot().step == 0 and jobs.SLOTS.free == 0  # the refused job holds no slot


def test_slots_count_and_refuse_when_full():
    slots = jobs.Slots(2)
    assert slots.try_acquire() and slots.try_acquire() and not slots.try_acquire()
    assert slots.busy == 2 and slots.free == 0
    with pytest.raises(TooManyJobs, match="^2 models are already training on this server; wait a bit.$"):
        slots.take("wait a bit.")
    slots.release()
    slots.take("wait a bit.")
    slots.release()
    slots.release()
    assert slots.free == 2
    with pytest.raises(RuntimeError, match="never taken"):
        slots.release()


def test_pausable_loop_steps_pauses_resumes_and_reports_errors():
    steps, errors = [], []

    def step():
        steps.append(len(steps))
        if len(steps) == 50:
            raise ValueError("boom")

    free = jobs.SLOTS.free
    loop = jobs.PausableLoop(step, errors.append, name="latentlab-test-loop")
    try:
        assert loop.start("wait.") and loop.running and jobs.SLOTS.free == free - 1
        assert not loop.start("wait.")  # already running: no second slot
        wait_until(lambda: errors)
        assert str(errors[0]) == "boom" and len(steps) == 50  # the error paused it and gave back the slot
        assert not loop.running and jobs.SLOTS.free == free and loop.rate() == 0.0
        assert loop.start("wait.")  # resumes
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
    assert not loop.start("wait.") and jobs.SLOTS.free == free  # closed for good


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
