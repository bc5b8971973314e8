"""The built index: a folder of plain files, saved and loaded whole.

The only module that imports faiss. Files:


manifest.json   what was built, from what, how (written last: no manifest, no index)
sources.jsonl   each indexed article: name, title, original text, hash
chunks.jsonl    each passage with its offsets and sentence offsets
dense.faiss     inner-product index over the passages' unit vectors
sentences.faiss inner-product index over every passage sentence, in passage order
lexical/        the BM25 index (bm25s format)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
from pydantic import BaseModel, Field, ValidationError

from qa.chunk import Chunk, ChunkingConfig, chunk_document
from qa.embed import Encoder, Vectors, embed_once
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.ingest import Corpus
from qa.lexical import LexicalIndex

# Bumped whenever stored files or the way passages and terms are made change.
INDEX_FORMAT = 2
MANIFEST = "manifest.json"
SOURCES = "sources.jsonl"
CHUNKS = "chunks.jsonl"
DENSE = "dense.faiss"
SENTENCES = "sentences.faiss"
LEXICAL = "lexical"

Record = TypeVar("Record", bound=BaseModel)


class Manifest(BaseModel):
    """What an index was built from and how; checked against the settings on load."""

    format: int = INDEX_FORMAT
    model: str
    dimension: int
    query_prompt: str
    chunking: ChunkingConfig
    corpus: dict[str, str] = Field(description="Indexed file name -> SHA-256 of its bytes.")
    skipped: dict[str, str] = Field(description="Corpus file name -> why it was not indexed.")
    chunk_count: int
    built_at: datetime


class Source(BaseModel):
    """An indexed article, as `GET /sources/{name}` shows it."""

    name: str
    title: str
    text: str
    sha256: str


@dataclass(frozen=True)
class DenseHit:
    position: int
    score: float


@dataclass
class Index:
    """Everything a search needs, in memory."""

    manifest: Manifest
    sources: dict[str, Source]
    chunks: list[Chunk]
    dense: faiss.Index
    sentences: faiss.Index
    lexical: LexicalIndex
    sentence_rows: list[range] = field(init=False)  # chunk position -> its rows in `sentences`
    sentence_owners: list[int] = field(init=False)  # sentence row -> chunk position

    def __post_init__(self) -> None:
        self.sentence_rows = list(_sentence_rows(self.chunks))
        self.sentence_owners = [p for p, rows in enumerate(self.sentence_rows) for _ in rows]

    def search_dense(self, query: Vectors, k: int) -> list[DenseHit]:
        """The `k` passages nearest to the query, best first.

        A passage scores the higher of its own cosine and its best sentence's: a question
        about one fact matches the sentence stating it better than the whole passage.
        """
        best: dict[int, float] = {}
        for position, score in _search(self.dense, query, k):
            best[position] = score
        for row, score in _search(self.sentences, query, k * 4):
            position = self.sentence_owners[row]
            best[position] = max(best.get(position, -1.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:k]
        return [DenseHit(position, score) for position, score in ranked]

    def dense_scores(self, query: Vectors, positions: Sequence[int]) -> list[float]:
        """The `search_dense` score of each given passage."""
        return [
            max(
                float(self.dense.reconstruct(int(p)) @ query),
                float(self.sentence_scores(query, p).max(initial=-1.0)),
            )
            for p in positions
        ]

    def sentence_scores(self, query: Vectors, position: int) -> Vectors:
        """Cosine of the query with each sentence of one passage."""
        rows = self.sentence_rows[position]
        vectors = self.sentences.reconstruct_n(rows.start, len(rows))
        return np.asarray(vectors @ query, dtype=np.float32)


def build_index(
    corpus: Corpus, encoder: Encoder, chunking: ChunkingConfig, *, progress: bool = False
) -> Index:
    """Chunk, embed and index a corpus."""
    chunks = [
        chunk
        for document in corpus.documents
        for chunk in chunk_document(document, encoder.count_tokens, chunking)
    ]
    texts = [chunk.match_text for chunk in chunks]
    sentences = [chunk.text_of(span) for chunk in chunks for span in chunk.sentences]
    # One call: every distinct text embedded once, batched by length with all the others.
    vectors, sentence_vectors = np.split(
        embed_once(encoder, texts + sentences, progress=progress), [len(texts)]
    )
    dense = faiss.IndexFlatIP(encoder.dimension)
    dense.add(vectors)
    sentence_index = faiss.IndexFlatIP(encoder.dimension)
    sentence_index.add(sentence_vectors)
    manifest = Manifest(
        model=encoder.model_id,
        dimension=encoder.dimension,
        query_prompt=getattr(encoder, "query_prompt", ""),
        chunking=chunking,
        corpus={document.name: document.sha256 for document in corpus.documents},
        skipped={skipped.name: skipped.reason for skipped in corpus.skipped},
        chunk_count=len(chunks),
        built_at=datetime.now(UTC),
    )
    sources = {
        document.name: Source(
            name=document.name, title=document.title, text=document.text, sha256=document.sha256
        )
        for document in corpus.documents
    }
    return Index(
        manifest=manifest,
        sources=sources,
        chunks=chunks,
        dense=dense,
        sentences=sentence_index,
        lexical=LexicalIndex.build(texts),
    )


def save_index(index: Index, folder: Path) -> None:
    """Write the index files; the manifest goes last so a half-written index has none."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    _write_jsonl(folder / SOURCES, index.sources.values())
    _write_jsonl(folder / CHUNKS, index.chunks)
    faiss.write_index(index.dense, str(folder / DENSE))
    faiss.write_index(index.sentences, str(folder / SENTENCES))
    index.lexical.save(folder / LEXICAL)
    (folder / MANIFEST).write_text(index.manifest.model_dump_json(indent=2), encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the index in `folder`."""
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index in {folder}: run `qa index` (or `make index`) first")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as error:
        raise IndexCorruptError(f"unreadable manifest {path}: rebuild with `qa index`") from error


def check_model(manifest: Manifest, model: str, folder: Path) -> None:
    """Vectors from another model are meaningless to this one: refuse them."""
    if manifest.model != model:
        raise IndexMismatchError(
            f"the index in {folder} was built with model {manifest.model!r} but the "
            f"configured model is {model!r}: rebuild it with `qa index --index-dir {folder}`"
        )


def stale_reasons(
    manifest: Manifest, corpus: dict[str, str], chunking: ChunkingConfig
) -> list[str]:
    """Why the index no longer matches the corpus fingerprint and chunking settings."""
    indexed = manifest.corpus.keys() | manifest.skipped.keys()
    reasons = [f"new file {name}" for name in sorted(corpus.keys() - indexed)]
    reasons += [f"removed file {name}" for name in sorted(indexed - corpus.keys())]
    reasons += [
        f"changed file {name}"
        for name in sorted(manifest.corpus.keys() & corpus.keys())
        if manifest.corpus[name] != corpus[name]
    ]
    if manifest.chunking != chunking:
        reasons.append("chunking settings changed")
    if manifest.format != INDEX_FORMAT:
        reasons.append(f"built by another version of qa (format {manifest.format})")
    return reasons


def load_index(folder: Path, model: str) -> Index:
    """Load the index in `folder`, refusing one built with another model."""
    manifest = read_manifest(folder)
    check_model(manifest, model, folder)
    if manifest.format != INDEX_FORMAT:
        raise IndexMismatchError(
            f"the index in {folder} has format {manifest.format}, this version reads "
            f"{INDEX_FORMAT}: rebuild it with `qa index --index-dir {folder}`"
        )
    try:
        sources = {s.name: s for s in _read_jsonl(folder / SOURCES, Source)}
        chunks = list(_read_jsonl(folder / CHUNKS, Chunk))
        dense = faiss.read_index(str(folder / DENSE))
        sentences = faiss.read_index(str(folder / SENTENCES))
    except ValidationError as error:  # a pydantic dump is many lines: its first problem will do
        raise IndexCorruptError(
            f"cannot read the index in {folder}: {error.title}: {error.errors()[0]['msg']}; "
            "rebuild it with `qa index`"
        ) from error
    except (OSError, RuntimeError, ValueError) as error:
        raise IndexCorruptError(f"cannot read the index in {folder}: {error}") from error
    if (
        dense.ntotal != len(chunks)
        or dense.d != manifest.dimension
        or sentences.ntotal != sum(len(chunk.sentences) for chunk in chunks)
    ):
        raise IndexCorruptError(f"the index files in {folder} disagree: rebuild with `qa index`")
    return Index(
        manifest=manifest,
        sources=sources,
        chunks=chunks,
        dense=dense,
        sentences=sentences,
        lexical=LexicalIndex.load(folder / LEXICAL, len(chunks)),
    )


def _search(index: faiss.Index, query: Vectors, k: int) -> list[tuple[int, float]]:
    scores, rows = index.search(query.reshape(1, -1), min(k, index.ntotal))
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def _sentence_rows(chunks: Sequence[Chunk]) -> Iterator[range]:
    row = 0
    for chunk in chunks:
        yield range(row, row + len(chunk.sentences))
        row += len(chunk.sentences)


def _write_jsonl(path: Path, records: Iterable[BaseModel]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(record.model_dump_json() + "\n")


def _read_jsonl(path: Path, model: type[Record]) -> Iterator[Record]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            yield model.model_validate_json(line)
