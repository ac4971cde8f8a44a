"""The Gradio widgets (style page "Quick", morph page "Two photos") facing untrusted uploads: no decoding before
the engine's pixel guard, refusals explained in the engine's words without a traceback in the log, and Gradio's
cached uploads and results deleted when the browser session ends and by age.

The widgets are the real ones (what app.py mounts), each launched once in this process on a loopback port.
"""
from __future__ import annotations

import struct
import time
import uuid
import zlib
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio.data_classes import ImageData
from memory_probe import peak
from PIL import Image

from engine.imageio import ImageRejected, open_image

STYLE = ("style", "stylize")  # (widget, its function's name)
MORPH = ("morph", "morph")


def grey_png(path: Path, side: int) -> Path:
    """A grey side×side 8-bit PNG, written row by row: a few hundred KB on disk, side² bytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), b"\0" + b"\x80" * side  # filter "none", then mid-grey pixels
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    (folder / "notes.png").write_text("these are my notes, not a picture\n")
    return {"not an image": folder / "notes.png", **{f"{side}² PNG": grey_png(folder / f"grey{side}.png", side)
                                                       for side in (12000, 20000, 30000)}}


@pytest.fixture(scope="module")
def widgets():
    """widgets(name) → that widget's gr.Blocks, built as app.py builds it and launched on a loopback port."""
    from pages.ui import morph_widget, style_widget

    builders, launched = {"style": style_widget.build, "morph": morph_widget.build}, {}

    def get(name: str) -> gr.Blocks:
        if name not in launched:
            launched[name] = builders[name]()
            launched[name].launch(prevent_thread_lock=True, quiet=True, ssr_mode=False, enable_monitoring=False)
        return launched[name]

    yield get
    for blocks in launched.values():
        blocks.close()


def call(blocks: gr.Blocks, name: str, *uploads: Path | None):
    """The widget's function `name` run as Gradio runs it: each input through its component's preprocess (the
    image boxes get `uploads` in order, the other inputs their default), then the function (no browser request)."""
    fn = next(f for f in blocks.fns.values() if f.name == name)
    pending = iter(uploads)
    values = []
    for component in fn.inputs:
        if isinstance(component, gr.Image):
            path = next(pending, None)
            values.append(component.preprocess(None if path is None else ImageData(path=str(path), orig_name=path.name)))
        else:
            values.append(component.preprocess(component.value))
    return fn.fn(*values, None)


def said(blocks: gr.Blocks, name: str, *uploads: Path | None) -> str:
    """What the widget tells its user: the gr.Error message, or "ok"."""
    try:
        call(blocks, name, *uploads)
    except gr.Error as e:
        return e.message
    return "ok"


def engine_message(path: Path) -> str:
    with pytest.raises(ImageRejected) as refused:
        open_image(path)
    return str(refused.value)


@pytest.mark.parametrize("widget, name", [STYLE, MORPH], ids=["style", "morph"])
def test_a_huge_png_is_refused_from_its_header_within_200_mb(widgets, files, widget, name):
    blocks = widgets(widget)
    png = files["12000² PNG"]
    assert png.stat().st_size < 1024**2  # a small upload that decodes to 144 MB (432 MB as RGB)
    result = peak(said, blocks, name, png, png)
    assert result.error is None, result.error
    assert engine_message(png) in result.result, result.result
    assert result.growth_mb <= 200, f"peak RSS grew by {result.growth_mb:.0f} MB"


@pytest.mark.parametrize("bad", ["not an image", "20000² PNG", "30000² PNG"])
@pytest.mark.parametrize("widget, name", [STYLE, MORPH], ids=["style", "morph"])
def test_a_refused_upload_is_explained_without_a_traceback(widgets, files, capfd, widget, name, bad):
    """Through the running Gradio server, as a browser's call goes: the user reads the engine's reason."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    blocks = widgets(widget)
    fn = next(f for f in blocks.fns.values() if f.name == name)
    path = files[bad]
    args = [handle_file(str(path)) if isinstance(c, gr.Image) else c.value for c in fn.inputs]
    client = Client(blocks.local_url, verbose=False, download_files=False)
    try:
        with pytest.raises(AppError) as refused:
            client.predict(*args, api_name=f"/{name}")
    finally:
        client.close()
    assert engine_message(path) in str(refused.value), str(refused.value)
    assert "Traceback" not in "".join(capfd.readouterr())  # an expected refusal, not a crash in the log


def exists_after(paths: list[Path], seconds: float) -> list[Path]:
    """The paths still there once they are all gone or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while any(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [p for p in paths if p.exists()]


def test_a_sessions_uploads_and_results_are_deleted_when_it_ends(widgets, tmp_path):
    from gradio_client import Client, handle_file

    blocks = widgets("style")
    photo = tmp_path / f"photo-{uuid.uuid4().hex}.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)).save(photo)
    client = Client(blocks.local_url, verbose=False, download_files=False)
    fn = next(f for f in blocks.fns.values() if f.name == "stylize")
    args = [handle_file(str(photo)) if c is fn.inputs[0] else None if isinstance(c, gr.Image) else c.value
            for c in fn.inputs]
    result, _ = client.predict(*args, api_name="/stylize")
    files = [*Path(blocks.GRADIO_CACHE).rglob(photo.name), Path(result["path"])]
    assert len(files) == 2 and all(f.exists() for f in files), files  # the upload and the stylized PNG
    client.close()  # the session ends: its heartbeat connection drops, as when the browser tab closes
    assert exists_after(files, 90) == []


def test_gradio_deletes_cached_files_by_age(widgets, tmp_path):
    import httpx

    from pages.ui.gradio_embed import image_input, widget_blocks

    for widget, _ in (STYLE, MORPH):  # the widgets sweep their cache at least daily
        frequency, age = widgets(widget).delete_cache
        assert 0 < frequency <= age <= 86400
    with widget_blocks("sweep test", sweep=(1, 1)) as blocks:  # Gradio's sweep, on a short schedule
        box, out = image_input("photo", height=100), gr.Textbox()
        gr.Button("go").click(lambda path: path, box, out)
    blocks.launch(prevent_thread_lock=True, quiet=True, ssr_mode=False, enable_monitoring=False)
    try:
        photo = tmp_path / "photo.png"
        Image.new("RGB", (8, 8), "red").save(photo)
        with open(photo, "rb") as f:
            uploaded = httpx.post(f"{blocks.local_url}gradio_api/upload", files={"files": f}).json()
        assert Path(uploaded[0]).exists()
        assert exists_after([Path(uploaded[0])], 30) == []
    finally:
        blocks.close()


@pytest.mark.parametrize("widget, name", [STYLE, MORPH], ids=["style", "morph"])
def test_a_link_in_place_of_an_upload_is_refused_without_a_lookup(widgets, monkeypatch, widget, name):
    """Any script can send the widget a URL instead of a file; Gradio would resolve and download it (any size)."""
    import socket

    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    lookups = []
    resolve = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (lookups.append(host), resolve(host, *a, **k))[1])
    blocks = widgets(widget)
    fn = next(f for f in blocks.fns.values() if f.name == name)
    args = [handle_file("http://pictures.example.org/cat.png") if isinstance(c, gr.Image) else c.value
            for c in fn.inputs]
    client = Client(blocks.local_url, verbose=False, download_files=False)
    try:
        with pytest.raises(AppError) as refused:
            client.predict(*args, api_name=f"/{name}")
    finally:
        client.close()
    assert "not links" in str(refused.value), str(refused.value)
    assert "pictures.example.org" not in lookups, lookups
