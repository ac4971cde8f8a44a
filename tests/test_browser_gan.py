"""The GAN page in a real Chromium: training runs live, the view changes, Pause stops it.

Screenshots go to $LATENTLAB_SCREENSHOTS when set (the README uses them), else to pytest's tmp_path.
"""
from __future__ import annotations

import re

import pytest
from conftest import settle

pytestmark = pytest.mark.browser

STATUS = """() => Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
  .map((e) => e.innerText).find((t) => t.includes('iteration')) || ''"""
ITERATION_ABOVE = """(n) => { const t = (""" + STATUS + """)(); const m = [...t.matchAll(/iteration ([\\d,]+) ·/g)];
  return m.length > 0 && parseInt(m[m.length - 1][1].replace(/,/g, '')) > n; }"""
FAKES = """() => { const g = document.querySelector('.js-plotly-plot');
  const t = g && g._fullData && g._fullData.find((d) => d.name === 'fake G(z)'); return t ? Array.from(t.x).slice(0, 5) : null; }"""


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
    page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot'); return !!(g && g._fullData); }",
                           timeout=60_000)
    settle(page)
    click_until(page, "▶ Start", "⏸ Pause")
    page.wait_for_function(ITERATION_ABOVE, arg=0, timeout=30_000)
    first, fakes = iteration(page), page.evaluate(FAKES)
    shot(page, "gan-2d-early.png")
    page.wait_for_function(ITERATION_ABOVE, arg=first + 20, timeout=60_000)  # the view keeps updating
    shot(page, "gan-2d.png")
    assert page.evaluate(FAKES) != fakes, "the fake points did not move"

    click_until(page, "⏸ Pause", "▶ Start")
    settle(page)
    paused = iteration(page)
    page.wait_for_timeout(1_500)
    assert iteration(page) == paused, "training went on after Pause"
