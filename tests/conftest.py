"""Shared fixtures: a live Streamlit server and a headless Chromium for the real-browser tests."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_LIMIT_S = 240  # a hang guard: the server builds the Gradio widgets before it answers (slow on a loaded machine)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_coroutine(coroutine):
    """asyncio.run(coroutine) on a thread of its own: the session's Playwright browser keeps an event loop running on
    the test's thread, where asyncio.run refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def server_log(log_name: str) -> Path:
    """Where serve(log_name=...) writes the server's output: .pytest_cache/ when it exists, else the temp folder."""
    folder = ROOT / ".pytest_cache"
    return (folder if folder.exists() else Path(tempfile.gettempdir())) / log_name


@contextlib.contextmanager
def serve(script: Path = ROOT / "app.py", log_name: str = "streamlit-test.log", base_url: str = "",
          port: int | None = None, warmup: bool = False):
    """`streamlit run <script>` on a free port (or `port`), under the path `base_url` when given, a fresh server
    (its output in server_log(log_name)); yields its URL and stops it afterwards. The server's warm-up at start
    (pages.ui.warmup) is off unless `warmup`: tests visit the pages they need."""
    port = port or _free_port()
    log = open(server_log(log_name), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.baseUrlPath", base_url],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LATENTLAB_THREADS": "1", "LATENTLAB_WARMUP": "1" if warmup else "0"},
        start_new_session=True,  # one process group: a wrapper's children (strace's tracee) stop with it
    )
    url = f"http://127.0.0.1:{port}" + (f"/{base_url}" if base_url else "")
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"Streamlit did not start within {START_LIMIT_S} s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        proc.wait()
        log.close()


@contextlib.contextmanager
def nginx(upstream_ports: list[int], prefix: str = "latentlab", access_log: Path | None = None):
    """nginx on a free loopback port with deploy/latentlab.nginx.conf, its two lists of replicas (the upstream block
    and the cookie's map) listing `upstream_ports`; yields the proxied app's URL (http://127.0.0.1:<port>/<prefix>)
    and stops nginx afterwards. With `access_log`, nginx writes there one line per request: the replicas it tried
    ($upstream_addr, the last one answered), the cookie `test_browser` (a test's name for a browser), the status and
    the request line (a websocket's line when it closes)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        if os.environ.get("LATENTLAB_REQUIRE_BROWSER"):
            pytest.fail("nginx not found (apt-get install nginx)")
        pytest.skip("nginx not found (apt-get install nginx)")
    port, folder = _free_port(), Path(tempfile.mkdtemp(prefix="latentlab-nginx-"))
    site = (ROOT / "deploy" / "latentlab.nginx.conf").read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstream_ports)
    site, upstreams = re.subn(r"(    server [^\n]*\n)+", servers, site)
    allowed = "".join(f"    127.0.0.1:{p} 127.0.0.1:{p};\n" for p in upstream_ports)
    site, maps = re.subn(r"(    [0-9.]+:[0-9]+ +[0-9.]+:[0-9]+;\n)+", allowed, site)
    assert (upstreams, maps) == (1, 1), "deploy/latentlab.nginx.conf: one upstream block and one map of replicas"
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/latentlab/", f"/{prefix}/")
    log = (f"  log_format replicas '$upstream_addr|$cookie_test_browser|$status|$request';\n"
           f"  access_log {access_log} replicas;\n") if access_log else f"  access_log {folder}/access.log;\n"
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\ndaemon off;\nmaster_process off;\n"
        f"events {{ worker_connections 1024; }}\nhttp {{\n{log}"
        f"  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n"
        f"{site}\n}}\n")
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/{prefix}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(folder / 'error.log').read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def app_url():
    """`streamlit run app.py` on a free port for the whole test session."""
    with serve() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright. Missing browser: skip locally, fail in CI."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found (apt-get install chromium)"
        if os.environ.get("CI") or os.environ.get("LATENTLAB_REQUIRE_BROWSER"):
            pytest.fail(message + " — browser tests are required in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def live_navigation(monkeypatch):
    """Every AppTest run starts as on a live server that has left Streamlit's legacy pages/ mode.

    AppTest starts each run like a fresh server (PagesManager.uses_pages_directory reset, then set again because
    pages/ exists), so every run of a page would go through pages/ui.use_app_navigation's st.rerun, which drops
    button clicks. A live server leaves that mode once, for good (see use_app_navigation). Both Streamlit
    behaviours this relies on are pinned by tests/test_navigation.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_out_of_legacy_mode(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_out_of_legacy_mode)


@pytest.fixture
def open_page(live_navigation):
    """open_page("pages/x.py"): an AppTest that ran app.py, switched to that page and ran it without exceptions."""
    from streamlit.testing.v1 import AppTest

    def open_(page: str, timeout: float = 180) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        app.run()
        app.switch_page(page)
        app.run()
        assert not app.exception, [e.message for e in app.exception]
        return app

    return open_


def said(at) -> list[str]:
    """What an AppTest page tells its user in error boxes and plain text: ui.alert shows a fixed headline in the
    box and the detail (which may hold user text) as st.text below it."""
    return [str(e.value) for e in at.error] + [str(t.value) for t in at.text]


# --- real-browser helpers ----------------------------------------------------------------------
# Every visible picture on the page has loaded (the hidden sprite sheets do not count).
IMAGES_LOADED = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] img'))
  .filter((img) => img.offsetParent !== null).every((img) => img.complete && img.naturalWidth > 0)"""
IDLE = """() => { const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === 'notRunning' && app.dataset.testConnectionState === 'CONNECTED'; }"""


@pytest.fixture
def shot(tmp_path):
    """shot(page, "name.png"): a viewport screenshot; returns its path."""
    folder = Path(os.environ.get("LATENTLAB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        settle(page)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no focus ring
        path = folder / name
        page.screenshot(path=str(path), type="png")
        if os.environ.get("LATENTLAB_SCREENSHOTS"):  # for the README: 256 colours keep each file ~100 KB
            from PIL import Image

            Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"screenshot {path} ({path.stat().st_size // 1024} KB)")
        return path

    return save


def settle(page, timeout: float = 90_000) -> None:
    """Wait until the script run is over (stale elements gone) and the pictures on the page have loaded."""
    page.wait_for_function(IDLE, timeout=timeout)
    page.wait_for_function(IMAGES_LOADED, timeout=timeout)
