"""An uncaught exception in a real Chromium: the visitor gets a message, the server log keeps the traceback."""
from __future__ import annotations

import re
import shutil

import pytest
from conftest import IDLE, ROOT, serve

pytestmark = pytest.mark.browser

BOOM = '''
import streamlit as st

st.title("Before the error")


def load_secret_settings():
    raise RuntimeError("password=hunter2 in /srv/private/settings.ini")


load_secret_settings()
'''


def test_an_uncaught_exception_shows_a_message_not_a_traceback(page, tmp_path):
    """The project's own .streamlit/config.toml, copied next to a script that raises (Streamlit reads a
    script-level config last, so this is the setting in force)."""
    (tmp_path / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", tmp_path / ".streamlit" / "config.toml")
    script = tmp_path / "boom.py"
    script.write_text(BOOM)
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)  # serve() writes the server's output there
    with serve(script, log_name="streamlit-errors.log") as url:
        page.goto(url)
        page.get_by_role("heading", name="Before the error").wait_for(timeout=60_000)
        page.locator('[data-testid="stException"]').wait_for(timeout=60_000)
        page.wait_for_function(IDLE, timeout=60_000)
        shown = page.locator('[data-testid="stMain"]').inner_text()
    log = re.sub(r"\x1b\[[0-9;]*m", "", (ROOT / ".pytest_cache" / "streamlit-errors.log").read_text())  # no colours
    assert "This app has encountered an error" in shown, shown
    for detail in ("hunter2", "Traceback", "RuntimeError", "load_secret_settings", "boom.py", str(tmp_path)):
        assert detail not in shown, (detail, shown)
    assert "Traceback (most recent call last)" in log, log
    assert "load_secret_settings()" in log and "RuntimeError: password=hunter2" in log, log
