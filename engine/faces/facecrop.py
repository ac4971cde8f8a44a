"""Faces in uploaded photos: find them with their landmarks, then align and crop them the way a model's training
faces are framed.

Detection: MTCNN (engine.faces.landmarks) on the working copy of the photo (longest side at most WORK_SIDE), which
finds faces down to 20 working pixels, e.g. the face of a standing person in a tall photo. A 50 MP photo is shrunk
first (PIL's JPEG draft decodes it at ⅛ size, then thumbnail), so it costs no more than a small one.
Everything comes back in the original photo's pixel coordinates.

Alignment: a model only understands faces framed like its training set, so the crop is a square (a Box with an
angle) placed by the two eyes: rotated by the eye line's angle so the eyes come out level, scaled so their distance
is the training faces' eye distance, and shifted so they land where the training faces have them (FRAMINGS).
The crop is resized to the model's H×W with its C channels (grey photos are copied into all three channels of an
RGB model, colour photos are made grey for a grey model).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from engine.faces.landmarks import MIN_FACE, Face, find_faces
from engine.imageio import MAX_IMAGE_PIXELS, open_image

WORK_SIDE = 1024  # the photo is kept at most this big: enough for any model input and for box editing
# Landmarks are placed again on a face turned upright when its eye line is tilted this much (degrees): at 40° one
# pass left the astronaut's eye line 2–4.6° off, a second 0.1–1.8°; near upright a second pass on small faces only
# adds noise (bench/morph.py).
UPRIGHT_AGAIN = 10.0


@dataclass(frozen=True)
class Box:
    """The region the model sees, in original photo pixels: the rectangle at left x, top y, width w, height h,
    turned by angle degrees (clockwise on screen, as the eye line of a head tilted to its left) about its centre."""

    x: float
    y: float
    w: float
    h: float
    angle: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def corners(self) -> np.ndarray:
        """The four corners (top left, top right, bottom right, bottom left) as 4×2 (x, y)."""
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * (self.w / 2, self.h / 2)
        a = math.radians(self.angle)
        turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        return half @ turn.T + self.centre

    def from_crop(self, width: int, height: int) -> np.ndarray:
        """3×3 matrix taking (x, y, 1) in a width×height crop of the box (pixel edges at whole numbers) to original
        photo pixels."""
        a = math.radians(self.angle)
        cos, sin = math.cos(a), math.sin(a)
        cx, cy = self.centre
        return np.array([[cos * self.w / width, -sin * self.h / height, cx - cos * self.w / 2 + sin * self.h / 2],
                         [sin * self.w / width, cos * self.h / height, cy - sin * self.w / 2 - cos * self.h / 2],
                         [0, 0, 1]])


@dataclass(frozen=True)
class Framing:
    """Where a model's training faces have their eyes, level, as shares of the crop: at heights eye_y · H and
    horizontally centre_x · W ∓ eye_distance · W / 2."""

    eye_distance: float = 0.3
    centre_x: float = 0.5
    eye_y: float = 0.4


# LFW subset (25×25): MTCNN finds all 100 faces (each upscaled 4× on an edge-padded canvas); the median eyes are at
# (6.56, 9.05) and (15.36, 8.66) pixels (bench/morph.py measures it).
# Procedural faces (64×64, drawn): the irises are drawn at (32 ± 7, 33 − 2) before each face's jitter, pixel
# centres at +0.5.
FRAMINGS = {"faces": Framing(eye_distance=0.352, centre_x=0.438, eye_y=0.354),
            "procfaces": Framing(eye_distance=0.219, centre_x=0.508, eye_y=0.492)}


def framing_for(dataset: str) -> Framing:
    """The framing of a dataset's faces (registry name); a snug head-and-shoulders-free face crop otherwise."""
    return FRAMINGS.get(dataset, Framing())


@dataclass
class Photo:
    """An uploaded picture, shrunk to at most WORK_SIDE, remembering its original size."""

    image: Image.Image           # "L" or "RGB"
    original_size: tuple[int, int]  # (width, height) of the file

    @property
    def factor(self) -> float:
        """Working pixels per original pixel."""
        return self.image.width / self.original_size[0]


def load_photo(source: str | Path | bytes | BinaryIO | Image.Image) -> Photo:
    """Decode an untrusted upload and shrink it to WORK_SIDE. Big JPEGs are decoded at a reduced size (draft);
    everything else, and anything unusual, goes through engine.imageio.open_image (size guard, EXIF rotation)."""
    if isinstance(source, Image.Image):
        image, size = (source if source.mode in ("L", "RGB") else source.convert("RGB")), source.size
    else:
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes() \
            if isinstance(source, (str, Path)) else bytes(source)
        image, size = _draft_jpeg(data) or (None, None)
        if image is None:
            image = open_image(data)
            size = image.size
    if max(image.size) > WORK_SIDE:
        image = image.copy()
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Photo(image, size)


def _draft_jpeg(data: bytes) -> tuple[Image.Image, tuple[int, int]] | None:
    """A large JPEG decoded at ½, ¼ or ⅛ scale straight from its DCT (PIL's draft), with its full upright size;
    None for other files or on any doubt, which then take the checked open_image path."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if img.format != "JPEG" or max(w, h) <= 2 * WORK_SIDE or w * h > MAX_IMAGE_PIXELS:
                return None
            img.draft("RGB" if img.mode != "L" else "L", (WORK_SIDE, WORK_SIDE))
            img.load()
            upright = ImageOps.exif_transpose(img)
            if upright.size != img.size:
                w, h = h, w  # EXIF rotated by 90°
            image = upright if upright.mode in ("L", "RGB") else upright.convert("RGB")
            return image.copy(), (w, h)
    except Exception:  # noqa: BLE001 — open_image will say what is wrong with it
        return None


def detect_faces(photo: Photo) -> list[Face]:
    """Faces MTCNN finds on the working copy, largest first, with their landmarks in original pixels; a tilted
    face's points placed again on it turned upright (O-Net places them best there; bench/morph.py)."""
    return [upright_points(photo, face.scaled(1 / photo.factor)) for face in find_faces(photo.image)]


def upright_points(photo: Photo, face: Face, side: int = 128) -> Face:
    """face with its landmarks found again on a side×side crop that turns it upright, when its eye line is tilted by
    UPRIGHT_AGAIN or more; as it was otherwise, or if none is found there."""
    box = aligned_box(face, (3, side, side))
    if abs(box.angle) < UPRIGHT_AGAIN:
        return face
    upright = Image.fromarray(np.round(crop(photo, box, (3, side, side)).transpose(1, 2, 0) * 255).astype(np.uint8))
    again = find_faces(upright)
    if not again:
        return face
    expected = np.array([Framing().centre_x * side, Framing().eye_y * side])
    best = min(again, key=lambda f: np.hypot(*(f.points[:2].mean(0) - expected)))
    points = np.c_[best.points, np.ones(len(best.points))] @ box.from_crop(side, side).T
    return Face(face.box, face.score, points[:, :2])


def aligned_box(face: Face, input_shape: tuple[int, int, int], framing: Framing = Framing()) -> Box:
    """The box that puts face's eyes, level, where framing has them in a crop of the model's H×W."""
    _, h, w = input_shape
    left, right = face.eyes
    dx, dy = right - left
    angle = math.degrees(math.atan2(dy, dx))
    width = math.hypot(dx, dy) / framing.eye_distance
    height = width * h / w
    a = math.radians(angle)
    # the box centre, seen from the eyes' midpoint in the box's own (turned) frame, then turned into the photo
    u, v = (0.5 - framing.centre_x) * width, (0.5 - framing.eye_y) * height
    cx, cy = (left + right) / 2 + (u * math.cos(a) - v * math.sin(a), u * math.sin(a) + v * math.cos(a))
    return Box(float(cx - width / 2), float(cy - height / 2), width, height, angle)


def centre_box(size: tuple[int, int]) -> Box:
    """The largest centred square of a photo of this (width, height): where a box set by hand starts."""
    w, h = size
    side = min(w, h)
    return Box((w - side) / 2, (h - side) / 2, side, side)


def crop(photo: Photo, box: Box, input_shape: tuple[int, int, int]) -> np.ndarray:
    """What the (turned) box holds, resampled to the model's C×H×W, float32 in [0, 1]. Parts of the box outside the
    photo repeat the photo's edge (black padding is something no model has seen)."""
    from skimage.transform import resize, warp

    c, h, w = input_shape
    image = np.asarray(photo.image.convert("RGB" if c == 3 else "L"))
    # sampled at up to 4× the model's size, then shrunk with anti-aliasing (a big face would alias otherwise)
    over = min(4.0, max(1.0, box.w * photo.factor / w))
    sw, sh = max(w, round(w * over)), max(h, round(h * over))
    # sample index → its centre in the crop → original photo → working-copy pixel index
    shift = lambda d: np.array([[1, 0, d], [0, 1, d], [0, 0, 1]])  # noqa: E731
    to_photo = shift(-0.5) @ np.diag([photo.factor, photo.factor, 1]) @ box.from_crop(sw, sh) @ shift(0.5)
    out = warp(image, to_photo, output_shape=(sh, sw), order=1, mode="edge")
    if (sh, sw) != (h, w):
        out = resize(out, (h, w), order=1, anti_aliasing=True)
    out = out.astype(np.float32)
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


@dataclass
class FaceCrop:
    """What face_crop found and made; message says it in words for the page."""

    image: np.ndarray | None   # C×H×W for the model; None when no face was found and no box given
    box: Box | None            # the box used: aligned on the largest face, or the caller's
    faces: list[Face]          # every detection, largest first, in original pixels
    found: bool                # True when box is an aligned face or the caller's box
    message: str
    photo: Photo


def face_crop(source, input_shape: tuple[int, int, int], framing: Framing = Framing(),
              box: Box | None = None) -> FaceCrop:
    """Detect, align the largest face by its eyes and crop it for the model; with the caller's `box`, crop that
    without detecting again. No face: no image and a message, never a silent centre crop (the caller asks for a
    box)."""
    photo = source if isinstance(source, Photo) else load_photo(source)
    faces = [] if box is not None else detect_faces(photo)  # a box by hand: the page already has the detections
    notes = []
    if photo.image.mode == "L" and input_shape[0] == 3:
        notes.append("A grey photo: the colour model gets it in grey (the same values in R, G and B).")
    w, h = photo.original_size
    if box is not None:
        box = _checked(box, w, h)
        notes.insert(0, "Using your box.")
    elif faces:
        box = aligned_box(faces[0], input_shape, framing)
        notes.insert(0, f"Found {len(faces)} face{'s' if len(faces) > 1 else ''}; using the largest, aligned by "
                        f"its eyes (their line was tilted {box.angle:+.0f}°; now level, where the model's training "
                        "faces have them).")
    else:
        why = f": the photo is too small ({w}×{h}) to search" if min(photo.image.size) < MIN_FACE else ""
        return FaceCrop(None, None, [], False, f"No face found{why}.", photo)
    return FaceCrop(crop(photo, box, input_shape), box, faces, True, " ".join(notes), photo)


def _checked(box: Box, width: int, height: int) -> Box:
    """The caller's box, if it has a positive size and overlaps the photo (it may stick out: crop repeats edges)."""
    if not (np.isfinite([box.x, box.y, box.w, box.h, box.angle]).all() and box.w > 0 and box.h > 0):
        raise ValueError(f"A face box needs a positive width and height, got {box}.")
    if box.x >= width or box.y >= height or box.x + box.w <= 0 or box.y + box.h <= 0:
        raise ValueError(f"The box {box} lies outside the {width}×{height} photo.")
    return box
