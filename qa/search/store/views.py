"""What the stores that keep their passages in a server (Qdrant, PostgreSQL) share: a read-only
view of the passages by position, read from the server through the store, and the bounded cache
of the passages and vectors a process has read."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Generic, Protocol, TypeVar, overload

from qa.content.corpus.chunk import Chunk


class PassageReader(Protocol):
    """A store that reads its passages from a server, one by position or all."""

    def chunk(self, position: int) -> Chunk: ...

    def count(self) -> int: ...

    def every_chunk(self) -> Iterator[Chunk]: ...


class PassageView(Sequence[Chunk]):
    """Position -> passage, read through the store (which caches them)."""

    def __init__(self, store: PassageReader) -> None:
        self._store = store

    @overload
    def __getitem__(self, position: int) -> Chunk: ...
    @overload
    def __getitem__(self, position: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, position: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(position, slice):
            raise TypeError("these passages are named by id, not sliced")
        return self._store.chunk(position)

    def __len__(self) -> int:
        return self._store.count()

    def __iter__(self) -> Iterator[Chunk]:
        return self._store.every_chunk()


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
