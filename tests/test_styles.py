"""The offline style gallery: every entry loads as an RGB float image, thumbnails are shipped and small."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.imageio import ImageRejected
from engine.style.gallery import (ASSETS, SAMPLE_CONTENT, builtin_path, list_styles, load_sample, load_style,
                                  procedural, read_upload, render_builtin_thumbnails)
from engine.style.fast import NUM_STYLES, StyleError

torch.set_num_threads(1)


def test_every_style_loads_as_rgb_floats():
    upload = {"mine.png": np.full((40, 30, 3), 0.5, np.float32)}
    entries = list_styles(upload)
    kinds = [e.kind for e in entries]
    assert kinds.count("builtin") == NUM_STYLES and {"texture", "procedural", "upload"} <= set(kinds)
    assert len({e.name for e in entries}) == len(entries)
    for entry in entries:
        a = load_style(entry.name, upload)
        assert a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.float32 and 0 <= a.min() <= a.max() <= 1, entry.name
    assert entries[-1].thumbnail(upload, side=20).shape == (20, 15, 3)
    assert [e.index for e in entries if e.kind == "builtin"] == list(range(NUM_STYLES))


def test_shipped_thumbnails_are_small():
    files = [builtin_path(i) for i in range(NUM_STYLES)]
    assert all(f.exists() for f in files)
    assert sum(f.stat().st_size for f in ASSETS.iterdir()) < 500_000


def test_thumbnails_regenerate(tmp_path):
    paths = render_builtin_thumbnails(tmp_path, side=32)
    assert len(paths) == NUM_STYLES and Image.open(paths[7]).size == (32, 32)


def test_samples_and_procedural_patterns():
    for name in SAMPLE_CONTENT:
        assert load_sample(name).shape[2] == 3
    assert not np.array_equal(procedural("mosaic", 64, seed=0), procedural("mosaic", 64, seed=1))
    for bad in (lambda: load_sample("lena"), lambda: load_style("nope"), lambda: load_style("builtin-27"),
                lambda: load_style("upload:missing.png")):
        with pytest.raises(StyleError):
            bad()


def test_uploads_are_decoded_safely_and_capped():
    buf = io.BytesIO()
    Image.new("RGB", (2000, 500), (10, 200, 30)).save(buf, "PNG")
    assert read_upload(buf.getvalue()).shape == (256, 1024, 3)
    with pytest.raises(ImageRejected):
        read_upload(b"GIF89a garbage")
