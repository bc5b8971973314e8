"""An exception nothing handled (`qa.serve.http_errors.UnexpectedErrors`): logged once with the
request id, answered with the JSON 500 through the layers around it, never re-raised to the
server (the real service: tests/integration/test_http_hygiene.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from qa.serve.http_errors import UnexpectedErrors
from qa.serve.probes import probe_app

SCOPE: Scope = {"type": "http", "method": "GET", "path": "/x", "state": {"request_id": "r-1"}}


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _run(app: UnexpectedErrors) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(dict(SCOPE), _no_body, send))
    return sent


async def _fails_before_answering(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug")


async def _fails_while_answering(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"[1,", "more_body": True})
    raise RuntimeError("a bug")


def _unexpected_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "qa.serve.http_errors" and r.exc_info]


def test_an_error_before_the_answer_is_a_json_500_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent = _run(UnexpectedErrors(_fails_before_answering))  # raises nothing

    start, body = sent
    assert start["status"] == 500
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(body["body"])["error"] == "internal_error"
    (record,) = _unexpected_records(caplog)
    assert record.request_id == "r-1"  # type: ignore[attr-defined]
    assert "answered 500" in record.getMessage()


def test_an_error_after_the_answer_started_sends_nothing_more_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent = _run(UnexpectedErrors(_fails_while_answering))  # raises nothing

    # The response stays unfinished: uvicorn then closes the connection.
    assert [m.get("status", m.get("body")) for m in sent] == [200, b"[1,"]
    (record,) = _unexpected_records(caplog)
    assert record.request_id == "r-1"  # type: ignore[attr-defined]
    assert "connection closed" in record.getMessage()


class BrokenSearcher:
    @property
    def index(self) -> object:
        raise RuntimeError("a bug")


def test_the_probe_app_answers_an_unexpected_error_as_the_service_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = FastAPI()
    service.state.searcher = BrokenSearcher()
    service.state.settings = SimpleNamespace()
    client = TestClient(probe_app(service))  # it would raise what reached the server

    response = client.get("/ready", headers={"X-Request-ID": "probe-1"})

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"] == "probe-1"
    (record,) = _unexpected_records(caplog)
    assert record.request_id == "probe-1"  # type: ignore[attr-defined]
