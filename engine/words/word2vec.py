"""Train word vectors: word2vec skip-gram or CBOW with negative sampling, in PyTorch or with gensim.

Lecture: the distributional hypothesis — similar contexts, similar meaning. Skip-gram predicts the context
from a word, CBOW the word from its context; negative sampling replaces the softmax over the vocabulary:
L = −log σ(u_o·v_c) − Σ_k log σ(−u_k·v_c), with k noise words drawn from the unigram distribution^0.75.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.jobs import BackgroundJob, JobStatus
from engine.words.vectors import WordVectors

NOISE_TABLE_SIZE = 10**6  # entries of the unigram^0.75 noise table (word2vec's has 10^8)


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
    lr: float | None = None  # SGD step α at the start, decaying linearly to 0.0001·α; None: word2vec's default
    batch_size: int = 2048  # torch backend: examples per SGD step
    seed: int = 0
    device: str | None = None

    @property
    def alpha(self) -> float:
        """The starting SGD step: lr, else word2vec's 0.025 for skip-gram and 0.05 for CBOW."""
        return self.lr if self.lr is not None else 0.025 if self.model == "skipgram" else 0.05

    def validate(self) -> None:
        if self.model not in ("skipgram", "cbow") or self.backend not in ("torch", "gensim"):
            raise ValueError("model is skipgram or cbow; backend is torch or gensim.")
        for name, low, high in (("dim", 2, 1000), ("window", 1, 50), ("negative", 1, 50), ("min_count", 1, 10**9),
                                ("epochs", 1, 1000), ("batch_size", 1, 10**6)):
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be between {low} and {high}.")
        if not 0 < self.alpha <= 1 or self.sample < 0:
            raise ValueError("lr must be in (0, 1] and sample ≥ 0.")


@dataclass
class Word2VecProgress:
    epoch: int
    epochs: int
    words_done: int
    words_total: int
    loss: float | None  # torch backend only
    words_per_second: float
    current: Callable[[], WordVectors] | None = None  # the vectors so far, e.g. for neighbours while training


def tokenize(text: str) -> list[list[str]]:
    """Lower-case word tokens (letters and digits of any script, inner ' and - kept), one sentence per line."""
    word = r"[^\W_]+(?:['-][^\W_]+)*"
    return [s for s in (re.findall(word, line.lower()) for line in text.splitlines()) if s]


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
                     alpha=config.alpha, seed=config.seed, workers=1)
    model.build_vocab(sentences)
    total = sum(len(s) for s in sentences)
    start, alpha, min_alpha = time.perf_counter(), model.alpha, model.min_alpha  # train() overwrites both

    def vectors() -> np.ndarray:
        return np.stack([model.wv[w] for w in words])

    for epoch in range(config.epochs):  # one epoch per call, so progress and stop work between epochs
        if should_stop and should_stop():
            break
        a0 = alpha - (alpha - min_alpha) * epoch / config.epochs
        a1 = alpha - (alpha - min_alpha) * (epoch + 1) / config.epochs
        model.train(sentences, total_examples=len(sentences), epochs=1, start_alpha=a0, end_alpha=a1)
        if on_progress:
            seconds = time.perf_counter() - start
            done = total * (epoch + 1)
            on_progress(Word2VecProgress(epoch + 1, config.epochs, done, total * config.epochs, None, done / seconds,
                                         lambda: WordVectors(words, vectors())))
    return vectors()


def _train_torch(sentences, words, counts, config, on_progress, should_stop) -> np.ndarray:
    """word2vec's training loop in batches: plain SGD on L with hand-written gradients, no autograd.

    An example has an input vector h (skip-gram: the centre word's v; CBOW: the mean of its context words' v)
    and output vectors u_0 (the word to predict) and u_1..u_K (noise). With s_k = u_k·h, ∂L/∂s_k = σ(s_k) − y_k
    (y_0 = 1, else 0), so with g_k = α (y_k − σ(s_k)) the SGD step is u_k += g_k h and h += Σ_k g_k u_k
    (CBOW: every context word's v takes that whole step, as in word2vec). α decays linearly over all tokens.

    Batching: a batch's steps all start from the same vectors and are summed per word with index_add_. That
    matches one-at-a-time SGD only while a word's summed step is small against its curvature in the batch,
    C_w = Σ σ'(s)·|x|² over its entries (x: the vector its step is along, h for a u, u_k for an h). Past
    2α·C_w = 1 (u and h both move, so each may take half) the sum overshoots and diverges: a tiny vocabulary,
    or "the" drawn as noise hundreds of times. So each word's summed step is scaled by 1 / max(1, 2α·C_w);
    on an ordinary corpus that touches only the most frequent words (~2 % of skip-gram entries on lee_background).
    """
    import torch

    from engine.device import configure_threads, pick_device

    device = pick_device(config.device)
    if device.type == "cpu":
        configure_threads()
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator(device).manual_seed(config.seed)
    index = {w: i for i, w in enumerate(words)}
    encoded = [[index[w] for w in s if w in index] for s in sentences]
    ids = np.fromiter((i for s in encoded for i in s), np.int64)
    sentence = np.repeat(np.arange(len(encoded)), [len(s) for s in encoded])
    V, d, K, B = len(words), config.dim, config.negative, config.batch_size
    init = torch.rand(V, d, generator=torch.Generator().manual_seed(config.seed))
    v_in = ((init - 0.5) / d).to(device)  # word2vec's initialisation; the output vectors start at 0
    u_out = torch.zeros(V, d, device=device)
    table = torch.as_tensor(_unigram_table(counts), device=device)
    labels = torch.zeros(K + 1, 1, device=device)
    labels[0] = 1
    # reused for the (1 + K)·batch·d products: fresh temporaries that size cost more in page faults than in arithmetic
    work = torch.empty(2, (K + 1) * B * d, device=device)
    keep = _keep_probability(counts, config.sample)
    total = sum(map(len, sentences))  # corpus tokens, out-of-vocabulary ones included, as gensim counts them
    start = time.perf_counter()
    with torch.no_grad():
        for epoch in range(config.epochs):
            kept = rng.random(len(ids)) < keep[ids]
            centers, contexts = _examples(ids[kept], sentence[kept], config.window, config.model, rng)
            order = rng.permutation(len(centers))
            centers = torch.as_tensor(centers[order], device=device)
            contexts = torch.as_tensor(contexts[order], device=device)
            n = len(centers)
            for step, b in enumerate(range(0, n, B)):
                if should_stop and should_stop():
                    return v_in.cpu().numpy()
                lr = config.alpha * max(1e-4, 1 - (epoch + b / n) / config.epochs)
                c, ctx = centers[b : b + B], contexts[b : b + B]
                noise = table[torch.randint(len(table), (K, len(c)), device=device, generator=generator)]
                if config.model == "skipgram":  # the centre word's input vector predicts the context word
                    inputs, rows = c, slice(None)
                    h, targets = v_in.index_select(0, c), torch.cat([ctx[None], noise])
                else:  # CBOW: the mean of the context words' input vectors predicts the centre word
                    present = ctx >= 0  # contexts: −1 = empty slot
                    inputs, rows = ctx[present], present.nonzero()[:, 0]
                    h = torch.zeros(len(c), d, device=device).index_add_(0, rows, v_in.index_select(0, inputs))
                    h /= present.sum(1, keepdim=True)
                    targets = torch.cat([c[None], noise])
                flat = targets.view(-1)
                u = torch.index_select(u_out, 0, flat, out=work[0, : flat.numel() * d].view(-1, d)).view(K + 1, -1, d)
                product = work[1, : u.numel()].view_as(u)
                scores = torch.mul(u, h, out=product).sum(-1)  # s_k = u_k·h, shape (1 + K, batch)
                p = torch.sigmoid(scores)
                g = lr * (labels - p)
                grad_h = torch.mul(g[..., None], u, out=product).sum(0)
                slope = p * (1 - p)  # σ'(s)
                g *= _damping(flat, (slope * (h * h).sum(-1)).view(-1), V, lr).view_as(g)
                curvature_h = (slope * torch.mul(u, u, out=product).sum(-1)).sum(0)[rows]
                grad_h = grad_h[rows] * _damping(inputs, curvature_h, V, lr)[:, None]
                u_out.index_add_(0, flat, torch.mul(g[..., None], h, out=product).view(-1, d))
                v_in.index_add_(0, inputs, grad_h)
                last = b + B >= n
                if on_progress and (step % 20 == 0 or last):
                    loss = -(torch.nn.functional.logsigmoid(scores[0])
                             + torch.nn.functional.logsigmoid(-scores[1:]).sum(0)).mean()
                    done = round(total * (epoch + min(b + B, n) / n))
                    on_progress(Word2VecProgress(epoch + 1, config.epochs, done, total * config.epochs, loss.item(),
                                                 done / max(time.perf_counter() - start, 1e-9),
                                                 lambda: WordVectors(words, v_in.cpu().numpy())))
    return v_in.cpu().numpy()


def _damping(index, curvature, size: int, lr: float):
    """1 / max(1, 2·lr·C_w) for each entry of index, C_w = the summed curvature of the entries of word w."""
    import torch

    total = torch.zeros(size, device=index.device).index_add_(0, index, curvature)
    return (2 * lr * total).clamp(min=1).reciprocal()[index]


def _unigram_table(counts: np.ndarray) -> np.ndarray:
    """word2vec's noise table: word i fills a share count_i^0.75 / Σ_j count_j^0.75 of its entries."""
    cumulative = np.cumsum(counts.astype(np.float64) ** 0.75)
    ends = np.round(cumulative / cumulative[-1] * NOISE_TABLE_SIZE).astype(np.int64)
    return np.repeat(np.arange(len(counts), dtype=np.int32), np.diff(ends, prepend=0))


def _keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: a word of frequency f is kept with probability (√(f/sample) + 1)·sample/f."""
    if sample <= 0:
        return np.ones(len(counts))
    freq = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(freq / sample) + 1) * sample / freq)


def _examples(tokens: np.ndarray, sentence: np.ndarray, window: int, model: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """Training examples with word2vec's dynamic window: each centre draws a reach 1..window, within its sentence.

    skipgram: (centre, one context word) pairs; cbow: (centre, the 2·window context slots, −1 where empty).
    """
    n = len(tokens)
    reach = rng.integers(1, window + 1, n)
    slots = np.full((n, 2 * window), -1, np.int64)
    for offset in range(1, min(window, n - 1) + 1):  # centre i: slot 2·offset − 2 holds i − offset, the next i + offset
        same = sentence[offset:] == sentence[:-offset]
        before = same & (reach[offset:] >= offset)
        after = same & (reach[:-offset] >= offset)
        slots[offset:, 2 * offset - 2][before] = tokens[:-offset][before]
        slots[:-offset, 2 * offset - 1][after] = tokens[offset:][after]
    if model == "skipgram":
        present = slots >= 0
        return np.broadcast_to(tokens[:, None], slots.shape)[present], slots[present]
    has_context = (slots >= 0).any(1)
    return tokens[has_context], slots[has_context]


# ---------------------------------------------------------------- in the background, for the page


@dataclass
class Word2VecSnapshot(JobStatus):
    epoch: int = 0
    epochs: int = 0
    words_done: int = 0
    words_total: int = 0
    words_per_second: float = 0.0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # torch backend only
    probes: dict[str, list[str]] = field(default_factory=dict)  # probe word → its nearest words right now


class Word2VecJob(BackgroundJob):
    """word2vec training in the background; the probe words' neighbours are refreshed every `probe_seconds`."""

    def __init__(self, sentences: list[list[str]], config, probes: list[str], probe_seconds: float = 1.0):
        config.validate()
        build_vocab(sentences, config.min_count)  # raises now, in the caller, when min_count is too high
        super().__init__(Word2VecSnapshot("running", epochs=config.epochs))
        self.sentences, self.config, self.probes, self.probe_seconds = sentences, config, probes, probe_seconds
        self.result = None  # WordVectors once finished (also when stopped)
        self._started: float | None = None  # when its work began (not while queued)
        self._probed = -float("inf")

    @property
    def output(self):
        """The trained WordVectors once training has ended (a stopped run included)."""
        return self.result

    def _progress(self, p) -> None:
        now, probes = time.monotonic(), None
        if p.current is not None and now - self._probed >= self.probe_seconds:
            self._probed, probes = now, probe_neighbours(p.current(), self.probes)
        with self._lock:
            s = self._snap
            s.epoch, s.words_done, s.words_total, s.words_per_second = p.epoch, p.words_done, p.words_total, p.words_per_second
            s.seconds = now - self._started
            if p.loss is not None:
                s.losses.append(p.loss)
            if probes is not None:
                s.probes = probes

    def snapshot(self) -> Word2VecSnapshot:
        snap = super().snapshot()
        started = self._started
        if not snap.finished and started is not None:  # the clock runs between reports (e.g. while examples are drawn)
            snap.seconds = time.monotonic() - started
        return snap

    def _work(self) -> bool:
        self._started = time.monotonic()
        self.result = train_word2vec(self.sentences, self.config, self._progress, self._stop.is_set)
        probes = probe_neighbours(self.result, self.probes)
        with self._lock:
            self._snap.probes, self._snap.seconds = probes, time.monotonic() - self._started
        return self._stop.is_set()


def probe_neighbours(wv, probes: list[str], topn: int = 6) -> dict[str, list[str]]:
    """The nearest words of each probe word (an empty list when it is not in the vocabulary)."""
    return {p: [w for w, _ in wv.neighbours(p, topn)] if p in wv else [] for p in probes}
