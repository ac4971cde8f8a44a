"""The morphing page through Streamlit's AppTest: the slider, uploads (good and bad), attribute vectors."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from conftest import said
from PIL import Image
from streamlit.testing.v1 import AppTest



@pytest.fixture
def at(open_page) -> AppTest:
    return open_page("pages/morph.py")


def captions(at: AppTest) -> list[str]:
    return [c for element in at.get("image") for c in element.captions]


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(at: AppTest, label: str, content: bytes, kind: str = "jpeg") -> None:
    at.radio(key=f"morph-src-{label}").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if u.proto.label == f"Photo {label}"][0]
    uploader.set_value((f"{label}.{kind}", content, f"image/{kind}")).run()


def test_slider_moves_the_morph_and_both_paths_work(at):
    assert any("morph at t = 0.50" in c for c in captions(at))
    at.slider(key="morph-t").set_value(0.8).run()
    ok(at)
    assert any("morph at t = 0.80" in c for c in captions(at))
    at.radio(key="morph-method").set_value("slerp").run()
    ok(at)


def test_identical_faces_give_a_constant_morph_with_a_note(at):
    at.number_input(key="morph-idx-B").set_value(0).run()
    ok(at)
    assert any("same face" in i.value for i in at.info)


def test_uploaded_photos_are_cropped_for_the_model(at):
    from skimage.data import astronaut, camera

    upload(at, "A", jpeg(astronaut()))
    ok(at)
    assert any("Found" in s.value and "aligned by its eyes" in s.value for s in at.success)
    upload(at, "B", jpeg(camera()))  # a grey photo for the colour model
    ok(at)
    assert any("what the model sees" in c for c in captions(at))
    assert any("morph at t" in c for c in captions(at))


def test_a_tilted_photo_is_turned_level(at):
    from PIL import Image
    from skimage.data import astronaut

    tilted = np.asarray(Image.fromarray(astronaut()).rotate(30, expand=True, fillcolor=(128, 128, 128)))
    upload(at, "A", jpeg(tilted))
    ok(at)
    said_tilt = [re.search(r"tilted ([+-]\d+)°", s.value) for s in at.success]
    assert any(m and -30 <= int(m.group(1)) <= -24 for m in said_tilt), [s.value for s in at.success]  # 2.7° − 30°
    assert -30 <= next(s.value for s in boxes_offered(at) if s.label == "tilt °") <= -24  # the box is turned
    assert any("morph at t" in c for c in captions(at))


def boxes_offered(at: AppTest) -> list:
    return [s for s in at.slider if (s.key or "").startswith("morph-box-A-")]


@pytest.mark.parametrize("array, message", [
    (np.full((10, 10, 3), 128, np.uint8), "too small (10×10)"),
    (np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))[..., None].repeat(3, 2), "No face found."),
])
def test_photos_without_a_face_ask_for_a_box_and_are_not_morphed_until_set(at, array, message):
    upload(at, "A", jpeg(array))
    ok(at)
    assert any(message in w.value and "nothing is morphed" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not any("morph at t" in c for c in captions(at))  # not the centre square, silently
    assert {s.label for s in boxes_offered(at)} == {"left", "top", "size", "tilt °"}
    at.button(key=next(b.key for b in at.button if (b.key or "").endswith("-use"))).click().run()
    ok(at)
    assert any("Using your box" in s.value for s in at.success), [s.value for s in at.success]
    assert any("morph at t" in c for c in captions(at))


@pytest.mark.parametrize("height, width", [(1, 1), (1, 40), (40, 1), (2, 2), (8, 8), (9, 3), (1, 3000)])
def test_tiny_and_thin_photos_get_a_box_to_move_where_there_is_room(at, height, width):
    """A 1×1 PNG once raised StreamlitInvalidMinMaxError (a slider from 0 to 0): photos too small for a box are used
    whole, with a note; the others wait for a box, and every box slider the page offers moves without an exception."""
    upload(at, "A", png(np.full((height, width, 3), 128, np.uint8)), "png")
    ok(at)
    assert any(f"{width}×{height} photo" in c for c in captions(at)), captions(at)
    sliders = boxes_offered(at)
    if max(width, height) <= 8:
        assert not sliders and any("whole photo" in c.value for c in at.caption), [c.value for c in at.caption]
        assert any("morph at t" in c for c in captions(at))
    else:
        assert sliders and not any("morph at t" in c for c in captions(at))
    for label in [s.label for s in sliders]:
        slider = next(s for s in boxes_offered(at) if s.label == label)
        slider.set_value(slider.max if slider.value != slider.max else slider.min).run()
        ok(at)
        assert any("morph at t" in c for c in captions(at))
    if sliders:
        assert any("Using your box" in s.value for s in at.success), [s.value for s in at.success]


def test_not_an_image_gets_a_message(at):
    upload(at, "A", b"definitely not a photo")
    assert not at.exception
    assert any("Not an image" in e for e in said(at)), said(at)


def test_attribute_vector_from_labels_and_absurd_strength(at):
    at.selectbox(key="attr-name").set_value("glasses").run()
    at.selectbox(key="attr-remove").set_value("smile").run()
    ok(at)
    assert any("with s = 1" in c for c in captions(at))
    at.slider(key="attr-strength").set_value(100.0).run()
    ok(at)
    assert any("with s = 100" in c for c in captions(at))


def test_attribute_vector_edits_an_uploaded_face(at):
    from skimage.data import astronaut

    upload(at, "A", jpeg(astronaut()))
    ok(at)
    assert any(c.startswith("face A of the Morph tab") for c in captions(at)), captions(at)


def test_attribute_from_picked_faces_needs_both_sides(at):
    at.radio(key="attr-mode").set_value("examples").run()
    at.multiselect(key="attr-with").set_value([1, 2]).run()
    assert any("No examples without" in i.value for i in at.info), [i.value for i in at.info]
    at.multiselect(key="attr-without").set_value([3]).run()
    ok(at)
    assert any("your attribute" in c for c in captions(at))


def test_every_shipped_model_renders(at):
    from engine.latent.checkpoints import list_checkpoints

    datasets = set()
    for path, card in list_checkpoints():
        at.selectbox(key="morph-model").set_value(str(path)).run()
        ok(at)
        assert any(card.dataset in c.value for c in at.sidebar.caption)
        datasets.add(card.dataset)
    assert {"procfaces", "faces", "mnist"} <= datasets


def image_urls(at: AppTest) -> list[str]:
    return [img.url for element in at.get("image") for img in element.proto.imgs]


def test_continue_training_the_shipped_model_trains_a_copy(at):
    import re
    import time

    before = image_urls(at)
    at.radio(key="morph-train-resume").set_value(True).run()
    ok(at)
    kind = [s for s in at.selectbox if s.label == "Model" and s.key != "morph-model"][0]
    assert kind.disabled and kind.value == "conv"  # the architecture is the shipped model's
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(1)
    [start] = [b for b in at.button if b.label == "Start training"]
    start.click().run()
    ok(at)
    deadline = time.monotonic() + 60
    while not at.success and time.monotonic() < deadline:  # AppTest does not tick run_every: rerun instead
        time.sleep(0.5)
        at.run()
        ok(at)
    done = [s.value for s in at.success if "Training done" in s.value]
    assert done, [s.value for s in at.success]
    # After one epoch on 2 000 faces a fresh conv AE is at 0.03; continued (at the lower default rate) it keeps the
    # shipped model's 0.002.
    assert float(re.search(r"validation MSE (\d+\.\d+)", done[0]).group(1)) < 0.003, done[0]
    at.run()
    continued = [o for o in at.selectbox(key="morph-model").options if "+ 1 epoch (trained here)" in o]
    assert continued, at.selectbox(key="morph-model").options
    assert image_urls(at) == before  # the shipped model in use draws exactly what it drew before
    at.selectbox(key="morph-model").set_value("session").run()
    ok(at)
    assert "Trained in this session on procfaces." in [c.value for c in at.sidebar.caption]


@pytest.fixture
def fresh_datasets():
    """The page's process-wide dataset cache emptied before and after: this test's stand-in for full LFW must
    neither find the real subset cached nor be left cached for later tests."""
    from pages import ui

    ui.dataset.clear()
    yield
    ui.dataset.clear()


def test_a_subset_model_with_full_lfw_in_the_cache_gets_the_subset(fresh_datasets, open_page, monkeypatch, tmp_path):
    """Model/dataset size mismatch: full LFW loads at 32×32, the shipped LFW models take the 25×25 subset."""
    import engine.data
    from engine.checkpoints import CHECKPOINT_DIR
    from engine.data import ImageDataset

    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path))
    (tmp_path / "lfw_home" / "lfw_funneled").mkdir(parents=True)
    full = np.random.default_rng(0).random((300, 1, 32, 32), dtype=np.float32)
    monkeypatch.setattr(engine.data, "_lfw_people", lambda download: ImageDataset(
        "faces", full, np.zeros(300, np.int64), ["someone"], "full LFW (test stand-in)"))
    at = open_page("pages/morph.py")
    at.selectbox(key="morph-model").set_value(str(CHECKPOINT_DIR / "lfw-conv-16.safetensors")).run()
    ok(at)
    notes = [i.value for i in at.sidebar.info if "trained on scikit-image's 25×25 subset" in i.value]
    assert len(notes) == 1, notes  # said once, not by every tab that uses the faces
    assert any("morph at t = 0.50" in c for c in captions(at))
