"""Labelled subsets for the few-label experiments: exactly k examples of every class, drawn with a seed."""
from __future__ import annotations

import numpy as np

ALL = None  # k = ALL: every labelled example


def check_labels(labels: np.ndarray | None, label_names: list[str] | None = None) -> np.ndarray:
    """The labels as int64, or ValueError with a message when they cannot train a classifier."""
    if labels is None:
        raise ValueError("These images have no labels: put each class in a folder of its own inside the zip.")
    labels = np.asarray(labels, np.int64)
    classes = np.unique(labels)
    if len(classes) < 2:
        name = label_names[classes[0]] if label_names and len(classes) else "one class"
        raise ValueError(f"All images belong to one class ({name}): a classifier needs at least two classes.")
    return labels


def per_class(labels: np.ndarray, k: int | None, seed: int, label_names: list[str] | None = None) -> np.ndarray:
    """Sorted indices of exactly k examples of every class (k = ALL: all of them), chosen by a seeded shuffle."""
    labels = check_labels(labels, label_names)
    if k is ALL:
        return np.arange(len(labels))
    if k < 1:
        raise ValueError(f"Labels per class must be at least 1, got {k}.")
    classes, counts = np.unique(labels, return_counts=True)
    if k > counts.min():
        small = classes[counts.argmin()]
        name = label_names[small] if label_names else str(small)
        raise ValueError(f"Class {name} has only {counts.min()} labelled images; ask for at most {counts.min()} "
                         "labels per class.")
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c in classes]))


def describe_k(k: int | None) -> str:
    return "all" if k is ALL else str(k)
