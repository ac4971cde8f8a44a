"""engine.faces.morph and latent.slerp: the ends of a morph are the reconstructions, identical images give a constant
morph, exports decode, the wrong image shape is refused, and a slider move is one fast decode."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoints import CHECKPOINT_DIR
from engine.latent.checkpoints import load_checkpoint
from engine.device import configure_threads
from engine.latent.paths import interpolate, slerp
from engine.latent.models import AEConfig, Autoencoder
from engine.faces.morph import Morph, gif_bytes, strip_png

configure_threads(1)


def tiny(kind: str) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(AEConfig(kind=kind, input_shape=(3, 64, 64), code_size=8, channels=4)).eval()


def two_images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((3, 64, 64), np.float32), rng.random((3, 64, 64), np.float32)


@pytest.mark.parametrize("kind", ["conv", "vae", "linear"])
@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_ends_are_the_reconstructions(kind, method):
    model = tiny(kind)
    a, b = two_images()
    morph = Morph.between(model, a, b)
    ends = morph.frames([0.0, 1.0], method)
    np.testing.assert_allclose(ends, model.reconstruct(np.stack([a, b])), atol=1e-5)
    np.testing.assert_allclose(ends, morph.reconstructions(), atol=1e-5)
    assert morph.strip(7, method).shape == (7, 3, 64, 64)


def test_identical_images_give_a_constant_morph():
    model = tiny("vae")
    a, _ = two_images()
    morph = Morph.between(model, a, a)
    for method in ("linear", "slerp"):
        strip = morph.strip(5, method)
        assert np.isfinite(strip).all()
        np.testing.assert_allclose(strip, np.repeat(strip[:1], 5, 0), atol=1e-6)
    assert Image.open(io.BytesIO(gif_bytes(morph.strip(5)))).size == (64 * 4, 64 * 4)


def test_crossfade_blends_pixels_at_the_same_t():
    a, b = two_images()
    morph = Morph.between(tiny("conv"), a, b)
    fade = morph.crossfade([0.0, 0.5, 1.0])
    np.testing.assert_allclose(fade[0], a)
    np.testing.assert_allclose(fade[1], (a + b) / 2, atol=1e-6)
    np.testing.assert_allclose(fade[2], b)


def test_slerp_keeps_the_norm_and_meets_the_ends():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=32), rng.normal(size=32)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    arc = interpolate(a, b, 9, method="slerp")
    np.testing.assert_allclose(arc[[0, -1]], np.stack([a, b]), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), np.linalg.norm(a), rtol=1e-4)
    line = interpolate(a, b, 9)
    assert np.linalg.norm(line[4]) < np.linalg.norm(arc[4])  # the straight line cuts inside the sphere
    np.testing.assert_allclose(slerp(a, a, np.array([[0.3]])), a[None], atol=1e-6)  # Ω = 0: no division by 0
    assert np.isfinite(slerp(np.zeros(4), np.ones(4), np.array([[0.5]]))).all()
    with pytest.raises(ValueError, match="Unknown interpolation"):
        interpolate(a, b, 3, method="cubic")


def test_exports_decode():
    frames = Morph.between(tiny("conv"), *two_images()).strip(6)
    gif = Image.open(io.BytesIO(gif_bytes(frames, scale=2)))
    assert gif.format == "GIF" and gif.n_frames >= 2 and gif.size == (128, 128) and gif.info.get("loop") == 0
    strip = Image.open(io.BytesIO(strip_png(frames, scale=2, pad=2)))
    assert strip.size == ((6 * 64 + 5 * 2) * 2, 128)


def test_wrong_shape_is_refused_with_both_shapes():
    model = tiny("conv")
    with pytest.raises(ValueError, match=r"3×64×64.*1×25×25"):
        Morph.between(model, np.zeros((1, 25, 25)), np.zeros((1, 25, 25)))


@pytest.mark.parametrize("name", ["procfaces-conv-32", "procfaces-vae-32", "lfw-conv-16", "lfw-vae-16"])
def test_a_slider_move_decodes_one_frame_without_encoding_again(name):
    """What keeps the slider fast (timed in bench/morph.py): the ends are encoded once, a move only decodes."""
    model, _ = load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")
    c, h, w = model.config.input_shape
    a, b = (np.random.default_rng(s).random((c, h, w), np.float32) for s in (1, 2))
    morph = Morph.between(model, a, b)
    calls = {"encoder": 0, "decoder": 0}
    for part in calls:
        getattr(model, part).register_forward_hook(lambda *_, part=part: calls.__setitem__(part, calls[part] + 1))
    for t in np.linspace(0, 1, 30):
        frame = morph.frame(float(t), "slerp")
        assert frame.shape[-2:] == (h, w) and np.isfinite(frame).all()
    assert calls == {"encoder": 0, "decoder": 30}
