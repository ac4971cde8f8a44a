"""User text in a real Chromium: a word typed as Markdown is shown as those characters, and nothing is fetched."""
from __future__ import annotations

import pytest
from conftest import IDLE
from test_browser_words import open_words, type_expression

pytestmark = pytest.mark.browser

IMAGE = "![i](//some.host/a.png)"  # as Markdown, an image every viewer's browser would fetch


def test_a_markdown_image_typed_as_a_word_is_shown_as_text_and_not_fetched(app_url, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_words(page, app_url)
    type_expression(page, IMAGE)
    page.get_by_text("is not in the vocabulary").first.wait_for(timeout=60_000)
    page.wait_for_function(IDLE, timeout=60_000)  # not settle(): it would wait for that image to load
    fetched = [url for url in requested if "some.host" in url]
    assert not fetched, fetched
    assert page.get_by_text(f"“{IMAGE}” is not in the vocabulary.").is_visible()
