"""Faces and their five landmarks in a photo: MTCNN (Zhang et al. 2016), the weights shipped in facenet-pytorch.

MTCNN runs three small CNNs: P-Net proposes 12-pixel face windows over an image pyramid, R-Net and O-Net refine
and score them; O-Net also places five points (both eyes, the nose tip, both mouth corners).
The weights (pnet.pt, rnet.pt, onet.pt, 2 MB) are read with torch.load(weights_only=True): plain tensors, no
pickled code can run. facenet-pytorch is installed with --no-deps (requirements-nodeps.txt).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MIN_FACE = 20  # smallest face searched, in pixels of the image given (MTCNN's default)
# P-, R-, O-Net face scores needed: MTCNN's defaults but O-Net's 0.7 raised to 0.9 (bench/morph.py: the pasted and
# bundled faces scored 0.966 or more, its only false positives, a spot in a gravel texture, 0.72)
THRESHOLDS = (0.6, 0.7, 0.9)
PYRAMID_STEP = 0.709  # image pyramid scale step (MTCNN's default)


@dataclass(frozen=True)
class Face:
    """One detection in the pixels of the image searched: box (x0, y0, x1, y1), O-Net's score, and points, 5×2
    (x, y): the eye on the image's left, the eye on its right, nose tip, left and right mouth corner."""

    box: tuple[float, float, float, float]
    score: float
    points: np.ndarray

    @property
    def eyes(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points[0], self.points[1]

    def scaled(self, factor: float) -> Face:
        return Face(tuple(v * factor for v in self.box), self.score, self.points * factor)


def weights_folder() -> Path:
    """facenet-pytorch's data folder (found without importing the package)."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("facenet-pytorch is not installed: pip install --no-deps -r requirements-nodeps.txt")
    return Path(spec.origin).parent / "data"


def load_nets(folder: Path | None = None) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """P-, R- and O-Net with their weights loaded weights-only (a file holding anything but tensors is refused)."""
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    folder = weights_folder() if folder is None else Path(folder)
    nets = []
    for net, name in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
        module = net(pretrained=False)
        module.load_state_dict(torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True))
        nets.append(module.eval())
    return tuple(nets)


@lru_cache(maxsize=1)
def _nets():
    return load_nets()


def find_faces(image: Image.Image, min_face: int = MIN_FACE) -> list[Face]:
    """Every face MTCNN finds in image, largest first, in its pixels; [] when none or the image is too small."""
    from facenet_pytorch.models.utils.detect_face import detect_face

    rgb = np.asarray(image.convert("RGB"))
    if min(rgb.shape[:2]) < min_face:
        return []
    with torch.inference_mode():  # the nets are shared by every session: read-only use
        boxes, points = detect_face(rgb, min_face, *_nets(), list(THRESHOLDS), PYRAMID_STEP, torch.device("cpu"))
    faces = [Face(tuple(float(v) for v in b[:4]), float(b[4]), np.asarray(p, np.float64))
             for b, p in zip(boxes[0], points[0])]
    return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
