"""The GAN page in a real Chromium: training runs live, the view changes, Pause stops it.

Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import os
import re

import pytest
from conftest import serve, settle

pytestmark = pytest.mark.browser

STATUS = """() => Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
  .map((e) => e.innerText).find((t) => t.includes('iteration')) || ''"""
ITERATION_ABOVE = """(n) => { const t = (""" + STATUS + """)(); const m = [...t.matchAll(/iteration ([\\d,]+) ·/g)];
  return m.length > 0 && parseInt(m[m.length - 1][1].replace(/,/g, '')) > n; }"""
FIELD = """() => { const i = document.querySelector('[data-testid="stImage"] img'); return i ? i.src : null; }"""
def iteration(page) -> int:
    counters = re.findall(r"iteration ([\d,]+) ·", page.evaluate(STATUS))  # "… · iteration 1,234 · 2,468 updates · …"
    return int(counters[-1].replace(",", ""))


def click_until(page, label: str, then: str, tries: int = 3) -> None:
    """Click a button until its label changes: a click that lands while a fragment reruns can be dropped
    by Streamlit on a busy machine (the user would click again)."""
    for _ in range(tries):
        page.get_by_role("button", name=label).first.click()
        try:
            page.get_by_role("button", name=then).first.wait_for(timeout=10_000)
            return
        except Exception:
            continue
    raise AssertionError(f"“{label}” never turned into “{then}”")


def test_2d_training_runs_live_and_pause_stops_it(app_url, page, shot):
    page.goto(app_url + "/gan")
    start = page.get_by_role("button", name="▶ Start").first
    start.wait_for(timeout=60_000)
    page.wait_for_function(FIELD, timeout=60_000)
    settle(page)
    click_until(page, "▶ Start", "⏸ Pause")
    page.wait_for_function(ITERATION_ABOVE, arg=0, timeout=30_000)
    first, picture = iteration(page), page.evaluate(FIELD)
    page.wait_for_function(ITERATION_ABOVE, arg=first + 20, timeout=60_000)  # the view keeps updating
    for _ in range(3):  # and so does the picture, again and again (its frame rate: bench/gan.py --ui)
        page.wait_for_function(f"() => ({FIELD})() !== {picture!r}", timeout=60_000)
        picture = page.evaluate(FIELD)
    if os.environ.get("LATENTLAB_SCREENSHOTS"):  # for the README: let it cover the ring first
        page.wait_for_function(ITERATION_ABOVE, arg=1500, timeout=120_000)
    shot(page, "gan-2d.png")

    click_until(page, "⏸ Pause", "▶ Start")
    settle(page)
    paused = iteration(page)
    page.wait_for_timeout(1_500)
    assert iteration(page) == paused, "training went on after Pause"


@pytest.fixture(scope="module")
def two_slot_url():
    """A server of its own with 2 training slots, whatever the machine, so one tab can fill it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LATENTLAB_JOB_SLOTS", "2")
        with serve(log_name="streamlit-test-two-slots.log") as url:
            yield url


def test_two_tabs_train_separately_and_a_closed_tab_frees_its_place(two_slot_url, browser):
    """Two tabs are two sessions: separate trainers and one shared pool of 2 slots; a Start when both are busy
    waits in the queue, and closing the tab that holds them lets the queued trainer run by itself."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(two_slot_url + "/gan")
        tab.get_by_role("button", name="▶ Start").first.wait_for(timeout=60_000)
        settle(tab)
    click_until(first, "▶ Start", "⏸ Pause")  # the 2-D view
    first.get_by_role("tab", name="Images (DCGAN)").click()
    click_until(first, "▶ Start", "⏸ Pause")  # the image view (the 2-D view's buttons are hidden now)

    assert iteration(second) == 0  # the other tab's trainer is its own
    click_until(second, "▶ Start", "⏸ Pause")  # Pause also leaves the queue
    second.get_by_text("Queued: position 1 of 1 — starts by itself when a slot frees").first.wait_for(timeout=30_000)
    assert "queued" in second.evaluate(STATUS) and iteration(second) == 0

    first.close()  # its session ends after server.disconnectedSessionTTL (15 s) and closes both trainers
    second.wait_for_function(ITERATION_ABOVE, arg=0, timeout=120_000)  # no click: it starts by itself
    assert second.get_by_text("Queued:").count() == 0 and "running" in second.evaluate(STATUS)
    click_until(second, "⏸ Pause", "▶ Start")
    context.close()
