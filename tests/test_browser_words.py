"""The Word algebra page in a real Chromium (Playwright) against a live `streamlit run app.py`.

Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import pytest
from conftest import settle

pytestmark = pytest.mark.browser

ANSWER = """([method, word]) => { const el = document.querySelector('.st-key-answer-' + method);
  return !!el && el.innerText.trim() === '→ ' + word; }"""


def open_words(page, app_url: str) -> None:
    page.goto(app_url + "/words")
    page.get_by_role("heading", name="Word algebra").first.wait_for(timeout=60_000)
    page.locator(".st-key-answer-3cosadd").wait_for(timeout=60_000)
    settle(page)


def type_expression(page, text: str) -> None:
    box = page.get_by_label("Expression", exact=True)
    box.fill(text)
    box.press("Enter")


def wait_for_answer(page, word: str, timeout: float = 30_000) -> None:
    for method in ("3cosadd", "3cosmul"):
        page.wait_for_function(ANSWER, arg=[method, word], timeout=timeout)


def test_type_an_analogy_see_queen_first(app_url, page, shot):
    open_words(page, app_url)
    type_expression(page, "paris - france + italy")
    wait_for_answer(page, "rome")
    type_expression(page, "man : king :: woman : queen")
    wait_for_answer(page, "queen")
    page.locator('[data-testid="stMetricValue"]').nth(1).wait_for(timeout=30_000)  # the expected word's rank
    settle(page)
    assert page.locator('[data-testid="stMetricValue"]').all_inner_texts() == ["1", "1"]  # queen's rank
    plot = page.locator(".stPlotlyChart .js-plotly-plot").first
    plot.wait_for()
    labels = page.evaluate("""() => document.querySelector('.stPlotlyChart .js-plotly-plot')._fullData
        .flatMap((t) => t.text || [])""")
    assert {"king", "queen", "man", "woman"} <= set(labels), labels
    shot(page, "words-playground.png")
    plot.scroll_into_view_if_needed()
    shot(page, "words-plot.png")

    page.get_by_role("tab", name="Custom axes").click()
    axes = page.locator(".stPlotlyChart").filter(has_text="man → woman")
    axes.wait_for(timeout=30_000)
    axes.scroll_into_view_if_needed()
    shot(page, "words-axes.png")


def test_unknown_word_gets_a_suggestion(app_url, page, shot):
    open_words(page, app_url)
    type_expression(page, "kign - man + woman")
    error = page.get_by_text("“kign” is not in the vocabulary")
    error.wait_for(timeout=30_000)
    assert "Did you mean: king" in error.inner_text()


def test_benchmark_runs_live_and_lists_failures(app_url, page, shot):
    open_words(page, app_url)
    page.get_by_role("tab", name="Benchmark").click()
    page.get_by_role("button", name="Run benchmark").click()
    page.get_by_role("heading", name="Failures").wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_text("questions wrong").first.is_visible()
    shot(page, "words-benchmark.png")


def test_train_word2vec_live_then_stop(app_url, page, shot):
    open_words(page, app_url)
    page.get_by_role("tab", name="Train your own").click()
    page.get_by_text("Wikipedia excerpt").click()  # 480k words: long enough to watch and stop
    settle(page)
    epochs = page.get_by_label("Epochs")
    epochs.fill("30")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    stop = page.get_by_role("button", name="Stop training")
    stop.wait_for(timeout=30_000)
    page.get_by_text("Nearest words of each probe word now").wait_for(timeout=60_000)
    page.locator(".stPlotlyChart").filter(has_text="negative-sampling loss").first.wait_for(timeout=30_000)
    status = page.get_by_text("words/s").first  # "… · epoch e/E · N words/s · T s"
    before = status.inner_text()
    page.wait_for_function("""(before) => Array.from(document.querySelectorAll('p'))
        .some((p) => p.innerText.includes('words/s') && p.innerText !== before)""", arg=before, timeout=15_000)
    page.get_by_text("Nearest words of each probe word now").scroll_into_view_if_needed()
    shot(page, "words-train.png")
    stop.click()
    page.get_by_text("Training stopped").wait_for(timeout=30_000)
