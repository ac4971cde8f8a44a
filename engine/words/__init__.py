"""Word vectors: analogies and neighbours, vector files, corpora, and word2vec trained here."""
