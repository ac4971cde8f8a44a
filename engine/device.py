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


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads; small models on 2 shared cores run fastest on one thread.

    Default: LATENTLAB_THREADS, else 1 thread on machines with <= 2 cores, else half the cores.
    """
    if threads is None:
        env = os.environ.get("LATENTLAB_THREADS")
        cores = os.cpu_count() or 1
        threads = int(env) if env else (1 if cores <= 2 else max(1, cores // 2))
    threads = max(1, int(threads))
    torch.set_num_threads(threads)
    return threads


def describe(device: torch.device) -> str:
    """A one-line, user-facing name for the device."""
    if device.type == "cuda":
        return f"CUDA GPU ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})"
