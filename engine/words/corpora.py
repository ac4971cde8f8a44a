"""Text corpora for training word vectors: the offline ones shipped in gensim's test data, and uploads.

Small corpora give meaningful neighbours but weak analogies (GloVe 6B saw 6 billion tokens; these see
0.06–0.5 million), which the Words page says plainly.
"""
from __future__ import annotations

import bz2
from dataclasses import dataclass
from pathlib import Path

from engine.words.word2vec import tokenize

MAX_CORPUS_BYTES = 50 * 2**20  # an upload above this is refused: word2vec on 2 cores would take hours


class CorpusError(ValueError):
    """A corpus that cannot be used; str(e) says why."""


@dataclass(frozen=True)
class CorpusInfo:
    title: str
    file: str  # in gensim's test data folder
    about: str


CORPORA = {
    "lee": CorpusInfo("Lee news corpus (60k words)", "lee_background.cor",
                      "Australian news articles, 300 documents (Lee et al. 2005), shipped with gensim."),
    "wiki": CorpusInfo("Wikipedia excerpt (480k words)",
                       "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
                       "The first 200 English Wikipedia articles (anarchism, Autism, Albedo, …), markup stripped."),
}


def gensim_data(file: str) -> Path:
    from gensim.test.utils import datapath

    return Path(datapath(file))


def load_corpus(name: str) -> list[list[str]]:
    """One shipped corpus as tokenized sentences (one per line, or per paragraph of a Wikipedia article)."""
    if name not in CORPORA:
        raise CorpusError(f"Unknown corpus {name!r}; choose one of {', '.join(CORPORA)}.")
    path = gensim_data(CORPORA[name].file)
    if path.suffix == ".bz2":
        return tokenize(_wikipedia_text(path))
    return tokenize(path.read_text(encoding="utf-8"))


def _wikipedia_text(path: Path) -> str:
    """Article text of a MediaWiki XML dump, redirects dropped, markup removed by gensim's filter_wiki."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(path) as f:
        articles = [filter_wiki(text) for _, text, _ in extract_pages(f)]
    return "\n".join(a for a in articles if not a.lstrip().upper().startswith("#REDIRECT"))


def read_uploaded_corpus(data: bytes, name: str = "uploaded file") -> tuple[list[list[str]], str | None]:
    """Tokenized sentences of an uploaded .txt, and a warning when it was not UTF-8 (then read as Latin-1)."""
    if len(data) > MAX_CORPUS_BYTES:
        raise CorpusError(f"{name} is {len(data) / 2**20:.0f} MB; the limit is {MAX_CORPUS_BYTES // 2**20} MB "
                          "(training on more would take hours on this machine). Upload an excerpt.")
    warning = None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        text = data.decode("latin-1")
        warning = (f"{name} is not UTF-8 (invalid byte 0x{data[e.start]:02x} at position {e.start:,}); it was read "
                   "as Latin-1 instead. If accented words look wrong, save the file as UTF-8 and upload it again.")
    if b"\x00" in data[:4096]:
        raise CorpusError(f"{name} looks like a binary file, not text. Upload a plain .txt corpus.")
    sentences = tokenize(text)
    if not sentences:
        raise CorpusError(f"{name} has no words (the tokenizer keeps letters and digits).")
    return sentences, warning
