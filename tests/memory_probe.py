"""Peak memory of one call, measured in a forked child so the rest of the test session does not blur it."""
from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Peak:
    growth_mb: float  # peak RSS while the call ran, minus RSS just before it
    held_mb: float  # RSS just after the call, minus RSS just before it: what the call left in memory
    result: object = None  # what the call returned (must pickle)
    error: str | None = None  # "ExceptionType: message" when it raised


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _child(conn, fn, args, kwargs):
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _kb("VmRSS")
    try:
        result, error = fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 - handed to the test as a value
        result, error = None, f"{type(e).__name__}: {e}"
    conn.send(Peak((_kb("VmHWM") - before) / 1024, (_kb("VmRSS") - before) / 1024, result, error))


def peak(fn, *args, **kwargs) -> Peak:
    """Run fn(*args, **kwargs) in a forked child and report its peak and held RSS growth and its outcome."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs))
    proc.start()
    outcome = parent.recv()
    proc.join()
    return outcome
