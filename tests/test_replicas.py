"""Two replicas of the app behind nginx (deploy/latentlab.nginx.conf, deploy/README.md), as a class reaches them.

Which replica served a browser is read from nginx's access log ($upstream_addr of every request carrying the
browser's sticky-session route cookie), never from the app. A websocket's log line is written when it closes, so a
browser's Streamlit sessions are counted after its tab has closed.

Screenshots go to $LATENTLAB_SCREENSHOTS when set, else to pytest's tmp_path.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from conftest import nginx, serve, settle
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

    def answered(self, route: str, websockets: bool = False) -> list[int]:
        """The port of the replica that answered each request (or each closed websocket) of this route key."""
        ports = []
        for line in self.access_log.read_text().splitlines():
            upstreams, key, status, _ = line.split("|", 3)
            if key == route and (status == "101") == websockets:
                ports.append(int(upstreams.split(", ")[-1].rsplit(":", 1)[1]))  # after a refused one, the next
        return ports

    def replica_of(self, context) -> int:
        """The one replica that answered every request of this browser context so far."""
        served = set(self.answered(route_of(context)))
        assert len(served) == 1, served
        return served.pop()


def route_of(context) -> str:
    (route,) = [c["value"] for c in context.cookies() if c["name"] == "latentlab_route"]
    return route


@contextlib.contextmanager
def two_replicas(folder: Path):
    """Two servers under the path /latentlab (as `make serve BASE_URL=latentlab`, on loopback) behind nginx."""
    stacks = [contextlib.ExitStack() for _ in range(2)]
    try:
        urls = [stack.enter_context(serve(log_name=f"streamlit-replica-{i}.log", base_url="latentlab"))
                for i, stack in enumerate(stacks)]
        ports = [int(url.split(":")[2].split("/")[0]) for url in urls]
        with nginx(ports, access_log=folder / "access.log") as url:
            yield Replicas(url, ports, folder / "access.log", lambda port: stacks[ports.index(port)].close())
    finally:
        for stack in stacks:
            stack.close()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    with two_replicas(tmp_path_factory.mktemp("replicas")) as r:
        yield r


def open_home(browser, r: Replicas, contexts: contextlib.ExitStack):
    """A fresh browser (context) on the home page, closed with `contexts`; returns (context, page, its replica)."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    contexts.callback(context.close)
    context.set_default_timeout(180_000)  # a loaded 2-core machine runs two servers, nginx and Chromium
    page = context.new_page()
    page.goto(r.url + "/")
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=120_000)
    settle(page, timeout=180_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    return context, page, r.replica_of(context)


def assert_no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("This app has encountered an error").count() == 0
    assert page.get_by_text("Connection error").count() == 0


def test_fresh_browsers_are_spread_over_both_replicas(browser, replicas):
    served = {}  # route key -> replica
    with contextlib.ExitStack() as contexts:
        while len(served) < 4 or (len(set(served.values())) < 2 and len(served) < 16):
            context, _, port = open_home(browser, replicas, contexts)
            served[route_of(context)] = port
    assert set(served.values()) == set(replicas.ports), served
    for route, port in served.items():  # each browser's Streamlit session ran on the replica that served its page
        wait_until(lambda: replicas.answered(route, websockets=True))
        assert replicas.answered(route, websockets=True) == [port]


def test_a_browser_stays_on_its_replica_across_reloads(browser, replicas):
    reloads = 3
    with contextlib.ExitStack() as contexts:
        context, page, port = open_home(browser, replicas, contexts)
        route = route_of(context)
        for _ in range(reloads):
            page.reload()
            page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=120_000)
            settle(page, timeout=180_000)
            assert route_of(context) == route
            assert replicas.replica_of(context) == port
    # every reload was a new Streamlit session (a websocket of its own), all on the same replica
    wait_until(lambda: len(replicas.answered(route, websockets=True)) >= reloads + 1)
    assert replicas.answered(route, websockets=True) == [port] * (reloads + 1)


def test_a_stopped_replica_loses_only_its_own_sessions(browser, shot, tmp_path):
    with two_replicas(tmp_path) as r, contextlib.ExitStack() as contexts:
        pages, routes = {}, {}
        while len(pages) < 2:  # a student on each replica, on the word page with an answer
            context, page, port = open_home(browser, r, contexts)
            if port in pages:
                context.close()
                continue
            pages[port], routes[port] = page, route_of(context)
            open_words(page, r.url)
            type_expression(page, "man : king :: woman : queen")
            wait_for_answer(page, "queen", timeout=120_000)
            settle(page, timeout=180_000)
            page.evaluate(RECORD_CONNECTION)
        for route in routes.values():  # the home page's session, closed when the word page opened
            wait_until(lambda: r.answered(route, websockets=True))
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
        assert r.answered(routes[stopped])[-1] == kept  # its requests now reach the other replica

        contexts.close()
        wait_until(lambda: len(r.answered(routes[stopped], websockets=True)) >= 3)
        wait_until(lambda: len(r.answered(routes[kept], websockets=True)) >= 2)
        moved = r.answered(routes[stopped], websockets=True)  # home, word page (ended with its replica), then...
        assert moved[:2] == [stopped, stopped] and set(moved[2:]) == {kept}, moved  # ...new sessions on the other
        assert r.answered(routes[kept], websockets=True) == [kept, kept]  # home, then one word-page session
