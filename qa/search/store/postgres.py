"""The PostgreSQL store: passages, articles and vectors in PostgreSQL tables, searched with
pgvector and BM25 in SQL; a `Store`. With `postgres_schema` (tables, pools), `postgres_queries`
(searches) and `postgres_writes` (the writer, publication, the advisory lock, notifications),
the only modules that import psycopg and pgvector.

Every read asks the database (through a pool; at `read_url`, a standby, if given), so that all
processes on one database serve its published content at once; writes and publications go to
`url`. Positions are the passages' ids: an article rewritten gets new ids, so what a process
caches by id never goes stale. `listen_for_versions` yields each version as it is published.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from pgvector import Vector
from pydantic import ValidationError

from qa.content.corpus.chunk import Chunk
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.search.encoders.base import Vectors
from qa.search.store import ann
from qa.search.store import postgres_queries as queries
from qa.search.store import postgres_writes as writes
from qa.search.store.embedded import CANDIDATES_PER_RESULT, MIN_CANDIDATES
from qa.search.store.postgres_queries import LexicalMethod
from qa.search.store.postgres_schema import (
    SCHEMA_VERSION,
    Connection,
    arrange_dense_index,
    check_schema,
    create_tables,
    drop_tables,
    has_dense_index,
    has_tables,
    redacted,
    schema_version,
    stored_dimension,
    transaction,
)
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
from qa.search.store.views import LRU, PassageView

__all__ = ["PostgresStore", "listen_for_versions", "open_store"]

listen_for_versions = writes.listen_for_versions
# Passages kept in memory by id, per process: enough for the pages of results being served.
CACHE_SIZE = 4096
# maintenance_work_mem of a publication's HNSW build, as QA_POSTGRES_BUILD_MEMORY_MB's default.
BUILD_MEMORY_MB = 1024


class PostgresStore:
    """Passages of a corpus in PostgreSQL, searchable; a `Store`."""

    def __init__(
        self,
        url: str,
        *,
        read_url: str | None = None,
        ef_search: int = ann.HNSW_EF_PER_100K,
        lexical: LexicalMethod = "bm25",
        build_memory_mb: int = BUILD_MEMORY_MB,
    ) -> None:
        self.url = url
        self.read_url = read_url or url
        self.ef_search = ef_search
        self.build_memory_mb = build_memory_mb
        self.lexical_method: LexicalMethod = lexical
        self.where = redacted(self.url)
        # Whether the passages have their HNSW index, as last seen (None: not yet looked).
        self._approximate: bool | None = None
        self._chunks: LRU[Chunk] = LRU(CACHE_SIZE)
        # The writer's transaction while `mirror` publishes: every write goes through it.
        self._writing: Connection | None = None

    # --- what the search reads -----------------------------------------------------------

    @property
    def engine(self) -> str:
        dense = {
            None: f"exact up to {ann.EXACT_MAX_ROWS} passages, HNSW above",
            False: "exact cosine",
            True: f"HNSW cosine (ef_search {self.ef_search})",
        }[self._approximate]
        lexical = "BM25 in SQL" if self.lexical_method == "bm25" else "French full text"
        return (
            f"postgres: {redacted(self.read_url)}, pgvector {dense}, candidates rescored with "
            f"their sentences + {lexical}"
        )

    @property
    def manifest(self) -> Manifest:
        """The published manifest, read each time: another process may publish."""
        with transaction(self.read_url) as connection:
            return self._published(connection)

    @property
    def chunks(self) -> Sequence[Chunk]:
        return PassageView(self)

    @property
    def sources(self) -> Mapping[str, Source]:
        return SourceView(self)

    def search_dense(self, query: Vectors, k: int, where: SearchFilter | None = None) -> list[Hit]:
        candidates = max(k * CANDIDATES_PER_RESULT, MIN_CANDIDATES)
        with transaction(self.read_url) as connection:
            self._approximate = has_dense_index(connection)
            rows = queries.dense(
                connection, query, k, candidates, where, self.ef_search, self._approximate
            )
        return self._hits(rows)

    def search_lexical(self, text: str, k: int, where: SearchFilter | None = None) -> list[Hit]:
        with transaction(self.read_url) as connection:
            rows = queries.lexical(connection, text, k, where, self.lexical_method)
        return self._hits(rows)

    def dense_scores(self, query: Vectors, positions: Sequence[int]) -> list[float]:
        with transaction(self.read_url) as connection:
            scores = queries.dense_scores(connection, query, list(positions))
        return [scores[p] for p in positions]

    def sentence_scores(self, query: Vectors, position: int) -> Vectors:
        with transaction(self.read_url) as connection:
            return queries.sentence_scores(connection, query, position)

    def count(self) -> int:
        with transaction(self.read_url) as connection:
            return int(_one(connection, "SELECT count(*) FROM qa_passages"))

    def describe(self) -> StoreDescription:
        """What one published version holds: read in one snapshot, never across a publication."""
        with transaction(self.read_url) as connection:
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            manifest = self._published(connection)
            documents = _one(connection, "SELECT count(*) FROM qa_sources")
            passages = _one(connection, "SELECT count(*) FROM qa_passages")
        return StoreDescription(
            engine=self.engine,
            version=manifest.version,
            documents=int(documents),
            passages=int(passages),
            sentences=manifest.sentence_count,
            built_at=manifest.built_at,
        )

    def chunk(self, position: int) -> Chunk:
        cached = self._chunks.get(position)
        if cached is None:
            with transaction(self.read_url) as connection:
                row = connection.execute(
                    "SELECT chunk FROM qa_passages WHERE id = %s", (position,)
                ).fetchone()
            if row is None:
                raise IndexError(f"no passage {position} in the PostgreSQL store {self.where}")
            cached = Chunk.model_validate(row[0])
            self._chunks.put(position, cached)
        return cached

    def every_chunk(self) -> Iterator[Chunk]:
        with transaction(self.read_url) as connection:
            rows = connection.execute("SELECT chunk FROM qa_passages ORDER BY id").fetchall()
        return (Chunk.model_validate(row[0]) for row in rows)

    # --- what the one writer changes ---------------------------------------------------------

    def document(self, name: str) -> DocumentRecord | None:
        with transaction(self.url) as connection:
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            found = connection.execute(
                "SELECT source FROM qa_sources WHERE name = %s", (name,)
            ).fetchone()
            if found is None:
                return None
            passages = connection.execute(
                "SELECT id, chunk, embedding FROM qa_passages WHERE source = %s ORDER BY ord",
                (name,),
            ).fetchall()
            sentences = connection.execute(
                """
                SELECT t.embedding FROM qa_sentences t JOIN qa_passages p ON p.id = t.passage
                WHERE p.source = %s ORDER BY p.ord, t.ord""",
                (name,),
            ).fetchall()
            dimension = stored_dimension(connection) or 0
        return DocumentRecord(
            source=Source.model_validate(found[0]),
            chunks=tuple(Chunk.model_validate(row[1]) for row in passages),
            vectors=_matrix([row[2] for row in passages], dimension),
            sentence_vectors=_matrix([row[0] for row in sentences], dimension),
        )

    def write_document(self, record: DocumentRecord) -> None:
        with self._writer() as connection:
            self._ensure_tables(connection, record.vectors.shape[1])
            writes.write_document(connection, record)

    def delete_document(self, name: str) -> None:
        with self._writer() as connection:
            if has_tables(connection):
                writes.delete_document(connection, name)

    def publish(self, manifest: Manifest) -> str:
        """Record the manifest as a new version and announce it (`NOTIFY qa_published`)."""
        with self._writer() as connection:
            self._ensure_tables(connection, manifest.dimension)
            passages = int(_one(connection, "SELECT passages FROM qa_meta"))
            arrange_dense_index(
                connection, passages, ann.EXACT_MAX_ROWS, ann.HNSW_M, self.build_memory_mb
            )
            self._approximate = has_dense_index(connection)
            return writes.publish(connection, manifest).version

    def mirror(
        self, built: Store, changed: Sequence[str], removed: Sequence[str], *, full: bool
    ) -> str:
        """Publish what an indexing run built, in one transaction: everything anew (`full`), or
        the `changed` and `removed` articles and the others' metadata; returns the version."""
        with transaction(self.url) as connection:
            self._writing = connection
            try:
                if full:
                    self._empty(connection, built.manifest.dimension)
                    names: Sequence[str] = list(built.sources)
                else:
                    names = changed
                for name in names:
                    if (record := built.document(name)) is not None:
                        self.write_document(record)
                for name in removed:
                    self.delete_document(name)
                if not full:
                    writes.update_metadata(connection, built.sources)
                return self.publish(built.manifest)
            finally:
                self._writing = None

    # --- internals -------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        """The publishing transaction if there is one, else a transaction of its own."""
        if self._writing is not None:
            yield self._writing
            return
        with transaction(self.url) as connection:
            yield connection

    def _ensure_tables(self, connection: Connection, dimension: int) -> None:
        if not has_tables(connection):
            create_tables(connection, dimension)

    def _empty(self, connection: Connection, dimension: int) -> None:
        """No article left, in tables for `dimension` (made again if another model's or
        schema's): readers keep the published version until the transaction commits."""
        if (
            has_tables(connection)
            and schema_version(connection) == SCHEMA_VERSION
            and stored_dimension(connection) == dimension
        ):
            connection.execute("DELETE FROM qa_sources")
            connection.execute("UPDATE qa_meta SET passages = 0, total_length = 0")
            return
        drop_tables(connection)
        create_tables(connection, dimension)

    def _published(self, connection: Connection) -> Manifest:
        if not has_tables(connection):
            raise IndexMissingError(
                f"no published index in the PostgreSQL store {self.where}: run `qa index` "
                "with QA_STORE=postgres first"
            )
        check_schema(connection, self.where)
        row = connection.execute("SELECT version, manifest FROM qa_meta WHERE id = 1").fetchone()
        if row is None or row[1] is None:
            raise IndexMissingError(
                f"no published index in the PostgreSQL store {self.where}: run `qa index` "
                "with QA_STORE=postgres first"
            )
        try:
            manifest = Manifest.model_validate(row[1])
        except ValidationError as error:
            raise IndexCorruptError(
                f"the PostgreSQL store {self.where} holds an unreadable manifest: "
                f"{error.errors()[0]['msg']}; rebuild it with `qa index`"
            ) from error
        return manifest.model_copy(update={"version": row[0]})

    def _hits(self, rows: list[queries.Row]) -> list[Hit]:
        for id_, _, chunk in rows:
            self._chunks.put(id_, Chunk.model_validate(chunk))
        return [Hit(id_, score) for id_, score, _ in rows]


class SourceView(Mapping[str, Source]):
    """Article name -> article, read from the database (another process may change it)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def __getitem__(self, name: str) -> Source:
        with transaction(self._store.read_url) as connection:
            row = connection.execute(
                "SELECT source FROM qa_sources WHERE name = %s", (name,)
            ).fetchone()
        if row is None:
            raise KeyError(name)
        return Source.model_validate(row[0])

    def __iter__(self) -> Iterator[str]:
        with transaction(self._store.read_url) as connection:
            rows = connection.execute("SELECT name FROM qa_sources ORDER BY name").fetchall()
        return (str(row[0]) for row in rows)

    def __len__(self) -> int:
        with transaction(self._store.read_url) as connection:
            return int(_one(connection, "SELECT count(*) FROM qa_sources"))


def open_store(
    url: str,
    model: str,
    *,
    read_url: str | None = None,
    ef_search: int = ann.HNSW_EF_PER_100K,
    lexical: LexicalMethod = "bm25",
    build_memory_mb: int = BUILD_MEMORY_MB,
) -> PostgresStore:
    """The published PostgreSQL store, refusing another model's, format's or schema's."""
    store = PostgresStore(
        url,
        read_url=read_url,
        ef_search=ef_search,
        lexical=lexical,
        build_memory_mb=build_memory_mb,
    )
    with transaction(store.read_url) as connection:
        manifest = store._published(connection)
        store._approximate = has_dense_index(connection)
    if manifest.model != model:
        raise IndexMismatchError(
            f"the PostgreSQL store {store.where} was built with model {manifest.model!r} but "
            f"the configured model is {model!r}: rebuild it with `qa index`"
        )
    if manifest.format != INDEX_FORMAT:
        raise IndexMismatchError(
            f"the PostgreSQL store {store.where} has format {manifest.format}, this version "
            f"reads {INDEX_FORMAT}: rebuild it with `qa index`"
        )
    return store


def _one(connection: Connection, sql: str) -> Any:
    row = connection.execute(sql).fetchone()
    assert row is not None  # the callers' queries always return one row
    return row[0]


def _matrix(rows: list[Vector], dimension: int) -> Vectors:
    if not rows:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.asarray(np.vstack([row.to_numpy() for row in rows]), dtype=np.float32)
