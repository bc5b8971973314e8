"""Storage of passages behind one contract (`Store`), with the embedded FAISS + bm25s store as
its implementation, published as immutable versions by one writer at a time."""

from qa.store.embedded import EmbeddedStore, load_store, load_version, read_manifest
from qa.store.protocol import (
    INDEX_FORMAT,
    DocumentRecord,
    Embedding,
    Hit,
    Manifest,
    SearchFilter,
    Source,
    Store,
    StoreDescription,
)
from qa.store.versions import WriterLock, clean_leftovers, current_version, read_pointer

__all__ = [
    "INDEX_FORMAT",
    "DocumentRecord",
    "EmbeddedStore",
    "Embedding",
    "Hit",
    "Manifest",
    "SearchFilter",
    "Source",
    "Store",
    "StoreDescription",
    "WriterLock",
    "clean_leftovers",
    "current_version",
    "load_store",
    "load_version",
    "read_manifest",
    "read_pointer",
]
