"""The app as a class reaches it: behind nginx (deploy/latentlab.nginx.conf) under the path /latentlab/, from a
browser that only sees the proxy's port. Every page opens without an exception, the Gradio widgets (served by the
app's own server, same origin) stylize and morph, and the explorer's hover thumbnails show.

Screenshots go to $LATENTLAB_SCREENSHOTS when set, else to pytest's tmp_path.
"""
from __future__ import annotations

import pytest
from conftest import nginx, serve, settle
from PIL import Image
from test_browser import ISOLATED, hover_tip, open_explorer
from test_browser_morph import morph_in_the_gradio_widget

pytestmark = pytest.mark.browser
PAGES = ["", "explorer", "ae_lab", "words", "gan", "style", "morph", "domain"]


@pytest.fixture(scope="module")
def proxied():
    """The app started with server.baseUrlPath=latentlab, reached only through nginx: its URL at the proxy."""
    with serve(log_name="streamlit-proxy.log", base_url="latentlab") as direct:
        port = int(direct.split(":")[2].split("/")[0])
        with nginx([port]) as url:
            yield url


@pytest.mark.parametrize("name", PAGES, ids=[p or "home" for p in PAGES])
def test_every_page_opens_through_the_proxy(proxied, page, shot, name):
    responses = []
    page.on("response", lambda r: responses.append(r.url))
    page.goto(f"{proxied}/{name}")
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=120_000)
    settle(page, timeout=180_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("This app has encountered an error").count() == 0
    assert page.get_by_text("Connection error").count() == 0
    port = proxied.split(":")[2].split("/")[0]
    stray = [u for u in responses if u.startswith("http") and not u.startswith(f"http://127.0.0.1:{port}/latentlab/")]
    assert stray == [], stray  # everything came through the proxy's one origin and path
    shot(page, f"proxy-{name or 'home'}.png")


def test_style_widget_stylizes_through_the_proxy(proxied, page, shot, tmp_path):
    from skimage.data import chelsea

    path = tmp_path / "cat.jpg"
    Image.fromarray(chelsea()).resize((300, 200)).save(path)
    page.goto(f"{proxied}/style")
    frame = page.locator('iframe[src*="sid="]')
    frame.wait_for(timeout=120_000)
    assert frame.get_attribute("src").startswith("/latentlab/gradio/style/")  # same origin, relative path
    widget = page.frame_locator('iframe[src*="sid="]')
    widget.get_by_role("button", name="Stylize").wait_for(timeout=120_000)
    widget.locator('input[type="file"]').first.set_input_files(str(path))
    widget.get_by_role("button", name="Stylize").click()
    result = widget.locator('img[src*="/stylized.png"]')
    result.wait_for(timeout=90_000)
    assert "/latentlab/gradio/style/" in result.get_attribute("src")
    assert page.request.get(result.get_attribute("src")).ok
    page.wait_for_timeout(500)
    shot(page, "proxy-style-gradio.png")


def test_morph_widget_returns_its_gif_through_the_proxy(proxied, page, shot, tmp_path):
    widget = morph_in_the_gradio_widget(page, proxied, tmp_path)
    gif = widget.locator('img[src*=".gif"]').first
    gif.wait_for(timeout=90_000)
    body = page.request.get(gif.get_attribute("src")).body()
    assert body[:6] in (b"GIF87a", b"GIF89a")
    page.wait_for_timeout(500)
    shot(page, "proxy-morph-gradio.png")


def test_explorer_hover_thumbnails_through_the_proxy(proxied, page, shot):
    open_explorer(page, proxied)
    x, y, _, _ = page.evaluate(ISOLATED, "data")
    tip = hover_tip(page, x, y, "reconstruction")
    assert "#" in tip["text"] and "image" in tip["text"], tip
    shot(page, "proxy-explorer-hover.png")
