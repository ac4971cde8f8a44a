"""Draw the 2-D GAN's state as one picture, cheaply enough to redraw 5+ times a second on a CPU.

A browser chart of 4 000 heat-map cells, 1 000 points and 256 arrows re-laid out on every frame cannot keep
up on two cores; one JPEG of the same picture costs a few milliseconds to draw and nothing to show.
Colours follow GAN Lab: green for real (D → 1), purple for fake (D → 0).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FAKE_RGB, NEUTRAL_RGB, REAL_RGB = (197, 179, 230), (255, 255, 255), (165, 214, 167)
REAL_POINT, FAKE_POINT, ARROW, GRID_LINE = (44, 160, 44), (148, 103, 189), (120, 80, 170), (165, 165, 165)
MARGIN = 34  # pixels for the tick labels left of and below the plot
SUPERSAMPLE = 1  # 2 draws smoother points at 3× the cost (~25 ms more a frame on this CPU)


def heat_colours(prob: np.ndarray) -> np.ndarray:
    """σ(D) in [0, 1] → RGB uint8, a diverging map purple (0) – white (½) – green (1)."""
    p = np.clip(np.nan_to_num(prob, nan=0.5), 0, 1)[..., None]
    fake, neutral, real = (np.array(c, np.float32) for c in (FAKE_RGB, NEUTRAL_RGB, REAL_RGB))
    rgb = np.where(p < 0.5, fake + (neutral - fake) * (2 * p), neutral + (real - neutral) * (2 * p - 1))
    return rgb.round().astype(np.uint8)


def _ticks(lo: float, hi: float) -> np.ndarray:
    step = 10 ** np.floor(np.log10(max(hi - lo, 1e-9) / 4))
    step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= 6)
    return np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)


def render_field(snap, extent: tuple[float, float, float, float], size: int = 520) -> Image.Image:
    """Heat map of D, the warped noise grid, real and fake points and −∂L_G/∂G(z) arrows, with axis ticks.

    `snap` is an engine.gan.snapshot.GANSnapshot of a 2-D trainer; `extent` = (x_min, x_max, y_min, y_max) of the view.
    """
    x0, x1, y0, y1 = extent
    scale = SUPERSAMPLE
    side = size * scale
    if snap.field is not None:
        heat = Image.fromarray(heat_colours(snap.field[2][::-1]))  # row 0 of the grid is y_min: the bottom
        canvas = heat.resize((side, side), Image.BILINEAR)
    else:
        canvas = Image.new("RGB", (side, side), NEUTRAL_RGB)
    draw = ImageDraw.Draw(canvas)

    def pixels(xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float64)
        return np.stack([(xy[..., 0] - x0) / (x1 - x0) * side, (y1 - xy[..., 1]) / (y1 - y0) * side], -1)

    if snap.manifold is not None:
        grid = pixels(snap.manifold)
        for line in (*grid, *grid.transpose(1, 0, 2)):
            draw.line([tuple(p) for p in line], fill=GRID_LINE, width=scale)
    radius = 2.2 * scale
    for points, colour in ((snap.real, REAL_POINT), (snap.samples, FAKE_POINT)):
        if points is None:
            continue
        for px, py in pixels(points):
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=colour)
    if snap.grad is not None and snap.samples is not None:
        norms = np.linalg.norm(snap.grad, axis=1)
        length = 0.06 * side / max(float(np.percentile(norms, 95)), 1e-12)
        start = pixels(snap.samples)
        vector = np.clip(snap.grad * [length, -length], -0.15 * side, 0.15 * side)
        for (sx, sy), (dx, dy) in zip(start[::2], vector[::2]):
            draw.line((sx, sy, sx + dx, sy + dy), fill=ARROW, width=scale)
    plot = canvas if scale == 1 else canvas.resize((size, size), Image.LANCZOS)
    framed = Image.new("RGB", (size + MARGIN, size + MARGIN // 2 + 6), (255, 255, 255))
    framed.paste(plot, (MARGIN, 6))
    frame = ImageDraw.Draw(framed)
    font = ImageFont.load_default(size=11)
    for t in _ticks(x0, x1):
        px = MARGIN + (t - x0) / (x1 - x0) * size
        frame.line((px, size + 6, px, size + 10), fill=(90, 90, 90))
        frame.text((px, size + 11), f"{t:g}", fill=(60, 60, 60), font=font, anchor="mt")
    for t in _ticks(y0, y1):
        py = 6 + (y1 - t) / (y1 - y0) * size
        frame.line((MARGIN - 4, py, MARGIN, py), fill=(90, 90, 90))
        frame.text((MARGIN - 6, py), f"{t:g}", fill=(60, 60, 60), font=font, anchor="rm")
    return framed


def jpeg_bytes(image: Image.Image, quality: int = 88) -> bytes:
    """JPEG bytes: a 520² frame is ~40 KB, 5–10× smaller and faster to encode than the PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
