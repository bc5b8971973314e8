"""The event store's contract, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa.analytics import Feedback, SqlEventStore
from qa.analytics.schema import SCHEMA_VERSION, feedback, schema_version, searches, shown_results
from qa.errors import AnalyticsError, InvalidFeedbackError, UnknownSearchError
from tests.integration.analytics.events import NOW, search


def rows(store: SqlEventStore, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    return list(store.read(lambda connection: connection.execute(sa.select(table)).all()))


def test_searches_are_recorded_with_what_they_showed(database_url: str) -> None:
    store = SqlEventStore(database_url)
    first, second = search("Qui a gagné l'Euro ?"), search("Météo", answerable=False)
    store.record_searches([first, second])
    recorded = {row.search_id: row for row in rows(store, searches)}
    assert recorded.keys() == {first.search_id, second.search_id}
    row = recorded[first.search_id]
    assert (row.at, row.question, row.normalised) == (
        NOW,
        "Qui a gagné l'Euro ?",
        "qui a gagne l euro",
    )
    assert (row.language, row.mode, row.k, row.filters) == (
        "fr",
        "hybrid",
        2,
        {"sites": ["exemple.fr"]},
    )
    assert (row.answerable, row.best_score, row.latency_ms, row.api_key) == (
        True,
        0.9,
        12.5,
        "widget",
    )
    assert recorded[second.search_id].answerable is False
    shown = sorted(
        (r.search_id == first.search_id, r.rank, r.source, r.chunk_id)
        for r in rows(store, shown_results)
    )
    assert shown == [
        (False, 1, "a.txt", 10),
        (False, 2, "b.txt", 20),
        (True, 1, "a.txt", 10),
        (True, 2, "b.txt", 20),
    ]
    store.close()


def test_feedback_on_an_unknown_search_or_result_is_refused_and_not_stored(
    database_url: str,
) -> None:
    store = SqlEventStore(database_url)
    known = search("Qui a gagné ?")
    store.record_searches([known])
    with pytest.raises(UnknownSearchError, match="unknown search 'f00'"):
        store.record_feedback(Feedback("f00", NOW, "helpful"))
    with pytest.raises(InvalidFeedbackError, match="rank 3 is past the 2 results"):
        store.record_feedback(Feedback(known.search_id, NOW, "open", rank=3))
    with pytest.raises(InvalidFeedbackError, match="rank"):
        store.record_feedback(Feedback(known.search_id, NOW, "open"))
    assert rows(store, feedback) == []
    store.record_feedback(Feedback(known.search_id, NOW, "open", rank=2, comment="merci"))
    [row] = rows(store, feedback)
    assert (row.search_id, row.at, row.event, row.rank, row.comment) == (
        known.search_id,
        NOW,
        "open",
        2,
        "merci",
    )
    store.close()


def test_feedback_is_committed_when_record_feedback_returns(database_url: str) -> None:
    writer, reader = SqlEventStore(database_url), SqlEventStore(database_url)
    asked = search("Qui a gagné ?")
    writer.record_searches([asked])
    writer.record_feedback(Feedback(asked.search_id, NOW, "not_helpful", comment="rien"))
    # Another engine (another replica, or the service after a kill -9) sees it at once.
    assert [(r.search_id, r.event) for r in rows(reader, feedback)] == [
        (asked.search_id, "not_helpful")
    ]
    writer.close()
    reader.close()


def test_purge_deletes_old_searches_with_their_results_and_feedback(database_url: str) -> None:
    store = SqlEventStore(database_url)
    old, recent = search("ancienne", days_ago=100), search("récente", days_ago=1)
    store.record_searches([old, recent])
    for asked in (old, recent):
        store.record_feedback(Feedback(asked.search_id, NOW, "open", rank=1))
    assert store.purge(NOW - timedelta(days=90)) == 1
    assert [r.search_id for r in rows(store, searches)] == [recent.search_id]
    assert {r.search_id for r in rows(store, shown_results)} == {recent.search_id}
    assert [r.search_id for r in rows(store, feedback)] == [recent.search_id]
    assert store.purge(NOW - timedelta(days=90)) == 0
    store.close()


def test_a_database_of_a_newer_schema_is_refused(database_url: str) -> None:
    store = SqlEventStore(database_url)
    assert [r.version for r in rows(store, schema_version)] == [SCHEMA_VERSION]
    store.read(lambda c: c.execute(sa.update(schema_version).values(version=SCHEMA_VERSION + 1)))
    store.close()
    with pytest.raises(
        AnalyticsError,
        match=f"schema version {SCHEMA_VERSION + 1}, newer than version {SCHEMA_VERSION}",
    ):
        SqlEventStore(database_url)


def test_opening_again_keeps_the_events(database_url: str) -> None:
    store = SqlEventStore(database_url)
    asked = search("Qui a gagné ?")
    store.record_searches([asked])
    store.close()
    again = SqlEventStore(database_url)
    assert [r.search_id for r in rows(again, searches)] == [asked.search_id]
    assert [r.version for r in rows(again, schema_version)] == [SCHEMA_VERSION]
    again.close()


def test_an_unreachable_database_is_named_without_its_password() -> None:
    with pytest.raises(AnalyticsError) as refused:
        SqlEventStore("postgresql://editor:s3cret@127.0.0.1:9/analytics?connect_timeout=2")
    message = str(refused.value)
    assert "postgresql+psycopg://editor:***@127.0.0.1:9/analytics" in message
    assert "s3cret" not in message


def test_a_report_does_not_create_a_missing_sqlite_database(
    new_database: Callable[[str], str],
) -> None:
    url = new_database("sqlite")
    with pytest.raises(AnalyticsError, match="no analytics database at"):
        SqlEventStore(url, create=False)
    SqlEventStore(url).close()
    SqlEventStore(url, create=False).close()
