"""Images in and out: decoding untrusted files with their guards, and batches (N×C×H×W in [0, 1]) as pictures."""
from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_PIXELS = 64_000_000  # a 50 MP camera photo opens; a 20 000² bomb is refused from its header


class ImageRejected(ValueError):
    """An image file refused (not an image, corrupt, too many pixels); str(e) says why."""


# ---------------------------------------------------------------- decoding untrusted files


def _flatten(img: Image.Image) -> Image.Image:
    """Reduce any PIL mode to "L" or "RGB", putting transparency on white as an image viewer would."""
    mode = img.mode
    if mode.startswith("I"):  # "I;16", "I;16B", ... and 32-bit "I", all treated as 16-bit samples
        a = np.asarray(img).astype(np.float64) / 257
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
    if mode == "F":
        a = np.nan_to_num(np.asarray(img, dtype=np.float64))
        peak = a.max()
        return Image.fromarray(np.clip(a * (255 / peak if peak > 0 else 0), 0, 255).round().astype(np.uint8))
    if mode == "1":
        return img.convert("L")
    if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or "transparency" in img.info:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img.convert("RGBA")).convert("L" if mode in ("LA", "La") else "RGB")
    return img if mode in ("L", "RGB") else img.convert("RGB")


def open_image(source: str | Path | bytes | BinaryIO, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode one untrusted image to "L" or "RGB", refusing oversized ones from the header, before any pixels."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                if img.width * img.height > max_pixels:
                    raise ImageRejected(f"Too many pixels: {img.width}×{img.height} = {img.width * img.height:,} "
                                        f"pixels; the limit is {max_pixels:,}.")
                img.load()  # decode now, so truncated or corrupt data is caught here
                return _flatten(ImageOps.exif_transpose(img))  # a copy: first frame only, file closed
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # PIL's own, looser, header check
        raise ImageRejected(f"Too many pixels: over {min(max_pixels, Image.MAX_IMAGE_PIXELS):,}, "
                            "refused before decoding.") from None
    except UnidentifiedImageError:
        raise ImageRejected("Not an image, or a format Pillow cannot read.") from None
    except Exception as e:  # decoders raise OSError, SyntaxError, ValueError, EOFError, struct.error, ...
        raise ImageRejected(f"Unreadable or truncated image: {e}") from None


# ---------------------------------------------------------------- batches as pictures


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


def png_bytes(array: np.ndarray, scale: int = 1, compress_level: int = 6) -> bytes:
    """PNG of a uint8 array, optionally enlarged with nearest-neighbour (crisp pixels); zlib level 1 is the fast
    choice for large sheets made while someone waits."""
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=compress_level)
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
    chunks = [png_bytes(grid(images[i : i + per_chunk], per_row, pad=0), compress_level=1)  # on the map's first open
              for i in range(0, len(images), per_chunk)]
    return chunks, {"tile_h": h, "tile_w": w, "per_row": per_row, "per_chunk": per_chunk, "count": len(images)}


# ---------------------------------------------------------------- RGB photos as H×W×3 floats (style transfer)


def rgb_float(source, min_side: int = 1) -> np.ndarray:
    """Any image (path, bytes, file, PIL image, H×W or H×W×3/4 array) → H×W×3 float32 in [0, 1].

    Untrusted files go through open_image (header bomb guard, EXIF upright, first frame, mode
    flattening). Images whose short side is below `min_side` are enlarged (bicubic) so a 1×1 still works.
    """
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (1, 3) or a.size == 0:
            raise ImageRejected(f"Expected an H×W or H×W×3 image array, got shape {source.shape}.")
        a = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a
        scale = np.iinfo(a.dtype).max if a.dtype.kind in "ui" else 1.0  # uint8, uint16, ... or floats in [0, 1]
        a = np.nan_to_num(a.astype(np.float32) / np.float32(scale))
        a = np.clip(a, 0, 1)
    else:
        img = source if isinstance(source, Image.Image) else open_image(source)
        a = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    short = min(a.shape[:2])
    if short < min_side:
        h, w = a.shape[:2]
        a = resize(a, (max(min_side, round(h * min_side / short)), max(min_side, round(w * min_side / short))), "bicubic")
    return np.ascontiguousarray(a)


def resize(a: np.ndarray, size: tuple[int, int], method: str = "lanczos") -> np.ndarray:
    """Resize an H×W×C float image to size=(h, w) channel by channel in float (no 8-bit rounding)."""
    if a.shape[:2] == tuple(size):
        return a
    resample = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC,
                "bilinear": Image.Resampling.BILINEAR}[method]
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(a[..., c], np.float32), "F")
                           .resize((size[1], size[0]), resample)) for c in range(a.shape[2])]
    return np.clip(np.stack(channels, axis=2), 0, 1)


def fit_longest(a: np.ndarray, longest: int) -> np.ndarray:
    """Scale so the longer side is `longest` pixels, keeping the aspect ratio."""
    h, w = a.shape[:2]
    scale = longest / max(h, w)
    return resize(a, (max(1, round(h * scale)), max(1, round(w * scale))))


_TO_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)


def keep_colors(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance-only transfer (Gatys et al. 2016, "Preserving color"): Y from the stylized image, Cb Cr from the content.

    Full-range BT.601 YCbCr, the JPEG convention; content is resized to the stylized image first.
    """
    content = resize(content, stylized.shape[:2])
    ycc = content @ _TO_YCBCR.T
    ycc[..., 0] = stylized @ _TO_YCBCR[0]
    return np.clip(ycc @ np.linalg.inv(_TO_YCBCR).T.astype(np.float32), 0, 1)


def rgb_uint8(a: np.ndarray) -> np.ndarray:
    """H×W×3 floats in [0, 1] → uint8 (for display and PNG)."""
    return np.clip(np.asarray(a, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
