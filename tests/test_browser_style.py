"""The style page in a real Chromium: a photo dropped into the Gradio widget comes back stylized (a non-image is
refused with the reason), the studio picks it up, and the live optimisation shows its image and losses.

Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import settle
from PIL import Image

pytestmark = pytest.mark.browser


def photo(tmp_path) -> str:
    """A 300×200 JPEG with an EXIF rotation tag, as phones write them."""
    from skimage.data import chelsea

    image = Image.fromarray(chelsea()).resize((300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "cat.jpg"
    image.save(path, exif=exif.tobytes())
    return str(path)


def style_picture(tmp_path) -> str:
    """A PNG to use as the style: scikit-image's coffee cup."""
    from skimage.data import coffee

    path = tmp_path / "coffee.png"
    Image.fromarray(coffee()).resize((160, 120)).save(path)
    return str(path)


def test_gradio_widget_stylizes_an_upload_and_hands_it_to_the_studio(app_url, page, shot, tmp_path):
    """The photo and the style picture dropped into the widget both reach the Studio: the photo is offered, the
    style becomes the picked one (the Studio was already drawn with the gallery's first style), and the live
    optimisation runs on it."""
    page.goto(app_url + "/style")
    widget = page.frame_locator('iframe[src*="sid="]')
    widget.get_by_role("button", name="Stylize").wait_for(timeout=90_000)
    settle(page)
    uploads = widget.locator('input[type="file"]')
    uploads.first.set_input_files(photo(tmp_path))
    uploads.nth(1).set_input_files(style_picture(tmp_path))
    widget.get_by_role("button", name="Stylize").click()
    result = widget.locator('img[src*="/stylized.png"]')  # the upload's preview is a /gradio_api/file= picture too
    result.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    shot(page, "style-gradio.png")
    src = result.get_attribute("src")
    stylized = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())))
    assert stylized.shape[:2] == (300, 200), stylized.shape  # upright: the EXIF rotation was applied

    page.get_by_role("tab", name="Studio: gallery, blends, live optimisation").click()
    option = page.get_by_text("the photo from the Gradio widget")
    option.wait_for(timeout=30_000)  # the page reran by itself when the widget handed the photo over
    option.click()
    page.get_by_text("photo, 200×300").first.wait_for(timeout=60_000)  # upright: 200 wide, 300 high
    page.get_by_text("stylized in").first.wait_for(timeout=60_000)
    picked = page.locator(".stMultiSelect").first
    assert picked.get_by_text("Your picture: from the Gradio widget").is_visible(), picked.inner_text()
    assert "Built-in style" not in picked.inner_text()

    page.get_by_role("button", name="Optimize").click()
    page.get_by_text("current image, step").first.wait_for(timeout=90_000)
    page.get_by_text("Style: Your picture: from the Gradio widget").wait_for(timeout=30_000)
    page.get_by_text("current image, step").first.scroll_into_view_if_needed()
    shot(page, "style-gradio-studio.png")
    page.get_by_role("button", name="⏹ Stop (keeps the best image)").click()


def test_gradio_widget_says_why_an_upload_is_refused(app_url, page, tmp_path):
    from engine.imageio import ImageRejected, open_image

    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture\n")
    with pytest.raises(ImageRejected) as refused:
        open_image(notes)
    page.goto(app_url + "/style")
    widget = page.frame_locator('iframe[src*="sid="]')
    widget.get_by_role("button", name="Stylize").wait_for(timeout=90_000)
    settle(page)
    widget.locator('input[type="file"]').first.set_input_files(str(notes))
    widget.get_by_role("button", name="Stylize").click()
    widget.get_by_text(f"Your photo: {refused.value}").wait_for(timeout=60_000)  # not a bare "Error"


def test_live_optimisation_shows_images_and_losses(app_url, page, shot):
    page.goto(app_url + "/style")
    page.get_by_role("tab", name="Studio: gallery, blends, live optimisation").click()
    page.get_by_role("button", name="Optimize").wait_for(timeout=90_000)
    settle(page)
    shot(page, "style-studio.png")
    steps = page.get_by_label("Steps")  # long enough that a slow, loaded machine is still running when Stop comes
    steps.fill("2000")
    steps.press("Enter")
    settle(page)
    page.get_by_role("button", name="Optimize").click()
    page.get_by_text("current image, step").first.wait_for(timeout=60_000)
    page.wait_for_function("() => /step (\\d+) \\/ 2000/.test(document.body.innerText) && "
                           "parseInt(document.body.innerText.match(/step (\\d+) \\/ 2000/)[1]) >= 40", timeout=90_000)
    page.get_by_text("current image, step").first.scroll_into_view_if_needed()
    page.mouse.wheel(0, 250)
    shot(page, "style-gatys.png")
    page.get_by_role("button", name="⏹ Stop (keeps the best image)").click()
    page.get_by_text("best so far").first.wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Download best PNG").is_visible()
