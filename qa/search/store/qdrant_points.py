"""How passages and articles are written as Qdrant points: collections, ids, payloads, filters.

A point id is derived from what it holds (the article's hash and the chunk id, or the article's
name), so that it changes whenever its text may have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from math import inf
from typing import Any

import numpy as np
from pydantic import ValidationError
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from qa.content.corpus.chunk import Chunk
from qa.errors import IndexCorruptError
from qa.search.encoders.base import Vectors
from qa.search.store.protocol import DocumentRecord, Manifest, SearchFilter, Source
from qa.search.store.sparse import passage_length

PASSAGE = "passage"
BM25 = "bm25"
# The passage payload's fields that searches filter on, indexed by a Qdrant server.
PAYLOAD_INDEXES = {
    "source": qm.PayloadSchemaType.KEYWORD,
    "sha256": qm.PayloadSchemaType.KEYWORD,
    "published": qm.PayloadSchemaType.DATETIME,
    "language": qm.PayloadSchemaType.KEYWORD,
    "site": qm.PayloadSchemaType.KEYWORD,
}
META_ID = 0
_ID_MASK = (1 << 63) - 1  # ids fit a signed 64-bit integer wherever they travel


def create_collections(
    client: QdrantClient, passages: str, documents: str, dimension: int, indexed: bool
) -> None:
    """A store's two collections, new; with payload indexes on the filtered fields if
    `indexed` (a server)."""
    client.create_collection(
        passages,
        vectors_config={
            PASSAGE: qm.VectorParams(
                size=dimension,
                distance=qm.Distance.COSINE,
                multivector_config=qm.MultiVectorConfig(
                    comparator=qm.MultiVectorComparator.MAX_SIM
                ),
            )
        },
        sparse_vectors_config={BM25: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
    )
    client.create_collection(documents, vectors_config={})
    if indexed:
        for field, kind in PAYLOAD_INDEXES.items():
            client.create_payload_index(passages, field, kind)


def passage_id(source: Source, chunk: Chunk) -> int:
    return point_id(f"passage\0{source.sha256}\0{chunk.chunk_id}")


def document_id(name: str) -> int:
    return point_id(f"document\0{name}") or 1  # 0 is the manifest's point


def documents_alias(name: str) -> str:
    return f"{name}-documents"


def point_id(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _ID_MASK


def payload_of(point: qm.Record | qm.ScoredPoint) -> dict[str, Any]:
    return dict(point.payload or {})


def source_of(payload: dict[str, Any] | None) -> Source:
    try:
        return Source.model_validate((payload or {})["source"])
    except (KeyError, ValidationError) as error:
        raise IndexCorruptError(f"an article point in Qdrant is unreadable: {error}") from error


def manifest_of(meta: dict[str, Any], name: str) -> Manifest:
    try:
        manifest = Manifest.model_validate(meta["manifest"])
    except (KeyError, ValidationError) as error:
        raise IndexCorruptError(
            f"the manifest of the Qdrant collection {name!r} is unreadable: rebuild with `qa index`"
        ) from error
    return manifest.model_copy(update={"version": str(meta["manifest"].get("version", ""))})


def recorded_average_length(meta: dict[str, Any], name: str) -> float | None:
    """The passages' average term count the published BM25 weights were made with (None: not
    recorded, or no terms), refused unless a finite number: the weights of the passages
    written with it would be NaN or negative, and rank them wrongly."""
    value = meta.get("average_length")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < inf:
        raise IndexCorruptError(
            f"the Qdrant collection {name!r} records an average passage length of {value!r}, "
            "not a number of terms: rebuild it with `qa index`"
        )
    return float(value) or None


def multivector(vector: Any) -> Vectors:
    return np.asarray(vector[PASSAGE], dtype=np.float32)


def average_length(records: Sequence[DocumentRecord]) -> float:
    lengths = [passage_length(c.match_text) for r in records for c in r.chunks]
    return float(np.mean(lengths)) if lengths else 1.0


def field_condition(key: str, value: str) -> qm.FieldCondition:
    return qm.FieldCondition(key=key, match=qm.MatchValue(value=value))


def match(key: str, value: str) -> qm.Filter:
    return qm.Filter(must=[field_condition(key, value)])


def article_fields(source: Source) -> dict[str, Any]:
    """What each passage's payload holds of its article for the filters besides its name."""
    return {
        "published": source.published.isoformat() if source.published else None,
        "language": source.language,
        "site": source.site,
    }


def payload_filter(where: SearchFilter | None) -> qm.Filter | None:
    """A `SearchFilter` as a Qdrant payload filter; an undated article fails any date range, an
    article of unknown language or site any condition on it (null matches no value)."""
    if where is None:
        return None
    must: list[qm.Condition] = [
        qm.FieldCondition(key=key, match=qm.MatchAny(any=sorted(allowed)))
        for key, allowed in [
            ("source", where.sources),
            ("language", where.languages),
            ("site", where.sites),
        ]
        if allowed is not None
    ]
    if where.published_after is not None or where.published_before is not None:
        must.append(
            qm.FieldCondition(
                key="published",
                range=qm.DatetimeRange(gte=where.published_after, lte=where.published_before),
            )
        )
    return qm.Filter(must=must)
