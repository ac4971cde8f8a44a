"""The morphing page in a real Chromium: the slider changes the decoded face, a tilted photo uploaded in the Morph tab
is aligned (its box turned), two photos dropped into the Gradio widget come back as a morph (a non-image, or a photo
without a face, is refused with the reason), and the attribute tab edits faces.

Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import pytest
from conftest import settle
from PIL import Image

pytestmark = pytest.mark.browser
MORPH_PICTURE = """() => { const imgs = Array.from(document.querySelectorAll('[data-testid="stImage"]'))
  .filter((e) => e.innerText.includes('morph at t')); return imgs.length ? imgs[0].querySelector('img').src : null; }"""


def test_slider_changes_the_decoded_face(app_url, page, shot):
    page.goto(app_url + "/morph")
    page.wait_for_function(MORPH_PICTURE, timeout=120_000)
    settle(page)
    before = page.evaluate(MORPH_PICTURE)
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(20):
        slider.press("ArrowRight")
    page.wait_for_function(f"() => ({MORPH_PICTURE})() !== {before!r}", timeout=30_000)
    settle(page)
    assert not page.get_by_text("morph at t = 0.50").first.is_visible()  # the caption follows the slider
    shot(page, "morph-slider.png")


def test_a_tilted_photo_uploaded_in_the_morph_tab_is_aligned(app_url, page, shot, tmp_path):
    from skimage.data import astronaut

    path = tmp_path / "tilted.jpg"
    Image.fromarray(astronaut()).rotate(30, expand=True, fillcolor=(128, 128, 128)).save(path)
    page.goto(app_url + "/morph")
    page.wait_for_function(MORPH_PICTURE, timeout=120_000)
    page.get_by_text("upload a photo").first.click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
    page.get_by_text("aligned by its eyes").first.wait_for(timeout=120_000)
    page.get_by_text("what the model sees").first.wait_for(timeout=60_000)
    settle(page)
    page.get_by_text("what the model sees").first.scroll_into_view_if_needed()
    shot(page, "morph-tilted-upload.png")


def morph_in_the_gradio_widget(page, page_url: str, tmp_path, second: str = "camera"):
    """Open the morph page's Gradio tab, drop scikit-image's astronaut and `second` (a skimage.data photo) into the
    widget as JPEGs, press Morph; returns the widget's frame."""
    import skimage.data

    paths = []
    for name in ("astronaut", second):
        paths.append(str(tmp_path / f"{name}.jpg"))
        Image.fromarray(getattr(skimage.data, name)()).save(paths[-1])
    page.goto(f"{page_url}/morph")
    page.get_by_role("tab", name="Two photos (Gradio)").click()
    widget = page.frame_locator('iframe[src*="sid="]')
    widget.get_by_role("button", name="Morph").wait_for(timeout=120_000)
    inputs = widget.locator('input[type="file"]')
    inputs.nth(0).set_input_files(paths[0])
    inputs.nth(1).set_input_files(paths[1])
    widget.get_by_role("button", name="Morph").click()
    return widget


def test_two_photos_in_the_gradio_widget_come_back_as_a_morph(app_url, page, shot, tmp_path):
    widget = morph_in_the_gradio_widget(page, app_url, tmp_path)
    widget.locator('img[src*=".gif"]').first.wait_for(timeout=60_000)
    assert widget.get_by_text("A: Found").first.is_visible()  # the astronaut's face was detected
    shot(page, "morph-gradio.png")
    page.get_by_role("tab", name="Morph", exact=True).click()
    page.get_by_text("the Gradio widget's photo").first.wait_for(timeout=30_000)  # handed over, page reran


def test_gradio_widget_says_why_an_upload_is_refused(app_url, page, tmp_path):
    from engine.imageio import ImageRejected, open_image

    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture\n")
    with pytest.raises(ImageRejected) as refused:
        open_image(notes)
    page.goto(app_url + "/morph")
    page.get_by_role("tab", name="Two photos (Gradio)").click()
    widget = page.frame_locator('iframe[src*="sid="]')
    widget.get_by_role("button", name="Morph").wait_for(timeout=120_000)
    widget.locator('input[type="file"]').nth(0).set_input_files(str(notes))
    widget.get_by_role("button", name="Morph").click()
    widget.get_by_text(f"Face A: {refused.value}").wait_for(timeout=60_000)  # not a bare "Error"


def test_gradio_widget_refuses_a_photo_without_a_face(app_url, page, tmp_path):
    """No silent centre crop: a cat photo is refused, and waits in the Morph tab for a box set by hand."""
    widget = morph_in_the_gradio_widget(page, app_url, tmp_path, second="chelsea")
    widget.get_by_text("Face B: No face found. The photo waits in the Morph tab").first.wait_for(timeout=60_000)


def test_attribute_vector_adds_glasses(app_url, page, shot):
    page.goto(app_url + "/morph")
    page.get_by_role("tab", name="Attribute vectors").click()
    page.get_by_text("with s = 1").first.wait_for(timeout=120_000)
    settle(page)
    page.get_by_text("Judged by the shipped attribute classifier").first.scroll_into_view_if_needed()
    shot(page, "morph-attributes.png")


def test_continue_training_in_the_train_tab(app_url, page, shot):
    page.goto(app_url + "/morph")
    page.get_by_role("tab", name="Train a model").click()
    page.get_by_text("(continue training)").first.click()
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training done").first.wait_for(timeout=120_000)
    settle(page)
    shot(page, "morph-train.png")
    page.get_by_text("+ 1 epoch (trained here)").first.wait_for(timeout=30_000)  # offered in the sidebar
