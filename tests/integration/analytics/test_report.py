"""The report of the same events, on SQLite and on PostgreSQL, with the real model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from qa.analytics import Feedback, SearchEvent, SqlEventStore
from qa.analytics.report import AnalyticsReport, build_report
from qa.errors import InvalidQueryError
from qa.search.encoders import Encoder
from tests.integration.analytics.events import NOW, search


def readers_week() -> tuple[list[SearchEvent], list[Feedback]]:
    asked = [
        search("Qui a gagné la coupe du monde 2018 ?", answerable=False, days_ago=1),
        search("qui a gagne la coupe du monde 2018", answerable=False),
        search("Qui a gagné la coupe du monde de football 2018 ?", answerable=False, days_ago=2),
        search("Quel est le prix du pain ?", sources=("pain.txt", "ble.txt")),
        search("Quel est le PRIX du pain", sources=("pain.txt", "ble.txt"), days_ago=1),
        search("Météo à Lyon demain ?", sources=("meteo.txt",), days_ago=2),
        search("Qui est le maire de Lyon ?", sources=("lyon.txt",), days_ago=3),
        search("hors période", days_ago=30),
    ]
    said = [
        Feedback(asked[3].search_id, NOW, "helpful", rank=1),
        Feedback(asked[3].search_id, NOW, "open", rank=1),
        Feedback(asked[4].search_id, NOW, "open", rank=2),
        # The reader changed their mind: the last judgment counts.
        Feedback(asked[5].search_id, NOW, "helpful"),
        Feedback(asked[5].search_id, NOW, "not_helpful", comment="pas à jour"),
        Feedback(asked[6].search_id, NOW, "not_helpful"),
        Feedback(asked[6].search_id, NOW, "helpful", rank=1),
    ]
    return asked, said


def report_on(url: str, encoder: Encoder) -> AnalyticsReport:
    store = SqlEventStore(url)
    asked, said = readers_week()
    store.record_searches(asked)
    for judgment in said:
        store.record_feedback(judgment)
    report = build_report(store, encoder, date(2026, 3, 4), date(2026, 3, 10))
    store.close()
    return report


def test_both_engines_give_the_same_report(
    new_database: Callable[[str], str], encoder: Encoder
) -> None:
    on_sqlite = report_on(new_database("sqlite"), encoder)
    on_postgres = report_on(new_database("postgresql"), encoder)
    assert on_sqlite.model_dump() == on_postgres.model_dump()

    report = on_sqlite
    assert report.searches == 7
    assert [(d.day.day, d.searches) for d in report.searches_per_day] == [
        (4, 0),
        (5, 0),
        (6, 0),
        (7, 1),
        (8, 2),
        (9, 2),
        (10, 2),
    ]
    assert (report.answerable_searches, report.answerable_share) == (4, 4 / 7)
    assert report.feedback.model_dump() == {"helpful": 3, "not_helpful": 2, "open": 2}
    assert (report.judged_searches, report.helpful_rate) == (3, 2 / 3)
    top = [(q.question, q.example, q.searches) for q in report.top_questions]
    # Most asked first; between equals, the first asked first, then the alphabet.
    assert top[:2] == [
        ("quel est le prix du pain", "Quel est le PRIX du pain", 2),
        ("qui a gagne la coupe du monde 2018", "Qui a gagné la coupe du monde 2018 ?", 2),
    ]
    assert len(top) == 5
    # Unanswered: the three world cup searches (not answerable) and the weather (not helpful
    # in the end); the world cup's wordings are one cluster, the weather another.
    assert (report.unanswered_searches, report.unanswered_questions) == (4, 3)
    clusters = [(c.searches, [q.question for q in c.questions]) for c in report.unanswered_clusters]
    assert clusters == [
        (
            3,
            [
                "qui a gagne la coupe du monde 2018",
                "qui a gagne la coupe du monde de football 2018",
            ],
        ),
        (1, ["meteo a lyon demain"]),
    ]
    assert [(s.source, s.count) for s in report.shown_sources] == [
        ("a.txt", 3),
        ("b.txt", 3),
        ("ble.txt", 2),
        ("pain.txt", 2),
        ("lyon.txt", 1),
        ("meteo.txt", 1),
    ]
    assert [(s.source, s.count) for s in report.opened_sources] == [("ble.txt", 1), ("pain.txt", 1)]


def test_until_before_since_is_refused(database_url: str, encoder: Encoder) -> None:
    store = SqlEventStore(database_url)
    with pytest.raises(
        InvalidQueryError, match=r"until \(2026-03-01\) is before since \(2026-03-02\)"
    ):
        build_report(store, encoder, date(2026, 3, 2), date(2026, 3, 1))
    store.close()
