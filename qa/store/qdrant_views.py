"""Read-only views of a Qdrant store's passages and articles, and the cache of its passages.

They read Qdrant on each access (another process may have changed it), through the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from qa.corpus.chunk import Chunk
from qa.store.protocol import Source
from qa.store.qdrant_points import document_id, documents_alias, payload_of, source_of

if TYPE_CHECKING:
    from qa.store.qdrant import QdrantStore


class PassageView(Sequence[Chunk]):
    """Position (point id) -> passage, fetched from Qdrant's payloads and cached."""

    def __init__(self, store: QdrantStore) -> None:
        self._store = store

    @overload
    def __getitem__(self, position: int) -> Chunk: ...
    @overload
    def __getitem__(self, position: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, position: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(position, slice):
            raise TypeError("Qdrant passages are named by point id, not sliced")
        return self._store.chunk(position)

    def __len__(self) -> int:
        return self._store.count()

    def __iter__(self) -> Iterator[Chunk]:
        for record in self._store.scroll(self._store.name, None, ["chunk"]):
            yield Chunk.model_validate(payload_of(record)["chunk"])


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


Value = TypeVar("Value")


class LRU(Generic[Value]):
    """A bounded cache: the least recently used entry goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[int, Value] = OrderedDict()

    def get(self, key: int) -> Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: int, value: Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
