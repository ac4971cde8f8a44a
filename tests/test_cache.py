"""engine.cache: one byte budget for user data, least recently used first out, sizes counted like numpy/torch."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from engine.cache import MemoryBudget, sizeof

MB = 1024**2


def block(mb: int) -> np.ndarray:
    return np.zeros(mb * MB, np.uint8)


def test_sizes_agree_with_numpy_and_torch():
    @dataclass
    class Upload:
        images: np.ndarray
        labels: list

    images = np.ones((10, 3, 8, 8), np.float32)
    assert sizeof(Upload(images, ["a", "b"])) >= images.nbytes
    assert sizeof((images, images)) == images.nbytes  # one object, counted once
    assert sizeof(images[:5]) == 0  # a view holds no memory of its own
    net = torch.nn.Linear(100, 10)
    assert sizeof(net) == sum(p.numel() for p in net.parameters()) * 4 == 4040


def test_least_recently_used_goes_first_and_the_budget_holds():
    budget = MemoryBudget(10 * MB)
    for key in "abc":
        budget.get_or_make(key, lambda: block(3))
    budget.get_or_make("a", lambda: block(3))  # a used again: b is now the oldest
    made = []
    budget.get_or_make("d", lambda: made.append("d") or block(3))
    assert made == ["d"] and "b" not in budget and {"a", "c", "d"} <= {k for k in "abcd" if k in budget}
    assert budget.used_bytes() <= 10 * MB


def test_a_cached_value_is_not_made_again():
    budget, calls = MemoryBudget(10 * MB), []
    first = budget.get_or_make("k", lambda: calls.append(1) or block(1))
    again = budget.get_or_make("k", lambda: calls.append(1) or block(1))
    assert again is first and calls == [1]


def test_a_value_larger_than_the_budget_is_returned_but_not_kept():
    budget = MemoryBudget(2 * MB)
    budget.get_or_make("small", lambda: block(1))
    big = budget.get_or_make("big", lambda: block(5))
    assert big.nbytes == 5 * MB and "big" not in budget and "small" in budget


def test_many_threads_never_exceed_the_budget():
    budget, seen = MemoryBudget(8 * MB), []

    def use(i):
        for j in range(20):
            budget.get_or_make((i, j % 5), lambda: block(1))
            seen.append(budget.used_bytes())

    threads = [threading.Thread(target=use, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 120 and max(seen) <= 8 * MB and len(budget) <= 8
