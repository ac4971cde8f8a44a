"""Gatys optimisation: losses against hand-computed values, it stylizes, stops, keeps its best image, falls back offline."""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from engine.style import backbones
from engine.style.backbones import BackboneUnavailable, load_backbone
from engine.style.gatys import GatysConfig, GatysJob, gram, normalised_mse, optimize, tv_loss
from engine.imageio import fit_longest, resize
from engine.jobs import wait_for
from engine.style.gallery import load_sample, load_style
from engine.style.fast import StyleError

from busy import every_slot_busy

torch.set_num_threads(1)


def photo(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    disc = ((y - 0.4) ** 2 + (x - 0.5) ** 2 < 0.08).astype(np.float32)
    return np.stack([x, y, 0.6 * disc + 0.2], axis=2).astype(np.float32)


def stripes(side: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side]
    band = ((x + y) // 4) % 2
    return np.stack([band, 1 - band, 0.5 * band], axis=2).astype(np.float32)


def test_gram_by_hand():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C=2, H=1, W=2
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    torch.testing.assert_close(gram(f)[0], expected)


def test_losses_by_hand():
    x, t = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 2.0])
    assert normalised_mse(x, t).item() == pytest.approx((1 / 2) / (4 / 2), rel=1e-6)
    image = torch.tensor([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    assert tv_loss(image).item() == pytest.approx(2**2 + 1**2)  # vertical steps of 2, horizontal of 1


def test_optimization_lowers_style_loss_and_keeps_content():
    content, style = fit_longest(load_sample("chelsea"), 64), fit_longest(load_style("builtin-04"), 64)
    result = optimize(content, style, GatysConfig(size=64, steps=60, lr=0.03, threads=1, seed=0))
    first, last = result.history[0], result.history[-1]
    assert sum(last.style.values()) < sum(first.style.values()) / 8
    assert result.best.shape == content.shape and result.backbone.startswith("MobileNetV2")
    similarity = lambda a: structural_similarity(content, resize(a, content.shape[:2]), channel_axis=2, data_range=1)  # noqa: E731
    assert similarity(result.best) > 0.3 > 10 * similarity(style)  # the cat is still there, the style image is not
    assert result.best_loss == min(h.total for h in result.history)


def test_texture_lbfgs_and_levels_run():
    texture = optimize(None, stripes(), GatysConfig(mode="texture", size=48, steps=8, optimizer="lbfgs", threads=1))
    assert texture.image.shape == (48, 48, 3) and texture.history[-1].total < texture.history[0].total
    assert texture.history[0].content == 0
    pyramid = optimize(photo(), stripes(), GatysConfig(size=64, steps=6, levels=2, init="noise", threads=1))
    assert pyramid.image.shape == (48, 64, 3) and pyramid.steps_done == 6


def test_random_vgg19_backbone():
    result = optimize(photo(32, 32), stripes(32), GatysConfig(backbone="random_vgg19", size=32, steps=3, threads=1))
    assert result.backbone.startswith("random VGG19") and np.isfinite(result.image).all()


@pytest.mark.parametrize("weights, note", [(dict(style_weight=0.0), None), (dict(style_weight=1e12), "clamped"),
                                           (dict(content_weight=1e12, tv_weight=0.0), "clamped")])
def test_extreme_weights_stay_finite(weights, note):
    result = optimize(photo(32, 32), stripes(32), GatysConfig(size=32, steps=3, threads=1, **weights))
    assert np.isfinite(result.image).all() and all(np.isfinite(h.total) for h in result.history)
    assert (note is None) == (not result.notes) and (note is None or note in result.notes[0])


@pytest.mark.parametrize("bad", [dict(style_weight=-1.0), dict(content_weight=float("nan")), dict(size=8),
                                 dict(optimizer="sgd"), dict(style_weight=0.0, content_weight=0.0)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(StyleError):
        optimize(photo(32, 32), stripes(32), GatysConfig(**{"size": 32, "steps": 2, "threads": 1, **bad}))


def test_job_stops_keeps_best_and_refuses_a_second_start():
    job = GatysJob(photo(), stripes(), GatysConfig(size=64, steps=10_000, threads=1), preview_every=2).start()
    with pytest.raises(StyleError, match="already"):
        job.start()
    while job.snapshot().step < 6:
        assert not job.snapshot().finished, job.snapshot().error
    live = job.snapshot()
    assert live.best is not None and live.backbone.startswith("MobileNetV2") and live.seconds > 0
    job.stop()
    snap = wait_for(job, 30)
    assert snap.state == "stopped" and 6 <= snap.step < 10_000
    assert snap.best.shape == (48, 64, 3) and snap.best.dtype == np.uint8
    assert snap.best_loss == min(snap.total) and len(snap.style["features.1"]) == snap.step
    assert job.result.stopped and job.result.best_loss == snap.best_loss


@pytest.mark.parametrize("name", ["mobilenet_v2", "random_vgg19"])
def test_style_layers_are_known_before_loading_and_each_gives_features(name):
    assert set(backbones.STYLE_LAYERS) == set(backbones.BUILDERS)
    backbone = load_backbone(name, fallback=False)
    layers = backbones.STYLE_LAYERS[name]
    assert layers == backbone.style_layers
    features = backbone.features(torch.rand(1, 3, 32, 32), layers)
    assert list(features) == list(layers) and all(f.shape[0] == 1 and f.shape[1] > 0 for f in features.values())


def test_vgg19_falls_back_offline_with_a_message(tmp_path, monkeypatch):
    import torchvision.models._api as api

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))  # an empty hub cache: no VGG19 weights
    monkeypatch.setattr(api, "load_state_dict_from_url", offline)  # never touch the network
    try:
        backbones._cached.cache_clear()
        quiet = load_backbone("vgg19")
        assert quiet.name == "mobilenet_v2" and "not in the torch hub cache" in quiet.message and "MobileNetV2" in quiet.message
        asked = load_backbone("vgg19", download=True)
        assert asked.name == "mobilenet_v2" and "no network" in asked.message
        with pytest.raises(BackboneUnavailable):
            load_backbone("vgg19", fallback=False)
        result = optimize(photo(32, 32), stripes(32), GatysConfig(backbone="vgg19", size=32, steps=2, threads=1))
        assert result.backbone.startswith("MobileNetV2") and "VGG19" in result.notes[0]
    finally:
        backbones._cached.cache_clear()


def test_job_queued_while_every_slot_is_busy_starts_when_one_frees():
    job = GatysJob(photo(32, 32), stripes(32), GatysConfig(size=32, steps=2, threads=1))
    with every_slot_busy():
        job.start()
        snap = job.snapshot()
        assert (snap.state, snap.queue, snap.step, snap.seconds) == ("queued", (1, 1), 0, 0.0)
    snap = wait_for(job, 30)  # the slots are back: it runs
    assert snap.state == "done" and snap.step == 2 and snap.best is not None


def test_a_job_replacing_a_running_one_takes_its_slot_when_every_slot_is_busy():
    from engine import jobs

    old = GatysJob(photo(32, 32), stripes(32), GatysConfig(size=32, steps=10_000, threads=1)).start()
    try:
        with every_slot_busy():  # every other slot busy
            while old.snapshot().step < 2:
                assert not old.snapshot().finished, old.snapshot().error
            new = GatysJob(photo(32, 32), stripes(32), GatysConfig(size=32, steps=3, threads=1)).start(replacing=old)
            assert new.snapshot().queue is None  # not queued behind the others
            assert wait_for(new, 60).state == "done" and new.snapshot().step == 3
            assert old.snapshot().state == "stopped" and old.snapshot().best is not None  # stopped, its best kept
            assert jobs.SLOTS.free == 1  # the slot they shared is given back once
    finally:
        old.stop()
