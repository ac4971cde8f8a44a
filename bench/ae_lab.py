"""Autoencoder lab benchmark: each section's headline number at the page's default size, and its time.

Prints
  1. identity trap (MNIST, 2 000 training images, code 1 024, 3 epochs): per regulariser the share of small added
     noise that comes out ("noise passed"), the MSE on unseen digits and on pure-noise images, training seconds;
  2. filters (3 000 whitened 12×12 photo patches, 64 filters, 10 epochs): median localisation per filter set;
  3. codes as features (MNIST, 4 000 unlabelled, 1 / 10 / 100 / all labels per class, 3 seeds, logistic
     regression: the page's default run): accuracy at 10 labels/class for pixels vs PCA vs the AE code;
  4. pretraining: the shipped table (checkpoints/aelab-pretrain.json, labelled shipped) and one setting run now
     (denoising AE on 4 000 MNIST images × 3 epochs, 2 seeds, 10 labels/class): pretrained vs scratch;
  6. denoising: PSNR of the shipped plain vs denoising conv AE on 500 test digits at σ = 0.3;
each with its wall time (goal: ≤ 60 s per section on the 2-core CPU). --repeats N runs each section N times
and prints the median time.

Run from the repository root: `.venv/bin/python bench/ae_lab.py` (a few minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import cpu_model  # noqa: E402


def timed(fn, repeats: int):
    seconds, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - start)
    return out, statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sections", default="1,2,3,4,6")
    args = parser.parse_args()
    sections = set(args.sections.split(","))

    from engine.aelab.data import load_split
    from engine.checkpoints import CHECKPOINT_DIR
    from engine.device import configure_threads

    threads = configure_threads()
    print(f"# {cpu_model()}, {os.cpu_count()} cores, {threads} torch thread(s); load average at start "
          f"{os.getloadavg()[0]:.1f}")
    mnist = load_split("mnist", max_test=10_000)
    if "1" in sections:
        from engine.aelab.identity import IdentityConfig, run_identity

        run, s = timed(lambda: run_identity(IdentityConfig(), mnist.pool.images[:2000], mnist.test.images[:500]),
                       args.repeats)
        print(f"\n## 1 identity trap ({s:.1f} s)")
        for name, sc in run.scores.items():
            print(f"{name:10s} noise passed {100 * sc.passed:5.1f} %  MSE unseen {sc.data_mse:.4f}  "
                  f"MSE pure noise {sc.noise_mse:.4f}  trained in {sc.seconds:.1f} s")
    if "2" in sections:
        from engine.aelab.filters import FilterConfig, run_filters

        run, s = timed(lambda: run_filters(FilterConfig()), args.repeats)
        print(f"\n## 2 filters ({s:.1f} s)")
        print("  ".join(f"{k} {v:.2f}" for k, v in run.localisation.items()), "(median localisation; 0.25 = even)")
    if "3" in sections:
        from engine.aelab.features import FeatureConfig, run_features

        run, s = timed(lambda: run_features(mnist, FeatureConfig(unlabelled=4000)), args.repeats)  # the page's default
        print(f"\n## 3 codes as features, MNIST, 1 / 10 / 100 / all labels per class, shown at 10 ({s:.1f} s)")
        print("  ".join(f"{r} {run.mean_std('logistic', r, '10')[0]:.3f}" for r in ("pixels", "pca", "code")))
    if "4" in sections:
        from engine.aelab.pretrain import PretrainConfig, run as pretrain

        card = CHECKPOINT_DIR / "aelab-pretrain.json"
        if card.exists():
            data = json.loads(card.read_text())
            print(f"\n## 4 pretraining, shipped table ({data['command']}; {data['created']}, {data['machine']})")
            for name, r in data["settings"].items():
                pre, scr = statistics.mean(r["pretrained"]["10"]), statistics.mean(r["scratch"]["10"])
                print(f"{name:14s} pretrained {pre:.3f}  scratch {scr:.3f}  gain {100 * (pre - scr):+.1f} points")
        config = PretrainConfig(unlabelled=4000, ae_epochs=3)
        run, s = timed(lambda: pretrain(mnist, config, (10,), 2), args.repeats)
        print(f"\n## 4 pretraining, run now: MNIST, denoising AE 4 000 × 3 epochs, 2 seeds ({s:.1f} s)")
        print(f"pretrained {statistics.mean(run.pretrained[10]):.3f}  scratch {statistics.mean(run.scratch[10]):.3f}")
    if "6" in sections:
        from engine.aelab.denoise import compare, psnr
        from engine.latent.checkpoints import load_checkpoint

        models = {name: load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")[0]
                  for name in ("mnist-conv-32", "mnist-conv-32-denoising")}
        (noisy, out), s = timed(lambda: compare(models, mnist.test.images[:500], 0.3), args.repeats)
        print(f"\n## 6 denoising at σ = 0.3 ({s:.2f} s)")
        print(f"noisy input {psnr(mnist.test.images[:500], noisy):.1f} dB  "
              + "  ".join(f"{k} {v[1]:.1f} dB" for k, v in out.items()))
    print(f"\n# load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
