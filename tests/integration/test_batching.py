"""Micro-batching with the real model: vectors through the batcher equal the unbatched ones and
batches really form when questions arrive together; searches through it answer as sequential
ones; batching and the cache off leave the encoder alone (the batcher's logic on a fake encoder:
tests/unit/serve/test_batching.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.evaluation.evaluate import load_questions
from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore
from qa.serve.batching import BatchingEncoder, micro_batched
from qa.serve.metrics import REGISTRY
from qa.settings import Settings
from tests.conftest import ROOT, FakeEncoder
from tests.unit.serve.test_batching import all_at_once


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


def test_batching_and_cache_off_leave_the_encoder_alone(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    fake = FakeEncoder()
    searcher = Searcher(real_index, fake, settings)
    with micro_batched(
        searcher, settings.model_copy(update={"batch_max": 1, "query_cache_size": 0})
    ):
        assert searcher.encoder is fake
