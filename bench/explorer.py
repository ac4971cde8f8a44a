"""Explorer benchmark: how fast and how good Latent Lab's maps are, and how fast a shipped map opens.

On this machine's CPU it measures
  1. a conv AE (code 32) against PCA-32 on MNIST: training seconds, test MSE and their ratio;
  2. projection seconds of 2k / 5k / 20k codes of that AE: PCA, t-SNE and UMAP through engine.latent.projection,
     openTSNE with the other gradient method (BH <-> FFT), and scikit-learn's TSNE as the peer;
  3. map quality on 5k codes: kNN label accuracy and trustworthiness (k = 10);
  4. the time from nothing to "figure data ready" for checkpoints/mnist-conv-16 (fresh process, so imports
     count; median of 3);
  4b. a moving t-SNE / UMAP map of 20k codes: seconds to its first optimised layout (the PCA start is shown at once);
  5. the cold open a student sees: `streamlit run app.py` launched → server answers → /explorer's map drawn in
     headless Chromium (warm-up off, so the first visitor pays for everything; median of 3);
  6. a PASS/FAIL table of the performance targets.

Run from the repository root (nothing is downloaded):

    .venv/bin/python bench/explorer.py            # about 10 minutes on 2 cores
    .venv/bin/python bench/explorer.py --quick    # about 3-4 minutes: 1 warm UMAP run, no t-SNE on 20k
                                                  # codes, no openTSNE fits with the other gradient method
    .venv/bin/python bench/explorer.py --moving      # section 4b alone (about 2 minutes)
    .venv/bin/python bench/explorer.py --cold-open   # section 5 alone (about 1 minute)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import cpu_model  # noqa: E402
SHIPPED = ROOT / "checkpoints" / "mnist-conv-16.safetensors"
SIZES = (2_000, 5_000, 20_000)
GRID = 28  # the explorer page decodes a GRID × GRID grid over the map before drawing it


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out




def fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


# --------------------------------------------------------------------------- 1. conv AE vs PCA


def train_conv_ae(data, threads: int) -> tuple[object, dict]:
    from engine.latent.evaluate import compare_with_pca, pca_mse
    from engine.latent.models import AEConfig, Autoencoder
    from engine.latent.train import TrainConfig

    model = Autoencoder(AEConfig(kind="conv", code_size=32))
    config = TrainConfig(epochs=60, lr=2e-3, batch_size=64, max_seconds=30, seed=0, device="cpu", threads=threads)
    result = model.fit(data.images, config)
    scores = compare_with_pca(model, data.images, result.train_index, result.val_index)
    pca_seconds, _ = timed(pca_mse, data.images[result.train_index], data.images[result.val_index], 32)
    scores.update(seconds=result.seconds, epochs=result.epochs_done, pca_seconds=pca_seconds)
    print(f"\n1. Conv AE (code 32) vs PCA-32 on {data.source}")
    print(f"   {len(result.train_index)} train / {len(result.val_index)} held-out test images (engine split, 10 %)")
    print(f"   {'':28s}{'conv AE':>12s}{'PCA-32':>12s}{'AE / PCA':>10s}")
    print(f"   {'seconds (train / fit)':28s}{scores['seconds']:12.1f}{pca_seconds:12.2f}"
          f"{ratio(scores['seconds'], pca_seconds):>10s}")
    print(f"   {'test MSE per pixel':28s}{scores['test_mse']:12.5f}{scores['pca_test_mse']:12.5f}"
          f"{scores['mse_ratio_vs_pca']:9.3f}×")
    print(f"   epochs done: {result.epochs_done} of 60" + (" (stopped at the 30 s cap)" if result.stopped else ""))
    return model, scores


# --------------------------------------------------------------------------- 2. + 3. projections


def codes_20k(model, codes5k: np.ndarray, mnist) -> tuple[np.ndarray, str]:
    """20 000 codes: real images when there are that many, else 4 jittered copies of the 5k MNIST codes."""
    from engine.data import DatasetUnavailable, load_dataset

    if len(mnist) >= 20_000:
        return model.encode(mnist.images[:20_000]), "MNIST (first 20k of the full set)"
    try:
        fashion = load_dataset("fashion", limit=20_000)
        return model.encode(fashion.images), "Fashion-MNIST (20k, encoded by the MNIST conv AE)"
    except DatasetUnavailable:
        pass
    rng = np.random.default_rng(0)
    sigma = 0.05 * codes5k.std(0)
    copies = [codes5k] + [codes5k + rng.normal(0, sigma, codes5k.shape).astype(np.float32) for _ in range(3)]
    return (np.concatenate(copies),
            "5k MNIST codes + 3 copies with Gaussian jitter (σ = 5 % of each code's std): no 20k offline set here")


def engine_map(codes: np.ndarray, method: str) -> tuple[float, np.ndarray]:
    """One fit through engine.latent.projection, with its in-process cache cleared so nothing is reused."""
    from engine.latent import projection

    projection._CACHE.clear()
    seconds, proj = timed(projection.project, codes, projection.ProjectionConfig(method=method))
    return seconds, proj.coords


def engine_tsne_method(n: int) -> str:
    return "bh" if n < 10_000 else "fft"  # the rule in engine.latent.projection._tsne


def opentsne_other(codes: np.ndarray) -> tuple[float, np.ndarray]:
    """openTSNE with the gradient method the engine does not pick at this size, otherwise the engine's settings."""
    from openTSNE import TSNE

    other = "fft" if engine_tsne_method(len(codes)) == "bh" else "bh"
    tsne = TSNE(n_components=2, perplexity=30.0, random_state=0, negative_gradient_method=other, n_jobs=1,
                verbose=False)
    seconds, coords = timed(tsne.fit, codes)
    return seconds, np.asarray(coords)


def sklearn_tsne(codes: np.ndarray) -> tuple[float, np.ndarray]:
    """The peer: scikit-learn's TSNE with default settings, on one thread like the engine's openTSNE."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return timed(TSNE(n_components=2, random_state=0, n_jobs=1).fit_transform, codes)


def projection_times(codes5k, codes20k, source20k, quick: bool) -> tuple[dict, dict]:
    """Seconds per (method, n) and the 5k coordinates of every method (for the quality table)."""
    sets = {2_000: codes5k[:2_000], 5_000: codes5k, 20_000: codes20k}
    warm_runs = 1 if quick else 3
    t: dict[tuple[str, int], float] = {}

    from engine.latent import projection

    import_seconds, _ = timed(__import__, "umap")
    warm_up_seconds, _ = timed(projection.warm_up)  # the app runs this in the background at page load
    # The first fit on 5k codes: UMAP switches from exact neighbours to NN-descent at 4 096 points, so this
    # shows whatever numba code the warm-up did not compile.
    t["umap-cold", 5_000], _ = engine_map(codes5k, "umap")
    for n, codes in sets.items():
        coords = {}
        t["pca", n], coords["pca"] = engine_map(codes, "pca")
        runs = [engine_map(codes, "umap") for _ in range(warm_runs)]
        t["umap", n], coords["umap"] = statistics.median(s for s, _ in runs), runs[0][1]
        if not (quick and n == 20_000):
            t["tsne", n], coords["tsne"] = engine_map(codes, "tsne")
            t["sklearn", n], coords["sklearn"] = sklearn_tsne(codes)
        if not quick:
            t["other", n], _ = opentsne_other(codes)
        if n == 5_000:
            coords5k = coords
        print(f"   … {n:,} codes done", flush=True)

    def row(name, key, ns=SIZES):
        cells = "".join(f"{fmt(t.get((key, n))):>10s}" for n in ns)
        print(f"   {name:44s}{cells}")

    def ratio_row(name, a, b):
        print(f"   {name:44s}" + "".join(f"{ratio(t.get((a, n)), t.get((b, n))):>10s}" for n in SIZES))

    methods = "|".join(engine_tsne_method(n) for n in SIZES)
    others = "|".join("fft" if engine_tsne_method(n) == "bh" else "bh" for n in SIZES)
    print(f"\n2. Projection seconds (one fit each unless noted; 20k: {source20k})")
    print(f"   {'method':44s}" + "".join(f"{n:>10,d}" for n in SIZES))
    row("PCA (engine)", "pca")
    row(f"t-SNE engine (openTSNE {methods}, 1 thread)", "tsne")
    row(f"openTSNE, other gradient ({others})", "other")
    row("sklearn TSNE, defaults, 1 thread (peer)", "sklearn")
    row(f"UMAP engine, warm (median of {warm_runs})", "umap")
    print(f"   {'UMAP engine, first fit after warm_up()':44s}{'':10s}{fmt(t['umap-cold', 5_000]):>10s}")
    print(f"   {'ratios':44s}")
    ratio_row("t-SNE engine / sklearn TSNE", "tsne", "sklearn")
    ratio_row("openTSNE other method / engine's choice", "other", "tsne")
    ratio_row("UMAP warm / t-SNE engine", "umap", "tsne")
    print(f"   {'UMAP first fit / warm fit':44s}{'':10s}{ratio(t['umap-cold', 5_000], t['umap', 5_000]):>10s}"
          f"   (before it: import umap {import_seconds:.1f} s, projection.warm_up() {warm_up_seconds:.1f} s)")
    if quick:
        print("   --quick: 1 warm UMAP run; no t-SNE on 20k codes; openTSNE's other gradient method not run")
    return t, coords5k


def quality(codes5k, labels5k, coords5k) -> None:
    from engine.latent.projection import knn_accuracy, trustworthiness

    names = {"pca": "PCA", "tsne": "t-SNE engine", "umap": "UMAP engine", "sklearn": "sklearn TSNE (peer)"}
    peer = coords5k.get("sklearn")
    peer_knn = knn_accuracy(peer, labels5k) if peer is not None else None
    peer_tw = trustworthiness(codes5k, peer) if peer is not None else None
    print("\n3. Map quality on 5 000 MNIST codes (k = 10; trustworthiness on a 3 000-point sample)")
    print(f"   {'map':28s}{'kNN acc':>10s}{'vs peer':>10s}{'trust':>10s}{'vs peer':>10s}")
    print(f"   {'32-d codes, no map':28s}{knn_accuracy(codes5k, labels5k):10.3f}{'':10s}{1.0:10.3f}")
    for key, name in names.items():
        if key not in coords5k:
            continue
        knn, tw = knn_accuracy(coords5k[key], labels5k), trustworthiness(codes5k, coords5k[key])
        print(f"   {name:28s}{knn:10.3f}{ratio(knn, peer_knn):>10s}{tw:10.3f}{ratio(tw, peer_tw):>10s}")


# --------------------------------------------------------------------------- 4. shipped map


def open_shipped(path: str, launched: float) -> None:
    """Child process: what the explorer page does before it can draw a shipped map; prints step times as JSON.

    `launched` is the parent's time.time() just before it started this process, so interpreter start counts.
    """
    steps, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        steps[name] = time.perf_counter() - t0
        t0 = time.perf_counter()

    from engine.latent import projection
    from engine.latent.checkpoints import load_checkpoint, load_maps
    from engine.data import load_dataset
    lap("imports (engine, torch, safetensors)")
    model, card = load_checkpoint(path)
    lap("load checkpoint")
    data = load_dataset(card.dataset, **card.dataset_options)
    lap("load dataset")
    codes = model.encode(data.images)
    lap("encode")
    maps, info = load_maps(path)
    method = "code" if "code" in maps else "pca"  # the page's default map
    proj = projection.from_shipped(maps, info, codes, projection.fingerprint(data.images[: info["points"]]),
                                   projection.ProjectionConfig(method=method)) if maps else None
    match = proj is not None
    lap("load maps + fingerprint check")
    ready = time.time() - launched
    # What the page also computes before its first draw: reconstructions (for hover) and the decode grid.
    model.decode(codes)
    lap("+ decode the codes (hover reconstructions)")
    if proj is not None:
        lo, hi = proj.coords.min(0), proj.coords.max(0)
        points = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)), -1)
        model.decode(proj.inverse(points.reshape(-1, 2)))
    lap(f"+ decode-anywhere grid ({GRID}×{GRID})")
    print(json.dumps({"steps": steps, "ready": ready, "page": time.time() - launched, "match": match,
                      "methods": sorted(maps)}))


def shipped_open_time(runs: int = 3) -> dict | None:
    if not SHIPPED.exists():
        print(f"\n4. Shipped map: {SHIPPED.relative_to(ROOT)} not found (run `make checkpoints`): skipped")
        return None
    reports = []
    for _ in range(runs):
        command = [sys.executable, __file__, "--open-shipped", str(SHIPPED), str(time.time())]
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print(f"\n4. Opening {SHIPPED.name} failed:\n{out.stderr[-2000:]}")
            return {"seconds": float("nan"), "match": False}
        reports.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ready = statistics.median(r["ready"] for r in reports)
    page = statistics.median(r["page"] for r in reports)
    print(f"\n4. Open the shipped map {SHIPPED.name}: fresh process, torch's default threads as in the app, "
          f"median of {runs}")
    for step in reports[0]["steps"]:
        print(f"   {step:40s}{statistics.median(r['steps'][step] for r in reports):8.2f} s")
    print(f"   {'figure data ready, from process launch':40s}{ready:8.2f} s   "
          "(runs: " + ", ".join(f"{r['ready']:.2f}" for r in reports) + ")")
    print(f"   {'… with the two extra page steps':40s}{page:8.2f} s")
    match = all(r["match"] for r in reports)
    print(f"   maps in the file: {', '.join(reports[0]['methods']) or 'none'}; codes fingerprint "
          + ("matches: the page shows the shipped map" if match else "DOES NOT MATCH: the page would recompute it"))
    return {"seconds": ready, "match": match}


# --------------------------------------------------------------------------- 4b. a map that moves


def first_frame_times(codes: np.ndarray, source: str, runs: int = 3) -> dict:
    """Seconds from starting a LayoutJob (as the explorer does, job thread at the jobs' lower priority) to its first
    optimised layout on the page's snapshot, stopped right after; median of `runs` per method. The job shows the
    codes' PCA from the start."""
    from engine.jobs import wait_for
    from engine.latent.layout import LayoutJob
    from engine.latent.projection import ProjectionConfig

    print(f"\n4b. Moving map: start → first optimised layout for {len(codes):,} codes ({source}); "
          f"job thread as in the app; median of {runs}")
    result = {}
    for method in ("tsne", "umap"):
        times = []
        for seed in range(runs):
            job = LayoutJob(codes, ProjectionConfig(method=method, seed=100 + seed)).start()  # not the cached seed
            while job.snapshot().first_frame_seconds is None and not job.snapshot().finished:
                time.sleep(0.01)
            times.append(job.snapshot().first_frame_seconds)
            job.stop()
            wait_for(job, 600)
        result[method] = statistics.median(times)
        name = "t-SNE (openTSNE)" if method == "tsne" else "UMAP (umap-learn)"
        print(f"   {name:40s}{result[method]:8.2f} s   (runs: " + ", ".join(f"{t:.2f}" for t in times) + ")")
    return result


def shipped_codes_20k() -> tuple[np.ndarray, str]:
    """20k codes for --moving: Fashion-MNIST through its shipped conv AE, else the shipped MNIST model's codes."""
    from engine.data import DatasetUnavailable, load_dataset
    from engine.latent.checkpoints import load_checkpoint

    try:
        model, _ = load_checkpoint(ROOT / "checkpoints" / "fashion-conv-16.safetensors")
        return model.encode(load_dataset("fashion", limit=20_000).images), "Fashion-MNIST, shipped conv AE"
    except DatasetUnavailable:
        model, _ = load_checkpoint(SHIPPED)
        mnist = load_dataset("mnist")
        return codes_20k(model, model.encode(mnist.images), mnist)


# --------------------------------------------------------------------------- 5. cold open in a browser


def cold_open_once(browser, map_drawn: str) -> dict:
    """Launch a fresh server (warm-up off) and open /explorer in a new browser context; seconds from the launch."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    launched = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "LATENTLAB_WARMUP": "0"}, start_new_session=True)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        answers = time.monotonic() - launched
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.new_page().goto(f"http://127.0.0.1:{port}/explorer")
        context.pages[0].wait_for_function(map_drawn, arg=2, timeout=300_000, polling=50)
        drawn = time.monotonic() - launched
        context.close()
        return {"answers": answers, "map": drawn}
    finally:
        os.killpg(server.pid, 15)
        server.wait()


def cold_open_time(runs: int = 3) -> dict | None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM_ARGS, chromium_path
    from test_browser import MAP_READY  # what the browser tests wait for: the map's data drawn by Plotly

    if chromium_path() is None:
        print("\n5. Cold open in a browser: Chromium not found (apt-get install chromium): skipped")
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        reports = [cold_open_once(browser, MAP_READY) for _ in range(runs)]
        browser.close()
    answers, drawn = (statistics.median(r[k] for r in reports) for k in ("answers", "map"))
    print(f"\n5. Cold open in a browser: launch `streamlit run app.py` (warm-up off), open /explorer in Chromium; "
          f"median of {runs}, load average {os.getloadavg()[0]:.1f}")
    print(f"   {'server answers /_stcore/health':40s}{answers:8.2f} s   (runs: "
          + ", ".join(f"{r['answers']:.2f}" for r in reports) + ")")
    print(f"   {'map drawn on the page':40s}{drawn:8.2f} s   (runs: "
          + ", ".join(f"{r['map']:.2f}" for r in reports) + ")")
    return {"seconds": drawn}


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 warm UMAP run; no 20k t-SNE, no other-method openTSNE")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the engine's choice)")
    parser.add_argument("--moving", action="store_true", help="only section 4b: first frame of a moving 20k map")
    parser.add_argument("--cold-open", action="store_true", help="only section 5: server start → map in Chromium")
    parser.add_argument("--open-shipped", nargs=2, metavar=("CHECKPOINT", "LAUNCHED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open_shipped:
        open_shipped(args.open_shipped[0], float(args.open_shipped[1]))
        return 0
    if args.moving:
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        first_frame_times(*shipped_codes_20k())
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return 0
    if args.cold_open:
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        cold_open_time()
        return 0

    import sklearn
    import torch

    from engine.data import load_dataset
    from engine.device import configure_threads

    warnings.filterwarnings("ignore", category=UserWarning)  # UMAP: "n_jobs overridden by random_state"
    warnings.filterwarnings("ignore", category=FutureWarning)
    threads = configure_threads(args.threads)
    start = time.perf_counter()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"Latent Lab explorer benchmark{' (--quick)' if args.quick else ''}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores ({affinity} usable), load average "
          f"{os.getloadavg()[0]:.1f} at start")
    print(f"torch {torch.__version__} on CPU with {threads} thread{'s' * (threads > 1)} "
          f"(engine.device.configure_threads), numpy {np.__version__}, scikit-learn {sklearn.__version__}")

    mnist_all = load_dataset("mnist")
    mnist = mnist_all if len(mnist_all) <= 5_000 else load_dataset("mnist", limit=5_000)
    model, ae = train_conv_ae(mnist, threads)
    codes5k = model.encode(mnist.images)
    codes20k, source20k = codes_20k(model, codes5k, mnist_all)

    times, coords5k = projection_times(codes5k, codes20k, source20k, args.quick)
    quality(codes5k, mnist.labels, coords5k)
    shipped = shipped_open_time()
    moving = first_frame_times(codes20k, source20k)
    cold = cold_open_time()

    print("\n6. Targets")
    rows = [
        ("shipped map opens < 3 s", None if shipped is None else f"{shipped['seconds']:.2f} s",
         None if shipped is None else shipped["seconds"] < 3 and shipped["match"]),
        ("server start → map in Chromium < 5 s", None if cold is None else f"{cold['seconds']:.2f} s",
         None if cold is None else cold["seconds"] < 5),
        ("t-SNE 20k: first moving frame < 3 s", f"{moving['tsne']:.2f} s", moving["tsne"] < 3),
        ("UMAP 20k: first moving frame < 3 s", f"{moving['umap']:.2f} s", moving["umap"] < 3),
        ("UMAP 5k warm < 5 s", f"{times['umap', 5_000]:.2f} s", times["umap", 5_000] < 5),
        ("UMAP 20k warm < 10 s", f"{times['umap', 20_000]:.2f} s", times["umap", 20_000] < 10),
        ("conv AE test MSE ≤ 0.45 × PCA-32 in 30 s", f"{ae['mse_ratio_vs_pca']:.3f} × in {ae['seconds']:.1f} s",
         ae["mse_ratio_vs_pca"] <= 0.45 and ae["seconds"] <= 31),
    ]
    for name, value, ok in rows:
        verdict = "n/a" if ok is None else "PASS" if ok else "FAIL"
        print(f"   {name:44s}{value or 'not measured':>22s}  {verdict}")
    load = os.getloadavg()[0]
    busy = " (above the core count: other processes shared the CPU; these timings are pessimistic)"
    print(f"\nTotal {time.perf_counter() - start:.0f} s; load average {load:.1f} at the end"
          + (busy if load > (os.cpu_count() or 1) else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
