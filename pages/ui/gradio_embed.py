"""Gradio image widgets inside Streamlit pages, served by the Streamlit server itself: one origin, one port.

Each widget's Blocks app is built once per server process and mounted as an ASGI route of app.py's st.App at
<server.baseUrlPath>/gradio/<name>/; the page shows it in an iframe at that same-origin path, so it works from any
browser and behind a reverse proxy that forwards the app's path. The iframe shares no session with Streamlit, so
each Blocks app is self-contained: image in → engine → image out. Uploads reach the engine as
file paths and are decoded by engine.imageio.open_image (pixel-bomb guard, EXIF rotation, first GIF frame),
never by Gradio. Files in Gradio's cache (uploads, results) are deleted when the browser session ends, and by age.
"""
# No `from __future__ import annotations`: Gradio finds the unload handler's `request: gr.Request` parameter by its
# evaluated annotation, and gradio is imported inside functions only.
import contextlib
import html
import os
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import streamlit as st
from streamlit.logger import get_logger

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home
MAX_UPLOAD = "50mb"
HANDOFF_SESSIONS = 64  # browser sessions whose last Gradio upload is remembered for the Streamlit side
CACHE_SWEEP = (600, 3600)  # every 10 minutes, Gradio deletes the files in its cache older than an hour

_handoff: OrderedDict[str, dict] = OrderedDict()
_handoff_lock = threading.Lock()
_session_files: dict[str, set[str]] = {}  # Gradio session → the cache files its widget calls used
_session_lock = threading.Lock()
_served: dict[str, str | None] = {}  # widget name → None when it is mounted, else why it could not be built
log = get_logger(__name__)  # Streamlit's: its handler, format and level (--logger.level)


def mount_path() -> str:
    """Where the widgets live on this server: /gradio, under server.baseUrlPath when one is set."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/gradio" if base else "/gradio"


def routes(builders: dict[str, Callable]):
    """The ASGI route serving every widget (builders: name → function returning its gr.Blocks), and the lifespan
    that starts their Gradio queues, for app.py's st.App. A widget that fails to build is left out and logged;
    its page then offers its Streamlit uploader alone."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.routing import Mount

    widgets = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    for name, build in builders.items():
        try:
            gr.mount_gradio_app(widgets, build(), path=f"/{name}", footer_links=[], max_file_size=MAX_UPLOAD,
                                ssr_mode=False, enable_monitoring=False, mcp_server=False, show_error=False)
            _served[name] = None
        except Exception as e:  # a missing package or model: the page still works without the widget
            log.exception("The Gradio widget %r could not be built", name)
            _served[name] = f"{type(e).__name__}: {e}"

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # A mounted app's own lifespan never runs under Starlette: without this, Gradio's queue never starts.
        async with widgets.router.lifespan_context(widgets):
            yield

    return [Mount(mount_path(), app=widgets)], lifespan


def session_id() -> str:
    """This browser session's id, passed to the Gradio iframe in its URL (?sid=…) to hand uploads back."""
    return st.session_state.setdefault("gradio-sid", uuid.uuid4().hex)


def handoff_put(sid: str | None, key: str, value) -> None:
    """Called inside a Gradio function: remember `value` (e.g. the uploaded photo) for the Streamlit session."""
    if not sid:
        return
    with _handoff_lock:
        entry = _handoff.setdefault(sid, {})
        entry[key], entry["version"] = value, entry.get("version", 0) + 1
        _handoff.move_to_end(sid)
        while len(_handoff) > HANDOFF_SESSIONS:
            _handoff.popitem(last=False)


def handoff_get(key: str):
    """What this session's Gradio widget last handed over under `key`, or None."""
    with _handoff_lock:
        return _handoff.get(session_id(), {}).get(key)


@st.fragment(run_every=2.0)
def handoff_watch() -> None:
    """Rerun the page when this session's Gradio widget hands something over (an iframe cannot tell Streamlit)."""
    with _handoff_lock:
        version = _handoff.get(session_id(), {}).get("version", 0)
    if version != st.session_state.setdefault("gradio-handoff-seen", version):
        st.session_state["gradio-handoff-seen"] = version
        st.rerun(scope="app")


def request_sid(request) -> str | None:
    """The ?sid=… of the page holding the Gradio widget, from a gr.Request."""
    return request.query_params.get("sid") if request is not None else None


def gradio_widget(name: str, height: int) -> bool:
    """Show the Gradio widget `name` in an iframe (a same-origin path) and rerun the page when it hands something
    over; False, after saying why, when this server does not serve it — the page then offers its uploader."""
    if name not in _served:
        st.info("The Gradio image widget is served by the app's own server (`make run`, or `streamlit run app.py`); "
                "this server runs the page without it. Use the uploader below.")
        return False
    if _served[name] is not None:
        st.warning("The Gradio image widget could not start; use the uploader below.")
        return False
    st.iframe(f"{mount_path()}/{name}/?sid={session_id()}", height=height)
    handoff_watch()
    return True


def widget_blocks(title: str, sweep: tuple[int, int] = CACHE_SWEEP):
    """An empty gr.Blocks for one widget whose cached files go away: Gradio's delete_cache sweep (every sweep[0]
    seconds, the files older than sweep[1] seconds), and, when a browser session ends (its tab closes or reloads),
    the files its calls used (see session_files)."""
    import gradio as gr

    blocks = gr.Blocks(analytics_enabled=False, title=title, delete_cache=sweep)

    def end_session(request: gr.Request) -> None:
        with _session_lock:
            mine = _session_files.pop(request.session_hash, set())
            shared = set().union(*_session_files.values())
        for path in mine - shared:  # Gradio's cache is content-addressed: another session may hold the same file
            Path(path).unlink(missing_ok=True)

    blocks.unload(end_session)
    return blocks


def session_files(request, *paths: str | None) -> None:
    """Remember files in Gradio's cache (uploads, results) as this browser session's, to delete when it ends."""
    if request is None or not request.session_hash:
        return
    with _session_lock:
        _session_files.setdefault(request.session_hash, set()).update(str(p) for p in paths if p)


def _upload_path(payload) -> str | None:
    """The uploaded file's path, untouched: gr.Image's own preprocess opens every upload with PIL (and converts it
    unless image_mode=None) before our guard — a 166 KB 12000² grey PNG costs +657 MB, a non-image fails there."""
    return None if payload is None or payload.path is None else str(payload.path)


def _uploads_only(move: Callable) -> Callable:
    """Gradio's own step that copies an input file into its cache, refusing URLs: given one in place of an upload
    (any script can send that), Gradio would look the host up in DNS and download the file, of any size."""
    async def move_upload(url_or_file_path):
        from gradio_client.utils import is_http_url_like

        if url_or_file_path is not None and is_http_url_like(str(url_or_file_path)):
            raise refusal("Image", ValueError("this widget takes uploaded files, not links; download the picture "
                                              "and drop the file here"))
        return await move(url_or_file_path)

    return move_upload


def image_input(label: str, height: int):
    """An image drop box (upload or paste) handing its upload to the function as a file path, not decoded: the
    function's engine.imageio.open_image is the first to decode it (header size check first). Links are refused
    before Gradio would fetch them."""
    import gradio as gr

    box = gr.Image(type="filepath", label=label, sources=["upload", "clipboard"], height=height)
    box.preprocess = _upload_path
    box.async_move_resource_to_block_cache = _uploads_only(box.async_move_resource_to_block_cache)
    return box


def gradio_image_path(value) -> str:
    """The file path of an image_input, or a gr.Error the widget shows when it is empty."""
    import gradio as gr

    if not value:
        raise gr.Error("Drop an image into the box first.", print_exception=False)
    return value


def refusal(what: str, error: Exception):
    """A gr.Error saying why `what` (e.g. "Face B") was refused, in the engine's words (shown as text, not HTML);
    an expected refusal, so no traceback in the server log."""
    import gradio as gr

    return gr.Error(html.escape(f"{what}: {error}"), print_exception=False)


def served_file(component, name: str, content: bytes, request=None) -> str:
    """`content` as a file the Gradio output `component` serves under `name` (the download's name): copied into
    Gradio's cache from a temporary folder removed at once, and deleted with the browser session (or by age)."""
    with tempfile.TemporaryDirectory(prefix="latentlab-gradio-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        served = component.move_resource_to_block_cache(path)
    session_files(request, served)
    return served
