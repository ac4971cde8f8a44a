"""Train word vectors: word2vec skip-gram or CBOW with negative sampling, in PyTorch or with gensim.

Lecture: the distributional hypothesis — similar contexts, similar meaning. Skip-gram predicts the context
from a word, CBOW the word from its context; negative sampling replaces the softmax over the vocabulary:
L = −log σ(u_o·v_c) − Σ_k log σ(−u_k·v_c), with k noise words drawn from the unigram distribution^0.75.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.words import WordVectors


@dataclass
class Word2VecConfig:
    model: str = "skipgram"  # "skipgram" or "cbow"
    backend: str = "torch"  # "torch" (the lecture's model, visible) or "gensim" (fast)
    dim: int = 50
    window: int = 5
    negative: int = 5
    min_count: int = 5
    sample: float = 1e-3  # subsampling of frequent words (Mikolov et al. 2013)
    epochs: int = 3
    lr: float = 0.01
    batch_size: int = 2048
    seed: int = 0
    device: str | None = None

    def validate(self) -> None:
        if self.model not in ("skipgram", "cbow") or self.backend not in ("torch", "gensim"):
            raise ValueError("model is skipgram or cbow; backend is torch or gensim.")
        for name, low, high in (("dim", 2, 1000), ("window", 1, 50), ("negative", 1, 50), ("min_count", 1, 10**9),
                                ("epochs", 1, 1000), ("batch_size", 1, 10**6)):
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be between {low} and {high}.")
        if not 0 < self.lr <= 1 or self.sample < 0:
            raise ValueError("lr must be in (0, 1] and sample ≥ 0.")


@dataclass
class Word2VecProgress:
    epoch: int
    epochs: int
    words_done: int
    words_total: int
    loss: float | None  # torch backend only
    words_per_second: float


def tokenize(text: str) -> list[list[str]]:
    """Lower-case word tokens, one sentence per non-empty line."""
    return [s for s in (re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", line.lower()) for line in text.splitlines()) if s]


def build_vocab(sentences: list[list[str]], min_count: int) -> tuple[list[str], np.ndarray]:
    """Words seen at least min_count times, most frequent first, and their counts."""
    counts = Counter(w for s in sentences for w in s)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not kept:
        top = max(counts.values()) if counts else 0
        raise ValueError(f"No word occurs {min_count} times (the most frequent occurs {top} times): "
                         "lower min_count or use a larger corpus.")
    return kept, np.array([counts[w] for w in kept], np.int64)


def train_word2vec(sentences: list[list[str]], config: Word2VecConfig,
                   on_progress: Callable[[Word2VecProgress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> WordVectors:
    """Vocabulary, then training with the chosen backend; returns the input vectors as WordVectors."""
    config.validate()
    words, counts = build_vocab(sentences, config.min_count)
    train = _train_gensim if config.backend == "gensim" else _train_torch
    vectors = train(sentences, words, counts, config, on_progress, should_stop)
    return WordVectors(words, vectors, f"word2vec {config.model} ({config.backend}), {len(words):,} words × {config.dim}")


def _train_gensim(sentences, words, counts, config, on_progress, should_stop) -> np.ndarray:
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=config.dim, window=config.window, min_count=config.min_count,
                     sg=int(config.model == "skipgram"), negative=config.negative, sample=config.sample,
                     seed=config.seed, workers=1)
    model.build_vocab(sentences)
    total = sum(len(s) for s in sentences)
    start, alpha = time.perf_counter(), model.alpha
    for epoch in range(config.epochs):  # one epoch per call, so progress and stop work between epochs
        if should_stop and should_stop():
            break
        a0 = alpha - (alpha - model.min_alpha) * epoch / config.epochs
        a1 = alpha - (alpha - model.min_alpha) * (epoch + 1) / config.epochs
        model.train(sentences, total_examples=len(sentences), epochs=1, start_alpha=a0, end_alpha=a1)
        if on_progress:
            seconds = time.perf_counter() - start
            done = total * (epoch + 1)
            on_progress(Word2VecProgress(epoch + 1, config.epochs, done, total * config.epochs, None, done / seconds))
    return np.stack([model.wv[w] for w in words])


def _train_torch(sentences, words, counts, config, on_progress, should_stop) -> np.ndarray:
    import torch

    from engine.device import configure_threads, pick_device

    device = pick_device(config.device)
    if device.type == "cpu":
        configure_threads()
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([index[w] for s in sentences for w in s if w in index], np.int64)
    V, d = len(words), config.dim
    v_in = torch.nn.Embedding(V, d, sparse=True).to(device)
    u_out = torch.nn.Embedding(V, d, sparse=True).to(device)
    torch.nn.init.uniform_(v_in.weight, -0.5 / d, 0.5 / d)
    torch.nn.init.zeros_(u_out.weight)
    optimizer = torch.optim.SparseAdam(list(v_in.parameters()) + list(u_out.parameters()), lr=config.lr)
    noise = torch.as_tensor(counts.astype(np.float64) ** 0.75, device=device)
    freq = counts / counts.sum()
    keep = np.minimum(1.0, (np.sqrt(freq / config.sample) + 1) * config.sample / freq) if config.sample > 0 else None
    start, done = time.perf_counter(), 0
    for epoch in range(config.epochs):
        tokens = ids[rng.random(len(ids)) < keep[ids]] if keep is not None else ids
        centers, contexts = _examples(tokens, config.window, config.model, rng)
        order = rng.permutation(len(centers))
        for b in range(0, len(order), config.batch_size):
            if should_stop and should_stop():
                return v_in.weight.detach().cpu().numpy()
            pick = order[b : b + config.batch_size]
            c = torch.as_tensor(centers[pick], device=device)
            ctx = torch.as_tensor(contexts[pick], device=device)
            negatives = torch.multinomial(noise, len(pick) * config.negative, replacement=True).view(len(pick), -1)
            if config.model == "skipgram":  # predict the context word from the centre word
                h, target = v_in(c), u_out(ctx)
            else:  # CBOW: mean of the context words predicts the centre word (contexts: -1 = padding)
                mask = (ctx >= 0).float()
                h = (v_in(ctx.clamp(min=0)) * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                target = u_out(c)
            positive = torch.nn.functional.logsigmoid((h * target).sum(-1))
            negative = torch.nn.functional.logsigmoid(-(u_out(negatives) @ h[..., None]).squeeze(-1)).sum(-1)
            loss = -(positive + negative).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += len(pick) if config.model == "cbow" else len(pick) / (2 * config.window) * 2
            if on_progress and (b // config.batch_size) % 20 == 0:
                seconds = time.perf_counter() - start
                on_progress(Word2VecProgress(epoch + 1, config.epochs, int(done), len(ids) * config.epochs,
                                             loss.item(), done / max(seconds, 1e-9)))
    return v_in.weight.detach().cpu().numpy()


def _examples(tokens: np.ndarray, window: int, model: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """Training examples with word2vec's dynamic window (each centre draws its own reach 1..window).

    skipgram: (centre, one context word) pairs; cbow: (centre, the 2·window context slots, −1 where empty).
    """
    n = len(tokens)
    reach = rng.integers(1, window + 1, n)
    if model == "skipgram":
        centers, contexts = [], []
        for offset in range(1, window + 1):
            for sign in (-1, 1):
                pos = np.arange(n)
                other = pos + sign * offset
                ok = (other >= 0) & (other < n) & (reach >= offset)
                centers.append(tokens[pos[ok]])
                contexts.append(tokens[other[ok]])
        return np.concatenate(centers), np.concatenate(contexts)
    slots = np.full((n, 2 * window), -1, np.int64)
    for j, offset in enumerate([o for o in range(-window, window + 1) if o]):
        pos = np.arange(n)
        other = pos + offset
        ok = (other >= 0) & (other < n) & (reach >= abs(offset))
        slots[pos[ok], j] = tokens[other[ok]]
    has_context = (slots >= 0).any(1)
    return tokens[has_context], slots[has_context]
