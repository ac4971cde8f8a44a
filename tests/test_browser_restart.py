"""The server restarts while a student's GAN trains: the page reconnects by itself, says the run is gone and why,
and offers Start — no traceback, no stale "running" view."""
from __future__ import annotations

import pytest
from conftest import serve, settle
from test_browser_gan import click_until

pytestmark = pytest.mark.browser
GONE = "Your GAN training is gone: the server restarted"


def test_a_restart_during_training_says_so_and_offers_start(page, shot):
    with serve(log_name="streamlit-restart-1.log") as url:
        port = int(url.rsplit(":", 1)[1])
        page.goto(url + "/gan")
        page.get_by_role("button", name="▶ Start").first.wait_for(timeout=120_000)
        settle(page)
        click_until(page, "▶ Start", "⏸ Pause")
        page.wait_for_function("() => location.search.includes('job=gan-2d')", timeout=30_000)
        assert page.get_by_text(GONE).count() == 0
    with serve(log_name="streamlit-restart-2.log", port=port):  # the same address, a new process
        page.get_by_text(GONE).first.wait_for(timeout=180_000)  # the page reconnected and reran by itself
        settle(page)
        assert page.get_by_role("button", name="▶ Start").first.is_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "job=gan-2d" not in page.evaluate("location.search")  # said once
        shot(page, "gan-after-restart.png")
