"""Warm at start: the server runs every page once in the background, so the first student does not wait for the
shared state (GloVe's 400k vectors here) — the first visit after the warm-up finds it loaded."""
from __future__ import annotations

import time

import pytest
from conftest import run_coroutine, serve, server_log

from pages.ui.warmup import visit

pytestmark = pytest.mark.browser  # a live server
GLOVE_SPINNER = "Loading GloVe 6B"  # pages/words.py's loader says so while it reads the vectors


def first_visit_says(url: str, page: str) -> str:
    """Everything the server sent a fresh session of `page`, as text."""
    return "\n".join(str(m) for m in run_coroutine(visit(url.removeprefix("http://"), page)))


def test_a_cold_server_makes_the_first_visitor_load_glove():
    with serve(log_name="streamlit-cold.log") as url:
        assert GLOVE_SPINNER in first_visit_says(url, "words")
        assert GLOVE_SPINNER not in first_visit_says(url, "words")  # loaded once per process


def test_after_the_warm_up_the_first_visitor_finds_everything_loaded():
    with serve(log_name="streamlit-warm.log", warmup=True) as url:
        log = server_log("streamlit-warm.log")
        while "Warm-up done" not in log.read_text() and "Warm-up stopped" not in log.read_text():
            time.sleep(1)  # pytest-timeout guards a hang
        text = log.read_text()
        assert "Warm-up done: 8 pages" in text, text
        assert text.count("FINISHED_SUCCESSFULLY") == 8, text  # every page ran to its end
        assert GLOVE_SPINNER not in first_visit_says(url, "words")
