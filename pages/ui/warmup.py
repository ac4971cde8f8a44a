"""Warm the server at start, so the first student does not pay for what every session shares.

Each page's shared state (GloVe's 400k vectors, checkpoints, datasets and their codes, ONNX sessions, the
imports and first numba compilations behind them) is cached once per process by the pages' own st.cache_*
loaders. Running every page once, as a browser would, fills exactly those caches: warm() opens one Streamlit
session per page over the server's own websocket (the protocol the browser speaks), runs the page, and closes
it. It runs in the background once the server answers; a session that arrives meanwhile just shares the work.
"""
from __future__ import annotations

import asyncio
import os
import time

from streamlit.logger import get_logger

log = get_logger(__name__)  # Streamlit's: its handler, format and level (--logger.level)
WAIT_FOR_SERVER = 120.0  # seconds to wait for the server to answer before giving up


def server_url() -> str:
    """This server as the machine itself reaches it: 127.0.0.1 (or the bound address), the port, baseUrlPath."""
    from streamlit import config

    address = config.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"{host}:{config.get_option('server.port')}" + (f"/{base}" if base else "")


async def visit(url: str, page: str):
    """Run `page` (its url path; "" for home) in a fresh session of the server at `url` (host:port[/base]) until
    its script run ends (after any reruns it asks for); returns the ForwardMsgs the server sent, as a browser would
    receive them."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(f"ws://{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                                  open_timeout=WAIT_FOR_SERVER) as ws:
        request = BackMsg()
        request.rerun_script.page_name, request.rerun_script.query_string = page, ""
        await ws.send(request.SerializeToString())
        received = []
        while True:
            message = ForwardMsg()
            message.ParseFromString(await ws.recv())
            received.append(message)
            kind = message.WhichOneof("type")
            if kind == "page_not_found" or (
                    kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN):
                return received


async def wait_for_server(url: str) -> None:
    deadline = time.monotonic() + WAIT_FOR_SERVER
    while True:
        try:
            reader, writer = await asyncio.open_connection(*url.split("/")[0].split(":"))
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def warm(pages: list[str]) -> None:
    """Visit each page once in turn (logged with its time); off when LATENTLAB_WARMUP=0."""
    if os.environ.get("LATENTLAB_WARMUP", "1") == "0":
        return
    url, start = server_url(), time.monotonic()
    try:
        await wait_for_server(url)
        for page in pages:
            began = time.monotonic()
            outcome = (await visit(url, page))[-1]
            log.info("Warm-up: page %r ran in %.1f s (%s)", page or "home", time.monotonic() - began,
                     outcome.WhichOneof("type") if outcome.WhichOneof("type") != "script_finished"
                     else outcome.ScriptFinishedStatus.Name(outcome.script_finished))
        log.info("Warm-up done: %d pages in %.1f s", len(pages), time.monotonic() - start)
    except Exception:  # the server still works, the first visitors just pay for what warm-up did not load
        log.exception("Warm-up stopped")
