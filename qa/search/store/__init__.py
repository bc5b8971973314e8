"""Storage of passages behind one contract (`Store`, in `protocol`), one module per engine: the
embedded store (`embedded`: FAISS through `ann`, BM25 through `lexical`, in a folder of plain
files, published as immutable versions by one writer at a time, `versions`, checked by
`integrity`) and Qdrant (`qdrant`, with its connections, points and views in `qdrant_connection`,
`qdrant_points`, `qdrant_views`; sparse vectors from `sparse`) and PostgreSQL with pgvector
(`postgres`, with its tables and pools in `postgres_schema`, its searches in `postgres_queries`,
its writer, publications, advisory lock and notifications in `postgres_writes`); `views` holds
what the two server engines share (the passages' view, the bounded cache). `choice` is the
one place that reads the store setting. Only these modules import faiss, bm25s, qdrant_client,
psycopg (with qa.analytics) or pgvector. May import `qa.content.corpus`,
`qa.search.encoders.base`, `qa.settings` and `qa.errors`."""

from qa.search.store.choice import open_store, published_manifest
from qa.search.store.embedded import EmbeddedStore, load_store, load_version, read_manifest
from qa.search.store.protocol import (
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
from qa.search.store.versions import WriterLock, clean_leftovers, current_version, read_pointer

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
    "open_store",
    "published_manifest",
    "read_manifest",
    "read_pointer",
]
