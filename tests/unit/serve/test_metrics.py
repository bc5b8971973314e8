"""The metrics hooks other modules call (the question in the log, on the real app:
tests/integration/test_metrics.py)."""

from __future__ import annotations

from qa.serve import metrics


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_embedding_batch_hook_feeds_the_histogram() -> None:
    count, up_to_8 = (
        sample("qa_embedding_batch_size_count"),
        sample("qa_embedding_batch_size_bucket", le="8.0"),
    )

    metrics.observe_embedding_batch(8)
    metrics.observe_embedding_batch(20)

    assert sample("qa_embedding_batch_size_count") == count + 2
    assert sample("qa_embedding_batch_size_bucket", le="8.0") == up_to_8 + 1
