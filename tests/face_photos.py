"""Test photos with faces whose eyes are known, built offline: the astronaut's head (scikit-image, public domain)
and LFW subset faces pasted at chosen sizes and tilts into bundled photos without faces (tests and bench/morph.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ASTRONAUT_EYES = ((205.0, 102.0), (247.0, 104.0))  # Eileen Collins's pupils in skimage's 512×512 astronaut, by hand
ASTRONAUT_HEAD = (150, 40, 300, 210)  # x0, y0, x1, y1: hair to chin
# bundled photos without a (human) face; chelsea is a cat
BACKGROUNDS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "brick", "grass", "gravel", "china", "flower")


@dataclass
class Truth:
    """A face pasted into a photo: its eyes (the image's left one first) and its box, in the photo's pixels."""

    eyes: np.ndarray  # 2×2 (x, y)
    box: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def angle(self) -> float:
        """The eye line's angle in degrees, clockwise on screen."""
        (x0, y0), (x1, y1) = self.eyes
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


def background(name: str) -> Image.Image:
    """A bundled RGB photo without a face."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg"))
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def astronaut_head() -> tuple[Image.Image, np.ndarray]:
    """The astronaut's head with a soft oval alpha (RGBA), and its eyes in the head's pixels."""
    from skimage.data import astronaut

    x0, y0, x1, y1 = ASTRONAUT_HEAD
    head = Image.fromarray(astronaut()).crop(ASTRONAUT_HEAD).convert("RGBA")
    head.putalpha(_oval(head.size))
    return head, np.array(ASTRONAUT_EYES) - (x0, y0)


def lfw_head(index: int) -> tuple[Image.Image, np.ndarray]:
    """LFW subset face `index` (0–99), 4× upscaled with a soft oval alpha, and its eyes: its dataset's median
    eye positions (the subset is aligned)."""
    from skimage.data import lfw_subset

    face = Image.fromarray(np.round(lfw_subset()[index] * 255).astype(np.uint8)).convert("RGB")
    head = face.resize((100, 100), Image.Resampling.BICUBIC).convert("RGBA")
    head.putalpha(_oval(head.size))
    return head, np.array([(6.56, 9.05), (15.36, 8.66)]) * 4


def _oval(size: tuple[int, int]) -> Image.Image:
    w, h = size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((0.06 * w, 0.03 * h, 0.94 * w, 0.97 * h), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(max(1, w // 30)))


def paste(photo: Image.Image, head: Image.Image, eyes: np.ndarray, side: float, angle: float,
          centre: tuple[float, float]) -> tuple[Image.Image, Truth]:
    """photo with head scaled to `side` pixels wide, turned by `angle` degrees (counter-clockwise on screen, as PIL
    turns) and centred at `centre`; and where its eyes and box ended up."""
    scale = side / head.width
    scaled = head.resize((max(1, round(head.width * scale)), max(1, round(head.height * scale))),
                         Image.Resampling.LANCZOS)
    turned = scaled.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    x0, y0 = round(centre[0] - turned.width / 2), round(centre[1] - turned.height / 2)
    out = photo.convert("RGB").copy()
    out.paste(turned, (x0, y0), turned)
    a = math.radians(angle)
    d = eyes * scale - (scaled.width / 2, scaled.height / 2)
    turned_eyes = np.stack([d[:, 0] * math.cos(a) + d[:, 1] * math.sin(a),
                            -d[:, 0] * math.sin(a) + d[:, 1] * math.cos(a)], 1) + (x0 + turned.width / 2,
                                                                                   y0 + turned.height / 2)
    return out, Truth(turned_eyes, (x0, y0, x0 + turned.width, y0 + turned.height))


def found(truth: Truth, box: tuple[float, float, float, float]) -> bool:
    """Whether a detection box is this face: the eyes' midpoint inside it, its size within 2× of the eye line's."""
    mx, my = truth.eyes.mean(0)
    x0, y0, x1, y1 = box
    eye_line = float(np.hypot(*(truth.eyes[1] - truth.eyes[0])))
    return x0 < mx < x1 and y0 < my < y1 and 1.0 * eye_line < x1 - x0 < 5.0 * eye_line
