"""The store contract: what a search needs from storage and what a live corpus changes in it.

A contract, not a base class (as Haystack 2 does for its document stores): any class with these
members is a store. The embedded FAISS + bm25s store is the first; a Qdrant store can follow.
Passages are named by an integer `position`, valid within one published version of a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, Field

from qa.content.corpus.chunk import Chunk, ChunkingConfig
from qa.search.encoders.base import Vectors
from qa.search.store.integrity import FileRecord

# Bumped whenever stored files or the way passages and terms are made change.
INDEX_FORMAT = 3


class Source(BaseModel):
    """An indexed article, as `GET /sources/{name}` shows it. The metadata fields are optional:
    an index written before one of them reads it as unknown."""

    name: str = Field(description="File name of the article in the corpus.")
    title: str = Field(description="Title of the article.")
    text: str = Field(description="The article's text; passage offsets index into it.")
    sha256: str = Field(description="SHA-256 of the article file's bytes.")
    url: str | None = Field(None, description="Where the article was published, if known.")
    published: date | None = Field(None, description="Publication date, if known.")
    author: str | None = Field(None, description="Author, if known.")
    language: str | None = Field(
        None,
        description="ISO 639-1 code of its language (as its file says, else detected), if known.",
    )
    site: str | None = Field(None, description="Name of the site that published it, if known.")
    tags: tuple[str, ...] = Field((), description="Its categories and tags, if any.")


class Embedding(BaseModel):
    """What vectors depend on besides the article itself: any change re-embeds everything."""

    format: int = INDEX_FORMAT
    model: str
    dimension: int
    # Indexes written before the field were all fp32 (or int8, which nothing recorded).
    precision: str = "fp32"
    query_prompt: str
    chunking: ChunkingConfig


class Manifest(Embedding):
    """What a version was built from and how; checked against the settings on load."""

    corpus: dict[str, str] = Field(description="Indexed file name -> SHA-256 of its bytes.")
    skipped: dict[str, str] = Field(description="Corpus file name -> why it was not indexed.")
    chunk_count: int
    sentence_count: int = 0
    built_at: datetime
    files: dict[str, FileRecord] = Field(
        default_factory=dict, description="Every other file of the version: size and SHA-256."
    )
    version: str = Field("", exclude=True, description="Its version folder, set on load.")


@dataclass(frozen=True)
class DocumentRecord:
    """One article as stored: its passages with their vectors and their sentences' vectors."""

    source: Source
    chunks: tuple[Chunk, ...]
    vectors: Vectors  # one row per chunk
    sentence_vectors: Vectors  # one row per sentence of the chunks, in chunk order


@dataclass(frozen=True)
class SearchFilter:
    """Which articles a search may return; None means no condition. An article whose language
    or site is unknown satisfies no condition on it, as an undated one no date range."""

    sources: frozenset[str] | None = None
    published_after: date | None = None
    published_before: date | None = None
    languages: frozenset[str] | None = None
    sites: frozenset[str] | None = None

    def admits(self, source: Source) -> bool:
        return (
            _among(source.name, self.sources)
            and _among(source.language, self.languages)
            and _among(source.site, self.sites)
            and self._dated_within(source)
        )

    def _dated_within(self, source: Source) -> bool:
        if self.published_after is None and self.published_before is None:
            return True
        if source.published is None:  # undated articles cannot satisfy a date condition
            return False
        after_ok = self.published_after is None or source.published >= self.published_after
        before_ok = self.published_before is None or source.published <= self.published_before
        return after_ok and before_ok


def _among(value: str | None, allowed: frozenset[str] | None) -> bool:
    return allowed is None or value in allowed


@dataclass(frozen=True)
class Hit:
    """A passage found, by position, with its retriever's score."""

    position: int
    score: float


@dataclass(frozen=True)
class StoreDescription:
    engine: str
    version: str
    documents: int
    passages: int
    sentences: int
    built_at: datetime


class Store(Protocol):
    """Storage and retrieval of passages, with the one writer's operations."""

    @property
    def engine(self) -> str:
        """What stores and searches the passages, in a few words (cheap: no I/O)."""
        ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def chunks(self) -> Sequence[Chunk]:
        """Position -> passage."""
        ...

    @property
    def sources(self) -> Mapping[str, Source]:
        """Article name -> article."""
        ...

    def search_dense(self, query: Vectors, k: int, where: SearchFilter | None = None) -> list[Hit]:
        """The `k` passages nearest to the query, each scored by the higher of its own cosine
        and its best sentence's, best first."""
        ...

    def search_lexical(self, text: str, k: int, where: SearchFilter | None = None) -> list[Hit]:
        """The best `k` passages by BM25 that share a term with `text`, best first."""
        ...

    def dense_scores(self, query: Vectors, positions: Sequence[int]) -> list[float]:
        """The `search_dense` score of each given passage."""
        ...

    def sentence_scores(self, query: Vectors, position: int) -> Vectors:
        """Cosine of the query with each sentence of one passage."""
        ...

    def count(self) -> int:
        """Number of passages."""
        ...

    def describe(self) -> StoreDescription: ...

    def document(self, name: str) -> DocumentRecord | None:
        """One article with its passages and vectors, to reuse them when it has not changed."""
        ...

    def write_document(self, record: DocumentRecord) -> None:
        """Add an article, or replace all passages of the article of that name."""
        ...

    def delete_document(self, name: str) -> None: ...

    def publish(self, manifest: Manifest) -> str:
        """Make the current content visible to readers as a new version; returns its name."""
        ...
