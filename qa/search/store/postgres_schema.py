"""The PostgreSQL store's tables, and the connection pools that reach them.

    qa_meta       one row: the schema's version, the published manifest (NULL until the first
                  publication) and its version name, and what BM25 counts over the passages
                  (their number and total length, kept by the writer)
    qa_sources    one row per article: its `Source` (JSON) and the fields filters test
    qa_passages   one row per passage: its id (the store's position), article, order, `Chunk`
                  (JSON), unit vector, BM25 length, and a French `tsvector` of its text
    qa_sentences  one row per sentence of a passage: its unit vector
    qa_terms      one row per (stem, passage): how often the stem occurs (BM25's tf), with the
                  embedded store's analysis (qa/search/store/lexical.py)

Deleting an article deletes its passages, their sentences and terms (foreign keys, cascading).
The vector columns carry the model's dimension, fixed when the tables are made; a rebuild for
another model makes them again, in the transaction that publishes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from qa.errors import IndexMismatchError, IndexUnavailableError, WritesUnavailableError

Connection = psycopg.Connection[tuple[Any, ...]]
# Bumped whenever the tables change: a store of another schema is refused, and rebuilt by
# `qa index`.
SCHEMA_VERSION = 1
TABLES = ("qa_terms", "qa_sentences", "qa_passages", "qa_sources", "qa_meta")
# Connections per pool: as many as searches computed at once (QA_SEARCH_WORKERS' default).
POOL_SIZE = 8
# Seconds a search waits for a connection, or a store for the database, before giving up.
CONNECT_TIMEOUT = 10

# What a failed connection or a lost server raises.
CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def create_tables(connection: Connection, dimension: int) -> None:
    """The store's tables, empty, for vectors of `dimension` (in the caller's transaction)."""
    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    connection.execute(
        """
        CREATE TABLE qa_meta (
            id int PRIMARY KEY CHECK (id = 1),
            schema_version int NOT NULL,
            version text,
            manifest jsonb,
            passages bigint NOT NULL DEFAULT 0,
            total_length bigint NOT NULL DEFAULT 0
        )"""
    )
    connection.execute("INSERT INTO qa_meta (id, schema_version) VALUES (1, %s)", (SCHEMA_VERSION,))
    connection.execute(
        """
        CREATE TABLE qa_sources (
            name text PRIMARY KEY,
            sha256 text NOT NULL,
            source jsonb NOT NULL,
            published date,
            language text,
            site text
        )"""
    )
    connection.execute(
        f"""
        CREATE TABLE qa_passages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source text NOT NULL REFERENCES qa_sources (name) ON DELETE CASCADE,
            ord int NOT NULL,
            chunk jsonb NOT NULL,
            embedding vector({int(dimension)}) NOT NULL,
            length int NOT NULL,
            sentences int NOT NULL,
            match_text text NOT NULL,
            french tsvector GENERATED ALWAYS AS (to_tsvector('french', match_text)) STORED
        )"""
    )
    connection.execute("CREATE INDEX qa_passages_source ON qa_passages (source, ord)")
    connection.execute("CREATE INDEX qa_passages_french ON qa_passages USING gin (french)")
    connection.execute(
        f"""
        CREATE TABLE qa_sentences (
            passage bigint NOT NULL REFERENCES qa_passages (id) ON DELETE CASCADE,
            ord int NOT NULL,
            embedding vector({int(dimension)}) NOT NULL,
            PRIMARY KEY (passage, ord)
        )"""
    )
    connection.execute(
        """
        CREATE TABLE qa_terms (
            term text NOT NULL,
            passage bigint NOT NULL REFERENCES qa_passages (id) ON DELETE CASCADE,
            tf int NOT NULL,
            PRIMARY KEY (term, passage)
        )"""
    )
    connection.execute("CREATE INDEX qa_terms_passage ON qa_terms (passage)")


def drop_tables(connection: Connection) -> None:
    for table in TABLES:
        connection.execute(f"DROP TABLE IF EXISTS {table} CASCADE")


def stored_dimension(connection: Connection) -> int | None:
    """The dimension of the stored vectors; None when there are no tables (or an old schema)."""
    row = connection.execute(
        """
        SELECT format_type(atttypid, atttypmod) FROM pg_attribute
        WHERE attrelid = to_regclass('qa_passages') AND attname = 'embedding'"""
    ).fetchone()
    if row is None or not str(row[0]).startswith("vector("):
        return None
    return int(str(row[0])[len("vector(") : -1])


def schema_version(connection: Connection) -> int | None:
    """The schema version the tables record; None if they record none."""
    try:
        with connection.transaction():  # a savepoint: an unexpected table leaves no error
            row = connection.execute("SELECT schema_version FROM qa_meta WHERE id = 1").fetchone()
    except psycopg.errors.UndefinedColumn:
        return None
    return int(row[0]) if row is not None else None


def check_schema(connection: Connection, where: str) -> None:
    """Refuse, in one line, tables another version of qa made."""
    version = schema_version(connection)
    if version != SCHEMA_VERSION:
        found = "no schema version" if version is None else f"schema {version}"
        raise IndexMismatchError(
            f"the PostgreSQL store {where} has {found}, this version reads schema "
            f"{SCHEMA_VERSION}: rebuild it with `qa index`"
        )


def has_tables(connection: Connection) -> bool:
    row = connection.execute("SELECT to_regclass('qa_meta') IS NOT NULL").fetchone()
    return bool(row and row[0])


# --- connections -------------------------------------------------------------------------------

_pools: dict[str, ConnectionPool[Connection]] = {}
_pools_lock = threading.Lock()


def pool(url: str) -> ConnectionPool[Connection]:
    """One pool per database URL and process, shared by every store that names it; its
    connections know pgvector's type (the extension made first if missing, which needs the
    right to create it: a writer's)."""
    with _pools_lock:
        if url not in _pools:
            with connect(url) as connection:
                if not _has_vector_type(connection):
                    connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            _pools[url] = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                configure=_configure,
                # A connection the server dropped (a restart, a failover) is replaced before a
                # search gets it, not after the search fails.
                check=ConnectionPool.check_connection,
                timeout=CONNECT_TIMEOUT,
                open=True,
                name="qa-store",
            )
        return _pools[url]


def close_pools() -> None:
    """Close every pool of this process (tests, and a server shutting down)."""
    with _pools_lock:
        for opened in _pools.values():
            opened.close()
        _pools.clear()


def connect(url: str, application_name: str = "qa") -> Connection:
    """One connection outside the pools (the writer lock, LISTEN), autocommit."""
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name,
        )
    except psycopg.Error as error:
        raise IndexUnavailableError(
            f"cannot connect to the PostgreSQL store {redacted(url)}: {one_line(error)}"
        ) from error


@contextmanager
def transaction(url: str) -> Iterator[Connection]:
    """A pooled connection in one transaction: committed on success, rolled back on error."""
    try:
        with pool(url).connection() as connection:
            yield connection
    except CONNECTION_ERRORS as error:
        raise IndexUnavailableError(
            f"cannot reach the PostgreSQL store {redacted(url)}: {one_line(error)}"
        ) from error
    except psycopg.errors.ReadOnlySqlTransaction as error:  # a standby, not yet promoted
        raise WritesUnavailableError(
            f"writes are unavailable: the PostgreSQL store {redacted(url)} is read-only (a hot "
            "standby?): point QA_POSTGRES_URL at the primary"
        ) from error


def _configure(connection: Connection) -> None:
    register_vector(connection)
    connection.commit()  # the pool wants its new connections idle


def _has_vector_type(connection: Connection) -> bool:
    row = connection.execute("SELECT to_regtype('vector') IS NOT NULL").fetchone()
    return bool(row and row[0])


def redacted(url: str) -> str:
    """A URL as messages may show it: without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    host = info.get("host") or "local socket"
    return f"{info.get('dbname') or 'postgres'} on {host}:{info.get('port') or 5432}"


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def arrange_dense_index(
    connection: Connection, passages: int, exact_max: int, m: int, memory_mb: int
) -> None:
    """An HNSW index on the passage vectors above `exact_max` passages, none at or below (an
    exact scan), as the embedded store chooses (qa/search/store/ann.py); in the publishing
    transaction, so that readers switch with the version. The build may use `memory_mb` (for
    this transaction only): a graph that outgrows it is finished on disk, far more slowly."""
    present = has_dense_index(connection)
    if passages > exact_max and not present:
        # Raised, never lowered: a server configured with more keeps it.
        row = connection.execute(
            "SELECT pg_size_bytes(current_setting('maintenance_work_mem')) / 1048576"
        ).fetchone()
        if row is not None and int(row[0]) < memory_mb:
            connection.execute(f"SET LOCAL maintenance_work_mem = '{int(memory_mb)}MB'")
        connection.execute(
            f"CREATE INDEX qa_passages_hnsw ON qa_passages "
            f"USING hnsw (embedding vector_cosine_ops) WITH (m = {int(m)})"
        )
    elif passages <= exact_max and present:
        connection.execute("DROP INDEX qa_passages_hnsw")


def has_dense_index(connection: Connection) -> bool:
    row = connection.execute("SELECT to_regclass('qa_passages_hnsw') IS NOT NULL").fetchone()
    return bool(row and row[0])
