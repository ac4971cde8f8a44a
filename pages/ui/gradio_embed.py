"""Gradio image widgets inside Streamlit pages: each tool's Blocks app is launched once per server process.

Gradio runs its own small web server; the page shows it in an iframe. The iframe shares no session with
Streamlit, so each Blocks app is self-contained: image in → engine → image out. Uploads reach the engine as
file paths and are decoded by engine.imageio.open_image (pixel-bomb guard, EXIF rotation, first GIF frame),
never by Gradio. Files in Gradio's cache (uploads, results) are deleted when the browser session ends, and by age.
"""
# No `from __future__ import annotations`: Gradio finds the unload handler's `request: gr.Request` parameter by its
# evaluated annotation, and gradio is imported inside functions only.
import html
import os
import socket
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import streamlit as st

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home
MAX_UPLOAD = "50mb"
HANDOFF_SESSIONS = 64  # browser sessions whose last Gradio upload is remembered for the Streamlit side
CACHE_SWEEP = (600, 3600)  # every 10 minutes, Gradio deletes the files in its cache older than an hour

_handoff: OrderedDict[str, dict] = OrderedDict()
_handoff_lock = threading.Lock()
_session_files: dict[str, set[str]] = {}  # Gradio session → the cache files its widget calls used
_session_lock = threading.Lock()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@st.cache_resource(show_spinner="Starting the image widgets…")
def _launched(name: str, _build: Callable) -> str:
    """Build and launch one Blocks app (once per process: a second launch would fight for the port)."""
    blocks = _build()
    port = _free_port()
    blocks.launch(server_name="127.0.0.1", server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                  max_file_size=MAX_UPLOAD, footer_links=[], ssr_mode=False, enable_monitoring=False,
                  mcp_server=False)
    return f"http://127.0.0.1:{port}"


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


def gradio_widget(name: str, build: Callable, height: int) -> bool:
    """Show the Gradio app `name` (built by `build()` → gr.Blocks on first use) in an iframe, and rerun the page
    when the widget hands something over; False if Gradio could not start, after saying so — the page then
    offers its Streamlit uploader instead."""
    try:
        url = _launched(name, build)
    except Exception as e:  # a missing package, no free port: the page still works without the widget
        st.warning(f"The Gradio image widget could not start ({type(e).__name__}: {e}); use the uploader below.")
        return False
    st.iframe(f"{url}/?sid={session_id()}", height=height)
    handoff_watch()
    st.caption(f"Gradio widget served from {url} — it works where the browser runs on the same machine as the app.")
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


def image_input(label: str, height: int):
    """An image drop box (upload or paste) handing its upload to the function as a file path, not decoded: the
    function's engine.imageio.open_image is the first to decode it (header size check first)."""
    import gradio as gr

    box = gr.Image(type="filepath", label=label, sources=["upload", "clipboard"], height=height)
    box.preprocess = _upload_path
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
