"""GPU check of the engine beyond the autoencoders (bench/gpu.py): GANs, Gatys style transfer, word2vec.

For each it runs the same work on CPU and on CUDA in one process and prints seconds and the ratio, and it
checks that the engine really puts its models on the GPU when one is present (engine.device.pick_device):
  - GANTrainer, 2-D ring (MLP 3×128, batch 64) and DCGAN at batch 64 on random 28×28 images: iterations/s;
  - Gatys with the MobileNetV2 backbone at 256² and 512²: seconds per Adam step, and that a 100-step run on
    CUDA lowers the style loss by ≥ 5× (the same check as the CPU unit test);
  - word2vec skip-gram, torch backend, on a synthetic corpus: words/s, and the vectors come back as numpy.

Run from the repository root: `.venv/bin/python bench/gpu_engine.py`. Without CUDA it says so and exits 0;
`--dry-run` runs everything with the CPU standing in for the GPU (to check the script itself).
Exit code 1 when a device check fails.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import median_seconds  # noqa: E402

ACCEL = "cpu" if "--dry-run" in sys.argv else "cuda"  # the device compared with the CPU


def gan_rates(checks: list) -> None:
    from engine.gan.model import GANConfig
    from engine.gan.trainer import GANTrainer

    images = np.random.default_rng(0).random((2_000, 1, 28, 28), dtype=np.float32)
    print("\nGAN iterations/s (hand-steps; median of 5 timed blocks)")
    for name, config, data, n in (("2-D ring8, MLP 3×128", GANConfig(data="ring8"), None, 200),
                                  ("DCGAN 28×28, batch 64", GANConfig(data="mnist", batch_size=64), images, 20)):
        rates = {}
        for device in ("cpu", ACCEL):
            trainer = GANTrainer(GANConfig(**{**config.to_dict(), "device": device}), data)
            rates[device] = n / median_seconds(lambda: trainer.step("both", n), device)
            if device == ACCEL:
                on_gpu = all(next(net.parameters()).device.type == ACCEL for net in (trainer.G, trainer.D))
                snap = trainer.snapshot()
                checks.append((f"GAN {name}: networks on cuda, snapshot numpy", on_gpu and isinstance(snap.samples,
                               np.ndarray) and np.isfinite(snap.samples).all(), f"{snap.iterations} iterations"))
            trainer.close()
        print(f"  {name:24s} CPU {rates['cpu']:8.1f}  CUDA {rates[ACCEL]:8.1f}  ratio {rates[ACCEL] / rates['cpu']:5.1f}×")


def gatys_rates(checks: list) -> None:
    from skimage.data import astronaut, coffee

    from engine.style.gatys import GatysConfig, optimize

    content, style = astronaut(), coffee()
    print("\nGatys, MobileNetV2 backbone, Adam: seconds per step (median of 3 blocks of 10 steps)")
    for size in (256, 512):
        seconds = {}
        for device in ("cpu", ACCEL):
            config = GatysConfig(size=size, steps=10, device=device)
            seconds[device] = median_seconds(lambda: optimize(content, style, config), device, runs=3) / 10
        print(f"  {size}²  CPU {seconds['cpu']:.4f} s  CUDA {seconds[ACCEL]:.4f} s  ratio "
              f"{seconds['cpu'] / seconds[ACCEL]:5.1f}×")
    result = optimize(content, style, GatysConfig(size=256, steps=100, device=ACCEL))
    first = sum(result.history[0].style.values())
    last = sum(result.history[-1].style.values())
    checks.append(("Gatys on cuda lowers the style loss ≥ 5×", first / max(last, 1e-12) >= 5,
                   f"style loss {first:.3g} → {last:.3g} in {result.seconds:.1f} s, backbone {result.backbone}"))


def word2vec_rates(checks: list) -> None:
    from engine.words.word2vec import Word2VecConfig, train_word2vec

    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(2_000)]
    zipf = 1 / np.arange(1, len(vocab) + 1)
    words = rng.choice(len(vocab), size=300_000, p=zipf / zipf.sum())
    sentences = [[vocab[i] for i in words[j:j + 20]] for j in range(0, len(words), 20)]
    print("\nword2vec skip-gram (torch backend), 300k-token synthetic Zipf corpus, 1 epoch")
    rates = {}
    for device in ("cpu", ACCEL):
        config = Word2VecConfig(epochs=1, min_count=1, device=device)
        start = time.perf_counter()
        vectors = train_word2vec(sentences, config)
        rates[device] = len(words) / (time.perf_counter() - start)
        if device == ACCEL:
            matrix = vectors.vectors
            checks.append(("word2vec on cuda returns finite numpy vectors",
                           isinstance(matrix, np.ndarray) and np.isfinite(matrix).all(), f"{matrix.shape}"))
    print(f"  CPU {rates['cpu']:,.0f} words/s  CUDA {rates[ACCEL]:,.0f} words/s  ratio "
          f"{rates[ACCEL] / rates['cpu']:.1f}×")


def main() -> int:
    if ACCEL == "cuda" and not torch.cuda.is_available():
        print("No CUDA GPU visible: nothing to measure (run this on a GPU machine).")
        return 0
    from engine.device import configure_threads, pick_device

    threads = configure_threads()
    name = torch.cuda.get_device_name() if ACCEL == "cuda" else "none (dry run: the CPU stands in)"
    print(f"GPU: {name}, torch {torch.__version__}; CPU side {threads} thread(s)")
    checks = [("pick_device() picks cuda", pick_device().type == ACCEL, str(pick_device()))]
    for part in (gan_rates, gatys_rates, word2vec_rates):
        try:
            part(checks)
        except Exception as e:  # a failure is a result: report it and go on with the other parts
            checks.append((part.__name__, False, f"{type(e).__name__}: {e}"))
    print("\nDevice checks")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name:52s} {detail}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
