"""2-D point sets for the GAN view: five toy distributions, the user's CSV, and the mode-coverage metric.

Mode metric (as in VEEGAN / PacGAN): a mode is covered when at least one sample lies within 3σ of its centre,
and a sample is high quality when it lies within 3σ of some centre (σ = the modes' standard deviation).
"""
from __future__ import annotations

import math
import re

import numpy as np

TOY_SETS = ("ring8", "grid25", "spiral", "moons", "square")
MODE_STD = {"ring8": 0.05, "grid25": 0.05}  # σ of each Gaussian mode
MAX_CSV_ROWS = 100_000
MAX_CSV_BYTES = 20 * 1024**2


class PointsError(ValueError):
    """A points file that cannot be used; str(e) names the line and says what is wrong."""


def toy_modes(name: str) -> np.ndarray | None:
    """The mode centres of a Gaussian mixture (ring8: 8 on a circle of radius 2; grid25: 5×5 at −4, −2, …, 4)."""
    if name == "ring8":
        angles = np.arange(8) * (2 * math.pi / 8)
        return (2 * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32)
    if name == "grid25":
        axis = np.arange(-4, 5, 2, dtype=np.float32)
        return np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    return None


def toy_points(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n points (float32, n×2) of a toy distribution, all within about [−4.5, 4.5]²."""
    if name not in TOY_SETS:
        raise ValueError(f"Unknown 2-D data {name!r}; choose one of: {', '.join(TOY_SETS)} "
                         "(or upload your own points as a CSV).")
    if n < 1:
        raise ValueError(f"Need at least one point, got n={n}.")
    rng = np.random.default_rng(seed)
    modes = toy_modes(name)
    if modes is not None:
        points = modes[rng.integers(len(modes), size=n)] + rng.normal(0, MODE_STD[name], (n, 2))
    elif name == "spiral":  # two turns of an Archimedean spiral r = 0.5 + 3t, θ = 4πt
        t = np.sqrt(rng.uniform(0, 1, n))  # uniform along the arc rather than in t
        r, theta = 0.5 + 3 * t, 4 * math.pi * t
        points = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + rng.normal(0, 0.08, (n, 2))
    elif name == "moons":  # scikit-learn's two interleaving half circles, centred and scaled by 2
        theta = rng.uniform(0, math.pi, n)
        upper = rng.random(n) < 0.5
        x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
        y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
        points = 2 * (np.stack([x - 0.5, y - 0.25], 1) + rng.normal(0, 0.05, (n, 2)))
    else:  # square: uniform on [−2, 2]²
        points = rng.uniform(-2, 2, (n, 2))
    return points.astype(np.float32)


def mode_metrics(samples: np.ndarray, name: str) -> dict:
    """modes_covered (of `modes`) and high_quality (share of samples within 3σ of a mode); {} without modes."""
    modes = toy_modes(name)
    if modes is None or len(samples) == 0:
        return {}
    dist = np.linalg.norm(samples[:, None, :] - modes[None], axis=-1)  # samples × modes
    close = dist <= 3 * MODE_STD[name]
    return {"modes_covered": int(close.any(0).sum()), "modes": len(modes),
            "high_quality": float(close.any(1).mean())}


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


def _cells(line: str) -> list[str]:
    for sep in (",", ";", "\t"):
        if sep in line:
            return [c.strip().strip('"').strip("'").strip() for c in line.split(sep)]
    return line.split()


def read_points_csv(data: bytes) -> np.ndarray:
    """Points (float32, n×2) from a CSV of x, y columns: comma, semicolon, tab or space separated, with or
    without a header line; blank lines and lines starting with # are skipped."""
    if len(data) > MAX_CSV_BYTES:
        raise PointsError(f"The file is {len(data) / 1024**2:.0f} MB; the limit is {MAX_CSV_BYTES // 1024**2} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PointsError(f"The file is not UTF-8 text (byte {e.start} cannot be decoded).") from None
    rows: list[tuple[float, float]] = []
    header_seen = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = _cells(line)
        if len(cells) != 2:
            raise PointsError(f"Line {number} has {len(cells)} column{'s' if len(cells) != 1 else ''}; "
                              "expected 2 (x and y).")
        numeric = [bool(_NUMBER.match(c)) for c in cells]
        if not any(numeric) and not rows and not header_seen:
            header_seen = True  # a header such as "x,y"
            continue
        for cell, ok in zip(cells, numeric):
            if not ok:
                raise PointsError(f"Line {number}: {cell!r} is not a number.")
        x, y = float(cells[0]), float(cells[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise PointsError(f"Line {number}: {line!r} is not a finite number (NaN and infinity are refused).")
        if len(rows) == MAX_CSV_ROWS:
            raise PointsError(f"More than {MAX_CSV_ROWS:,} points (line {number}); the limit is {MAX_CSV_ROWS:,}.")
        rows.append((x, y))
    if len(rows) < 2:
        raise PointsError(f"Found {len(rows)} point{'s' if len(rows) != 1 else ''}; a GAN needs at least 2.")
    points = np.array(rows, dtype=np.float64)
    if np.abs(points).max() > 1e15:
        raise PointsError("Coordinates above 1e15 are refused: rescale the points.")
    return points.astype(np.float32)
