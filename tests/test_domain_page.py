"""The domain adaptation page through Streamlit's AppTest: the shipped run, presets, λ = 0, bad uploads, divergence,
the queue."""
from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest
from conftest import said
from PIL import Image
from streamlit.testing.v1 import AppTest

from busy import every_slot_busy


@pytest.fixture
def at(open_page) -> AppTest:
    return open_page("pages/domain.py")


def click(at: AppTest, label: str) -> AppTest:
    [b for b in at.button if b.label == label][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return [m.value for m in at.metric if m.label == label][0]


def zip_of(images: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, array in images.items():
            png = io.BytesIO()
            Image.fromarray(array).save(png, format="PNG")
            zf.writestr(name, png.getvalue())
    return buf.getvalue()


def upload(at: AppTest, content: bytes) -> AppTest:
    at.selectbox(key="dann-pair").set_value("zip").run()
    [box] = [u for u in at.get("file_uploader") if "zip" in u.label]
    box.set_value(("target.zip", content, "application/zip")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_opens_on_the_shipped_finished_run(at):
    from engine.dann.checkpoint import SHIPPED_PATH, read_card

    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Domain adaptation (DANN)"
    assert any(c.value.startswith("Loaded mnist-m-dann.safetensors") for c in at.caption)
    results = read_card(SHIPPED_PATH)["results"]
    assert metric(at, "DANN") == f"{results['dann']['target']:.1%}"
    assert metric(at, "source only") == f"{results['source-only']['target']:.1%}"
    assert metric(at, "train on target") == f"{results['target']['target']:.1%}"
    assert metric(at, "Gap closed by DANN").endswith("%")
    assert [b.label for b in at.button if b.key == "dann-play"] == ["▶ Train again"]
    assert len(at.latex) >= 3  # the slide's two losses beside the curves (and the intro's)


def test_presets_set_their_settings(at):
    at.radio(key="dann-preset").set_value("λ too large early → collapse").run()
    assert at.number_input(key="dann-lam").value == 5.0 and at.toggle(key="dann-schedule").value is False
    at.radio(key="dann-preset").set_value("Target lacks two digits → adaptation can hurt").run()
    assert at.multiselect(key="dann-drop").value == [1, 7] and at.number_input(key="dann-lam").value == 1.5
    assert [b.label for b in at.button if b.key == "dann-play"] == ["▶ Start"]  # new settings: a new run


def test_lambda_zero_says_it_is_the_source_only_run(at):
    at.number_input(key="dann-lam").set_value(0.0).run()
    assert any("this run is the source-only run" in c.value for c in at.caption)


def test_a_zip_without_images_gets_a_message(at):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "no pictures here")
    upload(at, buf.getvalue())
    assert "These images cannot be the target domain:" in [e.value for e in at.error]
    assert any("No readable images" in t for t in said(at))


def test_too_few_images_get_a_message_and_other_sizes_are_resized(at):
    rng = np.random.default_rng(0)
    upload(at, zip_of({f"{i % 10}/{i}.png": rng.integers(0, 255, (40, 64, 3), np.uint8) for i in range(5)}))
    assert any("at least 20 images" in t for t in said(at))
    upload(at, zip_of({f"{i % 10}/{i}.png": rng.integers(0, 255, (40 + i, 64, 3), np.uint8) for i in range(30)}))
    assert not at.error, [e.value for e in at.error]
    assert any("30 images from target.zip, resized to 28×28" in t for t in said(at))
    assert [b.label for b in at.button if b.key == "dann-play"] == ["▶ Start"]


def test_an_absurd_learning_rate_stops_with_a_divergence_message(at):
    at.select_slider(key="dann-lr").set_value(10.0).run()
    click(at, "▶ Start")
    deadline = time.monotonic() + 300
    while not any("Training stopped" in e.value for e in at.error) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert any("Training stopped" in e.value and "learning rate" in e.value for e in at.error), \
        [e.value for e in at.error]


def test_start_with_every_slot_busy_waits_in_the_queue(at):
    with every_slot_busy():
        at.number_input(key="dann-epochs").set_value(1).run()
        click(at, "▶ Start")
        assert any(i.value.startswith("Queued: position 1 of 1") for i in at.info)
        click(at, "⏸ Pause")  # leaves the queue
        assert not any(i.value.startswith("Queued:") for i in at.info)


def test_the_8x8_digits_pair_builds_a_new_run(at):
    at.selectbox(key="dann-pair").set_value("digits").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [b.label for b in at.button if b.key == "dann-play"] == ["▶ Start"]
    assert any("DANN: step 0 of" in c.value for c in at.caption)
