"""GPU benchmark: CUDA vs CPU speed of every Latent Lab model kind, and a check that training uses the GPU.

For each engine model kind (linear, dense, conv, vae; code 16) on random 1×28×28 images, batch 256, it times
  - one training step: the model's loss, backward, Adam step (as engine.latent.train does, loss.item() included);
  - one inference: encode + decode of the batch (posterior -> decoder -> sigmoid, no grad, tensors on the device);
3 warm-up calls, then the median of 10, with torch.cuda.synchronize() around each timed call.
Then it checks that engine.device.pick_device() picks CUDA and that Autoencoder.fit(TrainConfig(device="cuda"))
trains, leaves the model on the GPU, and that encode/decode still return numpy arrays.

Run from the repository root:

    .venv/bin/python bench/gpu.py

Without a visible CUDA GPU it says so and exits with 0. Exit code 1 when a device check fails.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import median_seconds  # noqa: E402
from engine.device import configure_threads, pick_device  # noqa: E402
from engine.latent.models import MODEL_KINDS, AEConfig, Autoencoder  # noqa: E402
from engine.latent.train import TrainConfig  # noqa: E402

BATCH, WARMUP, RUNS = 256, 3, 10


def step_and_inference_ms(kind: str, device: torch.device) -> tuple[float, float]:
    torch.manual_seed(0)
    model = Autoencoder(AEConfig(kind=kind, code_size=16)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(BATCH, 1, 28, 28, device=device)

    def train_step():
        model.train()
        loss, _ = model.loss(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def inference():
        model.eval()
        code, _ = model.posterior(x)
        return model.to_image(model.decode_tensor(code))

    return tuple(1000 * median_seconds(fn, device.type, runs=RUNS, warmup=WARMUP) for fn in (train_step, inference))


def check_device() -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for the engine's device selection and a short fit on CUDA."""
    picked = pick_device()
    checks = [("pick_device() returns cuda", picked.type == "cuda", str(picked))]
    images = np.random.default_rng(0).random((2_000, 1, 28, 28), dtype=np.float32)
    for kind in MODEL_KINDS:
        model = Autoencoder(AEConfig(kind=kind, code_size=16))
        try:
            result = model.fit(images, TrainConfig(device="cuda", epochs=1))
            codes = model.encode(images[:100])
            decoded = model.decode(codes)
        except Exception as e:  # report it as a failed check rather than stop the table
            checks.append((f"{kind}: fit on cuda, encode/decode", False, f"{type(e).__name__}: {e}"))
            continue
        on_gpu = model.device.type == "cuda"
        numpy_out = (isinstance(codes, np.ndarray) and codes.shape == (100, 16)
                     and isinstance(decoded, np.ndarray) and decoded.shape == (100, 1, 28, 28)
                     and bool(np.isfinite(decoded).all()))
        detail = f"{result.seconds:.2f} s, {len(result.losses)} steps, model on {model.device}"
        checks.append((f"{kind}: fit on cuda, model stays there", on_gpu and result.epochs_done == 1, detail))
        checks.append((f"{kind}: encode/decode return numpy", numpy_out,
                       f"codes {type(codes).__name__} {getattr(codes, 'shape', '')}, "
                       f"images {type(decoded).__name__} {getattr(decoded, 'shape', '')}"))
    return checks


def main() -> int:
    if not torch.cuda.is_available():
        print("No CUDA GPU visible: nothing to measure (run this on a GPU machine).")
        return 0
    gpu, cpu = torch.device("cuda"), torch.device("cpu")
    print(f"GPU: {torch.cuda.get_device_name(gpu)}, CUDA {torch.version.cuda}, torch {torch.__version__}, "
          f"cuDNN {torch.backends.cudnn.version()}")
    threads = configure_threads()
    print(f"CPU side: {threads} torch thread{'s' * (threads > 1)} (engine.device.configure_threads)")
    print(f"\nms per call, batch {BATCH} of 1×28×28, median of {RUNS} after {WARMUP} warm-up calls")
    print(f"{'model':8s}{'train CPU':>12s}{'train CUDA':>12s}{'speed-up':>10s}"
          f"{'infer CPU':>12s}{'infer CUDA':>12s}{'speed-up':>10s}")
    for kind in MODEL_KINDS:
        train_cpu, infer_cpu = step_and_inference_ms(kind, cpu)
        train_gpu, infer_gpu = step_and_inference_ms(kind, gpu)
        print(f"{kind:8s}{train_cpu:12.2f}{train_gpu:12.2f}{train_cpu / train_gpu:9.1f}×"
              f"{infer_cpu:12.2f}{infer_gpu:12.2f}{infer_cpu / infer_gpu:9.1f}×")
    print("(speed-up = CPU ms / CUDA ms)")

    print("\nDevice checks (2 000 random images, TrainConfig(device='cuda', epochs=1))")
    checks = check_device()
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name:42s} {detail}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
