"""Indexing: chunk and embed a corpus into a store, re-embedding only what changed, and publish
it as a new version. Vectors are reused per article, keyed by the article's SHA-256 and by what
every vector depends on (`Embedding`: model, prompts, chunking, index format).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from qa.content.corpus.articles import ExtractionCache
from qa.content.corpus.chunk import ChunkingConfig, chunk_document
from qa.content.corpus.documents import CorpusEdit, clean_edits
from qa.content.corpus.ingest import Corpus, Document, load_corpus
from qa.errors import IndexMissingError, IndexUnavailableError
from qa.search.encoders.base import Encoder
from qa.search.encoders.loading import embed_once
from qa.search.store import (
    DocumentRecord,
    EmbeddedStore,
    Embedding,
    Manifest,
    Source,
    Store,
    clean_leftovers,
)
from qa.search.store.choice import open_store, publish, published_manifest, writer_lock
from qa.settings import Settings

# The writer's extraction cache, in the index folder (qa.content.corpus.articles.ExtractionCache).
EXTRACTIONS = "extracted"


@dataclass
class IndexChanges:
    """What an indexing run did to the previous version."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    passages_embedded: int = 0
    full_reason: str | None = None  # why everything was embedded again, if it was


@dataclass
class IndexReport:
    changes: IndexChanges
    version: str
    passages: int
    seconds: float
    skipped: dict[str, str]
    cleaned: list[str]


def embedding_of(encoder: Encoder, chunking: ChunkingConfig) -> Embedding:
    return Embedding(
        model=encoder.model_id,
        dimension=encoder.dimension,
        precision=encoder.precision,
        query_prompt=getattr(encoder, "query_prompt", ""),
        chunking=chunking,
    )


def reembedding_reason(previous: Embedding, current: Embedding) -> str | None:
    """Why vectors of the previous version cannot be reused; None if they can."""
    if previous.format != current.format:
        return f"index format changed ({previous.format} -> {current.format})"
    if previous.model != current.model:
        return f"model changed ({previous.model} -> {current.model})"
    if previous.precision != current.precision:
        return f"encoder precision changed ({previous.precision} -> {current.precision})"
    if previous.query_prompt != current.query_prompt:
        return f"query prompt changed ({previous.query_prompt!r} -> {current.query_prompt!r})"
    if previous.chunking != current.chunking:
        before, after = previous.chunking.model_dump(), current.chunking.model_dump()
        what = ", ".join(
            f"{k} {before[k]!r} -> {after[k]!r}" for k in before if before[k] != after[k]
        )
        return f"chunking settings changed ({what})"
    return None


def build_index(
    corpus: Corpus,
    encoder: Encoder,
    chunking: ChunkingConfig,
    *,
    progress: bool = False,
    previous: EmbeddedStore | None = None,
) -> EmbeddedStore:
    """Chunk, embed and index a corpus, reusing the vectors of `previous` where they hold."""
    return index_corpus(corpus, encoder, chunking, progress=progress, previous=previous)[0]


def index_corpus(
    corpus: Corpus,
    encoder: Encoder,
    chunking: ChunkingConfig,
    *,
    progress: bool = False,
    previous: Store | None = None,
    reason: str | None = None,
) -> tuple[EmbeddedStore, IndexChanges]:
    """The store of a corpus and what changed since `previous` (None: embed everything,
    because of `reason`)."""
    embedding = embedding_of(encoder, chunking)
    if previous is not None:
        reason = reembedding_reason(previous.manifest, embedding)
    reusable = previous if reason is None else None
    changes = IndexChanges(full_reason=reason)
    old_names = set(previous.sources) if previous is not None else set()
    changes.removed = sorted(old_names - {d.name for d in corpus.documents})
    records: dict[str, DocumentRecord] = {}
    to_embed: list[Document] = []
    for document in corpus.documents:
        old = reusable.document(document.name) if reusable is not None else None
        # The same bytes extracted again may give another text (a newer extractor).
        if old is not None and (old.source.sha256, old.source.text) == (
            document.sha256,
            document.text,
        ):
            records[document.name] = replace(old, source=source_of(document))
            changes.unchanged.append(document.name)
            continue
        to_embed.append(document)
        (changes.changed if document.name in old_names else changes.added).append(document.name)
    for record in embed_documents(to_embed, encoder, chunking, progress=progress):
        records[record.source.name] = record
        changes.passages_embedded += len(record.chunks)
    ordered = [records[document.name] for document in corpus.documents]
    manifest = Manifest(
        **embedding.model_dump(),
        corpus={document.name: document.sha256 for document in corpus.documents},
        skipped={skipped.name: skipped.reason for skipped in corpus.skipped},
        chunk_count=sum(len(record.chunks) for record in ordered),
        sentence_count=sum(len(c.sentences) for record in ordered for c in record.chunks),
        built_at=datetime.now(UTC),
    )
    return EmbeddedStore(manifest, ordered), changes


def embed_documents(
    documents: Sequence[Document], encoder: Encoder, chunking: ChunkingConfig, *, progress: bool
) -> list[DocumentRecord]:
    """Chunk and embed articles: their passages and sentences in one call, each distinct text
    embedded once and batched by length with all the others."""
    chunked = [tuple(chunk_document(d, encoder.count_tokens, chunking)) for d in documents]
    chunks = [chunk for owned in chunked for chunk in owned]
    texts = [chunk.match_text for chunk in chunks]
    sentences = [chunk.text_of(span) for chunk in chunks for span in chunk.sentences]
    vectors, sentence_vectors = np.split(
        embed_once(encoder, texts + sentences, progress=progress), [len(texts)]
    )
    records = []
    row = sentence_row = 0
    for document, owned in zip(documents, chunked, strict=True):
        sentence_count = sum(len(chunk.sentences) for chunk in owned)
        records.append(
            DocumentRecord(
                source=source_of(document),
                chunks=owned,
                vectors=np.asarray(vectors[row : row + len(owned)], dtype=np.float32),
                sentence_vectors=np.asarray(
                    sentence_vectors[sentence_row : sentence_row + sentence_count], np.float32
                ),
            )
        )
        row += len(owned)
        sentence_row += sentence_count
    return records


def source_of(document: Document) -> Source:
    """What the store keeps of an article: its text and metadata (the title it was given, or
    found in its text)."""
    metadata = document.metadata
    return Source(
        name=document.name,
        title=document.title,
        text=document.text,
        sha256=document.sha256,
        url=metadata.url,
        published=metadata.published,
        author=metadata.author,
        language=metadata.language,
        site=metadata.site,
        tags=metadata.tags,
    )


def update_index(
    settings: Settings,
    encoder: Encoder,
    *,
    wait: float = 0.0,
    progress: bool = False,
    edit: Callable[[], CorpusEdit] | None = None,
    reextract: bool = False,
) -> IndexReport:
    """Index the corpus folder into a new published version, as the one writer.

    `edit` changes the corpus folder under the writer lock first (`qa add`, the document API),
    so that two editors never interleave their changes and indexing runs. The edit is all or
    nothing with its publication: if reading, indexing or publishing fails, it is undone (the
    corpus folder as it was) and the error raised. Pages, Markdown and PDF files are extracted
    once (`ExtractionCache`), again only when they or the extractors change, or with `reextract`.
    """
    started = time.perf_counter()
    with writer_lock(settings, wait):
        cleaned = clean_leftovers(settings.index_dir) + clean_edits(settings.corpus_dir)
        change = edit() if edit is not None else None
        try:
            store, changes, version = _index_and_publish(
                settings, encoder, progress=progress, reextract=reextract
            )
        except BaseException:
            if change is not None:
                change.undo()
            raise
        if change is not None:
            change.keep()
    return IndexReport(
        changes=changes,
        version=version,
        passages=store.count(),
        seconds=time.perf_counter() - started,
        skipped=store.manifest.skipped,
        cleaned=cleaned,
    )


def _index_and_publish(
    settings: Settings, encoder: Encoder, *, progress: bool, reextract: bool
) -> tuple[EmbeddedStore, IndexChanges, str]:
    """The corpus folder indexed (reusing what the published version holds) and published."""
    chunking = ChunkingConfig.from_settings(settings)
    extractions = settings.index_dir / EXTRACTIONS
    if reextract:
        shutil.rmtree(extractions, ignore_errors=True)
    cache = ExtractionCache(extractions)
    corpus = load_corpus(settings.corpus_dir, settings.max_article_bytes, cache)
    previous, reason = _previous(settings, embedding_of(encoder, chunking))
    store, changes = index_corpus(
        corpus, encoder, chunking, progress=progress, previous=previous, reason=reason
    )
    version = publish(
        settings, store, [*changes.added, *changes.changed], changes.removed, full=bool(reason)
    )
    cache.prune()  # extractions of files no longer in the corpus
    return store, changes, version


def _previous(settings: Settings, embedding: Embedding) -> tuple[Store | None, str]:
    """The published version whose vectors can be reused, or None and why not."""
    try:
        manifest = published_manifest(settings)
        reason = reembedding_reason(manifest, embedding)
        if reason is not None:
            return None, reason
        return open_store(settings), ""
    except IndexMissingError:
        return None, "no previous index"
    except IndexUnavailableError as error:
        return None, f"previous version unusable ({error})"
