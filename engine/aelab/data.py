"""The lab's data: a dataset split once into an unlabelled pool (labels hidden until asked for) and a test set."""
from __future__ import annotations

from dataclasses import dataclass

from engine.data import ImageDataset, load_dataset, split_indices


@dataclass
class Split:
    pool: ImageDataset  # unlabelled training images; a few of their labels are used at a time
    test: ImageDataset  # held out from every model, the accuracy is measured on it


def split(data: ImageDataset, test_fraction: float = 0.2, max_pool: int | None = None,
          max_test: int | None = None, seed: int = 0) -> Split:
    """A seeded pool / test split of `data`, each cut to at most max_pool / max_test images."""
    if len(data) < 2:
        raise ValueError(f"{len(data)} image(s) cannot be split into training and test images.")
    pool, test = split_indices(len(data), test_fraction, seed)
    return Split(data.subset(pool[:max_pool]), data.subset(test[:max_test]))


def load_split(name: str, max_pool: int | None = None, max_test: int | None = None, seed: int = 0) -> Split:
    """A built-in dataset (engine.data registry) as a Split: 1/7 test for Fashion-MNIST's 70k (its 10k), 1/5 else."""
    data = load_dataset(name)
    return split(data, 1 / 7 if len(data) >= 60_000 else 0.2, max_pool, max_test, seed)
