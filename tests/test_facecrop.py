"""engine.faces.facecrop: faces are found with their eyes (MTCNN, weights loaded weights-only) and aligned like the
model's training faces, a tilted head comes out level, a small face in a tall photo is found, pictures without a face
say so and give no crop, and bad uploads (10×10, 50 MP, grey for a colour model, a bomb, a bad box) behave."""
from __future__ import annotations

import io
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from face_photos import ASTRONAUT_EYES, astronaut_head, background, paste
from PIL import Image, ImageDraw
from skimage import data as skdata

from engine.faces import facecrop as fc
from engine.faces.landmarks import load_nets, weights_folder
from engine.imageio import ImageRejected

ASTRONAUT_FACE = (175, 70, 272, 166)  # x0, y0, x1, y1 of Eileen Collins's face in skimage's 512×512 astronaut


def inside_face(box: fc.Box, scale: float = 1.0, shift: tuple[float, float] = (0, 0)) -> bool:
    x0, y0, x1, y1 = (v * scale for v in ASTRONAUT_FACE)
    cx, cy = box.centre
    return x0 + shift[0] < cx < x1 + shift[0] and y0 + shift[1] < cy < y1 + shift[1]


def test_astronaut_face_found_and_aligned_for_each_model():
    result = fc.face_crop(Image.fromarray(skdata.astronaut()), (3, 64, 64), fc.framing_for("procfaces"))
    assert result.found and inside_face(result.box) and result.message.startswith("Found 1 face")
    assert result.image.shape == (3, 64, 64) and result.image.dtype == np.float32
    np.testing.assert_allclose(result.faces[0].eyes, ASTRONAUT_EYES, atol=3)  # the hand-marked pupils
    lfw = fc.face_crop(Image.fromarray(skdata.astronaut()), (1, 25, 25), fc.framing_for("faces"))
    assert lfw.image.shape == (1, 25, 25) and inside_face(lfw.box) and lfw.box.angle == result.box.angle
    assert lfw.box.w < result.box.w  # the LFW subset is cut tight around the face, the procedural faces show heads


def marked_eyes(image: np.ndarray) -> np.ndarray:
    """Centroids (x, y) of the pure green marks, left one first, in a C×H×W crop."""
    r, g, b = image
    ys, xs = np.nonzero((g - np.maximum(r, b)) > 0.35)
    left = xs < xs.mean()
    return np.array([[xs[m].mean() + 0.5, ys[m].mean() + 0.5] for m in (left, ~left)])


@pytest.mark.parametrize("tilt", [-30, 20, 40])
def test_a_tilted_face_comes_out_with_level_eyes_at_the_fixed_positions(tilt):
    """The astronaut's pupils are marked green, the photo turned; in the aligned crop the marks lie level, where
    the framing puts the eyes."""
    photo = Image.fromarray(skdata.astronaut())
    draw = ImageDraw.Draw(photo)
    for x, y in ASTRONAUT_EYES:
        draw.ellipse((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=(0, 255, 0))
    turned = photo.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    framing, side = fc.Framing(), 128
    result = fc.face_crop(turned, (3, side, side), framing)
    assert result.found
    eyes = marked_eyes(result.image)
    (x0, y0), (x1, y1) = eyes
    assert abs(math.degrees(math.atan2(y1 - y0, x1 - x0))) < 3
    expected = np.array([[framing.centre_x - framing.eye_distance / 2, framing.eye_y],
                         [framing.centre_x + framing.eye_distance / 2, framing.eye_y]]) * side
    np.testing.assert_allclose(eyes, expected, atol=0.04 * side)


def test_a_small_face_in_a_tall_photo_is_found():
    """A standing person's face: 1/30 of a 1500×4500 photo's height (the LBP cascade found none here)."""
    head, eyes = astronaut_head()
    tall = background("grass").resize((1500, 4500))
    photo, truth = paste(tall, head, eyes, 150, 0, (700, 1000))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    result = fc.face_crop(buffer.getvalue(), (3, 64, 64), fc.framing_for("procfaces"))
    assert result.found, result.message
    np.testing.assert_allclose(result.faces[0].eyes, truth.eyes, atol=0.1 * np.hypot(*(truth.eyes[1] - truth.eyes[0])))


@pytest.mark.parametrize("picture", ["brick", "flat"])
def test_no_face_gives_a_message_and_no_crop(picture):
    image = Image.fromarray(skdata.brick()) if picture == "brick" else Image.new("RGB", (300, 200), (120, 160, 90))
    result = fc.face_crop(image, (3, 64, 64))
    assert not result.found and result.faces == [] and result.message == "No face found."
    assert result.image is None and result.box is None  # not the centre square
    w, h = image.size
    assert fc.centre_box((w, h)) == fc.Box((w - min(w, h)) / 2, (h - min(w, h)) / 2, min(w, h), min(w, h))


def test_weights_are_loaded_weights_only(tmp_path):
    """The shipped MTCNN files are plain tensors; a weights file that would run code when unpickled is refused."""
    assert [type(net).__name__ for net in load_nets(weights_folder())] == ["PNet", "RNet", "ONet"]
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return Path.touch, (marker,)

    import torch

    torch.save({"conv1.weight": Payload()}, tmp_path / "pnet.pt")
    with pytest.raises(pickle.UnpicklingError):
        load_nets(tmp_path)
    assert not marker.exists()


def test_ten_by_ten_photo():
    photo = fc.load_photo(Image.new("RGB", (10, 10), (200, 120, 90)))
    result = fc.face_crop(photo, (3, 64, 64))
    assert not result.found and result.image is None and "too small (10×10)" in result.message
    whole = fc.face_crop(photo, (3, 64, 64), box=fc.Box(0, 0, 10, 10))
    np.testing.assert_allclose(whole.image[:, 32, 32], np.array([200, 120, 90]) / 255, atol=0.01)


def test_fifty_megapixel_jpeg_is_fast_and_boxes_are_in_original_pixels():
    side = 5773
    canvas = Image.new("RGB", (8660, side), (90, 90, 90))
    canvas.paste(Image.fromarray(skdata.astronaut()).resize((side, side), Image.BILINEAR), (1000, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=80)
    result = fc.face_crop(buffer.getvalue(), (3, 64, 64))
    assert result.photo.original_size == (8660, side) and max(result.photo.image.size) <= fc.WORK_SIDE
    assert result.found and inside_face(result.box, side / 512, (1000, 0))


def test_grey_photo_for_a_colour_model_and_colour_photo_for_a_grey_model():
    grey = Image.fromarray(skdata.astronaut()).convert("L")
    result = fc.face_crop(grey, (3, 64, 64))
    assert result.image.shape == (3, 64, 64) and "grey" in result.message
    assert np.array_equal(result.image[0], result.image[1]) and np.array_equal(result.image[1], result.image[2])
    assert fc.face_crop(Image.fromarray(skdata.astronaut()), (1, 25, 25)).image.shape == (1, 25, 25)


def test_callers_box_is_used_and_may_stick_out():
    photo = fc.load_photo(Image.fromarray(skdata.astronaut()))
    box = fc.Box(-40, -40, 120, 120)  # top-left corner, partly outside
    result = fc.face_crop(photo, (3, 64, 64), box=box)
    assert result.box == box and result.found and result.message.startswith("Using your box")
    assert result.image[:, :4, :4].max() > 0.05  # the edge is repeated, not padded black
    for bad in (fc.Box(10, 10, 0, 5), fc.Box(900, 900, 50, 50), fc.Box(10, 10, 50, 50, float("nan"))):
        with pytest.raises(ValueError):
            fc.face_crop(photo, (3, 64, 64), box=bad)


def test_a_turned_box_turns_the_crop():
    """A box turned by 90° clockwise: the crop's left-to-right runs down the photo (white top, black bottom)."""
    photo = Image.new("L", (200, 200), 0)
    photo.paste(255, (0, 0, 200, 100))
    crop = fc.face_crop(photo, (1, 32, 32), box=fc.Box(50, 50, 100, 100, 90.0)).image[0]
    assert crop[:, :12].min() > 0.95 and crop[:, -12:].max() < 0.05


def test_bomb_and_non_image_are_rejected():
    buffer = io.BytesIO()
    Image.new("1", (9000, 8000)).save(buffer, "PNG")  # 72 MP, above the 64 MP limit
    with pytest.raises(ImageRejected, match="Too many pixels"):
        fc.load_photo(buffer.getvalue())
    with pytest.raises(ImageRejected):
        fc.load_photo(b"not an image at all")
