"""engine.words.corpora: the offline corpora from gensim's test data, and uploaded text with its bad inputs."""
from __future__ import annotations

import pytest

from engine.words import corpora
from engine.words.corpora import CorpusError, load_corpus, read_uploaded_corpus


def test_news_corpus_is_tokenized_lower_case():
    sentences = load_corpus("lee")
    tokens = [w for s in sentences for w in s]
    assert 55_000 < len(tokens) < 65_000 and len(sentences) == 300
    assert "police" in tokens and all(w == w.lower() for w in tokens[:1000])


def test_wikipedia_excerpt_has_text_without_markup_or_redirects():
    tokens = [w for s in load_corpus("wiki") for w in s]
    assert len(tokens) > 400_000
    assert {"anarchism", "autism", "albedo"} <= set(tokens)
    assert tokens[:3] == ["anarchism", "is", "a"]  # the dump starts with redirect pages: dropped
    assert tokens.count("ref") == 0 and tokens.count("http") < 10  # filter_wiki removed <ref> tags and links


def test_unknown_corpus_name_is_refused():
    with pytest.raises(CorpusError, match="lee"):
        load_corpus("shakespeare")


def test_uploaded_utf8_with_accents_keeps_the_words():
    sentences, warning = read_uploaded_corpus("Le café est fermé.\nÜber Straße\n".encode("utf-8"))
    assert warning is None
    assert sentences == [["le", "café", "est", "fermé"], ["über", "straße"]]


def test_non_utf8_corpus_is_read_as_latin1_with_a_warning():
    sentences, warning = read_uploaded_corpus("le café est fermé\n".encode("latin-1"), "notes.txt")
    assert "not UTF-8" in warning and "notes.txt" in warning
    assert sentences == [["le", "café", "est", "fermé"]]


@pytest.mark.parametrize("data, message", [
    (b"", "no words"),
    (b" ,;. !!\n\n", "no words"),
    (b"\x00\x01\x02binary\x00" * 10, "binary"),
])
def test_bad_uploads_get_clear_messages(data, message):
    with pytest.raises(CorpusError, match=message):
        read_uploaded_corpus(data)


def test_upload_above_the_cap_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(corpora, "MAX_CORPUS_BYTES", 100)
    with pytest.raises(CorpusError, match="limit"):
        read_uploaded_corpus(b"word " * 100)
