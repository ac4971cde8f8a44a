"""The style-transfer page through Streamlit's AppTest: fast result, blends, bad uploads, live optimisation."""
from __future__ import annotations

import io
import json
import time

import pytest
from conftest import said
from PIL import Image
from streamlit.testing.v1 import AppTest

from busy import every_slot_busy



@pytest.fixture
def at(open_page) -> AppTest:
    return open_page("pages/style.py")


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def image_captions(at: AppTest) -> list[str]:
    return [c for element in at.get("image") for c in element.captions]


def png_bytes(size=(40, 30), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 120).save(buffer, format="PNG")
    return buffer.getvalue()


def test_sample_photo_is_stylized_at_once(at):
    assert not at.error, [e.value for e in at.error]
    assert any(c.startswith("stylized in") and c.endswith("512×512") for c in image_captions(at)), image_captions(at)
    assert [b for b in at.get("download_button") if "full size" in b.proto.label]


def test_two_styles_blend_and_absurd_weights_are_explained(at):
    at.radio(key="style-network").set_value("builtin").run()
    at.multiselect(key="style-pick-builtin").set_value(["builtin-01", "builtin-05"]).run()
    assert not at.exception and not at.error
    assert len([s for s in at.slider if s.key and s.key.startswith("style-w-")]) == 2
    at.slider(key="style-w-builtin-01").set_value(0.0).run()
    at.slider(key="style-w-builtin-05").set_value(0.0).run()
    assert any("mixed equally" in c for c in captions(at)), captions(at)


@pytest.mark.parametrize("content, message", [
    (b"this is not an image", "Not an image"),
    (png_bytes()[:60], "Unreadable or truncated"),
])
def test_bad_uploads_get_a_message(at, content, message):
    at.radio(key="style-source").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if "Your photo" in u.proto.label][0]
    uploader.set_value(("photo.png", content, "image/png")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(message in e for e in said(at)), said(at)


def test_a_1x1_upload_still_works(at):
    at.radio(key="style-source").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if "Your photo" in u.proto.label][0]
    uploader.set_value(("dot.png", png_bytes((1, 1)), "image/png")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("enlarged" in c for c in captions(at)), captions(at)


def run_optimisation(at: AppTest, steps: int = 8, **numbers) -> None:
    at.select_slider(key="gatys-size").set_value(64).run()
    at.number_input(key="gatys-steps").set_value(steps).run()
    for key, value in numbers.items():
        at.number_input(key=key).set_value(value).run()
    at.button(key="gatys-start").click().run()
    assert not at.exception, [e.message for e in at.exception]


def wait_done(at: AppTest, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        text = [p.proto.text for p in at.get("progress")]
        if text and text[0].startswith("step") and "Stop" not in [b.label for b in at.button if b.key == "gatys-stop"]:
            if all(b.key != "gatys-stop" for b in at.button):
                return text[0]
        time.sleep(0.5)
    raise AssertionError("the optimisation did not finish")


def test_optimize_runs_in_the_background_and_keeps_the_best_image(at):
    run_optimisation(at, steps=8)
    progress = wait_done(at)
    assert progress.startswith("step 8 / 8") and "MobileNetV2" in progress
    assert any(c.startswith("best so far") for c in image_captions(at)), image_captions(at)
    assert [b for b in at.get("download_button") if b.proto.label == "Download best PNG"], [b.proto.label for b in at.get("download_button")]


def test_pressing_optimize_twice_replaces_the_run_and_huge_weights_are_clamped(at):
    run_optimisation(at, steps=400, **{"gatys-style-w": 1e12})
    at.button(key="gatys-start").click().run()  # again, at once
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("clamped" in c for c in captions(at)), captions(at)
    at.button(key="gatys-stop").click().run()
    progress = wait_done(at)
    assert not progress.startswith("step 400 / 400")  # stopped early


def progress_text(at: AppTest) -> str:
    """The optimisation's progress line; "" when none is on screen."""
    return next((p.proto.text for p in at.get("progress")), "")


def test_optimize_again_while_every_slot_is_busy_replaces_the_run_in_its_own_slot(at):
    run_optimisation(at, steps=400)
    with every_slot_busy():  # the server is full: this session's run holds the last slot
        at.number_input(key="gatys-steps").set_value(300).run()
        at.button(key="gatys-start").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert "/ 300 " in progress_text(at) and [b for b in at.button if b.key == "gatys-stop"]  # the new run, live
        for _ in range(360):  # it works in the slot the first run handed over (polled, no time limit)
            if "step 0 /" not in progress_text(at):
                break
            time.sleep(0.5)
            at.run()
        assert "step 0 /" not in progress_text(at), "the new run did not start"
        at.button(key="gatys-stop").click().run()
        assert wait_done(at).startswith("step ")


def queue_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if i.value.startswith("Queued:")]


def test_an_optimize_while_every_slot_is_busy_is_queued_and_starts_by_itself(at):
    run_optimisation(at, steps=3)
    assert wait_done(at).startswith("step 3 / 3")
    with every_slot_busy() as held:  # the run has ended and given its slot back; now none is free
        at.button(key="gatys-start").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        notes = queue_notes(at)
        assert len(notes) == 1 and notes[0].startswith("Queued: position 1 of 1 — starts by itself when a slot frees")
        assert at.button(key="gatys-stop").label == "Leave the queue" and progress_text(at) == ""
        at.run()
        assert queue_notes(at) == notes  # still waiting: every slot is still busy
        held[0].release()  # a slot frees: the queued run starts by itself
        assert wait_done(at).startswith("step 3 / 3") and queue_notes(at) == []
    assert any(c.startswith("best so far") for c in image_captions(at)), image_captions(at)
    assert [b for b in at.get("download_button") if b.proto.label == "Download best PNG"]


def test_leaving_the_queue_gives_up_the_place_and_optimizes_nothing(at):
    from engine.jobs import SLOTS

    with every_slot_busy():
        run_optimisation(at, steps=3)
        assert len(queue_notes(at)) == 1 and SLOTS.waiting == 1
        at.button(key="gatys-stop").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert SLOTS.waiting == 0 and queue_notes(at) == []
        assert any("Left the queue before its turn" in c for c in captions(at)), captions(at)


def test_per_layer_weights_reach_the_optimisation(at):
    at.number_input(key="gatys-w-mobilenet_v2-features.1").set_value(0.0).run()
    run_optimisation(at, steps=3)
    wait_done(at)
    assert not at.error, [e.value for e in at.error]
    traces = {t["name"]: t["y"] for t in json.loads(at.get("plotly_chart")[-1].proto.spec)["data"]}
    assert max(traces["style features.1"]) == 0  # its weight w_l = 0: the layer's (weighted) loss is 0
    assert min(traces["style features.13"]) > 0


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gif_two_frames() -> bytes:
    frames = [Image.new("RGB", (48, 32), c) for c in ((200, 30, 30), (30, 30, 200))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize("name, content", [
    ("cmyk.jpg", encoded(Image.new("CMYK", (48, 32), (0, 120, 200, 10)), "JPEG")),
    ("deep.png", encoded(Image.new("I;16", (48, 32), 40000), "PNG")),
    ("palette.png", encoded(Image.new("RGB", (48, 32), (10, 200, 10)).convert("P"), "PNG")),
    ("alpha.png", encoded(Image.new("RGBA", (48, 32), (10, 10, 200, 100)), "PNG")),
    ("animated.gif", gif_two_frames()),
])
def test_unusual_image_modes_are_stylized(at, name, content):
    at.radio(key="style-source").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if "Your photo" in u.proto.label][0]
    uploader.set_value((name, content, "application/octet-stream")).run()
    ok = not at.exception and not at.error
    assert ok, [e.value for e in at.error]
    assert any(c.startswith("stylized in") for c in image_captions(at)), image_captions(at)


def test_a_pixel_bomb_is_refused_with_a_message(at):
    at.radio(key="style-source").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if "Your photo" in u.proto.label][0]
    uploader.set_value(("bomb.png", encoded(Image.new("1", (20000, 20000)), "PNG"), "image/png")).run()
    assert not at.exception
    assert any("Too many pixels" in e for e in said(at)), said(at)
