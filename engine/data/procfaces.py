"""Procedural faces: a 64×64 RGB face set drawn by our own code, with every attribute known exactly.

Why: attribute vectors (lecture: "add mustache", "add age") need faces labelled with attributes, and no
labelled face set ships offline. Drawing faces ourselves gives a set of any size, deterministic by seed,
whose labels are true by construction (the label decides what is drawn).

Each face is sampled as parameters (sample_params), then rendered (render) with numpy, a chunk of faces at
a time: every feature is a soft mask over face coordinates (u, v), computed only on the rows and columns it
can reach, and alpha-blended over the picture: img ← img + α·(colour − img), with α = clip(½ − d·s, 0, 1) for
a signed distance d (face units) at scale s (pixels per face unit), so edges are anti-aliased.
Face coordinates: the face centre is (0, 0), v points down, and pixel (x, y) maps to
  u = ((x − cx)·cos a + (y − cy)·sin a)/s,  v = (−(x − cx)·sin a + (y − cy)·cos a)/s.
"""
from __future__ import annotations

import numpy as np

SIZE = 64
BINARY = ("smile", "glasses", "mustache", "beard", "age_lines")
CONTINUOUS = ("skin_tone", "hair_tone", "head_width", "hairline", "eye_spacing", "brow_tilt",
              "mouth_curvature", "angle", "scale", "dx", "dy")
DEFAULT_FACES = 20_000
CHUNK = 500
CENTRE = (32.0, 33.0)  # (cx, cy) before jitter
EYE_V, BROW_V, MOUTH_V = -2.0, -6.5, 10.0
MOUTH_HALF_WIDTH = 6.0
GLASSES_RADIUS, GLASSES_COLOUR = 4.4, np.array([0.03, 0.03, 0.05], np.float32)
SKIN_LIGHT, SKIN_DARK = np.array([0.98, 0.84, 0.72], np.float32), np.array([0.42, 0.27, 0.17], np.float32)
HAIR_LIGHT, HAIR_DARK = np.array([0.86, 0.70, 0.38], np.float32), np.array([0.14, 0.10, 0.07], np.float32)
LIP_COLOUR = np.array([0.40, 0.06, 0.08], np.float32)
MUSTACHE_SHADE = 0.55  # × hair colour: darker than hair and beard
MIN_CONTRAST = 0.3  # least RGB distance of hair and of mustache from the skin, so a beard or mustache always shows
SMILE_DEPTH = 1.6  # a smile's drawn depth (face units) per unit of mouth_curvature; frowns are drawn as sampled
AGE_FOREHEAD_V, AGE_LINE_HALF_WIDTH, AGE_LINE_SHADE = (-9.3, -12.0), 1.1, 0.5  # shade: × skin colour


def sample_params(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n faces' attributes: binary ones as 0/1 int64, continuous ones as float32; background colour (n×3).

    Mustaches are likelier with a beard (70 % vs 20 %), as in real faces: the correlated pair the
    attribute page's "remove a correlated direction" needs. Hair tones too close to the skin are redrawn
    (MIN_CONTRAST): a blond beard on pale skin is invisible at 64 px, and its label would be a lie.
    """
    if n < 1:
        raise ValueError(f"Need at least one face, got {n}.")
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(np.float32)  # noqa: E731
    beard = rng.random(n) < 0.3
    p = {
        "smile": rng.random(n) < 0.5,
        "glasses": rng.random(n) < 0.35,
        "mustache": rng.random(n) < np.where(beard, 0.7, 0.2),
        "beard": beard,
        "age_lines": rng.random(n) < 0.35,
    }
    p = {k: v.astype(np.int64) for k, v in p.items()}
    p.update(skin_tone=u(0, 1), hair_tone=u(0, 1), head_width=u(0.85, 1.1), hairline=u(-15.5, -13),
             eye_spacing=u(6.3, 7.7), brow_tilt=u(-0.25, 0.25), angle=u(-8, 8), scale=u(0.92, 1.08),
             dx=u(-2.5, 2.5), dy=u(-2, 2))
    p["hair_tone"] = _contrasting_hair(p["skin_tone"], p["hair_tone"], rng)
    p["mouth_curvature"] = np.where(p["smile"] == 1, u(2.0, 3.2), u(-1.2, 0.3)).astype(np.float32)
    p["background"] = rng.uniform(0.55, 0.95, (n, 3)).astype(np.float32)
    return p


def attributes(limit: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The attribute labels of procfaces(limit, seed), row-aligned with its images, without drawing anything."""
    params = sample_params(limit or DEFAULT_FACES, seed)
    return {k: params[k] for k in (*BINARY, *CONTINUOUS)}


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a + t[:, None] * (b - a)


def skin_and_hair(skin_tone: np.ndarray, hair_tone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """N×3 skin and hair colours of the given tones."""
    return _mix(SKIN_LIGHT, SKIN_DARK, skin_tone), _mix(HAIR_LIGHT, HAIR_DARK, hair_tone)


def contrast(skin_tone: np.ndarray, hair_tone: np.ndarray) -> np.ndarray:
    """The smaller RGB distance of the hair and of the mustache from the skin, per face."""
    skin, hair = skin_and_hair(skin_tone, hair_tone)
    return np.minimum(np.linalg.norm(hair - skin, axis=1), np.linalg.norm(hair * MUSTACHE_SHADE - skin, axis=1))


def _contrasting_hair(skin_tone: np.ndarray, hair_tone: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """hair_tone with every tone closer to its skin than MIN_CONTRAST redrawn (the darkest hair, tone 1, always
    contrasts: 0.34 from the darkest skin)."""
    hair_tone = hair_tone.copy()
    for _ in range(20):
        low = np.flatnonzero(contrast(skin_tone, hair_tone) < MIN_CONTRAST)
        if len(low) == 0:
            return hair_tone
        hair_tone[low] = rng.uniform(0, 1, len(low)).astype(np.float32)
    hair_tone[contrast(skin_tone, hair_tone) < MIN_CONTRAST] = 1.0
    return hair_tone


def _cover(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a shape from its signed distance d (face units; < 0 inside)."""
    return np.clip(0.5 - d * s, 0, 1)


def _ellipse(u, v, cu, cv, ru, rv):
    """Approximate signed distance to an axis-aligned ellipse."""
    return (np.sqrt(((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2) - 1) * np.minimum(ru, rv)


def _segment(u, v, u0, v0, u1, v1):
    """Distance to the segment (u0, v0)–(u1, v1)."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv), 0, 1)
    return np.hypot(u - u0 - t * du, v - v0 - t * dv)


def _on(flag: np.ndarray) -> np.ndarray:
    """A 0/1 attribute as a per-face alpha factor."""
    return flag.astype(np.float32)[:, None, None]


def render(params: dict[str, np.ndarray]) -> np.ndarray:
    """Float32 N×3×64×64 images in [0, 1] of the faces in params (see sample_params)."""
    n = len(params["smile"])
    out = np.empty((n, 3, SIZE, SIZE), np.float32)
    for i in range(0, n, CHUNK):
        chunk = {k: v[i:i + CHUNK] for k, v in params.items()}
        out[i:i + CHUNK] = _render_chunk(chunk)
    return out


def _render_chunk(p: dict[str, np.ndarray]) -> np.ndarray:
    n = len(p["smile"])
    col = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731  per-face scalar against n×h×w
    a = np.deg2rad(p["angle"])
    cos, sin, s = col(np.cos(a)), col(np.sin(a)), col(p["scale"])
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    x, y = xs[None] - col(CENTRE[0] + p["dx"]), ys[None] - col(CENTRE[1] + p["dy"])
    u, v = (x * cos + y * sin) / s, (-x * sin + y * cos) / s
    img = np.broadcast_to(p["background"][:, :, None, None], (n, 3, SIZE, SIZE)).copy()
    q = {"s": s, "rx": col(17 * p["head_width"]), "hl": col(p["hairline"]), "ex": col(p["eye_spacing"]),
         "tilt": col(p["brow_tilt"]), "curve": col(p["mouth_curvature"])}
    skin, hair = skin_and_hair(p["skin_tone"], p["hair_tone"])
    colours = {"skin": skin, "hair": hair, "brow": hair * 0.8, "mustache": hair * MUSTACHE_SHADE, "shade": skin * 0.72, "wrinkle": skin * AGE_LINE_SHADE,
               "white": np.full((n, 3), 0.97, np.float32), "iris": np.full((n, 3), [0.25, 0.17, 0.12], np.float32),
               "lip": np.broadcast_to(LIP_COLOUR, (n, 3)), "frame": np.broadcast_to(GLASSES_COLOUR, (n, 3))}
    for rows, cols, gate, colour, shape in LAYERS:
        idx = slice(None) if gate is None else np.flatnonzero(p[gate])
        if gate is not None and len(idx) == 0:
            continue
        r, c = slice(*rows), slice(*cols)
        qi = {k: w[idx] for k, w in q.items()}
        alpha = _cover(shape(u[idx, r, c], v[idx, r, c], qi), qi["s"])[:, None]
        target = img[idx, :, r, c]
        target += alpha * (colours[colour][idx][:, :, None, None] - target)
        if gate is not None:  # fancy indexing copied the gated faces: write them back
            img[idx, :, r, c] = target
    return np.clip(img, 0, 1)

def _window(u_max: float, v_top: float, v_bottom: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pixel rows and columns that face points with |u| ≤ u_max, v_top ≤ v ≤ v_bottom can reach under any
    sampled pose (angle ±8°, scale 0.92–1.08, shift ±2.5 px): each layer is computed only there."""
    xs, ys = [], []
    for a in np.deg2rad([-8, 8]):
        for s in (0.92, 1.08):
            for u in (-u_max, u_max):
                for v in (v_top, v_bottom):
                    xs.append(s * (u * np.cos(a) - v * np.sin(a)))
                    ys.append(s * (u * np.sin(a) + v * np.cos(a)))
    clip = lambda lo, hi: (max(0, int(np.floor(lo)) - 1), min(SIZE, int(np.ceil(hi)) + 2))  # noqa: E731
    return clip(CENTRE[1] - 2 + min(ys), CENTRE[1] + 2 + max(ys)), clip(CENTRE[0] - 2.5 + min(xs), CENTRE[0] + 2.5 + max(xs))


def _head(u, v, q):
    return _ellipse(u, v, 0, 0, q["rx"], 21.0)


def _hair_ellipse(u, v, q):
    return _ellipse(u, v, 0, -1.5, q["rx"] + 2.5, 23.5)


def _beard(u, v, q):
    """Jaw and chin, round the mouth from the lips down: the upper lip stays bare, so a mustache is drawn on skin."""
    jaw = np.maximum.reduce([_head(u, v, q), MOUTH_V - 3.5 - v, -_ellipse(u, v, 0, 3, q["rx"] - 3.2, 15.0)])
    return np.minimum(jaw, np.maximum(_ellipse(u, v, 0, MOUTH_V + 0.5, 7.5, 4.5), MOUTH_V - 1.2 - v))


def _age_lines(u, v, q):
    """Two bold forehead lines between the brows and the hairline (stopping at the hair) and crow's feet: two short
    rays fanning out from beyond each glasses rim (so glasses never cover them), kept inside the head. Every stroke
    is 2.2 face units (≥ 2 px) wide, so a 32-d autoencoder can reproduce them."""
    w = AGE_LINE_HALF_WIDTH
    forehead = np.minimum(np.abs(v - AGE_FOREHEAD_V[0]) + np.maximum(np.abs(u) - 6.5, 0),
                          np.abs(v - AGE_FOREHEAD_V[1]) + np.maximum(np.abs(u) - 5.0, 0))
    forehead = np.maximum(forehead - w, q["hl"] + 1.5 * np.abs(u) / q["rx"] - v)  # not into the hair
    corner, au = q["ex"] + GLASSES_RADIUS + 2.2, np.abs(u)  # clear of the rim (ring outer edge: ex + 5.0)
    feet = np.minimum(_segment(au, v, corner, EYE_V - 0.4, corner + 2.2, EYE_V - 1.9),
                      _segment(au, v, corner, EYE_V + 0.4, corner + 2.2, EYE_V + 1.9)) - w
    return np.minimum(forehead, np.maximum(feet, _head(u, v, q) + 1.0))


def _brows(u, v, q):
    ex, t = q["ex"], 3.2 * q["tilt"]
    return np.minimum(_segment(u, v, -ex - 3.2, BROW_V - t, -ex + 3.2, BROW_V + t),
                      _segment(u, v, ex - 3.2, BROW_V + t, ex + 3.2, BROW_V - t)) - 0.8


def _eyes(u, v, q):
    return np.minimum(_ellipse(u, v, -q["ex"], EYE_V, 2.9, 1.8), _ellipse(u, v, q["ex"], EYE_V, 2.9, 1.8))


def _irises(u, v, q):
    return np.minimum(np.hypot(u - q["ex"], v - EYE_V), np.hypot(u + q["ex"], v - EYE_V)) - 1.4


def _mustache(u, v, q):
    """A thick bar (3.2 face units) arching over the upper lip."""
    return np.maximum(np.abs(v - (MOUTH_V - 3.0) - 0.08 * u * u) - 1.6, np.abs(u) - 6.5)


def _lip_line(u, q):
    """The lower edge of the mouth opening: flat at MOUTH_V at the corners, SMILE_DEPTH× deeper for a smile."""
    curve = np.where(q["curve"] > 0, SMILE_DEPTH * q["curve"], q["curve"])
    return MOUTH_V + curve * (1 - (u / MOUTH_HALF_WIDTH) ** 2)


def _lens(u, v, top, bottom, half_width):
    """Signed distance (vertical, approximate) to the region top(u) ≤ v ≤ bottom(u), |u| ≤ half_width."""
    return np.maximum(np.abs(v - (top + bottom) / 2) - (bottom - top) / 2, np.abs(u) - half_width)


def _mouth(u, v, q):
    """Bold dark lips: the region between the flat corner line and the curved lip line, 0.9 units thicker above and
    1.4 below; a smile's is a deep crescent (filled with teeth, _teeth), other mouths a flat or frowning bar."""
    line = _lip_line(u, q)
    return _lens(u, v, np.minimum(MOUTH_V, line) - 0.9, np.maximum(MOUTH_V, line) + 1.4, MOUTH_HALF_WIDTH)


def _teeth(u, v, q):
    """White teeth inside a smile's crescent (smiling faces only), so smile vs not is many pixels, not a line's bend."""
    return _lens(u, v, np.full_like(u, MOUTH_V + 0.4), _lip_line(u, q) - 0.3, MOUTH_HALF_WIDTH - 1.5)


def _glasses(u, v, q):
    ex, r = q["ex"], GLASSES_RADIUS
    return np.minimum.reduce([np.abs(np.hypot(u - ex, v - EYE_V) - r), np.abs(np.hypot(u + ex, v - EYE_V) - r),
                              _segment(u, v, -ex + r, EYE_V - 0.8, ex - r, EYE_V - 0.8)]) - 0.6


# Painted in order: (rows, columns, gating binary attribute or None, colour, signed distance in face units).
LAYERS = (
    (*_window(21, -25, 2), None, "hair", lambda u, v, q: np.maximum(_hair_ellipse(u, v, q), v - 2)),
    (*_window(19, -21, 21), None, "skin", _head),
    (*_window(21, -25, -10), None, "hair",
     lambda u, v, q: np.maximum(_hair_ellipse(u, v, q), v - q["hl"] - 1.5 * np.abs(u) / q["rx"])),
    (*_window(19, 5, 21), "beard", "hair", _beard),
    (*_window(18, -14, 1), "age_lines", "wrinkle", _age_lines),
    (*_window(1.5, -0.5, 6), None, "shade", lambda u, v, q: _segment(u, v, 0, 0.5, 0, 5.2) - 0.7),  # nose
    (*_window(12.5, -10, 0), None, "brow", _brows),
    (*_window(11, -4.5, 0.5), None, "white", _eyes),
    (*_window(10, -4, 0), None, "iris", _irises),
    (*_window(9, 4, 12), "mustache", "mustache", _mustache),
    (*_window(7, 7.5, 17.5), None, "lip", _mouth),
    (*_window(5, 9.5, 16), "smile", "white", _teeth),
    (*_window(13, -7.5, 3.5), "glasses", "frame", _glasses),
)


def to_pixels(params: dict[str, np.ndarray], u: float, v: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (x, y) of face point (u, v) for every face: the inverse of the mapping in the module docstring."""
    a, s = np.deg2rad(params["angle"]), params["scale"]
    x = CENTRE[0] + params["dx"] + s * (u * np.cos(a) - v * np.sin(a))
    y = CENTRE[1] + params["dy"] + s * (u * np.sin(a) + v * np.cos(a))
    return x, y
