"""engine.words.vectors: analogies against brute force and formulas, gensim-equal evaluation, the real GloVe vectors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.words.vectors import (COSMUL_EPS, GENSIM_GLOVE_6B_50D_30K, UnknownWord, WordVectors, analogy_total,
                                  axis_coordinates, evaluate_analogies, evaluate_similarity, glove_6b_50d, pca_plane,
                                  read_analogy_questions, top_indices, typos)


@pytest.fixture(scope="module")
def tiny() -> WordVectors:
    rng = np.random.default_rng(0)
    words = ["King", "queen", "man", "woman", "prince", "princess", "boy", "girl", "apple", "pear", "KING"]
    return WordVectors(words, rng.normal(size=(len(words), 8)))


def cos_matrix(wv):
    return wv.vectors @ wv.vectors.T


def test_vectors_are_unit_length_and_lookup_ignores_case(tiny):
    np.testing.assert_allclose(np.linalg.norm(tiny.vectors, axis=1), 1, rtol=1e-5)
    assert tiny.lookup("King") == 0 and tiny.lookup("KING") == 10
    assert tiny.lookup("king") == 0  # case-insensitive: the most frequent spelling
    with pytest.raises(UnknownWord) as e:
        tiny.lookup("queeen")
    assert "queen" in e.value.suggestions and "queen" in str(e.value)


def test_3cosadd_matches_brute_force(tiny):
    a, b, c = tiny.lookup("man"), tiny.lookup("King"), tiny.lookup("woman")
    C = cos_matrix(tiny)
    target = tiny.vectors[b] - tiny.vectors[a] + tiny.vectors[c]
    expected = (tiny.vectors @ target) / np.linalg.norm(target)
    expected[[a, b, c]] = -np.inf
    order = [tiny.words[i] for i in np.argsort(-expected)[:5]]
    got = tiny.analogy("man", "King", "woman", topn=5)
    assert [w for w, _ in got] == order
    # 3CosAdd ranks like cos(x,b) − cos(x,a) + cos(x,c)
    plain = C[:, b] - C[:, a] + C[:, c]
    plain[[a, b, c]] = -np.inf
    assert [tiny.words[i] for i in np.argsort(-plain)[:5]] == order


def test_3cosmul_formula(tiny):
    a, b, c = (tiny.lookup(w) for w in ("man", "King", "woman"))
    C = (cos_matrix(tiny) + 1) / 2
    expected = C[:, b] * C[:, c] / (C[:, a] + COSMUL_EPS)
    got = dict(tiny.analogy("man", "King", "woman", topn=20, method="3cosmul"))
    for word, score in got.items():
        assert score == pytest.approx(expected[tiny.index[word]], rel=1e-5)
    assert set(got) == set(tiny.words) - {"man", "King", "woman"}


def test_exclusion_hides_the_input_words(tiny):
    kept = [w for w, _ in tiny.analogy("man", "King", "woman", topn=len(tiny), exclude_inputs=False)]
    dropped = [w for w, _ in tiny.analogy("man", "King", "woman", topn=len(tiny))]
    assert {"man", "King", "woman"} <= set(kept) and not {"man", "King", "woman"} & set(dropped)
    assert [w for w in kept if w not in ("man", "King", "woman")] == dropped


def test_restrict_vocab_limits_answers(tiny):
    got = [w for w, _ in tiny.neighbours("apple", topn=10, restrict_vocab=4)]
    assert set(got) <= set(tiny.words[:4])


def test_solve_analogies_equals_single_queries(tiny):
    rows = np.array([[2, 0, 3], [6, 7, 2], [8, 9, 1]])
    for method in ("3cosadd", "3cosmul"):
        batched = tiny.solve_analogies(rows, method)
        single = [tiny.index[tiny.query([(-1, tiny.words[a]), (1, tiny.words[b]), (1, tiny.words[c])], topn=1,
                                        method=method)[0][0]] for a, b, c in rows]
        assert list(batched) == single


@pytest.fixture
def random_benchmark(tmp_path) -> tuple[list[str], np.ndarray, Path]:
    """60 random 6-d word vectors and a questions file: two sections of random questions, one with an unknown word."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(60)]
    vectors = rng.normal(size=(60, 6)).astype(np.float32)
    lines = [": first"] + [" ".join(rng.choice(words, 4, replace=False)) for _ in range(40)]
    lines += [": second"] + [" ".join(rng.choice(words, 4, replace=False)) for _ in range(40)]
    lines += [" ".join(["w1", "w2", "w3", "unknownword"])]
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    return words, vectors, path


def gensim_analogies(words: list[str], vectors: np.ndarray, path: Path, restrict_vocab: int):
    """gensim's own evaluate_word_analogies on these vectors: (overall score, sections, the last one the total)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab)


def upper_questions(failures) -> list[tuple[str, ...]]:
    """a, b, c, expected of our failures, upper-cased and sorted as gensim lists its incorrect questions."""
    return sorted(tuple(w.upper() for w in f[:4]) for f in failures)


def test_evaluation_equals_gensim_question_by_question(random_benchmark):
    words, vectors, path = random_benchmark
    _, gensim_sections = gensim_analogies(words, vectors, path, restrict_vocab=50)
    ours = evaluate_analogies(WordVectors(words, vectors), read_analogy_questions(path), restrict_vocab=50)
    for g, o in zip(gensim_sections, ours):
        assert g["section"] == o.name
        assert len(g["correct"]) == o.correct and len(g["correct"]) + len(g["incorrect"]) == o.total
        assert {tuple(q) for q in g["incorrect"]} == {tuple(w.upper() for w in f[:4]) for f in o.failures}


def test_benchmark_total_equals_gensims_total_accuracy(random_benchmark):
    words, vectors, path = random_benchmark
    score, gensim_sections = gensim_analogies(words, vectors, path, restrict_vocab=50)
    total = analogy_total(evaluate_analogies(WordVectors(words, vectors), read_analogy_questions(path),
                                             restrict_vocab=50))
    g = gensim_sections[-1]
    assert g["section"] == "Total accuracy"
    assert (total.correct, total.total) == (len(g["correct"]), len(g["correct"]) + len(g["incorrect"]))
    assert total.accuracy == pytest.approx(score)
    assert upper_questions(total.failures) == sorted(map(tuple, g["incorrect"]))


@pytest.fixture(scope="module")
def glove():
    return glove_6b_50d()


def test_glove_king_minus_man_plus_woman_is_queen(glove):
    assert len(glove) == 400_000 and glove.dim == 50
    word, score = glove.analogy("man", "king", "woman", topn=1)[0]
    assert word == "queen" and score == pytest.approx(0.852, abs=0.005)


def test_glove_google_analogies_equal_gensim_and_the_stated_reference(glove):
    """Runs gensim itself on GloVe's first 30,000 words; the page states GENSIM_GLOVE_6B_50D_30K as our own run of
    gensim, so it must be what gensim gives, and ours must match it question by question."""
    from gensim.test.utils import datapath
    from threadpoolctl import threadpool_limits

    path = datapath("questions-words.txt")
    with threadpool_limits(limits=1):  # gensim's 19,544 small products: extra BLAS threads on busy cores only slow it
        _, gensim_sections = gensim_analogies(glove.words[:30_000], glove.vectors[:30_000], path, 30_000)
    g = gensim_sections[-1]
    assert (len(g["correct"]), len(g["correct"]) + len(g["incorrect"])) == GENSIM_GLOVE_6B_50D_30K
    total = analogy_total(evaluate_analogies(glove, read_analogy_questions(path), restrict_vocab=30_000))
    assert (total.correct, total.total) == GENSIM_GLOVE_6B_50D_30K
    assert upper_questions(total.failures) == sorted(map(tuple, g["incorrect"]))


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_similarity_benchmarks_equal_gensim(glove, name):
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    from engine.words.vectors import evaluate_similarity

    kv = KeyedVectors(glove.dim)
    kv.add_vectors(glove.words[:50_000], glove.vectors[:50_000])
    pearson, spearman, oov = kv.evaluate_word_pairs(datapath(name), restrict_vocab=50_000)
    ours = evaluate_similarity(glove, datapath(name), restrict_vocab=50_000)
    assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours.skipped / (ours.pairs + ours.skipped) * 100 == pytest.approx(oov)


def test_rank_counts_better_answers_and_knows_excluded_words(tiny):
    terms = [(-1.0, "man"), (1.0, "King"), (1.0, "woman")]
    answers = [w for w, _ in tiny.query(terms, topn=len(tiny))]
    for position, word in enumerate(answers, start=1):
        assert tiny.rank(terms, word) == position
    assert tiny.rank(terms, "man") is None  # an excluded input cannot be an answer
    assert tiny.rank(terms, "man", exclude_inputs=False) >= 1
    assert tiny.rank(terms, "KING", restrict_vocab=5) is None  # outside the searched words


def test_combine_is_the_3cosadd_target(tiny):
    terms = [(-1.0, "man"), (1.0, "King"), (1.0, "woman")]
    best = tiny.query(terms, topn=1, exclude_inputs=False)[0]
    assert float(tiny.vectors[tiny.index[best[0]]] @ tiny.combine(terms)) == pytest.approx(best[1], rel=1e-5)
    assert np.linalg.norm(tiny.combine(terms)) == pytest.approx(1, rel=1e-5)


def test_spelling_suggestions_put_the_fewest_typos_first(tiny):
    assert typos("kign", "king") == 1 and typos("queen", "queen") == 0 and typos("", "ab") == 2
    assert tiny.suggest("princes")[:2] == ["prince", "princess"]  # both one typo away: the more frequent first
    assert tiny.suggest("xqzv") == []


def test_pca_plane_keeps_the_largest_spread_and_is_deterministic():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(30, 10)) * np.r_[5.0, 2.0, np.full(8, 0.1)]
    xy = pca_plane(points)
    assert xy.shape == (30, 2)
    assert xy[:, 0].var() > xy[:, 1].var() > 1.0  # x ≈ the variance-25 axis, y ≈ the variance-4 one, not the noise
    np.testing.assert_allclose(pca_plane(points), xy)
    assert pca_plane(points[:1]).shape == (1, 2)  # one word: still a point on the plane


def test_custom_axes_place_words_along_the_direction(tiny):
    xy = axis_coordinates(tiny, ["man", "woman", "apple"], ("man", "woman"), ("boy", "girl"))
    assert xy[1, 0] > xy[0, 0]  # woman lies further along man → woman than man does
    direction = tiny.vectors[tiny.index["woman"]] - tiny.vectors[tiny.index["man"]]
    assert xy[2, 0] == pytest.approx(tiny.vectors[tiny.index["apple"]] @ direction / np.linalg.norm(direction), rel=1e-5)
    with pytest.raises(ValueError, match="no direction"):
        axis_coordinates(tiny, ["man"], ("man", "man"), ("boy", "girl"))


def test_similarity_with_a_vocabulary_that_knows_no_pairs_reports_nothing(tiny, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("tiger\tcat\t7.35\nking\tqueen\t8.6\n")
    report = evaluate_similarity(tiny, path)
    assert np.isnan(report.spearman) and report.pairs == 1 and report.skipped == 1


@pytest.mark.parametrize("size, n", [(5, 3), (1000, 10), (400_000, 10), (400_000, 100), (64 * 5000 + 7, 20)])
def test_top_indices_equal_a_full_sort(size, n):
    rng = np.random.default_rng(size + n)
    scores = rng.normal(size=size).astype(np.float32)
    scores[rng.integers(size, size=3)] = -np.inf  # excluded words
    assert top_indices(scores, n).tolist() == np.argsort(-scores, kind="stable")[:n].tolist()
