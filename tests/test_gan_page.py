"""The GAN page through Streamlit's AppTest: both views render, buttons step the right network, bad inputs."""
from __future__ import annotations

import time

import pytest
from conftest import said
from streamlit.testing.v1 import AppTest

from busy import every_slot_busy



@pytest.fixture
def at(open_page) -> AppTest:
    return open_page("pages/gan.py")


def status(at: AppTest, which: int = 0) -> str:
    return [c.value for c in at.caption if "iteration" in c.value][which]


def click(at: AppTest, label: str, which: int = 0) -> AppTest:
    [b for b in at.button if b.label == label][which].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_both_views_render_with_metrics(at):
    assert not at.error, [e.value for e in at.error]
    assert "iteration 0 " in status(at, 0)
    assert "Loaded mnist-dcgan.safetensors" in status(at, 1)  # the image view starts from the shipped generator
    labels = [m.label for m in at.metric]
    assert "Modes covered" in labels and "Look like a digit" in labels


def test_single_steps_advance_the_2d_trainer(at):
    click(at, "Step k+M")
    assert "iteration 1 " in status(at) and "2 updates" in status(at)
    click(at, "Step D")
    assert "iteration 2 " in status(at) and "3 updates" in status(at)
    click(at, "Reset")
    assert "iteration 0 " in status(at)


def test_mode_collapse_preset_sets_its_hyper_parameters(at):
    at.radio(key="gan-preset").set_value("Mode collapse").run()
    assert at.number_input(key="gan2d-m").value == 5
    assert at.select_slider(key="gan2d-lrg").value == pytest.approx(1e-3)
    assert at.select_slider(key="gan2d-lrd").value == pytest.approx(1e-4)


@pytest.mark.parametrize("content, message", [
    (b"x,y\n1,2\nhello,3\n", "Line 3: 'hello' is not a number"),
    (b"x,y\n1,2\nnan,3\n", "Line 3: 'nan,3' is not a finite number"),
    (b"1,2\n", "at least 2"),
])
def test_bad_csv_points_get_a_message(at, content, message):
    at.selectbox(key="gan-data").set_value("custom").run()
    assert any("Draw points" in i.value for i in at.info)
    uploader = [u for u in at.get("file_uploader") if "CSV" in u.label][0]
    uploader.set_value(("points.csv", content, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(message in e for e in said(at)), said(at)


def test_uploaded_csv_points_train(at):
    at.selectbox(key="gan-data").set_value("custom").run()
    rows = "\n".join(f"{i % 7},{(i * 3) % 5}" for i in range(200))
    uploader = [u for u in at.get("file_uploader") if "CSV" in u.label][0]
    uploader.set_value(("points.csv", ("x,y\n" + rows).encode(), "text/csv")).run()
    assert any("200 points" in t.value for t in at.text)
    click(at, "Step k+M")
    assert "iteration 1 " in status(at)


def test_rapid_presses_leave_a_consistent_trainer(at):
    """Play/Pause and Step pressed as fast as reruns go: no error, the label follows the state, a step pauses."""
    play = lambda: [b for b in at.button if b.key == "gan2d-play"][0]  # noqa: E731
    for presses in range(1, 10):
        play().click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        running = presses % 2 == 1
        assert play().label == ("⏸ Pause" if running else "▶ Start")
        assert ("running" in status(at)) == running
    for label in ("Step D", "Step G", "Step k+M", "Step D"):  # a step while running pauses first
        click(at, label)
    assert play().label == "▶ Start" and "Stepped by hand" in status(at)
    counter = status(at).split("·")[1]
    time.sleep(0.5)
    at.run()
    assert status(at).split("·")[1] == counter  # nothing trains after the steps


def test_both_views_train_at_once_in_one_session(at):
    click(at, "▶ Start", 0)  # the 2-D view
    click(at, "▶ Start", 0)  # the image view's button is now the first "▶ Start"
    assert not at.error, [e.value for e in at.error]
    assert "running" in status(at, 0) and "running" in status(at, 1)
    click(at, "⏸ Pause", 0)
    click(at, "⏸ Pause", 0)
    assert "running" not in status(at, 0) and "running" not in status(at, 1)


def test_start_with_every_slot_busy_queues_and_runs_by_itself_and_pause_leaves_the_queue(at):
    from engine.jobs import SLOTS

    def queue_notes():
        return [i.value for i in at.info if i.value.startswith("Queued:")]

    with every_slot_busy() as held:
        click(at, "▶ Start")
        assert queue_notes() == [queue_notes()[0]] and queue_notes()[0].startswith(
            "Queued: position 1 of 1 — starts by itself when a slot frees")
        assert status(at).startswith("⏳ queued · iteration ") and SLOTS.waiting == 1
        click(at, "⏸ Pause")  # Pause while queued leaves the queue
        assert queue_notes() == [] and SLOTS.waiting == 0 and "queued" not in status(at)
        click(at, "▶ Start")
        assert len(queue_notes()) == 1
        held[0].release()  # a slot frees: it runs by itself, and the page shows it running
        while "running" not in status(at):
            time.sleep(0.1)
            at.run()
            assert not at.exception, [e.message for e in at.exception]
        assert queue_notes() == [] and [b for b in at.button if b.key == "gan2d-play"][0].label == "⏸ Pause"
        click(at, "⏸ Pause")
    assert "running" not in status(at) and SLOTS.waiting == 0


def test_own_images_from_a_zip_train_in_the_image_view(at):
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(40):
            image = Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8))
            png = io.BytesIO()
            image.save(png, format="PNG")
            zf.writestr(f"img{i}.png", png.getvalue())
        zf.writestr("notes.txt", "not an image")
    at.selectbox(key="gan-images").set_value("upload").run()
    assert any("zip" in i.value for i in at.info)
    uploader = [u for u in at.get("file_uploader") if "zip" in u.proto.label][0]
    uploader.set_value(("mine.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("40 images from mine.zip" in t.value for t in at.text)
    assert any("Skipped 1 file that could not be read" in i.value for i in at.info), [i.value for i in at.info]
    click(at, "Step k+M", 1)  # the image view's step button
    assert "iteration 1 " in status(at, 1)


def zip_of(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def png_of(size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, format="PNG")
    return buffer.getvalue()


def claiming_to_unpack_to(gigabytes: float) -> bytes:
    """A zip whose directory says its members unpack to `gigabytes` in all, 40 MB each (under the member limit)."""
    import struct

    member = 40 * 1024**2
    content = bytearray(zip_of({f"img{i}.png": b"x" for i in range(int(gigabytes * 1024**3 / member) + 1)}))
    at = content.find(b"PK\x01\x02")
    while at != -1:  # each central-directory entry: the uncompressed size sits 24 bytes in
        content[at + 24:at + 28] = struct.pack("<I", member)
        at = content.find(b"PK\x01\x02", at + 4)
    return bytes(content)


@pytest.mark.parametrize("content, message", [
    (b"just some text, renamed", "is not a zip archive"),
    (zip_of({}), "No readable images"),
    (zip_of({"notes.txt": b"hello", "more/readme.md": b"# hi"}), "No readable images"),
    (zip_of({"huge.png": png_of((20_000, 20_000))}), "No readable images"),  # too many pixels: skipped
    (claiming_to_unpack_to(2.5), "unpacks to 2.5 GB"),
], ids=["not-a-zip", "empty", "no-images", "pixel-bomb", "too-large"])
def test_refused_zips_get_a_message(at, content, message):
    at.selectbox(key="gan-images").set_value("upload").run()
    uploader = [u for u in at.get("file_uploader") if "zip" in u.proto.label][0]
    uploader.set_value(("mine.zip", content, "application/zip")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(message in e for e in said(at)), said(at)
    assert not [b for b in at.button if b.key == "ganimg-play"]  # nothing to train on
