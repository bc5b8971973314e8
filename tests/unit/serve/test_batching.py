"""Micro-batching and the question cache, with real threads and the real model.

Results through the batcher must equal the unbatched ones; batches must really form when
questions arrive together; an encoder failure must reach every caller of its batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pytest

from qa.encoders.base import Encoder, Vectors
from qa.evaluation.evaluate import load_questions
from qa.retrieval.search import Searcher
from qa.serve.batching import BatchingEncoder, MicroBatcher, QuestionCache, micro_batched
from qa.serve.metrics import REGISTRY
from qa.settings import Settings
from qa.store import EmbeddedStore
from tests.conftest import ROOT, FakeEncoder

Result = TypeVar("Result")


def all_at_once(count: int, call: Callable[[int], Result]) -> list[Result]:
    """`call(i)` for i < count, from `count` threads released together."""
    start = threading.Barrier(count)

    def released(i: int) -> Result:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]


def test_concurrent_questions_get_their_unbatched_vectors_in_shared_batches(
    encoder: Encoder, questions: list[str]
) -> None:
    asked = questions[:24]
    sizes: list[int] = []
    batching = BatchingEncoder(
        encoder, window_s=0.05, max_batch=32, cache_size=0, on_batch=sizes.append
    )
    try:
        vectors = all_at_once(len(asked), lambda i: batching.embed_queries([asked[i]])[0])
    finally:
        batching.close()
    assert np.allclose(np.vstack(vectors), encoder.embed_queries(asked), atol=1e-5)
    assert sum(sizes) == len(asked)
    assert max(sizes) > 1  # they really were embedded together


def batch_metric(part: str) -> float:
    return REGISTRY.get_sample_value(f"qa_embedding_batch_size_{part}") or 0.0


def test_concurrent_searches_answer_exactly_as_sequential_ones(
    real_index: EmbeddedStore, encoder: Encoder, settings: Settings, questions: list[str]
) -> None:
    searcher = Searcher(real_index, encoder, settings)
    asked = questions[:16]
    expected = [searcher.search(question).model_dump() for question in asked]
    batched = settings.model_copy(update={"batch_window_ms": 20.0, "query_cache_size": 0})
    batches_before = batch_metric("count")
    with micro_batched(searcher, batched):
        assert isinstance(searcher.encoder, BatchingEncoder)
        answers = all_at_once(len(asked), lambda i: searcher.search(asked[i]).model_dump())
    assert answers == expected
    # Every batch is in the metrics, and fewer batches than questions ran: they were shared.
    assert batch_metric("sum") >= len(asked)
    assert 0 < batch_metric("count") - batches_before < len(asked)
    assert searcher.encoder is encoder  # put back on the way out


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


def test_batching_and_cache_off_leave_the_encoder_alone(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    fake = FakeEncoder()
    searcher = Searcher(real_index, fake, settings)
    with micro_batched(
        searcher, settings.model_copy(update={"batch_max": 1, "query_cache_size": 0})
    ):
        assert searcher.encoder is fake
