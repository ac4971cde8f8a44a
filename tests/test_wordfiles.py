"""Vector files in and out (word2vec text/binary, GloVe text) and the expression parser, bad inputs included."""
from __future__ import annotations

import numpy as np
import pytest

from engine.words.files import ExpressionError, VectorFileError, load_vectors, parse_expression, save_word2vec_text
from engine.words.vectors import WordVectors


@pytest.fixture
def kv():
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    k = KeyedVectors(5)
    k.add_vectors(["the", "king", "Queen", "café", "well-known"], rng.normal(size=(5, 5)).astype(np.float32))
    return k


def unit(m):
    return m / np.linalg.norm(m, axis=1, keepdims=True)


@pytest.mark.parametrize("binary", [False, True])
def test_reads_what_gensim_writes(kv, tmp_path, binary):
    path = tmp_path / "v.bin"
    kv.save_word2vec_format(str(path), binary=binary)
    wv = load_vectors(path)
    assert wv.words == kv.index_to_key
    np.testing.assert_allclose(wv.vectors, unit(kv.vectors), rtol=1e-5, atol=1e-6)
    assert ("binary" in wv.source) == binary


def test_our_text_round_trips_and_gensim_reads_it(kv, tmp_path):
    from gensim.models import KeyedVectors

    wv = WordVectors(kv.index_to_key, kv.vectors)
    save_word2vec_text(wv, tmp_path / "out.txt")
    again = load_vectors(tmp_path / "out.txt")
    assert again.words == wv.words and np.allclose(again.vectors, wv.vectors, atol=1e-5)
    theirs = KeyedVectors.load_word2vec_format(str(tmp_path / "out.txt"))
    assert theirs.index_to_key == wv.words


def test_glove_text_has_no_header():
    wv = load_vectors(b"cat 1 0 0\ndog 0.9 0.1 0\n")
    assert wv.words == ["cat", "dog"] and wv.dim == 3 and "glove" in wv.source


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"cat 1 2 3\ndog 1 2\n", "mixed dimensions"),
    (b"cat 1 2\ncat 3 4\n", "appears twice"),
    (b"cat 1 two\n", "line 1"),
    (b"lonely\n", "no vector"),
    (b"cat 1 2\n\xff\xfe 3 4\n", "not UTF-8"),
    (b"2 3\ncat 1 2\ndog 3 4\n", "header says 3"),
])
def test_bad_files_get_clear_messages(content, message):
    with pytest.raises(VectorFileError, match=message):
        load_vectors(content)


def test_binary_file_given_as_text_is_refused(kv, tmp_path):
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    with pytest.raises(VectorFileError, match="not UTF-8"):
        load_vectors(tmp_path / "v.bin", fmt="word2vec")


def test_truncated_binary_is_refused(kv, tmp_path):
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    with pytest.raises(VectorFileError, match="truncated"):
        load_vectors(data[:-7])


@pytest.mark.parametrize("text, terms, expected", [
    ("king - man + woman", [(1, "king"), (-1, "man"), (1, "woman")], None),
    ("Paris-france + italy", [(1, "Paris-france"), (1, "italy")], None),  # hyphenated words stay whole
    ("0.5*hot + cold", [(0.5, "hot"), (1, "cold")], None),
    ("-2*a", [(-2, "a")], None),
    ("man : king :: woman : queen", [(-1, "man"), (1, "king"), (1, "woman")], "queen"),
    ("man : king :: woman : ?", [(-1, "man"), (1, "king"), (1, "woman")], None),
])
def test_parser(text, terms, expected):
    assert parse_expression(text) == (terms, expected)


@pytest.mark.parametrize("text", ["", "   ", "+ -", "king -- man", "a : b ::", "*"])
def test_parser_refuses_nonsense(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_a_ten_thousand_word_expression_is_refused_quickly():
    with pytest.raises(ExpressionError, match="More than"):
        parse_expression(" + ".join(["word"] * 10_000))


def test_a_2_gb_vectors_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        f.truncate(2 * 2**30)  # sparse: 2 GB on paper, nothing on disk
    with pytest.raises(VectorFileError, match="larger than 200 MB"):
        load_vectors(path)
    with open(path, "rb") as f, pytest.raises(VectorFileError, match="larger than 200 MB"):
        load_vectors(f, name="huge.txt")  # a stream stops reading at the cap
