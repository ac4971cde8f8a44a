"""engine.words.word2vec on a tiny synthetic corpus: two topics whose words share contexts only within a topic."""
from __future__ import annotations

import numpy as np
import pytest

from engine.words.word2vec import (NOISE_TABLE_SIZE, Word2VecConfig, _examples, _unigram_table, build_vocab, tokenize,
                                   train_word2vec)

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers"]


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    rng = np.random.default_rng(0)
    return [list(rng.choice(ANIMALS if i % 2 else TOOLS, 8)) for i in range(800)]


def same_topic_share(wv, topic) -> float:
    hits = [n in topic for w in topic for n, _ in wv.neighbours(w, topn=3)]
    return float(np.mean(hits))


def test_tokenize_lowercases_and_splits_lines():
    assert tokenize("The cat's toy.\n\nA well-known DOG!") == [["the", "cat's", "toy"], ["a", "well-known", "dog"]]


def test_min_count_above_every_count_is_a_clear_error(corpus):
    with pytest.raises(ValueError, match="lower min_count"):
        build_vocab(corpus, 10**6)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_torch_backend_learns_the_topics(corpus, model):
    progress = []
    config = Word2VecConfig(model=model, dim=16, window=3, min_count=1, sample=0, epochs=3, lr=0.02, batch_size=512)
    wv = train_word2vec(corpus, config, on_progress=progress.append)
    assert len(wv) == 12 and wv.dim == 16
    assert same_topic_share(wv, ANIMALS) > 0.9 and same_topic_share(wv, TOOLS) > 0.9
    assert progress[-1].loss < progress[0].loss


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_big_batches_on_a_tiny_vocabulary_stay_stable(corpus, model):
    # each word occurs hundreds of times per batch: summed, undamped SGD steps would overshoot and diverge
    progress = []
    config = Word2VecConfig(model=model, dim=16, window=3, min_count=1, sample=0, epochs=3, lr=0.1, batch_size=8192)
    wv = train_word2vec(corpus, config, on_progress=progress.append)
    assert np.isfinite(wv.vectors).all() and progress[-1].loss < progress[0].loss
    assert same_topic_share(wv, ANIMALS) > 0.9 and same_topic_share(wv, TOOLS) > 0.9


def test_torch_progress_counts_corpus_tokens_and_is_seeded(corpus):
    progress = []
    config = Word2VecConfig(dim=8, window=3, min_count=1, epochs=2, device="cpu")
    first = train_word2vec(corpus, config, on_progress=progress.append)
    done = [p.words_done for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1].words_total == 2 * sum(map(len, corpus))
    assert np.array_equal(first.vectors, train_word2vec(corpus, config).vectors)
    assert np.allclose(progress[-1].current().vectors, first.vectors)  # the vectors so far, here the last ones


def test_examples_use_a_dynamic_window_within_sentences():
    tokens, sentence = np.arange(30), np.repeat([0, 1, 2], [12, 3, 15])
    centers, contexts = _examples(tokens, sentence, 3, "skipgram", np.random.default_rng(5))
    reach = np.random.default_rng(5).integers(1, 4, 30)  # the same first draw: each centre's reach, 1..window
    expected = [(i, j) for i in range(30) for j in range(30)
                if 0 < abs(i - j) <= reach[i] and sentence[i] == sentence[j]]
    assert sorted(zip(centers.tolist(), contexts.tolist())) == expected


def test_noise_table_follows_unigram_counts_to_the_three_quarters():
    counts = np.array([1000, 100, 10, 1])
    share = np.bincount(_unigram_table(counts), minlength=4) / NOISE_TABLE_SIZE
    assert np.allclose(share, counts**0.75 / (counts**0.75).sum(), atol=1e-5)


def test_gensim_backend_runs_with_progress_per_epoch(corpus):
    progress = []
    wv = train_word2vec(corpus, Word2VecConfig(backend="gensim", dim=16, window=3, min_count=1, epochs=2),
                        on_progress=progress.append)
    assert [p.epoch for p in progress] == [1, 2] and len(wv) == 12
    assert np.allclose(progress[-1].current().vectors, wv.vectors)


def test_stop_flag_ends_training_early(corpus):
    progress = []
    config = Word2VecConfig(dim=8, min_count=1, sample=0, epochs=50, batch_size=64)
    wv = train_word2vec(corpus, config, on_progress=progress.append, should_stop=lambda: len(progress) >= 2)
    assert len(wv) == 12 and progress[-1].epoch == 1


@pytest.mark.parametrize("field, value", [("model", "glove"), ("dim", 1), ("window", 0), ("epochs", 0), ("lr", 0)])
def test_absurd_settings_are_refused(corpus, field, value):
    with pytest.raises(ValueError):
        train_word2vec(corpus, Word2VecConfig(**{field: value}))
