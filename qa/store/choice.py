"""The store the settings choose (`QA_STORE`): the embedded one in `index_dir`, or Qdrant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.settings import Settings
from qa.store.embedded import load_store
from qa.store.protocol import Manifest, Store
from qa.store.versions import current_version

if TYPE_CHECKING:
    from qa.store.qdrant import QdrantStore


def open_store(settings: Settings) -> Store:
    """The published store, checked against the configured model."""
    if settings.store == "qdrant":
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


def qdrant_writer(settings: Settings) -> QdrantStore:
    """The Qdrant store to write into, published or not yet."""
    from qa.store.qdrant import QdrantStore, connect

    client = connect(settings.qdrant_url, _api_key(settings))
    return QdrantStore(client, settings.qdrant_collection, location=settings.qdrant_url)


def _api_key(settings: Settings) -> str | None:
    key = settings.qdrant_api_key
    return key.get_secret_value() if key is not None else None
