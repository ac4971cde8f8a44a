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

  6. face detection (issue 15): recall and false positives of MTCNN (what the page uses) and of scikit-image's
     LBP cascade (what it used before), on test photos built here: the astronaut's head and LFW subset faces pasted
     at several sizes and tilts into 9 bundled photos without faces (also into tall 700×2100 crops of them, where a
     standing person's face is small), the 9 photos alone, and the bundled portraits (astronaut, cameraman); then
     the eye line's angle error after alignment (as the page does it, and with one pass only), and the eyes' distance
     from their fixed positions in the aligned crop; and the LFW subset's median eye positions, which
     engine/faces/facecrop.py's FRAMINGS["faces"] uses.

Run from the repository root: `LATENTLAB_THREADS=1 .venv/bin/python bench/morph.py` (about 2 minutes, plus about
3 for the detection part); `bench/morph.py detection` runs only that part.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bench.machine import cpu_model  # noqa: E402

MODELS = ("procfaces-conv-32", "procfaces-vae-32", "procfaces-linear-32", "lfw-conv-16", "lfw-vae-16", "lfw-linear-16")
CAMERAMAN_FACE = (185, 112, 262, 200)  # x0, y0, x1, y1 of the cameraman's face (in profile), by hand


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


def cascade_boxes(image) -> list[tuple[float, float, float, float]]:
    """The face boxes (x0, y0, x1, y1) the page found before issue 15: OpenCV's LBP frontal-face cascade bundled
    with scikit-image on a grey copy whose longest side is 512, then 1024 if nothing was found; scale factor 1.2,
    smallest face 8 % of that side, 4 neighbours."""
    import numpy as np
    from PIL import Image
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    detector = Cascade(lbp_frontal_face_cascade_filename())
    found = []
    for side in (512, 1024):
        grey = image.convert("L")
        if max(grey.size) > side:
            grey.thumbnail((side, side), Image.Resampling.BILINEAR)
        smallest = max(24, int(0.08 * max(grey.size)))
        hits = detector.detect_multi_scale(np.asarray(grey, np.float32) / 255, scale_factor=1.2, step_ratio=1,
                                           min_size=(smallest, smallest), max_size=grey.size[::-1],
                                           min_neighbor_number=4)
        k = image.width / grey.width
        found = [(d["c"] * k, d["r"] * k, (d["c"] + d["width"]) * k, (d["r"] + d["height"]) * k) for d in hits]
        if found or max(image.size) <= side:
            break
    return found


def detection_photos():
    """(name, photo, truths): faces pasted into bundled photos, the photos alone, and the bundled portraits."""
    import numpy as np
    from face_photos import BACKGROUNDS, Truth, astronaut_head, background, lfw_head, paste
    from PIL import Image
    from skimage.data import astronaut, camera

    rng = np.random.default_rng(15)
    heads = {"astronaut": astronaut_head(), **{f"lfw{i}": lfw_head(i) for i in (3, 17, 42, 77)}}
    photos = []
    for b, name in enumerate(BACKGROUNDS):
        wide = background(name)
        wide = wide.resize((1000, round(1000 * wide.height / wide.width)))
        tall = background(name)
        tall = tall.resize((round(2100 * tall.width / tall.height), 2100))
        tall = tall.crop(((tall.width - 700) // 2, 0, (tall.width - 700) // 2 + 700, 2100))
        plain = list(heads)
        for i, (side, tilt) in enumerate([(s, t) for s in (40, 80, 160, 320) for t in (0, 20, 40)]):
            if (i + b) % 3:  # a third of the size × tilt grid per photo, a different third each time
                continue
            head = plain[(i + b) % len(plain)]
            x, y = rng.uniform(side, wide.width - side), rng.uniform(side, wide.height - side)
            photo, truth = paste(wide, *heads[head], side, tilt * (1 if i % 2 else -1), (x, y))
            photos.append((f"{name}: {head} {side} px, {tilt}°", photo, [truth]))
        for side in (60, 100):
            photo, truth = paste(tall, *heads["astronaut"], side, 0, (rng.uniform(150, 550), rng.uniform(200, 700)))
            photos.append((f"{name} tall: astronaut {side} px", photo, [truth]))
        for tilt in (-40, -30, -20, -10, 10, 20, 30, 40)[b % 4::4]:  # the astronaut tilted: 2 per photo
            side = (60, 120, 240)[(b + tilt) % 3]
            x, y = rng.uniform(side, wide.width - side), rng.uniform(side, wide.height - side)
            photo, truth = paste(wide, *heads["astronaut"], side, tilt, (x, y))
            photos.append((f"{name}: astronaut {side} px, {abs(tilt)}°", photo, [truth]))
        photos.append((f"{name} alone", wide, []))
    photos.append(("astronaut", Image.fromarray(astronaut()), [Truth(np.array([(205.0, 102.0), (247.0, 104.0)]),
                                                                     (175, 70, 272, 166))]))
    x0, y0, x1, y1 = CAMERAMAN_FACE
    photos.append(("cameraman", Image.fromarray(camera()).convert("RGB"),
                   [Truth(np.array([((x0 + x1) / 2 - 10, y0 + 35), ((x0 + x1) / 2 + 10, y0 + 35)]), CAMERAMAN_FACE)]))
    return photos


def detection() -> None:
    import numpy as np
    from face_photos import found

    from engine.faces import facecrop as fc
    from engine.faces.landmarks import find_faces

    photos = detection_photos()
    faces = sum(len(t) for _, _, t in photos)
    print(f"\nface detection: {len(photos)} photos, {faces} faces (pasted at 40–320 px, tilted 0–40°; 2 bundled "
          "portraits), 9 photos without a face")
    rows = {"MTCNN (page)": {"hit": [], "fp": 0, "s": [], "angle": [], "angle1": [], "eyes": []},
            "LBP cascade (before)": {"hit": [], "fp": 0, "s": []}}
    scores = {"fp": [], "tp": []}
    framing, side = fc.Framing(), 128
    target = np.array([[framing.centre_x - framing.eye_distance / 2, framing.eye_y],
                       [framing.centre_x + framing.eye_distance / 2, framing.eye_y]]) * side
    for name, image, truths in photos:
        photo = fc.load_photo(image)
        start = time.perf_counter()
        detected = fc.detect_faces(photo)
        rows["MTCNN (page)"]["s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        boxes = cascade_boxes(photo.image)
        rows["LBP cascade (before)"]["s"].append(time.perf_counter() - start)
        boxes = [tuple(v / photo.factor for v in b) for b in boxes]
        for label, found_boxes in (("MTCNN (page)", [f.box for f in detected]), ("LBP cascade (before)", boxes)):
            row = rows[label]
            wrong = [b for b in found_boxes if not any(found(t, b) for t in truths)]
            row["fp"] += len(wrong)
            row["hit"] += [(name, any(found(t, b) for b in found_boxes)) for t in truths]
            if label == "MTCNN (page)":
                scores["fp"] += [(name, f.score, round(f.box[2] - f.box[0])) for f in detected if f.box in wrong]
                scores["tp"] += [f.score for f in detected if f.box not in wrong]
        for truth in truths:
            if "astronaut" not in name:
                continue  # eyes known exactly (marked by hand) only on the astronaut; the cameraman is in profile
            face = next((f for f in detected if found(truth, f.box)), None)
            if face is None:
                continue
            box = fc.aligned_box(face, (3, side, side), framing)
            one_pass = fc.aligned_box(next(f for f in (g.scaled(1 / photo.factor) for g in find_faces(photo.image))
                                           if found(truth, f.box)), (3, side, side), framing)
            eyes = np.c_[truth.eyes, np.ones(2)] @ np.linalg.inv(box.from_crop(side, side)).T
            row = rows["MTCNN (page)"]
            row["angle"].append((abs(truth.angle) >= 10, abs(box.angle - truth.angle)))
            row["angle1"].append((abs(truth.angle) >= 10, abs(one_pass.angle - truth.angle)))
            row["eyes"].append(np.hypot(*(eyes[:, :2] - target).T).max() / (framing.eye_distance * side))
    print(f"  {'detector':22s} {'recall':>14s} {'false pos.':>10s} {'s/photo (median)':>17s}   missed")
    for label, row in rows.items():
        hits = [h for _, h in row["hit"]]
        missed = [n for n, h in row["hit"] if not h]
        print(f"  {label:22s} {sum(hits):4d}/{len(hits)} {100 * np.mean(hits):5.1f} % {row['fp']:10d} "
              f"{statistics.median(row['s']):17.2f}   {len(missed)}: {'; '.join(missed[:12])}"
              f"{' …' if len(missed) > 12 else ''}")
        for kind in (" tall:", ", 0°", ", 10°", ", 20°", ", 30°", ", 40°", " 40 px", " 60 px", " 80 px"):
            part = [h for n, h in row["hit"] if kind in n]
            print(f"    recall on {kind.strip(' ,:'):6s} {sum(part):3d}/{len(part)}")
    print(f"  MTCNN's O-Net score: faces min {min(scores['tp']):.3f}; false positives (photo, score, width px): "
          + "; ".join(f"{n} {p:.3f} {w}" for n, p, w in scores["fp"]))
    row = rows["MTCNN (page)"]
    print("  the astronaut's head (eyes marked by hand), pasted and in its portrait:")
    for key, what in (("angle", f"page (2nd pass from {fc.UPRIGHT_AGAIN:g}°)"), ("angle1", "one pass")):
        for tilted in (False, True):
            a = np.array([e for t, e in row[key] if t == tilted])
            print(f"  eye-line angle error after alignment, {what:25s}, faces tilted {'≥' if tilted else '<'} 10°: "
                  f"median {np.median(a):.2f}°, 90th pct {np.percentile(a, 90):.2f}°, max {a.max():.2f}° "
                  f"({len(a)} faces)")
    e = np.array(row["eyes"])
    print(f"  eyes' distance from their fixed positions in the {side}² crop, in eye distances: median "
          f"{np.median(e):.3f}, 90th pct {np.percentile(e, 90):.3f}, max {e.max():.3f}")
    lfw_framing()


def lfw_framing() -> None:
    """The LFW subset's median eye positions (25×25 pixels), each face 4× upscaled on an edge-padded canvas."""
    import numpy as np
    from PIL import Image
    from skimage.data import lfw_subset

    from engine.faces.facecrop import FRAMINGS
    from engine.faces.landmarks import find_faces

    eyes = []
    for face in lfw_subset()[:100]:
        padded = np.pad(np.round(face * 255).astype(np.uint8), 25, mode="edge")
        found = find_faces(Image.fromarray(padded).resize((300, 300), Image.Resampling.BICUBIC))
        if found:
            eyes.append(found[0].points[:2] / 4 - 25)
    m = np.median(np.array(eyes), 0)
    f = FRAMINGS["faces"]
    print(f"  LFW subset: MTCNN found {len(eyes)}/100 faces; median eyes ({m[0, 0]:.2f}, {m[0, 1]:.2f}) and "
          f"({m[1, 0]:.2f}, {m[1, 1]:.2f}) px → eye distance {(m[1, 0] - m[0, 0]) / 25:.3f}, centre "
          f"{(m[0, 0] + m[1, 0]) / 50:.3f}, eye height {(m[0, 1] + m[1, 1]) / 50:.3f} of the side "
          f"(FRAMINGS['faces']: {f.eye_distance}, {f.centre_x}, {f.eye_y})")


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
    detection()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if sys.argv[1:] == ["detection"]:
        from engine.device import configure_threads

        threads = configure_threads()
        print(f"machine: {cpu_model()}, {os.cpu_count()} cores, torch threads {threads}, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        detection()
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    else:
        main()
