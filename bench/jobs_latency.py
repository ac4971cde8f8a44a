"""Word-query latency while training jobs run: does interactive work stay fast? (issue 13, point 5)

One "word query" is the engine work of the words page's answer to an expression (pages/words.py answers()):
parse_expression, 3CosAdd and 3CosMul top 10 and the top 8 for the picture over all 400k GloVe 6B 50d words
(the page's default vocabulary, loaded as the page loads it), and the picture's PCA. Queries run back to back
in the main thread (a request's thread: normal priority) with 0 or 2 real trainers running in their worker
threads: two of the GAN page's image-view trainers (the shipped MNIST DCGAN, as two students would train it),
each holding one of engine.jobs.SLOTS. Two pairs are built: one pair's workers at nice 0 (LATENTLAB_JOB_NICE=0,
as before) and one at engine.jobs.JOB_NICE (the default); a worker's niceness is set as its thread starts and
cannot be lowered again. The three configurations — 0 jobs, 2 at nice 0, 2 at the default — take turns in
blocks of BLOCK queries (a pair resumed, WARMUP_SECONDS, the block, the pair paused), so a machine whose other
load drifts weighs on all three alike. A run is `--queries` queries of each configuration; the table gives the
median over `--runs` runs of each run's p50 and p95, and the trainers' speed while timed (are they still
training?). Goal: p95 with 2 jobs within 1.5× of 0 jobs.

Run from the repository root: `.venv/bin/python bench/jobs_latency.py [--runs 5] [--queries 200]` (about 10
minutes on 2 quiet cores).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import cpu_model  # noqa: E402

EXPRESSIONS = ["king - man + woman", "man : king :: woman : queen", "paris - france + italy", "walking - walk + swim",
               "0.5*hot + 0.5*cold", "einstein - scientist + painter", "japan", "berlin - germany + spain",
               "good : better :: bad : worse", "brother - man + woman"]
BLOCK = 20  # queries timed in one go before the configuration changes
WARMUP_SECONDS = 1.0  # a resumed pair trains this long before its block is timed


def page_query(wv, text: str) -> None:
    """The engine calls behind one answer of the words page (no expected-word rank: none asked)."""
    from engine.words.files import parse_expression
    from engine.words.vectors import pca_plane

    terms, _ = parse_expression(text)
    restrict = len(wv)
    for method in ("3cosadd", "3cosmul"):
        wv.query(terms, 10, method, True, restrict)
    first = wv.query(terms, 8, "3cosadd", True, restrict)
    words = list(dict.fromkeys([wv.words[wv.lookup(w)] for _, w in terms] + [w for w, _ in first]))
    pca_plane(np.vstack([wv.vectors[[wv.lookup(w) for w in words]], wv.combine(terms)]))


def latencies(wv, queries: int, first: int = 0) -> list[float]:
    times = []
    for i in range(first, first + queries):
        start = time.perf_counter()
        page_query(wv, EXPRESSIONS[i % len(EXPRESSIONS)])
        times.append(time.perf_counter() - start)
    return times


class Pair:
    """Two paused DCGAN trainers whose worker threads run at niceness +`nice`; resumed and paused together."""

    def __init__(self, nice: int):
        from engine import jobs
        from engine.gan.trainer import load_trainer

        self.trainers = [load_trainer(), load_trainer()]
        before = set(threading.enumerate())
        jobs.JOB_NICE = nice  # read by each worker thread as it starts: the first start makes the thread
        for t in self.trainers:
            t.start()
            t.pause()
        workers = [w for w in set(threading.enumerate()) - before if w.name == "latentlab-gan"]
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        while any(os.getpriority(os.PRIO_PROCESS, w.native_id) != min(19, mine + nice) for w in workers):
            time.sleep(0.01)  # each worker sets its niceness as it starts: before JOB_NICE changes again
        assert len(workers) == 2, workers
        self.iterations, self.seconds = 0, 0.0

    def block(self, wv, queries: int, first: int) -> list[float]:
        for t in self.trainers:
            t.start()
        if any(t.snapshot().state != "running" for t in self.trainers):
            raise RuntimeError("a trainer did not get a training slot: is another job running?")
        time.sleep(WARMUP_SECONDS)
        before, start = sum(t.snapshot().iterations for t in self.trainers), time.perf_counter()
        times = latencies(wv, queries, first)
        self.seconds += time.perf_counter() - start
        self.iterations += sum(t.snapshot().iterations for t in self.trainers) - before
        for t in self.trainers:
            t.pause()
        return times

    def rate(self) -> float:
        """Iterations per second of the two together while their blocks were timed; reset."""
        rate = self.iterations / self.seconds if self.seconds else 0.0
        self.iterations, self.seconds = 0, 0.0
        return rate

    def close(self) -> None:
        for t in self.trainers:
            t.close()


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200, help="queries of each configuration in a run")
    args = parser.parse_args()

    import torch

    from engine import jobs
    from engine.device import configure_threads
    from engine.words.vectors import glove_6b_50d

    threads, default_nice = configure_threads(), jobs.JOB_NICE
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"torch {torch.__version__}, {threads} intra-op thread(s); {jobs.SLOTS.size} training slots")
    print(f"load before: {uptime()}")
    wv = glove_6b_50d()
    latencies(wv, 20)  # warm caches (the vocabulary's norms, the first BLAS calls)
    pairs = {0: Pair(0), default_nice: Pair(default_nice)}
    names = {None: "0 jobs", 0: "2 jobs, workers at nice 0", default_nice: f"2 jobs, workers at nice +{default_nice}"}
    results: dict = {name: [] for name in names.values()}
    try:
        for run in range(args.runs):
            times: dict = {key: [] for key in names}
            for first in range(0, args.queries, BLOCK):
                n = min(BLOCK, args.queries - first)
                times[None] += latencies(wv, n, first)
                for nice, pair in pairs.items():
                    times[nice] += pair.block(wv, n, first)
            for key, name in names.items():
                p50, p95 = percentiles(times[key])
                rate = pairs[key].rate() if key is not None else None
                results[name].append({"p50": p50, "p95": p95, "rate": rate})
                print(f"run {run + 1}/{args.runs} · {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms"
                      + (f"; the two DCGANs {rate:.1f} it/s together" if rate is not None else ""), flush=True)
    finally:
        for pair in pairs.values():
            pair.close()
    print(f"load after: {uptime()}")

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    base = med("0 jobs", "p95")
    print(f"\nword query over 400k GloVe words, {args.queries} queries a configuration and run, median of {args.runs} runs")
    print("| jobs running | p50 | p95 | p95 / p95 with 0 jobs | the 2 DCGANs' it/s while timed |")
    print("|---|---|---|---|---|")
    for key, name in names.items():
        speed = f"{med(name, 'rate'):.1f}" if key is not None else "–"
        print(f"| {name} | {med(name, 'p50'):.1f} ms | {med(name, 'p95'):.1f} ms | "
              f"{med(name, 'p95') / base:.2f}× (goal ≤ 1.5×) | {speed} |")


if __name__ == "__main__":
    main()
