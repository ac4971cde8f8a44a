"""The DANN engine: the gradient reversal layer, the paper's schedules, λ = 0 = source only, adaptation helps,
bad input is refused with a message, the live trainer and its checkpoints."""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from busy import every_slot_busy
from engine.dann.domains import Domain, DomainPair, digit_labels, user_pair, without_digits
from engine.dann.model import reverse_gradient
from engine.dann.train import DANNConfig, DANNRun, lambda_at, lr_at, train


def tiny_pair(n: int = 48, seed: int = 0) -> DomainPair:
    """Ten kinds of bars, white on black (source) and blended on a random colour, |colour − bar| (target)."""
    rng = np.random.default_rng(seed)

    def bars(count):
        y = rng.integers(10, size=count)
        x = np.zeros((count, 1, 28, 28), np.float32)
        for i, k in enumerate(y):
            at = 4 + 4 * (k % 5)
            if k < 5:
                x[i, 0, at:at + 3, 4:24] = 1
            else:
                x[i, 0, 4:24, at:at + 3] = 1
        return x, y

    (xs, ys), (xt, yt) = bars(2 * n), bars(2 * n)
    xs = np.repeat(xs, 3, axis=1)
    xt = np.abs(rng.uniform(0, 1, (2 * n, 3, 1, 1)).astype(np.float32) - xt)
    return DomainPair("mnist-m", Domain("bars", xs[:n], ys[:n], xs[n:], ys[n:]),
                      Domain("bars on colour", xt[:n], yt[:n], xt[n:], yt[n:]))


def tiny(mode: str = "dann", **kw) -> DANNConfig:
    return DANNConfig(mode=mode, **{"epochs": 2, "batch_size": 16, "threads": 1, **kw})


def test_gradient_reversal_is_the_identity_forward_and_minus_lambda_times_the_gradient_backward():
    x = torch.randn(5, 7, requires_grad=True)
    upstream = torch.randn(5, 7)
    for lam in (0.0, 0.37, 1.0, 12.5):
        x.grad = None
        y = reverse_gradient(x, lam)
        assert torch.equal(y, x)
        y.backward(upstream)
        assert torch.equal(x.grad, -lam * upstream)


def test_the_schedules_are_the_papers():
    assert lambda_at(0.0) == 0.0
    assert lambda_at(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert lambda_at(1.0) == pytest.approx(0.99991, abs=1e-5)
    assert lambda_at(0.0, 3.0, schedule=False) == 3.0
    assert lr_at(0.0) == pytest.approx(0.01)
    assert lr_at(1.0) == pytest.approx(0.01 / 11 ** 0.75)


def test_lambda_zero_is_exactly_the_source_only_run():
    pair = tiny_pair()
    runs = [DANNRun(tiny(mode, lambda_max=0.0, seed=3), pair) for mode in ("dann", "source-only")]
    for run in runs:
        while not run.finished:
            run.step()
    adapted, plain = (run.model.state_dict() for run in runs)
    shared = [k for k in plain if not k.startswith("domain.")]
    assert shared and all(torch.equal(adapted[k], plain[k]) for k in shared)
    assert runs[0].evaluate().target == runs[1].evaluate().target
    assert not torch.equal(adapted["domain.0.weight"], plain["domain.0.weight"])  # its domain classifier learnt


def test_dann_reads_the_mnist_m_like_target_better_than_source_only():
    """A short run on 1 000 images of each domain: the target accuracy rises above the source-only run's."""
    from engine.dann.domains import mnist_m_pair

    full = mnist_m_pair()

    def cut(d: Domain) -> Domain:
        return replace(d, train_x=d.train_x[:1000], train_y=d.train_y[:1000], test_x=d.test_x[:500],
                       test_y=d.test_y[:500])

    pair = replace(full, source=cut(full.source), target=cut(full.target))
    config = DANNConfig(epochs=8, threads=1)
    dann, plain = (train(replace(config, mode=mode), pair).accuracies for mode in ("dann", "source-only"))
    assert dann.target > plain.target + 0.02, (dann, plain)
    assert dann.source > 0.8 and plain.source > 0.8  # both read the source


def test_the_mnist_m_like_target_is_digits_on_photo_crops():
    from engine.dann.domains import mnist_domain, mnist_m_pair

    pair, mnist = mnist_m_pair(), mnist_domain()
    assert pair.target.train_x.shape == pair.source.train_x.shape == (4000, 3, 28, 28)
    assert np.array_equal(pair.target.train_y, mnist.train_y)  # the same digits, blended
    assert pair.target.train_x.std(axis=(2, 3)).mean() > 0.1  # coloured, not grey copies
    assert not np.allclose(pair.target.train_x[:, 0], pair.target.train_x[:, 1])


def test_an_absurd_learning_rate_is_caught_as_divergence_with_a_message():
    result = train(tiny(lr=10.0, epochs=20), tiny_pair())
    assert result.diverged and "learning rate" in result.diverged
    assert result.iterations < 20 * 3


@pytest.mark.parametrize("change, message", [
    (dict(lr=0.0), "learning rate must be above 0"), (dict(lr=100.0), "at most 10"),
    (dict(lambda_max=-1.0), "λ must be between"), (dict(mode="other"), "Unknown mode"),
    (dict(drop_digits=(3, 11)), "Dropped digits"), (dict(epochs=0), "Epochs"),
])
def test_bad_settings_are_refused_with_a_message(change, message):
    with pytest.raises(ValueError, match=message):
        DANNRun(tiny(**change), tiny_pair())


def test_a_users_target_must_be_colour_28_pixel_images_enough_of_them():
    good = np.random.default_rng(0).uniform(size=(30, 3, 28, 28)).astype(np.float32)
    with pytest.raises(ValueError, match="N×3×28×28"):
        user_pair(good[:, :, :20, :20])
    with pytest.raises(ValueError, match="at least 20 images"):
        user_pair(good[:5])
    with pytest.raises(ValueError, match="one digit 0–9"):
        user_pair(good, np.arange(30))
    pair = user_pair(good)
    assert not pair.target.labelled and len(pair.target.train_x) == 30
    assert digit_labels(np.array([0, 1, 1]), ["3", "7"]).tolist() == [3, 7, 7]
    assert digit_labels(np.array([0, 1]), ["cats", "7"]) is None
    assert digit_labels(np.array([0, 1]), ["12", "7"]) is None


def test_train_on_target_needs_target_labels():
    pair = tiny_pair()
    unlabelled = replace(pair, target=replace(pair.target, train_y=None, test_y=None))
    with pytest.raises(ValueError, match="needs the target's labels"):
        DANNRun(tiny("target"), unlabelled)


def test_dropping_digits_removes_them_from_the_target_only():
    pair = without_digits(tiny_pair(200), (1, 7))
    assert not np.isin(pair.target.train_y, [1, 7]).any() and not np.isin(pair.target.test_y, [1, 7]).any()
    assert np.isin(pair.source.train_y, [1, 7]).any()


def test_the_live_trainer_runs_dann_and_both_bounds_and_stops_on_request():
    from engine.dann.live import DANNTrainer

    trainer = DANNTrainer(tiny(epochs=1), tiny_pair()).start()
    try:
        deadline = time.monotonic() + 300
        while not trainer.snapshot().finished and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = trainer.snapshot()
        assert snap.state == "done", snap.message
        assert list(snap.results) == ["dann", "source-only", "target"]
        assert snap.evals["domain"] and snap.curves["lam"][0] == 0.0 and snap.map_after is not None
        assert snap.map_before["xy"].shape == snap.map_after["xy"].shape == (96, 2)
    finally:
        trainer.close()


def test_a_second_training_waits_for_a_free_slot():
    from engine.dann.live import DANNTrainer

    trainer = DANNTrainer(tiny(epochs=50), tiny_pair())
    try:
        with every_slot_busy() as held:
            trainer.start()
            assert trainer.snapshot().state == "queued" and trainer.snapshot().queue == (1, 1)
            held[0].release()
            deadline = time.monotonic() + 60
            while trainer.snapshot().iteration == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert trainer.snapshot().state == "running" and trainer.snapshot().iteration > 0
        trainer.stop()
        stopped = trainer.snapshot()
        assert stopped.state == "stopped" and stopped.message.startswith("Stopped at step")
        trainer.pause()
        assert trainer.snapshot().iteration == stopped.iteration  # nothing more is trained
        old = trainer.experiment
        trainer.start()  # Start after Stop trains a new run
        assert trainer.experiment is not old and trainer.snapshot().state in ("running", "queued")
    finally:
        trainer.close()


def test_a_checkpoint_gives_back_the_finished_experiment(tmp_path):
    from engine.checkpoints import CheckpointError
    from engine.dann.checkpoint import load_experiment, save_experiment
    from engine.dann.live import DANNTrainer
    from engine.gan.checkpoint import DCGAN_PATH

    pair = tiny_pair()
    trainer = DANNTrainer(tiny(epochs=1), pair)
    snap = trainer.run_to_end()
    path = save_experiment(trainer.experiment, tmp_path / "tiny-dann", "a test")
    loaded = load_experiment(path, pair)
    assert loaded.snap.state == "done" and loaded.snap.results == snap.results
    assert np.array_equal(loaded.snap.map_after["xy"], snap.map_after["xy"])
    assert np.array_equal(loaded.snap.map_before["xy"], snap.map_before["xy"])
    with pytest.raises(CheckpointError, match="not a Latent Lab DANN checkpoint"):
        load_experiment(DCGAN_PATH, pair)
