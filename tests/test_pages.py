"""The pages through Streamlit's AppTest: no browser, no network, every widget driven from Python."""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from conftest import said
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from engine.latent.checkpoints import read_card

from busy import every_slot_busy

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
EXPLORER = "pages/explorer.py"
UPLOAD = "Upload a checkpoint (.safetensors)…"
TIMEOUT = 300  # a hang guard for one script run (a 3-D UMAP with numba compiling can take minutes on a loaded machine)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_THREADS", "1")
        mp.delenv("LATENTLAB_IMAGE_ROOTS", raising=False)  # folders off unless a test allows some
        yield


# --- helpers -------------------------------------------------------------------------------------
def home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def explorer(dataset: str | None = None) -> AppTest:
    at = home()
    at.switch_page(EXPLORER)
    at.run()
    assert_ok(at)
    if dataset is not None:
        at.selectbox(key="dataset").set_value(dataset).run()
    return at


def assert_ok(at: AppTest, errors: bool = False) -> None:
    assert not at.exception, [e.message for e in at.exception]
    if not errors:
        assert not at.error, [e.value for e in at.error]


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def model_radio(at: AppTest):
    radios = [r for r in at.radio if r.label == "Model"]
    assert len(radios) == 1, [r.label for r in at.radio]
    return radios[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def until_map_settles(at: AppTest) -> AppTest:
    """Rerun while a t-SNE/UMAP layout is still moving in its job (AppTest does not tick the live fragment)."""
    deadline = time.monotonic() + TIMEOUT  # a hang guard
    while any(b.label.startswith("⏹ Stop (keep this layout)") for b in at.button) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    return at


def assert_map(at: AppTest) -> None:
    """The map, its quality numbers and the export are on the page (once a moving layout has settled)."""
    until_map_settles(at)
    assert at.get("plotly_chart"), "no plotly chart on the page"
    got = metrics(at)
    assert "Reconstruction MSE" in got and "Trustworthiness (k=10)" in got, got
    assert float(got["Reconstruction MSE"]) > 0
    assert any(b.label.startswith("Download codes") for b in at.get("download_button"))


def shapes(size: int = 16, per_class: int = 6):
    """(class, index, PNG bytes) for small white circles and squares on black."""
    for cls in ("circle", "square"):
        for i in range(per_class):
            img = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(img)
            box = (2 + i % 3, 2, size - 3 - i % 2, size - 3)
            (draw.ellipse if cls == "circle" else draw.rectangle)(box, fill=255)
            buf = io.BytesIO()
            img.save(buf, "PNG")
            yield cls, i, buf.getvalue()


# --- home ----------------------------------------------------------------------------------------
def test_home_renders_with_a_link_to_the_explorer():
    at = home()
    assert_ok(at)
    assert texts(at.title) == ["Latent Lab"]
    links = at.get("page_link")
    assert links, "no st.page_link on the home page"
    assert any("explorer" in (link.proto.page + link.proto.label).lower() for link in links)


# --- explorer on the shipped datasets ------------------------------------------------------------
def test_explorer_mnist_default():
    at = explorer()
    assert at.selectbox(key="dataset").value == "mnist"
    options = model_radio(at).options
    shipped = [o for o in options if o.endswith("(shipped)")]
    for ckpt in ("conv AE · code 2", "conv AE · code 16", "vae AE · code 2", "linear AE · code 32"):
        assert f"{ckpt} (shipped)" in shipped, options
    assert options[-1] == UPLOAD
    assert model_radio(at).value == "conv AE · code 16 (shipped)"
    assert_map(at)
    held_out = read_card(ROOT / "checkpoints" / "mnist-conv-16.safetensors").metrics  # the card's test-set numbers
    assert metrics(at)["Reconstruction MSE"] == f"{held_out['test_mse']:.4f}"
    assert metrics(at)["PCA with 16 components"] == f"{held_out['pca_test_mse']:.4f}"
    assert "10-NN label accuracy on the map" in metrics(at)
    assert [t.label for t in at.tabs] == ["Map", "Train a model", "Compare the family"]


@pytest.mark.parametrize("dataset, model", [("digits", "conv AE · code 8 (shipped)"),
                                            ("faces", "conv AE · code 16 (shipped)")])
def test_explorer_other_datasets(dataset, model):
    at = explorer(dataset)
    assert_ok(at)
    assert model_radio(at).value == model
    assert_map(at)


def test_explorer_3d_map():
    at = explorer("digits")
    [toggle] = [t for t in at.toggle if t.label == "3-D map"]
    toggle.set_value(True).run()
    assert_ok(at)
    assert "Trustworthiness (k=10)" in metrics(until_map_settles(at))


def test_bad_perplexity_falls_back_to_pca():
    at = explorer("digits")
    at.radio(key="method").set_value("tsne").run()
    [box] = [n for n in at.number_input if n.label == "t-SNE perplexity"]
    box.set_value(2000.0).run()  # digits has 1 797 points: perplexity must stay below (N − 1)/3
    assert_ok(at, errors=True)
    errors = said(at)
    assert any("erplexity" in e and "PCA" in e for e in errors), errors
    assert_map(at)


def test_the_family_tab_compares_every_shipped_autoencoder():
    at = explorer()
    at.session_state["explorer-tab"] = "Compare the family"  # the tab's content runs only when it is open
    at.run()
    assert_ok(at)
    assert len(at.get("plotly_chart")) >= 2  # the map and the error-vs-code-size chart
    rows = [c for element in at.get("image") for c in element.captions if c]
    assert rows[0] == "originals"
    for family in ("linear", "deep", "conv", "VAE", "sparse", "denoising"):
        assert any(r.startswith(f"{family} · code") for r in rows), rows


def test_a_tsne_map_moves_in_a_job_and_stop_keeps_its_layout():
    at = explorer("digits")
    at.radio(key="method").set_value("tsne").run()
    [box] = [n for n in at.number_input if n.label == "t-SNE perplexity"]
    box.set_value(20.0).run()  # not the shipped map's settings: this one is computed
    assert_ok(at)
    [stop] = [b for b in at.button if b.label == "⏹ Stop (keep this layout)"]  # the map moves: nothing blocks
    assert any("t-SNE" in p.proto.text for p in at.get("progress")), "no progress bar"
    deadline = time.monotonic() + TIMEOUT  # a hang guard: wait for the first moving frame, then stop there
    while not any("iteration" in p.proto.text for p in at.get("progress")) and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    [b for b in at.button if b.label == "⏹ Stop (keep this layout)"][0].click().run()
    assert_map(at)
    assert any("You stopped this layout at step" in c.value for c in at.caption), texts(at.caption)
    at.button(key="map-again").click().run()
    [again] = [b for b in at.button if b.label == "⏹ Stop (keep this layout)"]  # moving again, from the start
    assert not any("You stopped" in c.value for c in at.caption)
    again.click().run()


# --- your images ---------------------------------------------------------------------------------
def your_folder(at: AppTest, path: Path | str) -> AppTest:
    [box] = [t for t in at.text_input if "folder" in t.label]
    box.set_value(str(path)).run()
    assert_ok(at, errors=True)
    return at


@pytest.fixture
def yours(tmp_path, monkeypatch):
    """The explorer on "Your images", with the operator allowing folders inside tmp_path."""
    monkeypatch.setenv("LATENTLAB_IMAGE_ROOTS", str(tmp_path))
    at = explorer("yours")
    assert_ok(at)
    return at


def test_folder_box_is_off_unless_the_operator_allows_folders():
    at = explorer("yours")
    assert_ok(at)
    assert not [t.label for t in at.text_input if "folder" in t.label]
    assert [u.label for u in at.get("file_uploader") if ".zip" in u.label]  # the zip upload stays


def test_folder_box_names_the_allowed_folders(yours, tmp_path):
    [box] = [t for t in yours.text_input if "folder" in t.label]
    assert str(tmp_path) in box.help


def test_your_folder_outside_the_allowed_one(yours, tmp_path):
    for path in (f"{tmp_path}/../elsewhere", "/etc", "/no/such/folder", "../.."):
        at = your_folder(yours, path)
        assert texts(at.error) == ["These images cannot be used:"], texts(at.error)
        assert f"Not an allowed folder: {path}. This server reads images only from folders inside " \
               f"{tmp_path.resolve()} (hidden ones excluded)." in said(at), said(at)


def test_your_folder_missing(yours, tmp_path):
    at = your_folder(yours, tmp_path / "no-such-folder")
    assert any("not found" in e.lower() and "no-such-folder" in e for e in said(at)), said(at)


def test_your_folder_empty(yours, tmp_path):
    (tmp_path / "empty").mkdir()
    at = your_folder(yours, tmp_path / "empty")
    assert any("empty" in e for e in said(at)), said(at)


def test_your_folder_without_images(yours, tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "fake.png").write_bytes(b"not a png")
    at = your_folder(yours, folder)
    errors = said(at)
    assert any("No readable images" in e and "2 files skipped" in e for e in errors), errors


def test_your_labelled_folder_offers_training(yours, tmp_path):
    folder = tmp_path / "shapes"
    for cls, i, png in shapes():
        (folder / cls).mkdir(parents=True, exist_ok=True)
        (folder / cls / f"{i}.png").write_bytes(png)
    at = your_folder(yours, folder)
    assert not at.error, texts(at.error)
    assert any("12 images" in c for c in texts(at.text)), texts(at.text)
    assert any("No model for this dataset yet" in i for i in texts(at.info)), texts(at.info)
    assert [t.label for t in at.tabs] == ["Map", "Train a model", "Compare the family"]
    assert any(b.label == "Start training" for b in at.button)
    assert model_radio(at).options == [UPLOAD]


def test_your_zip_upload(yours):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls, i, png in shapes():
            zf.writestr(f"shapes/{cls}/{i}.png", png)
        zf.writestr("shapes/circle/readme.txt", "not an image")
    [box] = [t for t in yours.text_input if "folder" in t.label]
    box.set_value("").run()
    [zip_box] = [u for u in yours.get("file_uploader") if ".zip" in u.label]
    zip_box.set_value(("shapes.zip", buf.getvalue(), "application/zip")).run()
    assert_ok(yours)
    assert any("12 images" in c and "uploaded zip" in c for c in texts(yours.text)), texts(yours.text)
    assert "Skipped 1 file that could not be read as images." in texts(yours.text), texts(yours.text)
    assert any("No model for this dataset yet" in i for i in texts(yours.info))


# --- checkpoints ---------------------------------------------------------------------------------
def checkpoint_uploader(at: AppTest):
    found = [u for u in at.get("file_uploader") if u.label == "Latent Lab checkpoint"]
    assert len(found) == 1, [u.label for u in at.get("file_uploader")]
    return found[0]


def test_upload_checkpoint_option():
    at = explorer("digits")
    model_radio(at).set_value(UPLOAD).run()
    assert_ok(at)  # nothing uploaded yet: no map, no error
    assert any("No model for this dataset yet" in i for i in texts(at.info)), texts(at.info)

    checkpoint_uploader(at).set_value(("junk.safetensors", b"not a checkpoint at all", "application/octet-stream"))
    at.run()
    assert_ok(at, errors=True)
    assert any("safetensors" in e for e in said(at)), said(at)
    assert any(e.startswith("junk.safetensors") for e in said(at)), said(at)  # the user's file, not a temp

    wrong = (ROOT / "checkpoints" / "mnist-conv-2.safetensors").read_bytes()
    checkpoint_uploader(at).set_value(("mnist.safetensors", wrong, "application/octet-stream")).run()
    assert_ok(at, errors=True)
    assert any("expects (1, 28, 28)" in e for e in said(at)), said(at)

    right = (ROOT / "checkpoints" / "digits-conv-8.safetensors").read_bytes()
    checkpoint_uploader(at).set_value(("digits.safetensors", right, "application/octet-stream")).run()
    assert_ok(at)
    assert_map(at)


# --- training from the page ----------------------------------------------------------------------
def test_train_from_the_page(live_navigation):
    at = explorer("digits")
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(1)
    [augment] = [c for c in at.checkbox if c.label == "Mirror and shift"]
    augment.check()
    [start] = [b for b in at.button if b.label == "Start training"]
    start.click().run()
    assert_ok(at)
    progress = [p.proto.text for p in at.get("progress")]
    assert progress or any(b.label == "Stop training" for b in at.button), "training did not start"

    # The progress fragment polls with run_every, which AppTest does not tick: rerun the script instead.
    # A run that never ends is caught by pytest's timeout (pytest.ini), not by a guess of this machine's speed.
    while not at.success:
        time.sleep(0.3)
        at.run()
        assert_ok(at)  # a failed run shows an error
    assert "Training done" in at.success[0].value, at.success[0].value
    at.run()
    trained = [o for o in model_radio(at).options if o.endswith("augmented (trained here)")]
    assert trained, model_radio(at).options

    model_radio(at).set_value(trained[0]).run()
    assert_ok(at)
    assert_map(at)


def test_training_with_every_slot_busy_waits_in_the_queue(live_navigation):
    from engine.jobs import SLOTS

    def queue_notes():
        return [i for i in texts(at.info) if i.startswith("Queued:")]

    def start():
        return [b for b in at.button if b.label == "Start training"][0]

    at = explorer("digits")
    [epochs] = [n for n in at.number_input if n.label == "Epochs"]
    epochs.set_value(1)
    with every_slot_busy() as held:
        start().click().run()
        assert_ok(at)
        assert len(queue_notes()) == 1 and queue_notes()[0].startswith(
            "Queued: position 1 of 1 — starts by itself when a slot frees"), queue_notes()
        at.run()
        assert start().disabled and SLOTS.waiting == 1  # one job per session and panel, queued ones included
        [leave] = [b for b in at.button if b.label == "Leave the queue"]
        leave.click().run()
        assert_ok(at)
        assert queue_notes() == [] and SLOTS.waiting == 0 and not start().disabled
        assert "Left the queue before its turn: nothing was trained." in texts(at.caption)
        start().click().run()
        assert len(queue_notes()) == 1
        held[0].release()  # a slot frees: it trains by itself
        while not at.success:
            time.sleep(0.3)
            at.run()
            assert_ok(at)
    assert "Training done" in at.success[0].value and queue_notes() == []


def test_full_dataset_offline_falls_back_with_a_message(monkeypatch, tmp_path):
    """Asking for full MNIST without internet keeps the offline set, says why, and still shows the map."""
    import engine.data

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path))
    monkeypatch.setattr(engine.data, "_load_torchvision", offline)
    at = explorer()
    at.checkbox(key="full-mnist").check().run()
    assert_ok(at)
    notes = " ".join(texts(at.sidebar.info))
    assert "Full MNIST not available" in notes and "Name or service not known" in notes
    assert "5,000 images" in " ".join(texts(at.sidebar.caption))
    assert any(k.startswith("Reconstruction MSE") for k in metrics(at))
