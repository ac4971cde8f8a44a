"""Two replicas of the app behind nginx (deploy/latentlab.nginx.conf, deploy/README.md), as a class reaches them.

Which replica served a browser is read from nginx's access log ($upstream_addr of every request carrying the
cookie `test_browser`, the test's name for that browser), never from the app. A websocket's log line is written when
it closes, so a browser's Streamlit sessions are counted after its tab has closed.

Screenshots go to $LATENTLAB_SCREENSHOTS when set, else to pytest's tmp_path.
"""
from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from conftest import nginx, serve, settle
from test_browser import ISOLATED, TIP_HIDDEN, click_map, wait_for_map
from test_browser_words import open_words, type_expression, wait_for_answer
from waiting import wait_until

pytestmark = pytest.mark.browser

# From now on: each change of Streamlit's own connection state (CONNECTED, PINGING_SERVER, CONNECTING, ...), and
# how many script runs began.
RECORD_CONNECTION = """() => { window.connectionStates = []; window.scriptRuns = 0;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((changes) => changes.forEach((change) => {
    if (change.attributeName === 'data-test-connection-state') {
      window.connectionStates.push(app.dataset.testConnectionState);
    } else if (app.dataset.testScriptState === 'running') window.scriptRuns += 1;
  })).observe(app, {attributes: true, attributeFilter: ['data-test-connection-state', 'data-test-script-state']}); }"""


@dataclass
class Replicas:
    url: str  # the proxy's URL of the app
    ports: list[int]  # one per replica
    access_log: Path
    stop: Callable[[int], None]  # stop the replica on this port
    start: Callable[[int], None]  # start a stopped replica again, on its port

    def answered(self, browser: str, websockets: bool = False) -> list[int]:
        """The port of the replica that answered each request (or each closed websocket) of this browser."""
        ports = []
        for line in self.access_log.read_text().splitlines():
            upstreams, name, status, _ = line.split("|", 3)
            if name == browser and (status == "101") == websockets:
                # the last replica nginx tried answered ("A, B" after a refused A; "A : B" when the group took over)
                ports.append(int(re.search(r"[^ ,]+$", upstreams).group().rsplit(":", 1)[1]))
        return ports

    def replica_of(self, context) -> int:
        """The one replica that answered every request of this browser context so far, which its cookie names."""
        served = set(self.answered(browser_of(context)))
        assert served == {cookie_replica(context)}, served
        return served.pop()


def browser_of(context) -> str:
    (name,) = [c["value"] for c in context.cookies() if c["name"] == "test_browser"]
    return name


def cookie_replica(context) -> int:
    """The port of the replica that the browser's cookie `latentlab_replica` sends it to."""
    (replica,) = [c["value"] for c in context.cookies() if c["name"] == "latentlab_replica"]
    return int(replica.rsplit(":", 1)[1])


@contextlib.contextmanager
def two_replicas(folder: Path):
    """Two servers under the path /latentlab (as `make serve BASE_URL=latentlab`, on loopback) behind nginx."""
    stacks: dict[int, contextlib.ExitStack] = {}

    def start(log_name: str, port: int | None = None) -> int:
        stack = contextlib.ExitStack()
        url = stack.enter_context(serve(log_name=log_name, base_url="latentlab", port=port))
        port = int(url.split(":")[2].split("/")[0])
        stacks[port] = stack
        return port

    try:
        ports = [start(f"streamlit-replica-{i}.log") for i in range(2)]
        with nginx(ports, access_log=folder / "access.log") as url:
            yield Replicas(url, ports, folder / "access.log", lambda port: stacks[port].close(),
                           lambda port: start(f"streamlit-replica-{ports.index(port)}-again.log", port))
    finally:
        for stack in stacks.values():
            stack.close()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    with two_replicas(tmp_path_factory.mktemp("replicas")) as r:
        yield r


def open_home(browser, r: Replicas, contexts: contextlib.ExitStack):
    """A fresh browser (context) on the home page, closed with `contexts`; returns (context, page, its replica)."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    contexts.callback(context.close)
    context.add_cookies([{"name": "test_browser", "value": uuid.uuid4().hex, "url": r.url + "/"}])
    context.set_default_timeout(180_000)  # a loaded 2-core machine runs two servers, nginx and Chromium
    page = context.new_page()
    page.goto(r.url + "/")
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=120_000)
    settle(page, timeout=180_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    return context, page, r.replica_of(context)


def mouse_away(page) -> None:
    """Move the mouse off the map, and wait until the hover thumbnail is gone."""
    page.mouse.move(5, 5, steps=10)
    page.wait_for_function(TIP_HIDDEN, timeout=180_000)


def assert_no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("This app has encountered an error").count() == 0
    assert page.get_by_text("Connection error").count() == 0


def test_fresh_browsers_are_spread_over_both_replicas(browser, replicas):
    served = {}  # browser -> replica
    with contextlib.ExitStack() as contexts:
        while len(served) < 4 or (len(set(served.values())) < 2 and len(served) < 16):
            context, _, port = open_home(browser, replicas, contexts)
            served[browser_of(context)] = port
    assert set(served.values()) == set(replicas.ports), served
    for name, port in served.items():  # each browser's Streamlit session ran on the replica that served its page
        wait_until(lambda: replicas.answered(name, websockets=True))
        assert replicas.answered(name, websockets=True) == [port]


def test_a_browser_stays_on_its_replica_across_reloads(browser, replicas):
    reloads = 3
    with contextlib.ExitStack() as contexts:
        context, page, port = open_home(browser, replicas, contexts)
        name = browser_of(context)
        for _ in range(reloads):
            page.reload()
            page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=120_000)
            settle(page, timeout=180_000)
            assert replicas.replica_of(context) == port  # and its cookie still names that replica
    # every reload was a new Streamlit session (a websocket of its own), all on the same replica
    wait_until(lambda: len(replicas.answered(name, websockets=True)) >= reloads + 1)
    assert replicas.answered(name, websockets=True) == [port] * (reloads + 1)


def test_a_stopped_replica_loses_only_its_own_sessions(browser, shot, tmp_path):
    with two_replicas(tmp_path) as r, contextlib.ExitStack() as contexts:
        pages, names = {}, {}
        while len(pages) < 2:  # a student on each replica, on the word page with an answer
            context, page, port = open_home(browser, r, contexts)
            if port in pages:
                context.close()
                continue
            pages[port], names[port] = page, browser_of(context)
            open_words(page, r.url)
            type_expression(page, "man : king :: woman : queen")
            wait_for_answer(page, "queen", timeout=120_000)
            settle(page, timeout=180_000)
            page.evaluate(RECORD_CONNECTION)
        for name in names.values():  # the home page's session, closed when the word page opened
            wait_until(lambda: r.answered(name, websockets=True))
        stopped, kept = r.ports
        r.stop(stopped)
        lost, other = pages[stopped], pages[kept]

        # The other replica's student keeps their session: the connection never dropped, and a query answers.
        type_expression(other, "paris - france + italy")
        wait_for_answer(other, "rome", timeout=120_000)
        settle(other, timeout=180_000)
        assert other.evaluate("() => window.connectionStates") == []
        assert_no_error(other)
        shot(other, "replicas-kept-session.png")

        # The stopped replica's student: Streamlit's own reconnect, which nginx routes to the other replica, where
        # the page goes on as a new session.
        lost.wait_for_function("() => window.connectionStates.at(-1) === 'CONNECTED'", timeout=180_000)
        states = lost.evaluate("() => window.connectionStates")
        assert len(states) > 1 and "CONNECTED" not in states[:-1], states  # it showed the loss, then reconnected
        assert_no_error(lost)
        box = lost.get_by_label("Expression", exact=True)
        type_expression(lost, "paris - france + italy")
        lost.wait_for_function("() => window.scriptRuns > 0", timeout=180_000)
        settle(lost, timeout=180_000)
        assert_no_error(lost)
        shot(lost, "replicas-moved-session.png")
        if box.input_value() != "paris - france + italy":  # the new session started the box from its default
            print(f"after the move the page came back fresh: {box.input_value()!r}")
            type_expression(lost, "paris - france + italy")
        wait_for_answer(lost, "rome", timeout=120_000)
        assert_no_error(lost)
        shot(lost, "replicas-moved-answers.png")
        assert r.answered(names[stopped])[-1] == kept  # its requests now reach the other replica

        contexts.close()
        wait_until(lambda: len(r.answered(names[stopped], websockets=True)) >= 3)
        wait_until(lambda: len(r.answered(names[kept], websockets=True)) >= 2)
        moved = r.answered(names[stopped], websockets=True)  # home, word page (ended with its replica), then...
        assert moved[:2] == [stopped, stopped] and set(moved[2:]) == {kept}, moved  # ...new sessions on the other
        assert r.answered(names[kept], websockets=True) == [kept, kept]  # home, then one word-page session


def test_a_moved_browser_stays_on_its_new_replica_when_the_old_one_comes_back(browser, shot, tmp_path):
    """A browser moved off a stopped replica keeps its new session when that replica starts again on the same port:
    its pictures load and its next action works, all on the replica it moved to (the one that knows its session)."""
    with two_replicas(tmp_path) as r, contextlib.ExitStack() as contexts:
        context, page, old = open_home(browser, r, contexts)
        (new,) = set(r.ports) - {old}
        name = browser_of(context)
        while open_home(browser, r, contexts)[2] != new:  # a classmate on the other replica: it has served a page
            pass
        page.goto(r.url + "/explorer")  # a page of pictures: a session's media files live in its replica
        wait_for_map(page, timeout=180_000)
        settle(page, timeout=180_000)
        page.evaluate(RECORD_CONNECTION)
        r.stop(old)
        page.wait_for_function("() => window.connectionStates.at(-1) === 'CONNECTED'", timeout=180_000)
        # The page shows the old session's output until it runs on the other replica: rerun it (Streamlit's R key).
        # (A click on that stale map is not answered: pages/explorer.py keys the map by hash(), salted per process.)
        page.keyboard.press("r")
        page.wait_for_function("() => window.scriptRuns > 0", timeout=180_000)
        wait_for_map(page, timeout=180_000)
        settle(page, timeout=180_000)
        # There, as a new session: a click on a point shows its neighbours and sets the path's start.
        x, y, _, _ = page.evaluate(ISOLATED, "data")
        click_map(page, x, y)
        page.get_by_text("Path: A is set").wait_for(timeout=180_000)
        wait_for_map(page, timeout=180_000)
        settle(page, timeout=180_000)
        mouse_away(page)
        assert cookie_replica(context) == new

        r.start(old)
        reconnects = page.evaluate("() => window.connectionStates.length")
        since = len(r.answered(name))
        failed = []
        page.on("response", lambda response: response.status >= 400 and failed.append((response.status, response.url)))
        # Its pictures, fetched again with its cookie: each one answers.
        sources = set(page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stMain"] img'))
          .map((img) => img.src)"""))
        assert any("/latentlab/media/" in src for src in sources), sources
        assert {src: context.request.get(src).status for src in sources} == {src: 200 for src in sources}
        # Its next action: a click on a grid cross decodes a picture there and the path from the point set before.
        x, y, _, _ = page.evaluate(ISOLATED, "grid")
        click_map(page, x, y)
        page.get_by_text("Decoded path A → B").wait_for(timeout=180_000)
        settle(page, timeout=180_000)
        assert_no_error(page)
        assert failed == []
        assert page.evaluate("() => window.connectionStates.length") == reconnects  # its connection never dropped
        assert set(r.answered(name)[since:]) == {new}  # every request since the old replica came back
        assert cookie_replica(context) == new
        mouse_away(page)
        shot(page, "replicas-moved-and-back.png")

        contexts.close()
        wait_until(lambda: len(r.answered(name, websockets=True)) >= 3)
        sessions = r.answered(name, websockets=True)  # home and explorer on the old replica, then the new one's
        assert sessions[:2] == [old, old] and set(sessions[2:]) == {new}, sessions
