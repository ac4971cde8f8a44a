"""Warm at start: the server runs every page once in the background, so the first student does not wait for the
shared state (GloVe's 400k vectors here) — the first visit after the warm-up finds it loaded."""
from __future__ import annotations

import time
import urllib.request

import pytest
from conftest import START_LIMIT_S, run_coroutine, serve, server_log

from pages.ui.warmup import visit

pytestmark = pytest.mark.browser  # a live server
GLOVE_SPINNER = "Loading GloVe 6B"  # pages/words.py's loader says so while it reads the vectors


def first_visit_says(url: str, page: str) -> str:
    """Everything the server sent a fresh session of `page`, as text."""
    return "\n".join(str(m) for m in run_coroutine(visit(url.removeprefix("http://"), page)))


WIDGETS_BUILT = "Gradio widgets style, morph built in"  # pages/ui/gradio_embed.Widgets logs it


def test_a_cold_server_makes_the_first_visitor_load_glove():
    with serve(log_name="streamlit-cold.log") as url:
        assert GLOVE_SPINNER in first_visit_says(url, "words")
        assert GLOVE_SPINNER not in first_visit_says(url, "words")  # loaded once per process


def test_the_gradio_widgets_are_built_on_first_need_not_before_the_server_answers():
    """Gradio's import and the widgets' build (5–15 s) no longer hold back the server and its first page."""
    with serve(log_name="streamlit-lazy.log") as url:
        log = server_log("streamlit-lazy.log")
        assert "FINISHED_SUCCESSFULLY" in first_visit_says(url, "")[-200:]
        assert WIDGETS_BUILT not in log.read_text()
        with urllib.request.urlopen(url + "/gradio/style/", timeout=START_LIMIT_S) as answer:  # waits for the build
            assert answer.status == 200 and b"gradio" in answer.read().lower()
        assert WIDGETS_BUILT in log.read_text()


def test_after_the_warm_up_the_first_visitor_finds_everything_loaded():
    with serve(log_name="streamlit-warm.log", warmup=True) as url:
        log = server_log("streamlit-warm.log")
        while "Warm-up done" not in log.read_text() and "Warm-up stopped" not in log.read_text():
            time.sleep(1)  # pytest-timeout guards a hang
        text = log.read_text()
        assert "Warm-up done: 7 pages" in text, text
        assert text.count("FINISHED_SUCCESSFULLY") == 7, text  # every page ran to its end
        assert GLOVE_SPINNER not in first_visit_says(url, "words")
        while WIDGETS_BUILT not in log.read_text():  # after the pages, the warm-up builds the widgets
            time.sleep(1)  # pytest-timeout guards a hang
