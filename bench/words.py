"""Word-algebra benchmark: our engine.words.vectors / engine.words.word2vec against gensim, in one run on this machine.

Prints
  1. the full questions-words evaluation (3CosAdd) at restrict_vocab 30 000 and 400 000: seconds and accuracy,
     ours (batched matrix-matrix) vs gensim's evaluate_word_analogies — targets: identical accuracy, ≥ 10× faster
     at the full vocabulary;
  2. single-query latency (king − man + woman over 400k words), median of 50 — target ≤ 1.0× gensim;
  3. word2vec words/second, skip-gram, one thread each, on gensim's lee_background corpus — target ≥ 0.25×,
     and both models' neighbours for a few probe words.

Run from the repository root: `.venv/bin/python bench/words.py` (about 3 minutes on 2 cores).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import cpu_model  # noqa: E402


def timed(fn, repeat=1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    import torch
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    from engine.device import configure_threads
    from engine.words.word2vec import Word2VecConfig, tokenize, train_word2vec
    from engine.words.vectors import analogy_total, evaluate_analogies, glove_6b_50d, read_analogy_questions

    threads = configure_threads(1)
    print(f"Latent Lab words benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {cpu_model()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__} with {threads} thread, load {os.getloadavg()[0]:.1f}")
    load_s, wv = timed(glove_6b_50d)
    kv = KeyedVectors(wv.dim)
    kv.add_vectors(wv.words, wv.vectors)
    kv.fill_norms()
    print(f"GloVe 6B 50d: {len(wv):,} words loaded in {load_s:.2f} s\n")

    path = datapath("questions-words.txt")
    sections = read_analogy_questions(path)
    print("1. questions-words, 3CosAdd            ours: s   acc          gensim: s   acc          speed-up")
    for restrict in (30_000, 400_000):
        ours_s, ours = timed(lambda: evaluate_analogies(wv, sections, restrict_vocab=restrict))
        theirs_s, (theirs_acc, theirs_sections) = timed(lambda: kv.evaluate_word_analogies(path, restrict_vocab=restrict))
        ours_total = analogy_total(ours)
        correct, total = ours_total.correct, ours_total.total
        t_total = theirs_sections[-1]
        t_correct, t_n = len(t_total["correct"]), len(t_total["correct"]) + len(t_total["incorrect"])
        same = "identical" if (correct, total) == (t_correct, t_n) else "DIFFERENT"
        print(f"   restrict_vocab {restrict:>7,}    {ours_s:8.2f}  {correct}/{total} {correct / total:.2%}   "
              f"{theirs_s:8.2f}  {t_correct}/{t_n} {t_correct / t_n:.2%}   {theirs_s / ours_s:6.1f}×  ({same})")

    ours_q, _ = timed(lambda: wv.analogy("man", "king", "woman", topn=10), repeat=50)
    theirs_q, _ = timed(lambda: kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10), repeat=50)
    print(f"\n2. one analogy over 400k words: ours {ours_q * 1e3:.2f} ms, gensim {theirs_q * 1e3:.2f} ms, "
          f"ratio {ours_q / theirs_q:.2f}× (target ≤ 1.0×)")

    sentences = tokenize(open(datapath("lee_background.cor"), encoding="utf-8").read())
    tokens = sum(map(len, sentences))
    print(f"\n3. word2vec skip-gram, lee_background ({tokens:,} tokens), 5 epochs, dim 50, window 5, 1 thread")
    rates, models = {}, {}
    for backend in ("torch", "gensim"):
        seconds, models[backend] = timed(lambda: train_word2vec(sentences, Word2VecConfig(backend=backend, epochs=5)))
        rates[backend] = tokens * 5 / seconds
        print(f"   {backend:6s} {seconds:6.1f} s  {rates[backend]:>10,.0f} words/s")
    print(f"   ratio torch / gensim: {rates['torch'] / rates['gensim']:.2f}× (target ≥ 0.25×)")
    for probe in ("government", "police", "australia", "fire"):
        for backend, model in models.items():
            print(f"   {probe:11s} {backend:6s} " + ", ".join(w for w, _ in model.neighbours(probe, topn=6)))


if __name__ == "__main__":
    main()
