"""Morph and attribute-vector benchmark (issue 6).

Prints
  1. the machine (CPU model, torch threads, load average);
  2. seconds to draw 20 000 procedural faces;
  3. slider response per shipped face model: encode the two ends once, then one decode per move, median over
     50 moves (linear and slerp) — target < 100 ms on CPU;
  4. attribute vectors on 1 000 held-out procedural faces (seed 2), conv AE vs VAE, at the default strength:
     "added" = share of faces lacking the attribute that the shipped classifier calls "has it" after the edit
     (target ≥ 80 %), "unchanged" = share whose other four attributes are classified on the edited face as on the
     plain reconstruction Dec(Enc(x)) (≥ 90 %), and in brackets the same against the drawn faces' true labels;
     and for mustache, the same with the beard direction projected out;
  5. LFW: conv AE and VAE test MSE vs PCA (and the trained linear AE) at the same code size, on the held-out
     faces of the checkpoint's own split. Course reference: conv AE MSE ≈ 0.0056 on full LFW 32×32; offline only
     scikit-image's 100-face 25×25 subset exists (90 train / 10 test faces), so the numbers are not comparable.

Run from the repository root: `LATENTLAB_THREADS=1 .venv/bin/python bench/morph.py` (about 2 minutes).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import cpu_model  # noqa: E402

MODELS = ("procfaces-conv-32", "procfaces-vae-32", "procfaces-linear-32", "lfw-conv-16", "lfw-vae-16", "lfw-linear-16")




def slider(model, images, moves: int = 50) -> dict:
    from engine.faces.morph import Morph

    start = time.perf_counter()
    morph = Morph.between(model, images[0], images[1])
    encode = time.perf_counter() - start
    out = {"encode_ms": 1000 * encode}
    for method in ("linear", "slerp"):
        times = []
        for t in [i / (moves - 1) for i in range(moves)]:
            start = time.perf_counter()
            morph.frame(t, method)
            times.append(time.perf_counter() - start)
        out[f"{method}_ms"] = 1000 * statistics.median(times)
    return out


def main() -> None:
    import numpy as np
    import torch

    from engine.faces import attributes as at
    from engine.checkpoints import CHECKPOINT_DIR
    from engine.latent.checkpoints import load_checkpoint
    from engine.data import load_dataset
    from engine.device import configure_threads
    from engine.latent.evaluate import pca_mse
    from engine.latent.models import reconstruction_mse
    from engine.data.procfaces import BINARY, attributes
    from engine.data import procedural_faces
    from engine.data import split_indices

    threads = configure_threads()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, torch threads {threads} (torch {torch.__version__}), "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")

    start = time.perf_counter()
    procedural_faces(20_000)
    print(f"\nprocedural faces: 20 000 drawn in {time.perf_counter() - start:.1f} s")

    held = procedural_faces(1000, seed=2).images
    lfw = load_dataset("faces", faces_only=True).images
    print("\nslider response (encode once, decode one frame per move; median of 50 moves; target < 100 ms)")
    for name in MODELS:
        if not (CHECKPOINT_DIR / f"{name}.safetensors").exists():
            print(f"  {name:22s} not built (checkpoints/rebuild.sh)")
            continue
        model, card = load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")
        r = slider(model, held[:2] if name.startswith("procfaces") else lfw[:2])
        print(f"  {name:22s} encode {r['encode_ms']:6.1f} ms   move: linear {r['linear_ms']:5.1f} ms, slerp "
              f"{r['slerp_ms']:5.1f} ms   ({100 / max(r['linear_ms'], r['slerp_ms']):.0f}× under target)")

    attrs = attributes(1000, seed=2)
    labels = np.stack([attrs[k] for k in BINARY], 1)
    print(f"\nattribute vectors, default strength {at.DEFAULT_STRENGTH}, 1 000 held-out faces (seed 2): "
          "added % / others unchanged % (vs true labels %)")
    print(f"  {'attribute':12s} " + "  ".join(f"{m:>30s}" for m in ("procfaces-conv-32", "procfaces-vae-32")))
    models = {m: load_checkpoint(CHECKPOINT_DIR / f"{m}.safetensors")[0] for m in ("procfaces-conv-32", "procfaces-vae-32")}
    codes = {m: model.encode(held) for m, model in models.items()}
    vectors = {m: {a: at.attribute_vector(codes[m], labels[:, i], a) for i, a in enumerate(BINARY)} for m in models}
    rows = [(a, a, None) for a in BINARY] + [("mustache ⊥ beard", "mustache", "beard")]
    for label, a, remove in rows:
        cells = []
        for m, model in models.items():
            v = vectors[m][a] if remove is None else at.remove_direction(vectors[m][a], vectors[m][remove])
            s = at.edit_success(model, held, labels, a, v)
            cells.append(f"{100 * s['added']:5.1f} / {100 * s['unchanged']:5.1f} ({100 * s['unchanged_vs_labels']:4.1f}) "
                         f"n={s['faces']}")
        print(f"  {label:16s} " + "  ".join(f"{c:>30s}" for c in cells))

    print("\nLFW subset (100 faces, 25×25, grey; MSE per pixel, [0, 1] scale = the [-0.5, 0.5] scale): test MSE")
    for name in ("lfw-conv-16", "lfw-vae-16", "lfw-linear-16"):
        model, card = load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")
        train_idx, test_idx = split_indices(len(lfw), card.train["val_fraction"], card.train["seed"])
        mse = reconstruction_mse(model, lfw[test_idx])
        pca = pca_mse(lfw[train_idx], lfw[test_idx], model.config.code_size)
        print(f"  {name:14s} {mse:.5f}  PCA({model.config.code_size}) {pca:.5f}  ratio {mse / pca:.2f}  "
              f"({len(test_idx)} test faces; course target 0.0056 is for full LFW 32×32, code 32)")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
