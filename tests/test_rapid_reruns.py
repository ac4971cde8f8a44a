"""100 rapid reruns of the GAN page in one session (a student hammering a button, each rerun interrupting the last)
leave the server's memory flat: within 50 MB between the first and the second hundred."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import run_coroutine, serve

pytestmark = pytest.mark.browser  # a live server


def server_rss_mb(port: int) -> float:
    """RSS of the `streamlit run` process serving `port`."""
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(args) and str(port).encode() in args:
                status = (proc / "status").read_text()
                return int(status.split("VmRSS:")[1].split()[0]) / 1024
        except (OSError, IndexError):
            continue
    raise LookupError(f"no server on port {port}")


async def rerun_batches(url: str, page: str, port: int, batches: int, n: int) -> list[float]:
    """One session of `page`; then `batches` times: n reruns sent back to back, wait for the last to finish, RSS."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def until_finished(ws) -> None:
        while True:
            message = ForwardMsg()
            message.ParseFromString(await ws.recv())
            if message.WhichOneof("type") == "script_finished" and \
                    message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return

    request = BackMsg()
    request.rerun_script.page_name, request.rerun_script.query_string = page, ""
    rss = []
    async with websockets.connect(f"ws://{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        await ws.send(request.SerializeToString())
        await until_finished(ws)
        for _ in range(batches):
            for _ in range(n):
                await ws.send(request.SerializeToString())
            await until_finished(ws)
            await asyncio.sleep(2)  # the interrupted runs' threads wind down
            rss.append(server_rss_mb(port))
    return rss


def test_a_hundred_rapid_reruns_of_the_gan_page_keep_memory_flat():
    with serve(log_name="streamlit-reruns.log") as url:
        port = int(url.rsplit(":", 1)[1])
        first, second = run_coroutine(rerun_batches(url.removeprefix("http://"), "gan", port, batches=2, n=100))
    print(f"server RSS {first:.0f} MB after 100 reruns, {second:.0f} MB after 200")
    assert second - first <= 50, f"RSS {first:.0f} MB after 100 reruns, {second:.0f} MB after 200"
