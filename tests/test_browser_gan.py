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
FAKES = """() => { const g = document.querySelector('.js-plotly-plot');
  const t = g && g._fullData && g._fullData.find((d) => d.name === 'fake G(z)'); return t ? Array.from(t.x).slice(0, 5) : null; }"""


def iteration(page) -> int:
    counters = re.findall(r"iteration ([\d,]+) ·", page.evaluate(STATUS))  # "… · iteration 1,234 · 2,468 updates · …"
    return int(counters[-1].replace(",", ""))


def test_2d_training_runs_live_and_pause_stops_it(app_url, page, shot):
    page.goto(app_url + "/gan")
    start = page.get_by_role("button", name="▶ Start").first
    start.wait_for(timeout=60_000)
    page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot'); return !!(g && g._fullData); }",
                           timeout=60_000)
    settle(page)
    start.click()
    page.get_by_role("button", name="⏸ Pause").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1_500)
    first, fakes = iteration(page), page.evaluate(FAKES)
    shot(page, "gan-2d-early.png")
    page.wait_for_timeout(3_000)
    second = iteration(page)
    shot(page, "gan-2d.png")
    assert second > first > 0, (first, second)
    assert page.evaluate(FAKES) != fakes, "the fake points did not move"

    page.get_by_role("button", name="⏸ Pause").first.click()
    page.get_by_role("button", name="▶ Start").first.wait_for(timeout=30_000)
    settle(page)
    paused = iteration(page)
    page.wait_for_timeout(1_500)
    assert iteration(page) == paused, "training went on after Pause"
