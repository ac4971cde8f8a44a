"""One memory budget for everything users upload: a least-recently-used store sized in bytes, shared by a process.

Uploads (image zips, checkpoints, word vectors, corpora) and what is decoded from them are cached so reruns are
fast, but a class of students must not be able to fill the server's memory with them: when a new entry would
push the total over the budget, the least recently used entries go first.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np

T = TypeVar("T")
DEFAULT_MB = 4096  # of the 24 GB machine; LATENTLAB_USER_CACHE_MB overrides


def sizeof(obj, _seen: set[int] | None = None) -> int:
    """Bytes held by obj's arrays, tensors, byte strings and text, followed through containers, dataclasses,
    torch modules and plain objects' attributes (each object counted once)."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or obj is None or isinstance(obj, (bool, int, float, type)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None else 0
    if isinstance(obj, (bytes, bytearray, memoryview, str)):
        return sys.getsizeof(obj)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if torch is not None and isinstance(obj, torch.nn.Module):
        return sum(sizeof(t, seen) for t in (*obj.parameters(), *obj.buffers()))
    if isinstance(obj, dict):
        return sum(sizeof(k, seen) + sizeof(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(sizeof(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj):
        return sum(sizeof(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if hasattr(obj, "__dict__"):
        return sizeof(vars(obj), seen)
    return 0


class MemoryBudget:
    """A thread-safe LRU store whose entries' sizes (sizeof) add up to at most `limit_bytes`."""

    def __init__(self, limit_bytes: int):
        self.limit_bytes = int(limit_bytes)
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value for key, else make() — kept when it fits, evicting the least recently used first.

        make() runs outside the lock (two sessions may make the same value at once; one copy is kept). A value
        larger than the whole budget is returned but not kept."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
        value = make()
        size = sizeof(value)
        with self._lock:
            if key in self._entries:
                return self._entries[key][0]
            if size <= self.limit_bytes:
                while self._entries and self._used() + size > self.limit_bytes:
                    self._entries.popitem(last=False)
                self._entries[key] = (value, size)
        return value

    def used_bytes(self) -> int:
        with self._lock:
            return self._used()

    def _used(self) -> int:
        return sum(size for _, size in self._entries.values())

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def default_limit_bytes() -> int:
    return int(float(os.environ.get("LATENTLAB_USER_CACHE_MB") or DEFAULT_MB) * 1024**2)


USER_DATA = MemoryBudget(default_limit_bytes())  # the process's one budget for user data
