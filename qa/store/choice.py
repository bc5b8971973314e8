"""The store the settings choose (`QA_STORE`): the embedded one in `index_dir`, or Qdrant.

The one module that reads the store setting: the rest of `qa` opens, reads and publishes the
chosen store through the functions here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.errors import require_extra
from qa.settings import Settings
from qa.store.embedded import EmbeddedStore, load_store
from qa.store.protocol import Manifest, Store
from qa.store.versions import current_version

if TYPE_CHECKING:
    from qa.store.qdrant import QdrantStore


def open_store(settings: Settings) -> Store:
    """The published store, checked against the configured model."""
    if settings.store == "qdrant":
        _require_qdrant()
        from qa.store.qdrant import open_store as open_qdrant

        return open_qdrant(
            settings.qdrant_url, settings.qdrant_collection, settings.model, _api_key(settings)
        )
    return load_store(settings.index_dir, settings.model, settings.keep_versions)


def published_manifest(settings: Settings) -> Manifest:
    """The manifest of the published store (IndexMissingError if there is none)."""
    if settings.store == "qdrant":
        return qdrant_writer(settings).manifest
    from qa.store.embedded import read_manifest

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
    returns that version. The caller is the one writer: it holds `WriterLock(index_dir)`.

    The embedded store writes a new version folder; Qdrant gets the `changed` and `removed`
    articles only, or everything in new collections when `full`.
    """
    if settings.store == "qdrant":
        return qdrant_writer(settings).mirror(built, changed, removed, full=full)
    built.home, built.keep = settings.index_dir, settings.keep_versions
    return built.publish(built.manifest)


def loads_versions(settings: Settings) -> bool:
    """Whether a reader serves a newly published version only once it loads it (the embedded
    store's version folders), rather than at once (every search reads Qdrant)."""
    return settings.store != "qdrant"


def qdrant_writer(settings: Settings) -> QdrantStore:
    """The Qdrant store to write into, published or not yet."""
    _require_qdrant()
    from qa.store.qdrant import QdrantStore
    from qa.store.qdrant_connection import connect

    client = connect(settings.qdrant_url, _api_key(settings))
    return QdrantStore(client, settings.qdrant_collection, location=settings.qdrant_url)


def _require_qdrant() -> None:
    require_extra("qdrant", "QA_STORE=qdrant", "qdrant_client")


def _api_key(settings: Settings) -> str | None:
    key = settings.qdrant_api_key
    return key.get_secret_value() if key is not None else None
