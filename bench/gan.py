"""GAN benchmark: how fast the live GAN view trains on this machine, and how soon a DCGAN draws digits.

Prints
  1. 2-D GAN iterations/second (ring8, the page's default 3 × 128 MLPs, batch 64), by hand-steps and in the
     background thread with the view refreshed every 0.1 s — target ≥ 300 /s (STACK.md measured ≈ 320);
  2. DCGAN iterations/second on MNIST at batch 64 with 1 and 2 threads;
  3. minutes from scratch until the classifier score passes (≥ 70 % of 500 samples with max class probability
     > 0.8), with the shipped checkpoint's settings, 1 thread, capped at 8 minutes — target ≤ 5;
  4. the shipped classifier's held-out accuracy and the shipped DCGAN's score, from their cards and re-measured;
  5. the 2-D view's frame rate in headless Chromium while it trains (distinct pictures shown per second over
     10 s, median of 3 runs), next to the iterations/s the page reports — target ≥ 5 frames/s.

Run from the repository root: `.venv/bin/python bench/gan.py` (up to about 10 minutes on 2 cores);
`--ui` runs part 5 alone.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import CHROMIUM_ARGS, chromium_path, cpu_model, serve_app  # noqa: E402

CAP_SECONDS = 8 * 60
COUNT_FRAMES = """(ms) => new Promise((done) => { const seen = new Set(); const t0 = performance.now();
  const tick = () => { const i = document.querySelector('[data-testid="stImage"] img');
    if (i && i.complete) seen.add(i.src); if (performance.now() - t0 < ms) setTimeout(tick, 20); else done(seen.size); };
  tick(); })"""
ITERATION = """() => { const t = Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
  .map((e) => e.innerText).find((t) => t.includes('iteration')) || ''; const m = t.match(/iteration ([\\d,]+)/);
  return m ? parseInt(m[1].replace(/,/g, '')) : 0; }"""




def rate(trainer, n: int) -> float:
    trainer.step("both", 3)  # warm-up
    start = time.perf_counter()
    trainer.step("both", n)
    return n / (time.perf_counter() - start)


def ui_frame_rate(runs: int = 3, seconds: float = 10.0) -> None:
    """Part 5: serve the app, press Start on the 2-D view in headless Chromium, count the pictures it shows."""
    from playwright.sync_api import sync_playwright

    with serve_app(env={"LATENTLAB_THREADS": "1"}) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"{url}/gan")
        page.get_by_role("button", name="▶ Start").first.wait_for(timeout=90_000)
        page.wait_for_timeout(2_000)
        page.get_by_role("button", name="▶ Start").first.click()
        page.get_by_role("button", name="⏸ Pause").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2_000)
        fps, its = [], []
        for _ in range(runs):
            first = page.evaluate(ITERATION)
            fps.append(page.evaluate(COUNT_FRAMES, seconds * 1000) / seconds)
            its.append((page.evaluate(ITERATION) - first) / seconds)
        browser.close()
    print(f"\n5. 2-D view in headless Chromium while training (ring8, defaults; {runs} × {seconds:.0f} s): "
          f"{statistics.median(fps):.1f} frames/s (runs {', '.join(f'{f:.1f}' for f in fps)}; target ≥ 5, "
          f"ratio {statistics.median(fps) / 5:.2f}), training meanwhile at {statistics.median(its):.0f} iterations/s")


def main() -> None:
    import numpy as np
    import torch

    from engine.data import load_dataset
    from engine.device import configure_threads
    from engine.gan.digit_score import classifier_accuracy, classifier_score, load_classifier
    from engine.gan.checkpoint import DCGAN_PATH, read_gan_card
    from engine.gan.model import GANConfig
    from engine.gan.trainer import VIEW_SECONDS, GANTrainer, load_trainer, train_until_score
    from engine.data import split_indices

    configure_threads(1)
    print(f"Latent Lab GAN benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {cpu_model()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    results = {}

    ring = GANTrainer(GANConfig(device="cpu", threads=1))
    results["2d"] = rate(ring, 2000)
    ring.reset()
    ring.start()
    time.sleep(5)
    background = ring.snapshot().steps_per_second
    ring.close()
    print(f"\n1. 2-D GAN (ring8, MLP 3 × 128, batch 64, 1 thread): {results['2d']:.0f} iterations/s by hand-steps, "
          f"{background:.0f} /s in the background thread (view refreshed every {VIEW_SECONDS} s)")

    card = read_gan_card(DCGAN_PATH)
    shipped = {k: v for k, v in card["config"].items() if k not in ("device", "threads", "max_steps")}
    mnist = load_dataset("mnist")
    print(f"\n2. DCGAN on {mnist.source}, batch 64, channels {shipped['channels']}, noise {shipped['noise_dim']}")
    for threads in (1, 2):
        dc = GANTrainer(GANConfig(**{**shipped, "batch_size": 64, "device": "cpu", "threads": threads}), mnist.images)
        results[f"dcgan{threads}"] = rate(dc, 40)
        dc.close()
        print(f"   {threads} thread{'s' if threads > 1 else ''}: {results[f'dcgan{threads}']:.1f} iterations/s "
              f"({1 / results[f'dcgan{threads}']:.3f} s each)")

    print(f"\n3. From scratch until ≥ 70 % of 500 samples are classified with confidence > 0.8 (1 thread, "
          f"{card['command']!r} settings, cap {CAP_SECONDS // 60} min)")
    configure_threads(1)
    fresh = GANTrainer(GANConfig(**{**shipped, "device": "cpu", "threads": 1}), mnist.images)

    def report(snap, seconds, score):
        print(f"   iteration {snap.iterations:5d}  {seconds / 60:5.2f} min  confident {score['confident']:.3f}  "
              f"balance {score['balance']:.2f}", flush=True)

    run = train_until_score(fresh, max_seconds=CAP_SECONDS, every=250, stop_on_pass=True, report=report)
    fresh.close()
    minutes = None if run["seconds_to_pass"] is None else run["seconds_to_pass"] / 60
    print(f"   → {'not reached within the cap' if minutes is None else f'{minutes:.2f} min'} "
          f"({run['iterations_to_pass'] or run['iterations']} iterations)")

    net, clf_card = load_classifier()
    _, test = split_indices(len(mnist), 0.1, clf_card["seed"])
    accuracy = classifier_accuracy(net, mnist.images[test], mnist.labels[test])
    noise = np.random.default_rng(0).random((500, 1, 28, 28), dtype=np.float32)
    gan = load_trainer(DCGAN_PATH, mnist.images, device="cpu")
    score = classifier_score(gan.generate(1000, seed=11))
    gan.close()
    print(f"\n4. Shipped classifier: held-out accuracy {accuracy:.3f} on {len(test)} images "
          f"(card {clf_card['metrics']['test_accuracy']:.3f}); confident on real digits "
          f"{classifier_score(mnist.images[test], net)['confident']:.3f}, on uniform noise "
          f"{classifier_score(noise, net)['confident']:.3f}")
    print(f"   Shipped DCGAN ({card['iterations']} iterations): confident {score['confident']:.3f}, "
          f"balance {score['balance']:.2f}, classes {score['classes']}")

    print("\nTargets")
    for name, ok, value in (
        ("2-D iterations/s ≥ 300", results["2d"] >= 300, f"{results['2d']:.0f}"),
        ("minutes to classifier pass ≤ 5", minutes is not None and minutes <= 5,
         "—" if minutes is None else f"{minutes:.2f}"),
        ("classifier accuracy ≥ 0.95", accuracy >= 0.95, f"{accuracy:.3f}"),
        ("shipped DCGAN passes (≥ 0.70 confident)", score["confident"] >= 0.7, f"{score['confident']:.3f}"),
    ):
        print(f"   {'PASS' if ok else 'FAIL'}  {name:42s} {value}")


if __name__ == "__main__":
    if "--ui" in sys.argv:
        print(f"{cpu_model()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        ui_frame_rate()
    else:
        main()
        ui_frame_rate()
