"""Two students on one server: what one hands over from the Gradio widget reaches only their own page, and a call
to the widget's route without a session id (a script, another tab's copy of the URL minus ?sid=) hands nothing to
anyone."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import settle
from PIL import Image

pytestmark = pytest.mark.browser
FROM_WIDGET = "the photo from the Gradio widget"


def open_studio(page, app_url: str) -> None:
    page.goto(app_url + "/style")
    page.locator('iframe[src*="sid="]').wait_for(timeout=120_000)
    settle(page)


def studio_offers_widget_photo(page) -> bool:
    page.get_by_role("tab", name="Studio: gallery, blends, live optimisation").click()
    page.get_by_role("button", name="Optimize").wait_for(timeout=90_000)
    settle(page)
    return page.get_by_text(FROM_WIDGET).count() > 0


def test_a_hand_over_reaches_only_its_own_session(app_url, browser, tmp_path):
    from gradio_client import Client, handle_file

    photo_a, photo_c = tmp_path / "a.png", tmp_path / "c.png"
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(photo_a)  # A's photo: 60 wide, 40 high
    Image.fromarray(np.full((90, 30, 3), 50, np.uint8)).save(photo_c)
    a = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    b = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    try:
        open_studio(a, app_url)
        widget = a.frame_locator('iframe[src*="sid="]')
        widget.get_by_role("button", name="Stylize").wait_for(timeout=120_000)
        widget.locator('input[type="file"]').first.set_input_files(str(photo_a))
        widget.get_by_role("button", name="Stylize").click()
        widget.locator('img[src*="/stylized.png"]').wait_for(timeout=90_000)

        client = Client(app_url + "/gradio/style/", verbose=False, download_files=False)  # no ?sid=
        try:
            fn_inputs = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/stylize"]
            args = [handle_file(str(photo_c)) if i == 0 else None if p["component"] == "Image" else p["parameter_default"]
                    for i, p in enumerate(fn_inputs["parameters"])]
            result, _ = client.predict(*args, api_name="/stylize")  # the widget works for it ...
        finally:
            client.close()
        width, height = Image.open(result["path"]).size
        assert height == 3 * width  # C's own 30×90 photo, stylized (small photos are scaled up)

        open_studio(b, app_url)
        assert not studio_offers_widget_photo(b)  # ... but neither A's photo nor C's reached student B
        assert studio_offers_widget_photo(a)
        a.get_by_text(FROM_WIDGET).click()
        a.get_by_text("photo, 60×40").first.wait_for(timeout=60_000)  # A's own photo, not C's 30×90
    finally:
        a.context.close()
        b.context.close()
