"""The corpus: articles as files on disk, read and checked (`ingest`, against the rules of what
an article may hold: `checks`), added, replaced and removed one by one, undoably (`documents`),
and split into passages (`chunk`). Reads files through `qa.content.extract`;
may import it, `qa.settings` and `qa.errors` only."""

from qa.content.corpus.chunk import Chunk, ChunkingConfig, chunk_document
from qa.content.corpus.ingest import (
    Corpus,
    Document,
    Metadata,
    corpus_files,
    fingerprint,
    load_corpus,
)

__all__ = [
    "Chunk",
    "ChunkingConfig",
    "Corpus",
    "Document",
    "Metadata",
    "chunk_document",
    "corpus_files",
    "fingerprint",
    "load_corpus",
]
