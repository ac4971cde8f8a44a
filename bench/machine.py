"""What machine a benchmark ran on, and the timer behind its figures."""
from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_seconds(fn: Callable[[], object], device: str = "cpu", runs: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds over `runs` calls, after `warmup` untimed calls. On device "cuda" it
    waits for the GPU (torch.cuda.synchronize) before and after each timed call, so queued kernels count."""
    if str(device).startswith("cuda"):
        import torch

        sync = torch.cuda.synchronize
    else:
        def sync() -> None:
            pass
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
