"""Search events as the service records them, for the analytics tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qa.analytics import SearchEvent, ShownResult, new_search_id

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def search(
    question: str,
    *,
    days_ago: float = 0,
    answerable: bool = True,
    sources: tuple[str, ...] = ("a.txt", "b.txt"),
    language: str = "fr",
    now: datetime = NOW,
) -> SearchEvent:
    return SearchEvent(
        search_id=new_search_id(),
        at=now - timedelta(days=days_ago),
        question=question,
        language=language,
        mode="hybrid",
        k=len(sources),
        filters={"sites": ["exemple.fr"]},
        answerable=answerable,
        best_score=0.9 if answerable else 0.4,
        results=tuple(
            ShownResult(rank=rank, source=source, chunk_id=rank * 10, score=1.0 / rank)
            for rank, source in enumerate(sources, start=1)
        ),
        latency_ms=12.5,
        api_key="widget",
    )
