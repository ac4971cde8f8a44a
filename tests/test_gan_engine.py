"""engine.gan's trainer on 2-D data: each step moves only its network, the default setting covers the ring's modes,
divergence pauses with a reason, snapshots stay consistent while the worker trains, bad settings are refused."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from engine.device import configure_threads
from engine.gan.model import PRESETS_2D, GANConfig
from engine.gan.nets import LOSSES
from engine.gan.trainer import GANTrainer

configure_threads(1)


def parameters(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("loss", LOSSES)
def test_each_step_changes_only_its_network(loss):
    trainer = GANTrainer(GANConfig(loss=loss, width=16, depth=2, device="cpu"))
    g, d = parameters(trainer.G), parameters(trainer.D)
    trainer.step("d")
    assert same(parameters(trainer.G), g) and not same(parameters(trainer.D), d)
    g, d = parameters(trainer.G), parameters(trainer.D)
    trainer.step("g")
    assert not same(parameters(trainer.G), g) and same(parameters(trainer.D), d)
    trainer.close()


def test_default_setting_covers_the_ring_of_8():
    trainer = GANTrainer(GANConfig(data="ring8", seed=0, device="cpu"))
    trainer.step("both", 2000)
    metric = trainer.snapshot().metric
    assert metric["modes_covered"] >= 7, metric
    trainer.close()


def test_mode_collapse_preset_puts_the_fakes_on_one_mode():
    trainer = GANTrainer(GANConfig(data="ring8", seed=0, device="cpu", **PRESETS_2D["Mode collapse"]))
    trainer.step("both", 300)
    metric = trainer.snapshot().metric
    assert metric["modes_covered"] <= 2 and metric["high_quality"] > 0.5, metric  # good samples, too few modes
    trainer.close()


def test_wgan_gp_preset_covers_the_ring():
    trainer = GANTrainer(GANConfig(data="ring8", seed=0, device="cpu", **PRESETS_2D["WGAN-GP"]))
    trainer.step("both", 600)
    metric = trainer.snapshot().metric
    assert metric["modes_covered"] >= 7, metric
    trainer.close()


def test_a_huge_learning_rate_is_caught_and_explained():
    trainer = GANTrainer(GANConfig(lr_d=10.0, lr_g=10.0, optimizer="sgd", loss="lsgan", device="cpu"))
    trainer.step("both", 300)
    snap = trainer.snapshot()
    assert snap.state == "diverged" and snap.message, snap
    steps = snap.iterations
    trainer.step("both", 5)  # stepping a diverged trainer does nothing, raises nothing
    assert trainer.snapshot().iterations == steps
    trainer.close()


@pytest.mark.parametrize("change", [dict(k_d=0), dict(lr_d=0.0), dict(lr_g=100.0), dict(batch_size=0),
                                    dict(loss="magic"), dict(data="cats")])
def test_absurd_settings_are_refused_with_a_message(change):
    with pytest.raises(ValueError, match=r"\w"):
        GANTrainer(GANConfig(device="cpu", **change))


def test_batch_of_one_and_a_two_point_dataset_work():
    trainer = GANTrainer(GANConfig(data="custom", batch_size=1, width=8, depth=1, device="cpu"),
                         np.array([[0.0, 0.0], [1.0, 1.0]], np.float32))
    trainer.step("both", 20)
    assert trainer.snapshot().iterations == 20
    trainer.close()


def test_snapshots_are_consistent_while_the_worker_trains_and_pause_stops_it():
    trainer = GANTrainer(GANConfig(width=32, depth=2, device="cpu")).start()
    problems, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            snap = trainer.snapshot()
            if not (len(snap.loss_d) == len(snap.loss_g) == len(snap.d_real) == len(snap.history_x)):
                problems.append("history lengths differ")
            if snap.history_x and snap.history_x[-1] > snap.iterations:
                problems.append("history ahead of the counter")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    time.sleep(1.5)
    stop.set()
    for r in readers:
        r.join()
    trainer.pause()
    paused = trainer.snapshot().iterations
    time.sleep(0.5)
    assert not problems, problems[:3]
    assert paused > 0 and trainer.snapshot().iterations == paused
    trainer.close()


def test_update_between_steps_and_interpolation():
    trainer = GANTrainer(GANConfig(width=16, depth=2, device="cpu"))
    trainer.update(lr_g=3e-3, k_d=2)
    trainer.step("both")
    assert trainer.snapshot().step == 3  # 2 D steps + 1 G step
    with pytest.raises(ValueError, match="Reset"):
        trainer.update(width=64)
    path = trainer.interpolate(1, 2, np.linspace(0, 1, 5))
    assert path.shape == (5, 2)
    np.testing.assert_allclose(path[0], trainer.interpolate(1, 2, np.array([0.0]))[0], rtol=1e-5)
    trainer.close()
