"""engine.faces.facecrop: the astronaut's face is found and cropped, pictures without a face say so and fall back to the
centre, and bad uploads (10×10, 50 MP, grey for a colour model, a bomb, a bad box) behave."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from engine.faces import facecrop as fc
from engine.imageio import ImageRejected

ASTRONAUT_FACE = (175, 70, 272, 166)  # x0, y0, x1, y1 of Eileen Collins's face in skimage's 512×512 astronaut


def inside_face(box: fc.Box, scale: float = 1.0, shift: tuple[float, float] = (0, 0)) -> bool:
    x0, y0, x1, y1 = (v * scale for v in ASTRONAUT_FACE)
    cx, cy = box.centre
    return (x0 + shift[0] < cx < x1 + shift[0] and y0 + shift[1] < cy < y1 + shift[1]
            and 0.6 * (x1 - x0) < box.w < 1.5 * (x1 - x0))


def test_astronaut_face_found_and_cropped_for_each_model():
    result = fc.face_crop(Image.fromarray(skdata.astronaut()), (3, 64, 64), fc.framing_for("procfaces"))
    assert result.found and inside_face(result.box) and result.message.startswith("Found")
    assert result.image.shape == (3, 64, 64) and result.image.dtype == np.float32
    lfw = fc.face_crop(Image.fromarray(skdata.astronaut()), (1, 25, 25), fc.framing_for("faces"))
    assert lfw.image.shape == (1, 25, 25) and lfw.box == result.box


@pytest.mark.parametrize("picture", ["brick", "flat"])
def test_no_face_gives_a_message_and_the_centre(picture):
    image = Image.fromarray(skdata.brick()) if picture == "brick" else Image.new("RGB", (300, 200), (120, 160, 90))
    result = fc.face_crop(image, (3, 64, 64))
    assert not result.found and result.boxes == [] and result.message.startswith("No face")
    w, h = image.size
    assert result.box == fc.Box((w - min(w, h)) / 2, (h - min(w, h)) / 2, min(w, h), min(w, h))
    assert result.image.shape == (3, 64, 64)
    bare = fc.face_crop(image, (3, 64, 64), centre_if_none=False)
    assert bare.image is None and bare.box is None and "Draw a box" in bare.message


def test_ten_by_ten_photo():
    result = fc.face_crop(Image.new("RGB", (10, 10), (200, 120, 90)), (3, 64, 64))
    assert not result.found and "too small (10×10)" in result.message
    np.testing.assert_allclose(result.image[:, 32, 32], np.array([200, 120, 90]) / 255, atol=0.01)


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
    for bad in (fc.Box(10, 10, 0, 5), fc.Box(900, 900, 50, 50)):
        with pytest.raises(ValueError):
            fc.face_crop(photo, (3, 64, 64), box=bad)


def test_bomb_and_non_image_are_rejected():
    buffer = io.BytesIO()
    Image.new("1", (9000, 8000)).save(buffer, "PNG")  # 72 MP, above the 64 MP limit
    with pytest.raises(ImageRejected, match="Too many pixels"):
        fc.load_photo(buffer.getvalue())
    with pytest.raises(ImageRejected):
        fc.load_photo(b"not an image at all")
