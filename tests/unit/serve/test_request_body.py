"""The time limit on a request body (`qa.serve.request_body.BodyTimeout`), with an ASGI app that
reads the body as a route does (the real server and a slow socket: tests/integration/test_ops.py).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from qa.serve.request_body import BodyTimeout

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/search", "headers": []}


class Client:
    """Sends the body's parts `gap_s` apart, then waits (as a client that keeps the
    connection open) for ever."""

    def __init__(self, parts: list[bytes], gap_s: float) -> None:
        self.parts = parts
        self.gap_s = gap_s

    async def receive(self) -> Message:
        if not self.parts:
            await asyncio.Event().wait()  # the disconnect that never comes
        await asyncio.sleep(self.gap_s)
        body = self.parts.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(self.parts)}


def _read(timeout_s: float, client: Client, *, then_wait_s: float = 0) -> bytes:
    """The body read by an app behind `BodyTimeout(timeout_s)`; then, if `then_wait_s`, one
    more `receive` (a route waiting for a disconnect) that must outlive the limit."""
    body = bytearray()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            body.extend(message["body"])
            if not message["more_body"]:
                break
        if then_wait_s:
            with pytest.raises(TimeoutError):  # its own wait ends it, not the body's limit
                await asyncio.wait_for(receive(), then_wait_s)

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    asyncio.run(BodyTimeout(app, timeout_s)(dict(SCOPE), client.receive, send))
    return bytes(body)


def test_a_body_that_stops_arriving_is_refused_with_408_at_the_limit() -> None:
    started = time.monotonic()
    with pytest.raises(HTTPException) as refused:
        _read(0.3, Client([b"{", b'"q"', b"}"], gap_s=0.2))

    assert 0.25 < time.monotonic() - started < 1.5
    assert refused.value.status_code == 408
    assert refused.value.headers == {"Connection": "close"}
    assert "0.3 s" in refused.value.detail


def test_a_body_complete_in_time_is_read_and_what_follows_is_not_timed() -> None:
    body = _read(0.5, Client([b"{", b"}"], gap_s=0.1), then_wait_s=0.8)

    assert body == b"{}"


def test_a_part_that_has_arrived_is_read_even_past_the_limit() -> None:
    async def arrived() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.3)  # the app itself is late to read, not the client to send
        assert (await receive())["body"] == b"{}"

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    asyncio.run(BodyTimeout(slow_app, 0.1)(dict(SCOPE), arrived, send))
