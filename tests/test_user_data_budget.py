"""Uploads share one memory budget: one upload is capped before it is decoded in full, and many uploads from many
sessions evict each other, least recently used first, instead of piling up."""
from __future__ import annotations

import io
import zipfile

from PIL import Image

from engine.cache import USER_DATA
from memory_probe import peak
from pages import ui


def tiny_png_zip(n: int, colour=(200, 10, 10)) -> bytes:
    png, buf = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (2, 2), colour).save(png, format="PNG")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            zf.writestr(f"class{i % 3}/img{i}.png", png.getvalue())
    return buf.getvalue()


def _upload(payload: bytes):
    ds = ui.uploaded_zip(ui.content_hash(payload), payload, 64, True)
    return len(ds), ds.notes


def test_a_zip_of_20000_tiny_pictures_at_64_px_colour_stays_within_200_mb():
    payload = tiny_png_zip(20_000)
    assert len(payload) < 5 * 1024**2
    result = peak(_upload, payload)
    assert result.error is None, result.error
    n, notes = result.result
    assert 0 < n < 20_000 and any("memory limit" in note for note in notes), notes
    assert result.growth_mb < 200, f"peak RSS grew by {result.growth_mb:.0f} MB"


def _upload_all(payloads: list[bytes], budget_mb: int) -> float:
    USER_DATA.limit_bytes = budget_mb * 1024**2
    for payload in payloads:
        ui.uploaded_zip(ui.content_hash(payload), payload, 64, True)
    return USER_DATA.used_bytes() / 1024**2


def test_many_uploads_hold_no_more_than_the_budget():
    payloads = [tiny_png_zip(850, colour=(i * 40, 0, 0)) for i in range(6)]  # each decodes to 40 MB
    result = peak(_upload_all, payloads, 50)
    assert result.error is None, result.error
    assert result.result <= 50  # the budget's own count…
    assert result.held_mb < 100, f"{result.held_mb:.0f} MB still held after 6 uploads of 40 MB"  # …and the process's
