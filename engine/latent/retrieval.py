"""Image retrieval: the k nearest neighbours of one item, in code space or in pixel space, and the labels a set of
retrieved or selected items share."""
from __future__ import annotations

import numpy as np


def nearest_neighbours(vectors: np.ndarray, index: int, k: int) -> np.ndarray:
    """Indices of the k rows closest (Euclidean) to row `index`, itself excluded, nearest first."""
    vectors = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
    d = np.sum((vectors - vectors[index]) ** 2, axis=1)
    d[index] = np.inf
    k = min(k, len(vectors) - 1)
    nearest = np.argpartition(d, k - 1)[:k] if k > 0 else np.array([], int)
    return nearest[np.argsort(d[nearest])]


def same_label_share(labels: np.ndarray, found: np.ndarray, query: int) -> float:
    """Share of the items `found` (indices) that carry the label of item `query`."""
    return float(np.mean(labels[found] == labels[query]))


def precision_at_k(vectors: np.ndarray, labels: np.ndarray, k: int = 10, sample: int = 1000, seed: int = 0,
                   chunk: int = 256) -> float:
    """Share of each query's k neighbours that carry the query's label, over a random sample of queries.

    Distances for `chunk` queries at a time as one matrix product, ‖q‖² − 2 q·v + ‖v‖² (in float64, so the
    neighbours are those of the exact distances): one query at a time in Python took 8 s for 500 queries of
    20k Fashion-MNIST pixels, on the explorer's first open."""
    vectors = np.asarray(vectors, np.float64).reshape(len(vectors), -1)
    queries = np.random.default_rng(seed).choice(len(vectors), min(sample, len(vectors)), replace=False)
    k = min(k, len(vectors) - 1)
    norms = np.einsum("ij,ij->i", vectors, vectors)
    shares = []
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        d = norms[q, None] - 2 * vectors[q] @ vectors.T + norms[None, :]
        d[np.arange(len(q)), q] = np.inf  # a query is not its own neighbour
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        shares.append(np.mean(labels[nearest] == labels[q, None], axis=1))
    return float(np.mean(np.concatenate(shares)))


def most_common_labels(labels: np.ndarray, n_labels: int, top: int = 3) -> list[tuple[int, int]]:
    """(label, count) of the `top` most frequent of labels 0 … n_labels − 1 among `labels`, most frequent first;
    labels that do not occur are left out."""
    counts = np.bincount(labels, minlength=n_labels)
    return [(int(t), int(counts[t])) for t in np.argsort(counts)[::-1][:top] if counts[t]]
