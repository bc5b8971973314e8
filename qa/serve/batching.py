"""Micro-batching of questions: questions that arrive together are embedded as one batch.

`BatchingEncoder` wraps an `Encoder`: its `embed_queries` looks each question up in a small LRU
cache of question vectors, and sends the others to one worker thread, which waits up to a short
window for more questions (up to a maximum batch) and embeds them in calls of similar lengths
(`length_groups`). Callers (the request threads of the web server) block on a future, never the
event loop; an encoder error reaches every caller of the batch. The other `Encoder` methods pass
through unchanged.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from qa.search.encoders.base import Encoder, Vectors
from qa.serve.metrics import observe_embedding_batch
from qa.settings import Settings

EmbedBatch = Callable[[Sequence[str]], Vectors]
CountTokens = Callable[[str], int]

# The encoder pads every question of a call to the longest one's length. Under load a batch
# holds questions of 5 to 40 tokens: embedded in one call they cost 19-21 ms of CPU each, against
# 16 ms one at a time and 13 ms in calls whose questions differ by at most 4 tokens
# (docs/measurements.md, "Serving at the speed of the model").
LENGTH_SLACK_TOKENS = 4


def length_groups(lengths: Sequence[int], slack: int = LENGTH_SLACK_TOKENS) -> list[list[int]]:
    """The positions of `lengths` in groups to embed together: in order of length, a group's
    longest at most `slack` longer than its shortest."""
    groups: list[list[int]] = []
    shortest = 0
    for position in sorted(range(len(lengths)), key=lengths.__getitem__):
        if not groups or lengths[position] > shortest + slack:
            groups.append([])
            shortest = lengths[position]
        groups[-1].append(position)
    return groups


@dataclass
class _Pending:
    text: str
    future: Future[Vectors] = field(default_factory=Future)


class MicroBatcher:
    """One worker thread embedding queued texts in batches of at most `max_batch`, the first
    of each batch waiting at most `window_s` for others; a batch goes to `embed` in groups of
    similar length (`count_tokens`; none given: one call per batch)."""

    def __init__(
        self,
        embed: EmbedBatch,
        *,
        window_s: float,
        max_batch: int,
        count_tokens: CountTokens | None = None,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._embed = embed
        self._count_tokens = count_tokens
        self.window_s = window_s
        self.max_batch = max_batch
        self._on_batch = on_batch  # told each batch's size (the metrics)
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="qa-embed-batcher", daemon=True)
        self._worker.start()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """The vectors of `texts`, one row each, computed in whatever batches form."""
        pending = [_Pending(text) for text in texts]
        for item in pending:
            self._queue.put(item)
        return np.vstack([item.future.result() for item in pending])

    def close(self) -> None:
        """Stop the worker once the texts already queued are embedded."""
        self._queue.put(None)
        self._worker.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.window_s
            stop = False
            while len(batch) < self.max_batch:
                try:
                    # Whatever is already queued joins at once; then wait out the window.
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            for group in self._groups(batch):
                self._embed_batch(group)
            if stop:
                return

    def _groups(self, batch: list[_Pending]) -> list[list[_Pending]]:
        if self._count_tokens is None or len(batch) == 1:
            return [batch]
        lengths = [self._count_tokens(item.text) for item in batch]
        return [[batch[position] for position in group] for group in length_groups(lengths)]

    def _embed_batch(self, batch: list[_Pending]) -> None:
        self._on_batch(len(batch))  # each call to the encoder: a group of the batch
        try:
            vectors = self._embed([item.text for item in batch])
        except BaseException as error:  # any failure belongs to the callers, not the worker
            for item in batch:
                item.future.set_exception(error)
            return
        for row, item in enumerate(batch):
            item.future.set_result(vectors[row : row + 1])


class QuestionCache:
    """The vectors of the last `size` distinct questions (least recently used goes first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Vectors | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: Vectors) -> None:
        if self.size == 0:
            return
        vector = vector.copy()
        vector.flags.writeable = False  # shared between callers: nobody may change it
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._vectors)


class BatchingEncoder:
    """An `Encoder` whose questions go through a `QuestionCache` and a `MicroBatcher`."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        window_s: float,
        max_batch: int,
        cache_size: int,
        on_batch: Callable[[int], None] = lambda size: None,
    ):
        self.encoder = encoder
        self.model_id = encoder.model_id
        self.dimension = encoder.dimension
        self.precision = encoder.precision
        self.query_prompt: str = getattr(encoder, "query_prompt", "")
        self.batcher = MicroBatcher(
            encoder.embed_queries,
            window_s=window_s,
            max_batch=max_batch,
            count_tokens=encoder.count_tokens,
            on_batch=on_batch,
        )
        self.cache = QuestionCache(cache_size)

    def count_tokens(self, text: str) -> int:
        return self.encoder.count_tokens(text)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self.encoder.embed_passages(texts, progress=progress)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = []
        for row, text in enumerate(texts):
            cached = self.cache.get(text)
            if cached is None:
                missing.append(row)
            else:
                vectors[row] = cached
        if missing:
            computed = self.batcher.embed([texts[row] for row in missing])
            for row, vector in zip(missing, computed, strict=True):
                vectors[row] = vector
                self.cache.put(texts[row], vector)
        return vectors

    def close(self) -> None:
        self.batcher.close()


class HasEncoder(Protocol):
    encoder: Encoder


@contextmanager
def micro_batched(searcher: HasEncoder, settings: Settings) -> Iterator[None]:
    """While inside, `searcher` embeds its questions through a `BatchingEncoder` (unless the
    settings turn batching and the cache off); its own encoder is put back on the way out."""
    if settings.batch_max == 1 and settings.query_cache_size == 0:
        yield
        return
    plain = searcher.encoder
    batching = BatchingEncoder(
        plain,
        window_s=settings.batch_window_ms / 1000,
        max_batch=settings.batch_max,
        cache_size=settings.query_cache_size,
        on_batch=observe_embedding_batch,
    )
    searcher.encoder = batching
    try:
        yield
    finally:
        searcher.encoder = plain
        batching.close()
