"""Micro-batching and the question cache, with real threads and a fake encoder: a batch never
exceeds its maximum; a batch goes to the encoder in groups of similar length; an encoder failure
reaches every caller of its batch; closing lets queued questions finish; the cache answers a
repeated question and forgets the least recently used one (the real model through the batcher:
tests/integration/test_batching.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from qa.search.encoders.base import Vectors
from qa.serve.batching import BatchingEncoder, MicroBatcher, QuestionCache, length_groups
from tests.conftest import FakeEncoder

Result = TypeVar("Result")


def all_at_once(count: int, call: Callable[[int], Result]) -> list[Result]:
    """`call(i)` for i < count, from `count` threads released together."""
    start = threading.Barrier(count)

    def released(i: int) -> Result:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def test_a_batch_never_exceeds_the_maximum() -> None:
    def slow(texts: Sequence[str]) -> Vectors:
        time.sleep(0.01)
        return FakeEncoder().embed_queries(texts)

    sizes: list[int] = []
    batcher = MicroBatcher(slow, window_s=0.05, max_batch=4, on_batch=sizes.append)
    try:
        all_at_once(20, lambda i: batcher.embed([f"question {i}"]))
    finally:
        batcher.close()
    assert sum(sizes) == 20
    assert max(sizes) == 4


def test_length_groups_keep_each_group_within_the_slack_in_order_of_length() -> None:
    lengths = [30, 6, 8, 41, 7, 12, 33, 10]
    groups = length_groups(lengths, slack=4)
    assert groups == [[1, 4, 2, 7], [5], [0, 6], [3]]
    assert length_groups([9], slack=4) == [[0]]
    assert length_groups([], slack=4) == []


def test_a_batch_goes_to_the_encoder_in_groups_of_similar_length() -> None:
    calls: list[list[str]] = []

    def recording(texts: Sequence[str]) -> Vectors:
        time.sleep(0.01)  # the others queue meanwhile and form one batch
        calls.append(list(texts))
        return FakeEncoder().embed_queries(texts)

    words = FakeEncoder().count_tokens
    asked = ["a b", "a b c", *(" ".join(["w"] * 20) + f" {i}" for i in range(3)), "x y"]
    batcher = MicroBatcher(recording, window_s=0.05, max_batch=8, count_tokens=words)
    try:
        vectors = all_at_once(len(asked), lambda i: batcher.embed([asked[i]])[0])
    finally:
        batcher.close()
    assert np.array_equal(np.vstack(vectors), FakeEncoder().embed_queries(asked))
    for call in calls:  # no call pads a short question to a long one's length
        assert max(map(words, call)) - min(map(words, call)) <= 4
    assert any(len(call) > 1 for call in calls)  # they were batched, then grouped
    assert sorted(text for call in calls for text in call) == sorted(asked)


def test_an_encoder_error_reaches_every_caller_and_the_worker_survives_it() -> None:
    def failing(texts: Sequence[str]) -> Vectors:
        if any("boom" in text for text in texts):
            raise RuntimeError("encoder exploded")
        return FakeEncoder().embed_queries(texts)

    batcher = MicroBatcher(failing, window_s=0.05, max_batch=8)

    def ask(i: int) -> str:
        try:
            batcher.embed(["boom" if i == 0 else f"question {i}"])
        except RuntimeError as error:
            return str(error)
        return "answered"

    try:
        outcomes = all_at_once(4, ask)
        assert outcomes[0] == "encoder exploded"
        assert batcher.embed(["after the failure"]).shape == (1, 64)
    finally:
        batcher.close()


def test_closing_stops_the_worker_after_queued_questions() -> None:
    batcher = MicroBatcher(FakeEncoder().embed_queries, window_s=0.0, max_batch=8)
    assert batcher.embed(["one", "two"]).shape == (2, 64)
    batcher.close()
    assert not batcher._worker.is_alive()


class CountingEncoder(FakeEncoder):
    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        return super().embed_queries(texts)


def test_a_repeated_question_is_answered_from_the_cache() -> None:
    counting = CountingEncoder()
    batching = BatchingEncoder(counting, window_s=0.0, max_batch=8, cache_size=2)
    try:
        first = batching.embed_queries(["Qui a fondé ByteDance ?"])
        again = batching.embed_queries(["Qui a fondé ByteDance ?", "Où est Pékin ?"])
    finally:
        batching.close()
    assert counting.embedded == ["Qui a fondé ByteDance ?", "Où est Pékin ?"]
    assert np.array_equal(first[0], again[0])
    again[0, 0] = 42.0  # the caller's copy: the cached vector does not change
    assert batching.cache.get("Qui a fondé ByteDance ?")[0] != 42.0  # type: ignore[index]


def test_the_cache_forgets_the_least_recently_used_question_first() -> None:
    cache = QuestionCache(2)
    vector = np.ones(3, dtype=np.float32)
    cache.put("a", vector)
    cache.put("b", vector)
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", vector)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
