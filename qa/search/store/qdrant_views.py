"""A read-only view of a Qdrant store's articles, read from Qdrant on each access (another
process may have changed them); its passages' view is `views.PassageView`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from qa.search.store.protocol import Source
from qa.search.store.qdrant_points import document_id, documents_alias, payload_of, source_of

if TYPE_CHECKING:
    from qa.search.store.qdrant import QdrantStore


class SourceView(Mapping[str, Source]):
    """Article name -> article, read from Qdrant (another process may have changed it)."""

    def __init__(self, store: QdrantStore) -> None:
        self._store = store
        self._collection = documents_alias(store.name)

    def __getitem__(self, name: str) -> Source:
        found = self._store.client.retrieve(self._collection, [document_id(name)])
        if not found:
            raise KeyError(name)
        return source_of(found[0].payload)

    def __iter__(self) -> Iterator[str]:
        for record in self._store.scroll(self._collection, None, ["name"]):
            if "name" in payload_of(record):
                yield str(payload_of(record)["name"])

    def __len__(self) -> int:
        return sum(1 for _ in self)
