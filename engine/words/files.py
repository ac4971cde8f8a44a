"""Reading and writing word-vector files, and parsing the playground's expressions.

Formats: word2vec text ("N d" header, then "word v1 … vd"), word2vec binary (same header, then word, a
space and d little-endian float32), GloVe text (no header). Every malformed input gets a message with
its line number; nothing is unpickled.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.words.vectors import WordVectors

MAX_TERMS = 50  # an expression longer than this is refused with a message, not computed
MAX_VECTOR_BYTES = 200 * 2**20  # as the app's upload cap (.streamlit/config.toml)


class VectorFileError(ValueError):
    """A vectors file that cannot be read; str(e) says where and why."""


class ExpressionError(ValueError):
    """An expression that cannot be evaluated; str(e) says why."""


def load_vectors(source: str | Path | bytes | BinaryIO, fmt: str = "auto", name: str = "uploaded file") -> WordVectors:
    """Read word2vec text/binary or GloVe text; fmt is "auto", "word2vec", "word2vec-binary" or "glove"."""
    data = _read_bytes(source, name)
    if not data.strip():
        raise VectorFileError(f"{name} is empty.")
    if fmt == "auto":
        fmt = _sniff(data)
    if fmt == "word2vec-binary":
        words, vectors = _read_binary(data, name)
    elif fmt in ("word2vec", "glove"):
        words, vectors = _read_text(data, name, header=fmt == "word2vec")
    else:
        raise VectorFileError(f"Unknown format {fmt!r}.")
    return WordVectors(words, vectors, f"{name} ({fmt}, {len(words):,} words × {vectors.shape[1]})")


def word2vec_text(wv: WordVectors) -> str:
    """word2vec text format, readable by gensim's KeyedVectors.load_word2vec_format."""
    rows = (word + " " + " ".join(f"{x:.6g}" for x in row) for word, row in zip(wv.words, wv.vectors))
    return f"{len(wv)} {wv.dim}\n" + "\n".join(rows) + "\n"


def save_word2vec_text(wv: WordVectors, path: str | Path) -> None:
    Path(path).write_text(word2vec_text(wv), encoding="utf-8")


def _read_bytes(source, name: str) -> bytes:
    """The file's bytes; a file above MAX_VECTOR_BYTES is refused before it is read."""
    if isinstance(source, (str, Path)):
        size = Path(source).stat().st_size
        data = Path(source).read_bytes() if size <= MAX_VECTOR_BYTES else b""
    elif isinstance(source, (bytes, bytearray)):
        data, size = bytes(source), len(source)
    else:
        data = source.read(MAX_VECTOR_BYTES + 1)
        size = len(data)
    if size > MAX_VECTOR_BYTES:
        raise VectorFileError(f"{name} is larger than {MAX_VECTOR_BYTES // 2**20} MB, the limit here. Keep the most "
                              "frequent words (e.g. `head -n 100001 vectors.txt`), or fewer dimensions.")
    return data


def _sniff(data: bytes) -> str:
    first, _, rest = data.partition(b"\n")
    if re.fullmatch(rb"\s*\d+\s+\d+\s*", first):
        try:
            rest[:4096].decode("utf-8")
            return "word2vec"
        except UnicodeDecodeError:
            return "word2vec-binary"
    return "glove"


def _read_text(data: bytes, name: str, header: bool) -> tuple[list[str], np.ndarray]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise VectorFileError(f"{name}, line {line}: bytes that are not UTF-8 (a binary file given as text?).") from None
    lines = text.splitlines()
    declared = None
    if header:
        count, dim = (int(x) for x in lines[0].split())
        declared, lines = (count, dim), lines[1:]
    words, rows, seen = [], [], set()
    for number, line in enumerate(lines, start=2 if header else 1):
        if not line.strip():
            continue
        parts = line.rstrip().split(" ")
        word, values = parts[0], parts[1:]
        try:
            row = np.array(values, dtype=np.float32)
        except ValueError:
            raise VectorFileError(f"{name}, line {number}: “{line[:60]}” is not a word followed by numbers.") from None
        if rows and len(row) != len(rows[0]):
            raise VectorFileError(f"{name}, line {number}: {len(row)} numbers, but earlier lines have {len(rows[0])} "
                                  "(mixed dimensions).")
        if len(row) == 0:
            raise VectorFileError(f"{name}, line {number}: the word “{word}” has no vector.")
        if word in seen:
            raise VectorFileError(f"{name}, line {number}: “{word}” appears twice.")
        seen.add(word)
        words.append(word)
        rows.append(row)
    if not rows:
        raise VectorFileError(f"{name} holds no vectors.")
    if declared and declared[1] != len(rows[0]):
        raise VectorFileError(f"{name}: the header says {declared[1]} dimensions, the vectors have {len(rows[0])}.")
    return words, np.stack(rows)


def _read_binary(data: bytes, name: str) -> tuple[list[str], np.ndarray]:
    stream = io.BytesIO(data)
    count, dim = (int(x) for x in stream.readline().split())
    words, rows, seen = [], np.empty((count, dim), np.float32), set()
    for i in range(count):
        raw = bytearray()
        while (ch := stream.read(1)) not in (b" ", b""):
            if ch != b"\n":
                raw += ch
        vector = stream.read(4 * dim)
        if len(vector) < 4 * dim:
            raise VectorFileError(f"{name}: the file ends inside vector {i + 1} of {count} (truncated?).")
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise VectorFileError(f"{name}: word {i + 1} is not valid UTF-8.") from None
        if word in seen:
            raise VectorFileError(f"{name}: “{word}” appears twice.")
        seen.add(word)
        words.append(word)
        rows[i] = np.frombuffer(vector, dtype="<f4")
    return words, rows


_TERM = re.compile(r"\s*([+-]?)\s*(?:(\d+(?:\.\d+)?)\s*\*\s*)?([^\s+*:-][^\s+*:]*)\s*")


def parse_expression(text: str) -> tuple[list[tuple[float, str]], str | None]:
    """'king - man + woman' or '0.5*hot + cold' → [(1, 'king'), (-1, 'man'), (1, 'woman')], None;
    'a : b :: c : d' → the terms of b − a + c and the expected answer d (None when '?')."""
    text = (text or "").strip()
    if not text:
        raise ExpressionError("Type an expression, e.g. king - man + woman, or paris : france :: rome : ?")
    if ":" in text:
        left, _, right = text.partition("::")
        a, _, b = left.partition(":")
        c, _, d = right.partition(":")
        if not (a.strip() and b.strip() and c.strip()):
            raise ExpressionError("An analogy reads a : b :: c : ? (or with the expected word instead of ?).")
        expected = d.strip() if d.strip() not in ("", "?") else None
        return [(-1.0, a.strip()), (1.0, b.strip()), (1.0, c.strip())], expected
    terms, position = [], 0
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"Cannot read “{text[position:position + 20]}”: use words joined by + and -, "
                                  "with optional weights like 0.5*word.")
        sign, weight, word = match.groups()
        terms.append(((-1.0 if sign == "-" else 1.0) * float(weight or 1), word))
        position = match.end()
        if len(terms) > MAX_TERMS:
            raise ExpressionError(f"More than {MAX_TERMS} words: shorten the expression.")
    if not terms:
        raise ExpressionError("The expression has operators but no words.")
    return terms, None
