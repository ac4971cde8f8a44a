"""The domain adaptation page in a real Chromium: it opens on the shipped run, training runs live, Pause stops it.

Screenshots go to $LATENTLAB_SCREENSHOTS when set, else to pytest's tmp_path.
"""
from __future__ import annotations

import re

import pytest
from conftest import settle

pytestmark = pytest.mark.browser

TEXT = "() => document.querySelector('[data-testid=\"stMain\"]').innerText"
STEP_ABOVE = """(n) => { const m = [...document.querySelector('[data-testid="stMain"]').innerText
  .matchAll(/DANN: step ([\\d,]+) of/g)]; return m.length > 0 && parseInt(m[m.length - 1][1].replace(/,/g, '')) > n; }"""


def step(page) -> int:
    return int(re.findall(r"DANN: step ([\d,]+) of", page.evaluate(TEXT))[-1].replace(",", ""))


def test_the_shipped_run_shows_then_training_runs_live_and_pause_stops_it(app_url, page, shot):
    page.goto(app_url + "/domain")
    page.get_by_role("button", name="▶ Train again").first.wait_for(timeout=180_000)
    page.get_by_text("Gap closed by DANN").first.wait_for(timeout=60_000)
    settle(page)
    assert page.locator(".js-plotly-plot").count() >= 4  # two curve charts, two maps
    shot(page, "domain-shipped.png")

    page.get_by_role("button", name="▶ Train again").first.click()
    page.get_by_role("button", name="⏸ Pause").first.wait_for(timeout=60_000)
    page.wait_for_function(STEP_ABOVE, arg=0, timeout=120_000)
    first = step(page)
    page.wait_for_function(STEP_ABOVE, arg=first, timeout=120_000)  # the view keeps updating
    shot(page, "domain-training.png")

    page.get_by_role("button", name="⏸ Pause").first.click()
    page.get_by_role("button", name="▶ Start").first.wait_for(timeout=60_000)
    settle(page)
    paused = step(page)
    page.wait_for_timeout(2_000)
    assert step(page) == paused, "training went on after Pause"
