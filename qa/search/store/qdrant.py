"""The Qdrant store: passages as points of a Qdrant collection, searched by Qdrant; a `Store`.
With `qdrant_connection` and `qdrant_points`, the only modules that import qdrant_client.

Two collections, each reached through an alias that readers use:

NAME            one point per passage: the vector `passage` holds the passage's vector then its
                sentences' vectors (a multivector compared by MAX_SIM, so that a passage scores
                exactly max(passage cosine, best sentence cosine), as the `Store` contract says,
                in one search); the sparse vector `bm25` holds its BM25 term weights
                (qa/search/store/sparse.py; Qdrant applies IDF); the payload holds the passage, its
                article's name, hash, publication date, language and site (the filters)
NAME-documents  one point per article (its `Source`), and point 0: the published manifest

Positions are point ids, derived from the article's hash and the chunk id: a passage's id
changes whenever its text may have, so what a process caches by id never goes stale, and no
process keeps anything another one needs. A full rebuild writes new collections and switches
both aliases at once when published; an article is replaced by upserting its new points before
deleting its old ones, so readers never miss it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from qa.content.corpus.chunk import Chunk
from qa.errors import (
    IndexMismatchError,
    IndexMissingError,
    IndexUnavailableError,
)
from qa.search.encoders.base import Vectors
from qa.search.store.protocol import (
    INDEX_FORMAT,
    DocumentRecord,
    Hit,
    Manifest,
    SearchFilter,
    Source,
    Store,
    StoreDescription,
)
from qa.search.store.qdrant_connection import CONNECTION_ERRORS, connect
from qa.search.store.qdrant_points import (
    BM25,
    META_ID,
    PASSAGE,
    article_fields,
    average_length,
    create_collections,
    document_id,
    documents_alias,
    field_condition,
    manifest_of,
    match,
    multivector,
    passage_id,
    payload_filter,
    payload_of,
    recorded_average_length,
    source_of,
)
from qa.search.store.qdrant_views import SourceView
from qa.search.store.sparse import passage_terms, query_terms
from qa.search.store.views import LRU, PassageView

# Passages kept in memory by id, per process: enough for the pages of results being served.
CACHE_SIZE = 4096
_SCROLL_PAGE = 256


class QdrantStore:
    """Passages of a corpus in Qdrant collections, searchable; a `Store`."""

    def __init__(self, client: QdrantClient, name: str, *, location: str = "") -> None:
        self.client = client
        self.name = name
        self.location = location
        self.engine = f"qdrant: {location or 'client'} collection {name}"
        # Where writes go: the published collections, or new ones during a full rebuild.
        self._passages = name
        self._documents = documents_alias(name)
        self._average_length: float | None = None
        self._chunks: LRU[Chunk] = LRU(CACHE_SIZE)
        self._vectors: LRU[Vectors] = LRU(CACHE_SIZE)

    # --- what the search reads -----------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        """The published manifest, read from Qdrant each time: another process may publish."""
        return manifest_of(self._meta(documents_alias(self.name)), self.name)

    @property
    def chunks(self) -> Sequence[Chunk]:
        return PassageView(self)

    @property
    def sources(self) -> Mapping[str, Source]:
        return SourceView(self)

    def search_dense(self, query: Vectors, k: int, where: SearchFilter | None = None) -> list[Hit]:
        found = self.client.query_points(
            self.name,
            query=[query.tolist()],
            using=PASSAGE,
            limit=k,
            query_filter=payload_filter(where),
            with_payload=True,
        ).points
        return self._hits(found)

    def search_lexical(self, text: str, k: int, where: SearchFilter | None = None) -> list[Hit]:
        terms = query_terms(text)
        if not terms.ids:
            return []
        found = self.client.query_points(
            self.name,
            query=qm.SparseVector(indices=terms.ids, values=terms.weights),
            using=BM25,
            limit=k,
            query_filter=payload_filter(where),
            with_payload=True,
        ).points
        return [hit for hit in self._hits(found) if hit.score > 0]

    def dense_scores(self, query: Vectors, positions: Sequence[int]) -> list[float]:
        rows = self._rows(positions)
        return [float((rows[p] @ query).max()) for p in positions]

    def sentence_scores(self, query: Vectors, position: int) -> Vectors:
        rows = self._rows([position])[position]
        return np.asarray(rows[1:] @ query, np.float32)  # row 0 is the passage itself

    def count(self) -> int:
        return self.client.count(self.name, exact=True).count

    def describe(self) -> StoreDescription:
        manifest = self.manifest
        return StoreDescription(
            engine=self.engine,
            version=manifest.version,
            documents=len(self.sources),
            passages=self.count(),
            sentences=manifest.sentence_count,
            built_at=manifest.built_at,
        )

    # --- what the one writer changes ---------------------------------------------------------

    def document(self, name: str) -> DocumentRecord | None:
        found = self.client.retrieve(self._documents, [document_id(name)], with_payload=True)
        if not found:
            return None
        source = source_of(found[0].payload)
        records = sorted(
            self.scroll(self._passages, match("source", name), vectors=True),
            key=lambda record: int(payload_of(record)["order"]),
        )
        chunks = tuple(Chunk.model_validate(payload_of(r)["chunk"]) for r in records)
        rows = [multivector(r.vector) for r in records]
        dimension = rows[0].shape[1] if rows else 0
        return DocumentRecord(
            source=source,
            chunks=chunks,
            vectors=np.asarray([m[0] for m in rows], np.float32).reshape(-1, dimension),
            sentence_vectors=np.concatenate([m[1:] for m in rows]).astype(np.float32)
            if rows
            else np.zeros((0, 0), np.float32),
        )

    def write_document(self, record: DocumentRecord) -> None:
        """Upsert the article's passages, then delete its passages of any other content."""
        source = record.source
        if self._average_length is None:
            self._average_length = self._published_average_length() or average_length([record])
        self._ensure_collections(record.vectors.shape[1])
        points = []
        sentence_row = 0
        for order, (chunk, vector) in enumerate(zip(record.chunks, record.vectors, strict=True)):
            sentences = record.sentence_vectors[sentence_row : sentence_row + len(chunk.sentences)]
            sentence_row += len(chunk.sentences)
            terms = passage_terms(chunk.match_text, self._average_length)
            points.append(
                qm.PointStruct(
                    id=passage_id(source, chunk),
                    vector={
                        PASSAGE: np.vstack([vector, sentences]).tolist(),
                        BM25: qm.SparseVector(indices=terms.ids, values=terms.weights),
                    },
                    payload={
                        "chunk": chunk.model_dump(mode="json"),
                        "source": source.name,
                        "sha256": source.sha256,
                        **article_fields(source),
                        "order": order,
                        "sentences": len(chunk.sentences),
                    },
                )
            )
        for start in range(0, len(points), _SCROLL_PAGE):
            self.client.upsert(self._passages, points[start : start + _SCROLL_PAGE], wait=True)
        self.client.upsert(
            self._documents,
            [
                qm.PointStruct(
                    id=document_id(source.name),
                    vector={},
                    payload={"name": source.name, "source": source.model_dump(mode="json")},
                )
            ],
            wait=True,
        )
        stale = qm.Filter(
            must=[field_condition("source", source.name)],
            must_not=[field_condition("sha256", source.sha256)],
        )
        self.client.delete(self._passages, qm.FilterSelector(filter=stale), wait=True)

    def delete_document(self, name: str) -> None:
        self.client.delete(
            self._passages, qm.FilterSelector(filter=match("source", name)), wait=True
        )
        self.client.delete(self._documents, qm.PointIdsList(points=[document_id(name)]), wait=True)

    def rebuild(self, records: Iterable[DocumentRecord], dimension: int) -> None:
        """Write into new, unpublished collections: `publish` makes them the readers' ones."""
        records = list(records)
        suffix = datetime.now(UTC).strftime("%Y%m%dt%H%M%S") + f"-{time.monotonic_ns() % 10**6}"
        self._passages = f"{self.name}-{suffix}"
        self._documents = f"{documents_alias(self.name)}-{suffix}"
        self._create_collections(dimension)
        self._average_length = average_length(records)
        for record in records:
            self.write_document(record)

    def mirror(
        self, built: Store, changed: Sequence[str], removed: Sequence[str], *, full: bool
    ) -> str:
        """Publish what an indexing run built: everything into new collections (`full`), or
        only the `changed` articles and the `removed` ones, and the metadata of the others
        where it changed; returns the new version."""
        if full:
            records = [built.document(name) for name in built.sources]
            self.rebuild([r for r in records if r is not None], built.manifest.dimension)
        else:
            for name in changed:
                if (record := built.document(name)) is not None:
                    self.write_document(record)
            for name in removed:
                self.delete_document(name)
            self._update_metadata(built.sources, set(changed))
        return self.publish(built.manifest)

    def _update_metadata(self, sources: Mapping[str, Source], written: set[str]) -> None:
        """Articles kept with their vectors (same text) whose metadata changed (a sidecar
        edited, a newer extractor): their `Source` and their passages' filter fields replaced,
        no vector written."""
        stored = {
            str(p["name"]): p
            for p in map(payload_of, self.scroll(self._documents, None, ["name", "source"]))
            if "name" in p  # not the manifest's point
        }
        for name, source in sources.items():
            if name in written or name not in stored or source_of(stored[name]) == source:
                continue
            payload = {"source": source.model_dump(mode="json")}
            self.client.set_payload(self._documents, payload, [document_id(name)], wait=True)
            self.client.set_payload(
                self._passages, article_fields(source), match("source", name), wait=True
            )

    def publish(self, manifest: Manifest) -> str:
        """Record the manifest (with the store's counts) as a new version and, after a rebuild,
        switch both aliases to the new collections in one request."""
        previous = self._meta_or_none(documents_alias(self.name))
        number = int(previous["manifest"]["version"].split("-")[0]) if previous else 0
        version = f"{number + 1:06d}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        corpus = {
            str(p["name"]): str(p["source"]["sha256"])
            for p in map(payload_of, self.scroll(self._documents, None, ["name", "source"]))
            if "name" in p  # not the manifest's point
        }
        sentences = sum(
            int(payload_of(r)["sentences"])
            for r in self.scroll(self._passages, None, ["sentences"])
        )
        stamped = manifest.model_copy(
            update={
                "format": INDEX_FORMAT,
                "version": version,
                "corpus": corpus,
                "chunk_count": self.client.count(self._passages, exact=True).count,
                "sentence_count": sentences,
            }
        )
        meta = {
            "manifest": stamped.model_dump(mode="json") | {"version": version},
            "average_length": self._average_length,
        }
        self.client.upsert(
            self._documents, [qm.PointStruct(id=META_ID, vector={}, payload=meta)], wait=True
        )
        if self._passages != self.name:
            self._switch_aliases()
        return version

    # --- internals -------------------------------------------------------------------------

    def _hits(self, found: list[qm.ScoredPoint]) -> list[Hit]:
        for point in found:
            self._chunks.put(int(point.id), Chunk.model_validate(payload_of(point)["chunk"]))
        return [Hit(int(point.id), float(point.score)) for point in found]

    def chunk(self, position: int) -> Chunk:
        cached = self._chunks.get(position)
        if cached is None:
            found = self.client.retrieve(self.name, [position], with_payload=["chunk"])
            if not found:
                raise IndexError(f"no passage {position} in {self.name}")
            cached = Chunk.model_validate(payload_of(found[0])["chunk"])
            self._chunks.put(position, cached)
        return cached

    def every_chunk(self) -> Iterator[Chunk]:
        for record in self.scroll(self.name, None, ["chunk"]):
            yield Chunk.model_validate(payload_of(record)["chunk"])

    def _rows(self, positions: Sequence[int]) -> dict[int, Vectors]:
        """Each passage's multivector: its own vector, then its sentences'."""
        rows = {p: v for p in positions if (v := self._vectors.get(p)) is not None}
        missing = [p for p in positions if p not in rows]
        if missing:
            for record in self.client.retrieve(self.name, missing, with_vectors=[PASSAGE]):
                rows[int(record.id)] = multivector(record.vector)
                self._vectors.put(int(record.id), rows[int(record.id)])
        return rows

    def _meta(self, collection: str) -> dict[str, Any]:
        meta = self._meta_or_none(collection)
        if meta is None:
            raise IndexMissingError(
                f"no published index in the Qdrant collection {self.name!r} at "
                f"{self.location or 'this client'}: run `qa index` with QA_STORE=qdrant first"
            )
        return meta

    def _meta_or_none(self, collection: str) -> dict[str, Any] | None:
        if not self._exists(collection):
            return None
        found = self.client.retrieve(collection, [META_ID], with_payload=True)
        return payload_of(found[0]) if found else None

    def _published_average_length(self) -> float | None:
        meta = self._meta_or_none(self._documents)
        return recorded_average_length(meta, self.name) if meta else None

    def _exists(self, collection: str) -> bool:
        if self.client.collection_exists(collection):
            return True
        aliases = self.client.get_aliases().aliases
        return any(alias.alias_name == collection for alias in aliases)

    def _ensure_collections(self, dimension: int) -> None:
        """A store written to before any rebuild: create and publish empty collections."""
        if not self._exists(self._passages):
            self._passages = f"{self.name}-{datetime.now(UTC):%Y%m%dt%H%M%S}"
            self._documents = f"{documents_alias(self.name)}-{datetime.now(UTC):%Y%m%dt%H%M%S}"
            self._create_collections(dimension)
            self._switch_aliases()

    def _create_collections(self, dimension: int) -> None:
        # Local mode has no payload indexes.
        indexed = self.location.startswith(("http://", "https://"))
        create_collections(self.client, self._passages, self._documents, dimension, indexed)

    def _switch_aliases(self) -> None:
        current = {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}
        operations: list[qm.AliasOperations] = []
        old = []
        for alias, collection in [
            (self.name, self._passages),
            (documents_alias(self.name), self._documents),
        ]:
            if alias in current:
                operations.append(
                    qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias))
                )
                old.append(current[alias])
            operations.append(
                qm.CreateAliasOperation(
                    create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias)
                )
            )
        self.client.update_collection_aliases(operations)
        for collection in old:
            if collection not in (self._passages, self._documents):
                self.client.delete_collection(collection)
        self._passages, self._documents = self.name, documents_alias(self.name)

    def scroll(
        self,
        collection: str,
        where: qm.Filter | None,
        payload: bool | list[str] = True,
        *,
        vectors: bool = False,
    ) -> Iterator[qm.Record]:
        offset: qm.ExtendedPointId | None = None
        while True:
            records, offset = self.client.scroll(
                collection,
                scroll_filter=where,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=payload,
                with_vectors=[PASSAGE] if vectors else False,
            )
            yield from records
            if offset is None:
                return


def open_store(url: str, name: str, model: str, api_key: str | None = None) -> QdrantStore:
    """The published Qdrant store at `url`, refusing another model's or format's."""
    store = QdrantStore(connect(url, api_key), name, location=url)
    try:
        manifest = store.manifest
    except CONNECTION_ERRORS as error:
        raise IndexUnavailableError(f"cannot read the Qdrant store {url}: {error}") from error
    if manifest.model != model:
        raise IndexMismatchError(
            f"the Qdrant collection {name!r} was built with model {manifest.model!r} but the "
            f"configured model is {model!r}: rebuild it with `qa index`"
        )
    if manifest.format != INDEX_FORMAT:
        raise IndexMismatchError(
            f"the Qdrant collection {name!r} has format {manifest.format}, this version reads "
            f"{INDEX_FORMAT}: rebuild it with `qa index`"
        )
    store._published_average_length()  # what its BM25 weights stand on: checked
    return store
