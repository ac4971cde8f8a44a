"""Turn image batches (N×C×H×W in [0, 1]) into pictures: tiles, grids, PNG bytes, hover atlases."""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """N×C×H×W floats in [0, 1] → N×H×W (gray) or N×H×W×3 uint8."""
    a = np.clip(np.asarray(images, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    return a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)


def grid(images: np.ndarray, per_row: int, pad: int = 1, fill: int = 255) -> np.ndarray:
    """Tile N images into one uint8 array, row-major, with `pad` pixels of `fill` between tiles."""
    tiles = to_uint8(images)
    n, h, w = tiles.shape[:3]
    per_row = max(1, min(per_row, n))
    rows = math.ceil(n / per_row)
    shape = (rows * (h + pad) - pad, per_row * (w + pad) - pad) + tiles.shape[3:]
    out = np.full(shape, fill, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, per_row)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tile
    return out


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    """PNG of a uint8 array, optionally enlarged with nearest-neighbour (crisp pixels)."""
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def atlas(images: np.ndarray, max_tile: int = 32, max_width: int = 1400, max_height: int = 4096) -> tuple[list[bytes], dict]:
    """Sprite sheets for hover thumbnails: PNG chunks plus the geometry a browser needs to find image i.

    Tiles touch (no padding); images larger than max_tile are shrunk. Chunks stay within
    max_width × max_height so neither Streamlit nor the browser rescales them.
    """
    h, w = images.shape[2:]
    if max(h, w) > max_tile:
        import torch
        import torch.nn.functional as F

        size = (max(1, h * max_tile // max(h, w)), max(1, w * max_tile // max(h, w)))
        images = F.interpolate(torch.as_tensor(images), size=size, mode="area").numpy()
        h, w = size
    per_row = max(1, max_width // w)
    per_chunk = per_row * max(1, max_height // h)
    chunks = [png_bytes(grid(images[i : i + per_chunk], per_row, pad=0)) for i in range(0, len(images), per_chunk)]
    return chunks, {"tile_h": h, "tile_w": w, "per_row": per_row, "per_chunk": per_chunk, "count": len(images)}
