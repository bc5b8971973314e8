"""`POST /feedback` on the real service (real model, real index of `seeds/`, a real SQLite
file): a reader's judgment is in the database when the answer leaves, even for a search whose
event is still queued, and even when the process is killed right after; bad feedback is refused
with the project's error body and stores nothing."""

from __future__ import annotations

import json
import signal
import sqlite3
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.analytics import Feedback
from qa.analytics.sql import open_event_store
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore
from qa.serve import app as api
from qa.serve.analytics_writer import SearchRecorder, search_event
from qa.settings import Settings
from tests.conftest import make_settings
from tests.qa_process import qa_serve

QUESTION = "Quelle puce ByteDance développe-t-il ?"


def feedback_rows(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT search_id, event, rank, comment FROM feedback ORDER BY id"
        ).fetchall()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite3"


@pytest.fixture
def client(settings: Settings, searcher: Searcher, database: Path) -> Iterator[TestClient]:
    configured = make_settings(
        settings.index_dir,
        analytics_url=f"sqlite:///{database}",
        cors_origins="https://news.example",
    )
    with TestClient(api.create_app(configured, searcher=searcher)) as running:
        yield running


def search_id(client: TestClient, k: int = 3) -> str:
    answer = client.post("/search", json={"question": QUESTION, "k": k})
    assert answer.status_code == 200
    found: str = answer.json()["search_id"]
    return found


def test_feedback_is_written_before_the_answer(client: TestClient, database: Path) -> None:
    searched = search_id(client)
    judged = client.post(
        "/feedback",
        json={"search_id": searched, "event": "not_helpful", "comment": "Rien sur la puce."},
    )
    opened = client.post("/feedback", json={"search_id": searched, "event": "open", "rank": 2})
    changed = client.post("/feedback", json={"search_id": searched, "event": "helpful", "rank": 1})
    assert [judged.status_code, opened.status_code, changed.status_code] == [201] * 3
    assert opened.json()["search_id"] == searched
    assert opened.json()["event"] == "open"
    assert opened.json()["rank"] == 2
    # Read while the service still runs: committed, not waiting for a flush.
    assert feedback_rows(database) == [
        (searched, "not_helpful", None, "Rien sur la puce."),
        (searched, "open", 2, None),
        (searched, "helpful", 1, None),
    ]


def test_feedback_right_after_its_search_finds_it_every_time(
    client: TestClient, database: Path
) -> None:
    """The search's event may still be queued when its feedback arrives: it is written first."""
    ids = []
    for _ in range(15):
        searched = search_id(client, k=1)
        answer = client.post("/feedback", json={"search_id": searched, "event": "helpful"})
        assert answer.status_code == 201, answer.json()
        ids.append(searched)
    assert [row[0] for row in feedback_rows(database)] == ids


def test_feedback_on_a_search_still_queued_writes_the_search_first(
    settings: Settings, searcher: Searcher, database: Path
) -> None:
    """The recorder without its writer thread: the queued search is written by the feedback."""
    configured = make_settings(settings.index_dir, analytics_url=f"sqlite:///{database}")
    recorder = SearchRecorder(configured, open_event_store)
    recorder.database = open_event_store(configured)
    event = search_event(searcher.search(QUESTION, 2), 2, None, 0.05, None)
    recorder.record(event)
    recorder.record_feedback(
        Feedback(search_id=event.search_id, at=datetime.now(UTC), event="open", rank=2)
    )
    recorder.database.close()
    assert feedback_rows(database) == [(event.search_id, "open", 2, None)]


BAD_FEEDBACK: list[tuple[str, dict[str, Any], int, str]] = [
    ("wrong event", {"event": "love"}, 422, "event"),
    ("rank 0", {"event": "helpful", "rank": 0}, 422, "rank"),
    ("rank past the results", {"event": "open", "rank": 3}, 422, "rank 3"),
    ("open without rank", {"event": "open"}, 422, "rank"),
    ("rank as a string", {"event": "open", "rank": "1"}, 422, "rank"),
    ("10,000-character comment", {"event": "helpful", "comment": "é" * 10_000}, 422, "comment"),
    ("unknown field", {"event": "helpful", "ip": "1.2.3.4"}, 422, "ip"),
]


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [case[1:] for case in BAD_FEEDBACK],
    ids=[case[0] for case in BAD_FEEDBACK],
)
def test_bad_feedback_is_refused_and_stores_nothing(
    client: TestClient, database: Path, fields: dict[str, Any], status: int, named: str
) -> None:
    searched = search_id(client, k=2)
    answer = client.post("/feedback", json={"search_id": searched, **fields})
    assert answer.status_code == status
    assert answer.json()["error"] == "invalid_request"
    assert named in answer.json()["detail"]
    assert feedback_rows(database) == []


def test_unknown_search_too_large_and_non_json_bodies_are_refused(
    client: TestClient, database: Path
) -> None:
    searched = search_id(client)
    unknown = client.post("/feedback", json={"search_id": "f" * 32, "event": "helpful"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_search"
    assert "f" * 32 in unknown.json()["detail"]

    huge = json.dumps({"search_id": searched, "event": "helpful", "comment": "x" * 70_000})
    too_large = client.post("/feedback", content=huge, headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "request_too_large"

    form = client.post("/feedback", data={"search_id": searched, "event": "helpful"})
    assert form.status_code == 415
    assert form.json()["error"] == "unsupported_media_type"
    broken = client.post(
        "/feedback", content=b'{"search_id": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert feedback_rows(database) == []


def test_feedback_follows_the_cors_rules_of_search(client: TestClient) -> None:
    preflight = client.options(
        "/feedback",
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://news.example"
    searched = search_id(client)
    answer = client.post(
        "/feedback",
        json={"search_id": searched, "event": "helpful"},
        headers={"Origin": "https://news.example"},
    )
    assert answer.headers["access-control-allow-origin"] == "https://news.example"
    stranger = client.options(
        "/feedback",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in stranger.headers


def test_feedback_needs_a_read_key_when_search_does(
    settings: Settings, searcher: Searcher, database: Path
) -> None:
    configured = make_settings(
        settings.index_dir, analytics_url=f"sqlite:///{database}", api_keys="site:reader-key"
    )
    reader = {"Authorization": "Bearer reader-key"}
    with TestClient(api.create_app(configured, searcher=searcher)) as client:
        answer = client.post("/search", json={"question": QUESTION}, headers=reader)
        body = {"search_id": answer.json()["search_id"], "event": "helpful"}
        refused = client.post("/feedback", json=body)
        accepted = client.post("/feedback", json=body, headers=reader)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert accepted.status_code == 201
    assert len(feedback_rows(database)) == 1


def test_a_feedback_answered_survives_kill_9(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    """A real `qa serve`, killed with SIGKILL as soon as a feedback is answered: no shutdown,
    no flush, and yet the feedback (and its search) are in the database."""
    database = tmp_path / "killed.sqlite3"
    with qa_serve(
        settings.index_dir,
        settings.corpus_dir,
        tmp_path / "serve.log",
        analytics_url=f"sqlite:///{database}",
    ) as service:
        searched = post_json(f"{service.url}/search", {"question": QUESTION, "k": 3})
        body = {"search_id": searched["search_id"], "event": "open", "rank": 3}
        receipt = post_json(f"{service.url}/feedback", body)
        service.process.send_signal(signal.SIGKILL)
        assert service.process.wait(timeout=30) == -signal.SIGKILL
    assert receipt["event"] == "open"
    assert feedback_rows(database) == [(searched["search_id"], "open", 3, None)]


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
