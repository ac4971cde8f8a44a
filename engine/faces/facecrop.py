"""Faces in uploaded photos: find them, then crop and scale them the way a model's training faces are framed.

Detection: OpenCV's LBP frontal-face cascade bundled with scikit-image, on a grey copy whose longest side is
DETECT_SIDE (then 2·DETECT_SIDE if nothing was found, for small faces in big photos); the cascade itself
slides its 24-pixel window over every scale (×scale_factor) of that copy. A 50 MP photo is shrunk first
(PIL's JPEG draft decodes it at ⅛ size, then thumbnail), so it costs no more than a small one.
Boxes come back in the original photo's pixel coordinates.

Cropping: a model only understands faces framed like its training set (the LFW subset is cut tight around
the face, the procedural faces show the whole head), so the square crop around a box B is
    side = scale · B.side,    centre = B.centre + dy · B.side · (0, 1),
with (scale, dy) from FRAMINGS, then resized to the model's H×W with its C channels (grey photos are
copied into all three channels of an RGB model, colour photos are made grey for a grey model).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from engine.imageio import MAX_IMAGE_PIXELS, open_image

DETECT_SIDE = 512
WORK_SIDE = 1024  # the photo is kept at most this big: enough for any model input and for box editing
MIN_FACE = 24     # the cascade's window
MIN_FACE_SHARE = 0.08  # smallest face searched, as a share of the searched copy's longest side


@dataclass(frozen=True)
class Box:
    """A square-ish region in original photo pixels: left x, top y, width w, height h."""

    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)


@dataclass(frozen=True)
class Framing:
    """Crop side = scale · box side; crop centre moved down by dy · box side (up when negative)."""

    scale: float = 1.0
    dy: float = 0.0


# LFW subset: measured by detecting its own faces (94 of 100 found, upscaled 8× on a padded canvas): the median
# box is 0.915 of the image side, its centre 0.05 box sides above the image centre.
# Procedural faces (the detector does not fire on drawings): a real face's box spans brows to chin, ~34 of the
# 64 pixels there, centred 0.12 box sides below the image centre, so the whole head needs ~1.9× around it.
FRAMINGS = {"faces": Framing(scale=1.09, dy=0.05), "procfaces": Framing(scale=1.9, dy=-0.12)}


def framing_for(dataset: str) -> Framing:
    """The framing of a dataset's faces (registry name); a snug square around the face otherwise."""
    return FRAMINGS.get(dataset, Framing(scale=1.3))


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


def detect_faces(photo: Photo, scale_factor: float = 1.2) -> list[Box]:
    """Faces found by the LBP cascade, largest first, in original pixels; [] when none (or the photo is tiny)."""
    boxes = []
    for side in (DETECT_SIDE, 2 * DETECT_SIDE):
        boxes = _detect(photo, side, scale_factor)
        if boxes or max(photo.image.size) <= side:
            break
    return sorted(boxes, key=lambda b: -b.w * b.h)


def _detect(photo: Photo, side: int, scale_factor: float) -> list[Box]:
    grey = photo.image.convert("L")
    if max(grey.size) > side:
        grey.thumbnail((side, side), Image.Resampling.BILINEAR)
    if min(grey.size) < MIN_FACE:
        return []
    detector = _cascade()
    smallest = max(MIN_FACE, int(MIN_FACE_SHARE * max(grey.size)))
    found = detector.detect_multi_scale(np.asarray(grey, np.float32) / 255, scale_factor=scale_factor, step_ratio=1,
                                        min_size=(smallest, smallest), max_size=grey.size[::-1],
                                        min_neighbor_number=4)
    to_original = photo.original_size[0] / grey.width
    return [Box(d["c"], d["r"], d["width"], d["height"]).scaled(to_original) for d in found]


def _cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def centre_box(photo: Photo) -> Box:
    """The largest centred square, for photos without a detected face."""
    w, h = photo.original_size
    side = min(w, h)
    return Box((w - side) / 2, (h - side) / 2, side, side)


def crop(photo: Photo, box: Box, input_shape: tuple[int, int, int], framing: Framing = Framing()) -> np.ndarray:
    """The framed square around box (original pixels), as C×H×W float32 in [0, 1] for the model.
    Parts of the square outside the photo repeat the photo's edge (PIL's crop pads black, which a model has
    never seen)."""
    c, h, w = input_shape
    side = max(box.w, box.h) * framing.scale
    cx, cy = box.centre
    cy += framing.dy * max(box.w, box.h)
    f = photo.factor
    x0, y0, x1, y1 = ((cx - side / 2) * f, (cy - side / 2) * f, (cx + side / 2) * f, (cy + side / 2) * f)
    image = photo.image.convert("RGB" if c == 3 else "L")
    pad = int(np.ceil(max(0, -x0, -y0, x1 - image.width, y1 - image.height)))
    if pad:  # replicate the edge where the square leaves the photo
        a = np.asarray(image)
        image = Image.fromarray(np.pad(a, ((pad, pad), (pad, pad)) + ((0, 0),) * (a.ndim - 2), mode="edge"))
    square = image.resize((w, h), Image.Resampling.LANCZOS, box=(x0 + pad, y0 + pad, x1 + pad, y1 + pad))
    out = np.asarray(square, np.float32) / 255
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


@dataclass
class FaceCrop:
    """What face_crop found and made; message says it in words for the page."""

    image: np.ndarray | None   # C×H×W for the model, None when no face and no centre fallback
    box: Box | None            # the face box used (a detection, the caller's, or the centre square)
    boxes: list[Box]           # every detection, largest first
    found: bool                # True when box is a detected (or caller-given) face
    message: str
    photo: Photo


def face_crop(source, input_shape: tuple[int, int, int], framing: Framing = Framing(), box: Box | None = None,
              centre_if_none: bool = True) -> FaceCrop:
    """Detect, pick the largest face, and crop it for the model; with the caller's adjusted `box`, crop that
    without detecting again. No face: a message, and the centre square when centre_if_none."""
    photo = source if isinstance(source, Photo) else load_photo(source)
    boxes = [] if box is not None else detect_faces(photo)  # an adjusted box: the page already has the detections
    notes = []
    if photo.image.mode == "L" and input_shape[0] == 3:
        notes.append("A grey photo: the colour model gets it in grey (the same values in R, G and B).")
    w, h = photo.original_size
    if box is not None:
        box, found = _checked(box, w, h), True
        notes.insert(0, "Using your box.")
    elif boxes:
        box, found = boxes[0], True
        notes.insert(0, f"Found {len(boxes)} face{'s' if len(boxes) > 1 else ''}; using the largest.")
    else:
        found = False
        why = f"too small ({w}×{h}) to search" if min(w, h) < MIN_FACE else "no face found"
        if not centre_if_none:
            return FaceCrop(None, None, [], False, f"No face: {why}. Draw a box, or use the centre of the photo.",
                            photo)
        box = centre_box(photo)
        notes.insert(0, f"No face: {why}; using the centre square instead (draw a box to choose).")
    image = crop(photo, box, input_shape, framing if found else Framing())
    return FaceCrop(image, box, boxes, found, " ".join(notes), photo)


def _checked(box: Box, width: int, height: int) -> Box:
    """The caller's box, if it has a positive size and overlaps the photo (it may stick out: crop pads)."""
    if not (np.isfinite([box.x, box.y, box.w, box.h]).all() and box.w > 0 and box.h > 0):
        raise ValueError(f"A face box needs a positive width and height, got {box}.")
    if box.x >= width or box.y >= height or box.x + box.w <= 0 or box.y + box.h <= 0:
        raise ValueError(f"The box {box} lies outside the {width}×{height} photo.")
    return box

