"""Streamlit's legacy pages/ mode and the one workaround for it, pages/ui.use_app_navigation (with the tests'
conftest.live_navigation). Streamlit runs a page without the entry script on a fresh server's first request when
a folder named pages/ sits beside it; no setting turns that off, and the house layout keeps the folder's name.
These tests fail loudly when a Streamlit upgrade changes that behaviour or breaks the workaround."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, serve
from streamlit.testing.v1 import AppTest

ENTRY = '''import streamlit as st


def home():
    st.text("home")


st.text("entry script ran")
st.navigation([st.Page(home, title="Home", default=True), st.Page("pages/plain.py"),
               st.Page("pages/routed.py")]).run()
'''
PLAIN = 'import streamlit as st\n\nst.text("page ran")\n'
ROUTED = 'import streamlit as st\n\nfrom pages import ui\n\nui.use_app_navigation()\nst.text("page ran")\n'


@pytest.fixture
def tiny_app(tmp_path) -> Path:
    """An entry script with st.navigation and a pages/ folder beside it: one page as is, one calling the workaround."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "plain.py").write_text(PLAIN)
    (tmp_path / "pages" / "routed.py").write_text(ROUTED)
    (tmp_path / "app.py").write_text(ENTRY)
    return tmp_path / "app.py"


def first_request(app: Path, page: str) -> list[str]:
    """The texts a fresh server shows on its first request, for `page` (AppTest starts each run as a fresh server)."""
    at = AppTest.from_file(str(app), default_timeout=60)
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return [t.value for t in at.text]


def test_streamlit_still_runs_a_first_page_request_without_the_entry_script(tiny_app):
    assert first_request(tiny_app, "pages/plain.py") == ["page ran"], (
        "Streamlit changed: a fresh server's first request for a page in pages/ no longer runs it without the "
        "entry script (or AppTest no longer starts each run as a fresh server). Check whether "
        "pages/ui.use_app_navigation and conftest.live_navigation are still needed, and remove them if not.")


def test_use_app_navigation_has_the_entry_script_route_the_first_request(tiny_app):
    assert first_request(tiny_app, "pages/routed.py") == ["entry script ran", "page ran"], (
        "pages/ui.use_app_navigation no longer leaves Streamlit's legacy pages/ mode: Streamlit's internals changed.")


@pytest.mark.browser
def test_a_fresh_servers_first_request_for_the_explorer_gets_app_navigation(page):
    """The issue as a user met it: a new server, and the first visit is /explorer, not the home page."""
    with serve(ROOT / "app.py", "streamlit-test-fresh.log") as url:
        page.goto(url + "/explorer")
        page.get_by_role("heading", name="Latent-space explorer").first.wait_for(timeout=120_000)
        links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        titles = [text.split(maxsplit=1)[-1].strip() for text in links]  # without the icon
        assert titles == ["Home", "Latent-space explorer", "Autoencoder lab", "Word algebra", "GANs, live",
                          "Style transfer", "Morphing", "Domain adaptation"], f"not app.py's menu (the pages/ folder's is app, explorer, ...): {links}"
        assert page.url.rstrip("/").endswith("/explorer")
        width = page.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                              ".getBoundingClientRect().width")
        assert width > 1000, f"not the wide layout of app.py's set_page_config: main column {width}px"
