"""The domains: a labelled source and a target whose labels training never sees, all as 3×28×28 floats in [0, 1].

    mnist-m   MNIST → MNIST-M-like: each digit blended with a random crop of a colour photo, |crop − digit| per
              channel, as Ganin et al. built MNIST-M from BSDS500 (here: scikit-image / scikit-learn's photos)
    digits    MNIST → scikit-learn's 8×8 digits, scaled to 20×20 in a 28×28 frame like MNIST's
    zip       MNIST → the user's digit photos (labels from folders named 0–9, used only to score)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

SIDE = 28  # every domain's images are 3×SIDE×SIDE
TEST_SHARE = 0.2  # of each built-in domain, held out to measure accuracy
DATA_SEED = 0  # the split and the photo crops: fixed, so every run (and the cache) sees the same sets
MIN_TARGET = 20  # images a user's target domain needs at least
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
PAIRS = {"mnist-m": "MNIST → MNIST-M-like (digits on photos)", "digits": "MNIST → sklearn 8×8 digits",
         "zip": "MNIST → your digit photos (a zip)"}


@dataclass(frozen=True)
class Domain:
    """Images N×3×28×28 float32 in [0, 1] split into train and test; labels int64 or None (not known)."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray | None
    test_x: np.ndarray
    test_y: np.ndarray | None

    @property
    def labelled(self) -> bool:
        return self.train_y is not None and self.test_y is not None


@dataclass(frozen=True)
class DomainPair:
    key: str  # one of PAIRS
    source: Domain
    target: Domain
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return PAIRS[self.key]


def _rgb(grey: np.ndarray) -> np.ndarray:
    """N×1×H×W → N×3×H×W float32."""
    return np.repeat(np.asarray(grey, np.float32), 3, axis=1)


def _split(n: int, seed: int = DATA_SEED) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * TEST_SHARE))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@functools.lru_cache(maxsize=1)
def _mnist() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """MNIST's first 5 000 shuffled images (the offline subset, or the full set when cached) as N×1×28×28."""
    from engine.data import mnist

    data = mnist(limit=5000, seed=DATA_SEED)
    data.images.flags.writeable = False
    return data.images, data.labels, tuple(data.notes)


def mnist_domain() -> Domain:
    images, labels, _ = _mnist()
    train, test = _split(len(images))
    x = _rgb(images)
    return Domain("MNIST", x[train], labels[train], x[test], labels[test])


@functools.lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """The bundled colour photos (H×W×3 float32 in [0, 1]) the target's backgrounds are cropped from."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    images = [getattr(skimage.data, name)() for name in PHOTOS] + list(load_sample_images().images)
    return tuple(np.asarray(im[..., :3], np.float32) / 255 for im in images)


def blend_on_photos(digits: np.ndarray, seed: int) -> np.ndarray:
    """MNIST-M's recipe: |crop − digit| per channel, each digit (N×1×28×28 in [0, 1]) on a random 28×28 crop of a
    random photo."""
    rng = np.random.default_rng(seed)
    pictures = photos()
    which = rng.integers(len(pictures), size=len(digits))
    out = np.empty((len(digits), 3, SIDE, SIDE), np.float32)
    for i, k in enumerate(which):
        photo = pictures[k]
        top, left = rng.integers(photo.shape[0] - SIDE + 1), rng.integers(photo.shape[1] - SIDE + 1)
        crop = photo[top:top + SIDE, left:left + SIDE].transpose(2, 0, 1)
        out[i] = np.abs(crop - digits[i])
    return out


@functools.lru_cache(maxsize=1)
def mnist_m_pair() -> DomainPair:
    """MNIST → MNIST-M-like, both from the same 5 000 digits (as MNIST-M was built from MNIST), split alike; the
    target's crops are seeded (DATA_SEED), so it is the same set in every process."""
    images, labels, notes = _mnist()
    train, test = _split(len(images))
    blended = blend_on_photos(images, DATA_SEED + 1)
    target = Domain("MNIST-M-like", blended[train], labels[train], blended[test], labels[test])
    return DomainPair("mnist-m", mnist_domain(), target, notes)


@functools.lru_cache(maxsize=1)
def digits_pair() -> DomainPair:
    """MNIST → scikit-learn's 1 797 8×8 digits, scaled to 20×20 and centred in 28×28 (MNIST's own framing)."""
    import torch
    from torch.nn import functional as F

    from engine.data import digits

    data = digits()
    small = F.interpolate(torch.from_numpy(data.images), size=(20, 20), mode="bilinear", align_corners=False)
    framed = F.pad(small, (4, 4, 4, 4)).clamp(0, 1).numpy()
    train, test = _split(len(framed))
    x = _rgb(framed)
    target = Domain("digits 8×8", x[train], data.labels[train], x[test], data.labels[test])
    return DomainPair("digits", mnist_domain(), target, _mnist()[2])


def digit_labels(labels: np.ndarray | None, names: list[str] | None) -> np.ndarray | None:
    """Folder labels as digits 0–9 when every folder is named by one digit, else None (the images stay unlabelled)."""
    if labels is None or names is None or not all(n.strip() in tuple("0123456789") for n in names):
        return None
    lookup = np.array([int(n) for n in names])
    return lookup[labels]


def user_pair(images: np.ndarray, labels: np.ndarray | None = None) -> DomainPair:
    """MNIST → the user's images (N×3×28×28 in [0, 1], e.g. engine.data.load_image_zip(size=28, color=True)).
    All of them are the unlabelled training target; labels (digits 0–9), when given, only score it."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[1:] != (3, SIDE, SIDE):
        raise ValueError(f"Target images must be N×3×{SIDE}×{SIDE} (colour, {SIDE} pixels a side), "
                         f"got shape {images.shape}; load the zip with size={SIDE}, color=True to resize them.")
    if len(images) < MIN_TARGET:
        raise ValueError(f"A target domain needs at least {MIN_TARGET} images, got {len(images)}.")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ValueError("Target images must hold finite values in [0, 1].")
    if labels is not None:
        labels = np.asarray(labels, np.int64)
        if labels.shape != (len(images),) or labels.min() < 0 or labels.max() > 9:
            raise ValueError("Target labels must be one digit 0–9 per image.")
    return DomainPair("zip", mnist_domain(), Domain("your images", images, labels, images, labels),
                      ("Your images are the target: all train it unlabelled"
                       + ("; their folder labels only score it." if labels is not None else
                          "; without folders named 0–9 there is no target accuracy to show."),))


def load_pair(key: str) -> DomainPair:
    """A built-in pair (not "zip": that needs user_pair)."""
    if key == "mnist-m":
        return mnist_m_pair()
    if key == "digits":
        return digits_pair()
    raise ValueError(f"Unknown domain pair {key!r}; built in: mnist-m, digits (your zip: user_pair).")


def without_digits(pair: DomainPair, drop: tuple[int, ...]) -> DomainPair:
    """The pair with those digits taken out of the target (train and test): its label distribution then differs
    from the source's, the case where aligning the two feature distributions can hurt."""
    if not drop:
        return pair
    target = pair.target
    if not target.labelled:
        raise ValueError("Digits can only be dropped from a labelled target domain.")
    keep_train, keep_test = ~np.isin(target.train_y, drop), ~np.isin(target.test_y, drop)
    return replace(pair, target=replace(target, train_x=target.train_x[keep_train], train_y=target.train_y[keep_train],
                                        test_x=target.test_x[keep_test], test_y=target.test_y[keep_test]))
