"""The store the settings choose (`QA_STORE`): the embedded one in `index_dir`, Qdrant, or
PostgreSQL.

The one module that reads the store setting: the rest of `qa` opens, reads, locks and publishes
the chosen store through the functions here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from qa.errors import IndexUnavailableError, WritesUnavailableError, require_extra
from qa.search.store.embedded import EmbeddedStore, load_store
from qa.search.store.protocol import Manifest, Store
from qa.search.store.versions import WriterLock, current_version
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.search.store.postgres import PostgresStore
    from qa.search.store.qdrant import QdrantStore


def open_store(settings: Settings) -> Store:
    """The published store, checked against the configured model."""
    if settings.store == "qdrant":
        _require_qdrant()
        from qa.search.store.qdrant import open_store as open_qdrant

        return open_qdrant(
            settings.qdrant_url, settings.qdrant_collection, settings.model, _api_key(settings)
        )
    if settings.store == "postgres":
        _require_postgres()
        from qa.search.store.postgres import open_store as open_postgres

        return open_postgres(
            _postgres_url(settings),
            settings.model,
            read_url=_postgres_read_url(settings),
            ef_search=settings.postgres_ef_search,
            lexical=settings.postgres_lexical,
            build_memory_mb=settings.postgres_build_memory_mb,
        )
    return load_store(settings.index_dir, settings.model, settings.keep_versions)


def published_manifest(settings: Settings) -> Manifest:
    """The manifest of the published store (IndexMissingError if there is none)."""
    if settings.store == "qdrant":
        return qdrant_writer(settings).manifest
    if settings.store == "postgres":
        return postgres_writer(settings).manifest
    from qa.search.store.embedded import read_manifest

    return read_manifest(current_version(settings.index_dir))


def publish(
    settings: Settings,
    built: EmbeddedStore,
    changed: Sequence[str],
    removed: Sequence[str],
    *,
    full: bool,
) -> str:
    """Publish a store an indexing run built in memory as the new version of the chosen store;
    returns that version. The caller is the one writer: it holds `writer_lock(settings)`.

    The embedded store writes a new version folder; Qdrant gets the `changed` and `removed`
    articles only, or everything in new collections when `full`; PostgreSQL the same, in one
    transaction.
    """
    if settings.store == "qdrant":
        return qdrant_writer(settings).mirror(built, changed, removed, full=full)
    if settings.store == "postgres":
        return postgres_writer(settings).mirror(built, changed, removed, full=full)
    built.home, built.keep = settings.index_dir, settings.keep_versions
    return built.publish(built.manifest)


def writer_lock(settings: Settings, wait: float = 0.0) -> AbstractContextManager[object]:
    """The lock that keeps the chosen store to one writer: a flock in `index_dir`, or for
    PostgreSQL an advisory lock in its database (the writers may be on several machines)."""
    if settings.store == "postgres":
        _require_postgres()
        return _primary_lock(_postgres_url(settings), wait)
    return WriterLock(settings.index_dir, wait)


@contextmanager
def _primary_lock(url: str, wait: float) -> Iterator[object]:
    """The advisory writer lock; a primary that cannot be reached takes no writes (a standby
    may still answer the searches)."""
    from qa.search.store.postgres_writes import AdvisoryWriterLock

    lock = AdvisoryWriterLock(url, wait)
    try:
        lock.__enter__()
    except IndexUnavailableError as error:
        raise WritesUnavailableError(f"writes are unavailable: {error}") from error
    try:
        yield lock
    finally:
        lock.__exit__(None, None, None)


def location(settings: Settings) -> str:
    """Where the chosen store is, as messages name it (never with a password)."""
    if settings.store == "qdrant":
        return f"the Qdrant collection {settings.qdrant_collection} at {settings.qdrant_url}"
    if settings.store == "postgres":
        from qa.search.store.postgres_schema import redacted

        return f"the PostgreSQL store {redacted(_postgres_url(settings))}"
    return str(settings.index_dir)


def loads_versions(settings: Settings) -> bool:
    """Whether a reader serves a newly published version only once it loads it (the embedded
    store's version folders), rather than at once (every search reads Qdrant or PostgreSQL)."""
    return settings.store == "embedded"


def announces_versions(settings: Settings) -> bool:
    """Whether the store announces each version it publishes (PostgreSQL's NOTIFY), so that a
    reader can serve it at once (`listen_for_versions`)."""
    return settings.store == "postgres"


def listen_for_versions(settings: Settings, window: float) -> Iterator[str]:
    """The name of each version published from now on, ending after `window` seconds without
    one, for a store that `announces_versions`: PostgreSQL announces them on the writer's
    database (QA_POSTGRES_URL; a standby relays no notification). IndexUnavailableError when it
    cannot be reached."""
    _require_postgres()
    from qa.search.store.postgres import listen_for_versions as listen

    return listen(_postgres_url(settings), timeout=window)


def qdrant_writer(settings: Settings) -> QdrantStore:
    """The Qdrant store to write into, published or not yet."""
    _require_qdrant()
    from qa.search.store.qdrant import QdrantStore
    from qa.search.store.qdrant_connection import connect

    client = connect(settings.qdrant_url, _api_key(settings))
    return QdrantStore(client, settings.qdrant_collection, location=settings.qdrant_url)


def postgres_writer(settings: Settings) -> PostgresStore:
    """The PostgreSQL store to write into, published or not yet."""
    _require_postgres()
    from qa.search.store.postgres import PostgresStore

    return PostgresStore(
        _postgres_url(settings),
        read_url=_postgres_read_url(settings),
        ef_search=settings.postgres_ef_search,
        lexical=settings.postgres_lexical,
        build_memory_mb=settings.postgres_build_memory_mb,
    )


def _require_postgres() -> None:
    require_extra("postgres", "QA_STORE=postgres", "psycopg", "psycopg_pool", "pgvector")


def _postgres_url(settings: Settings) -> str:
    if settings.postgres_url is None:
        raise IndexUnavailableError(
            "QA_STORE=postgres needs QA_POSTGRES_URL, the database's libpq URL "
            "(postgresql://user:password@host:5432/qa)"
        )
    return settings.postgres_url.get_secret_value()


def _postgres_read_url(settings: Settings) -> str | None:
    read = settings.postgres_read_url
    return read.get_secret_value() if read is not None else None


def _require_qdrant() -> None:
    require_extra("qdrant", "QA_STORE=qdrant", "qdrant_client")


def _api_key(settings: Settings) -> str | None:
    key = settings.qdrant_api_key
    return key.get_secret_value() if key is not None else None
