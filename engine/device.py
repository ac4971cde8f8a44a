"""Pick where tensors live: CUDA, then Apple MPS, then CPU; keep CPU threads sane on small machines."""
from __future__ import annotations

import os

import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """The fastest available device, or `prefer` ("cuda", "mps", "cpu") when it is available.

    The environment variable LATENTLAB_DEVICE overrides the automatic choice.
    """
    prefer = prefer or os.environ.get("LATENTLAB_DEVICE")
    if prefer:
        if prefer.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA GPU is visible to PyTorch.")
        if prefer == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("MPS was requested but this PyTorch has no Apple-GPU support here.")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_threads() -> int:
    """Torch intra-op threads for this machine: LATENTLAB_THREADS, else 1 on machines with <= 2 cores, else half
    the cores."""
    env = os.environ.get("LATENTLAB_THREADS")
    cores = os.cpu_count() or 1
    return max(1, int(env)) if env else (1 if cores <= 2 else max(1, cores // 2))


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: default_threads()); small models on 2 shared cores run fastest on one
    thread."""
    threads = max(1, int(threads)) if threads is not None else default_threads()
    torch.set_num_threads(threads)
    return threads


def job_slots() -> int:
    """How many training jobs this machine runs at once: LATENTLAB_JOB_SLOTS, else one per default_threads() CPU
    cores (each job trains on that many threads) plus one per CUDA GPU; at least 1."""
    env = os.environ.get("LATENTLAB_JOB_SLOTS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"LATENTLAB_JOB_SLOTS must be a whole number, got {env!r}.") from None
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return max(1, (os.cpu_count() or 1) // default_threads()) + gpus


def describe(device: torch.device) -> str:
    """A one-line, user-facing name for the device."""
    if device.type == "cuda":
        return f"CUDA GPU ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})"
