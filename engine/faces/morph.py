"""Morphing with an autoencoder (lecture): if Enc(image1) = c1 and Enc(image2) = c2, decoding
    c(t) = (1 − t)·c1 + t·c2        (linear)   or   slerp(c1, c2; t)   (spherical, for the VAE's Gaussian codes)
walks from one face to the other through faces, while the pixel cross-fade (1 − t)·x1 + t·x2 at the same t
only superimposes two pictures. Encode once (Morph), then each slider move is one decode of one code.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.imageio import grid, png_bytes, to_uint8
from engine.latent.paths import path
from engine.latent.models import Autoencoder

METHODS = {"linear": "Linear (1 − t)·c₁ + t·c₂", "slerp": "Spherical (slerp)"}


def check_images(model: Autoencoder, images: np.ndarray, what: str = "images") -> np.ndarray:
    """images as float32 N×C×H×W, or a ValueError saying how their shape differs from the model's input."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[None]
    expected = tuple(model.config.input_shape)
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        got = "×".join(map(str, images.shape[1:] if images.ndim == 4 else images.shape))
        raise ValueError(f"The model takes {what} of shape {'×'.join(map(str, expected))} (C×H×W); these are {got}. "
                         "Use a dataset or crop that matches the model.")
    return images


@dataclass
class Morph:
    """Two images, encoded once; frame(t) decodes one code per call."""

    model: Autoencoder
    images: np.ndarray  # 2×C×H×W, the two ends
    codes: np.ndarray   # 2×k, their codes (the VAE's posterior means)

    @classmethod
    def between(cls, model: Autoencoder, image_a: np.ndarray, image_b: np.ndarray) -> Morph:
        """Encode both images (C×H×W in [0, 1], the model's input shape); identical images give a constant morph."""
        images = check_images(model, np.stack([np.asarray(image_a, np.float32), np.asarray(image_b, np.float32)]))
        return cls(model, images, model.encode(images))

    def morph_codes(self, t, method: str = "linear") -> np.ndarray:
        """Codes at positions t in [0, 1] (a number or an array), one row each."""
        return path(self.codes[0], self.codes[1], t, method)

    def frames(self, t, method: str = "linear") -> np.ndarray:
        """Decoded morph at positions t: len(t)×C×H×W in [0, 1]."""
        return self.model.decode(self.morph_codes(t, method))

    def frame(self, t: float, method: str = "linear") -> np.ndarray:
        """One decoded frame (C×H×W): what a slider move costs."""
        return self.frames(t, method)[0]

    def strip(self, steps: int = 7, method: str = "linear") -> np.ndarray:
        """steps frames for t evenly in [0, 1] (the lecture's 7)."""
        return self.frames(np.linspace(0, 1, max(2, steps)), method)

    def crossfade(self, t) -> np.ndarray:
        """The pixel blend (1 − t)·x1 + t·x2 at the same positions, for comparison."""
        t = np.atleast_1d(np.asarray(t, np.float32))[:, None, None, None]
        return (1 - t) * self.images[0] + t * self.images[1]

    def reconstructions(self) -> np.ndarray:
        """Dec(Enc(x)) of both ends: the morph's frames at t = 0 and t = 1."""
        return self.model.decode(self.codes)


def strip_png(frames: np.ndarray, scale: int = 4, pad: int = 2) -> bytes:
    """The frames side by side as one PNG, enlarged with crisp pixels."""
    return png_bytes(grid(frames, per_row=len(frames), pad=pad), scale=scale)


def gif_bytes(frames: np.ndarray, ms_per_frame: int = 120, scale: int = 4, bounce: bool = True) -> bytes:
    """An endlessly looping animated GIF of the frames (there and back again when bounce)."""
    tiles = to_uint8(frames)
    if bounce and len(tiles) > 2:
        tiles = np.concatenate([tiles, tiles[-2:0:-1]])
    pictures = [Image.fromarray(t).resize((t.shape[1] * scale, t.shape[0] * scale), Image.NEAREST) for t in tiles]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=ms_per_frame,
                     loop=0, disposal=1)
    return buffer.getvalue()
