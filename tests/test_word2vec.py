"""engine.word2vec on a tiny synthetic corpus: two topics whose words share contexts only within a topic."""
from __future__ import annotations

import numpy as np
import pytest

from engine.word2vec import Word2VecConfig, build_vocab, tokenize, train_word2vec

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


def test_gensim_backend_runs_with_progress_per_epoch(corpus):
    progress = []
    wv = train_word2vec(corpus, Word2VecConfig(backend="gensim", dim=16, window=3, min_count=1, epochs=2),
                        on_progress=progress.append)
    assert [p.epoch for p in progress] == [1, 2] and len(wv) == 12


def test_stop_flag_ends_training_early(corpus):
    progress = []
    config = Word2VecConfig(dim=8, min_count=1, sample=0, epochs=50, batch_size=64)
    wv = train_word2vec(corpus, config, on_progress=progress.append, should_stop=lambda: len(progress) >= 2)
    assert len(wv) == 12 and progress[-1].epoch == 1


@pytest.mark.parametrize("field, value", [("model", "glove"), ("dim", 1), ("window", 0), ("epochs", 0), ("lr", 0)])
def test_absurd_settings_are_refused(corpus, field, value):
    with pytest.raises(ValueError):
        train_word2vec(corpus, Word2VecConfig(**{field: value}))
