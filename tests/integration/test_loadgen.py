"""The wrk driver against a real local HTTP server that records what it receives."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from bench.loadgen import LoadGeneratorError, LoadSpec, run_load
from tests.conftest import free_port

BODIES = ['{"question": "Où est né Émile ?"}', 'quote " and backslash \\ ok', "fail"]


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
        self.received.append((self.command, self.headers.get("Content-Type", ""), body))
        self.send_response(500 if body == "fail" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """wrk closes its connections when its time is up, often mid-answer: that is the end of a
    run, not an error worth a traceback on the test run's output."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.received = []
    server = QuietServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search"
    server.shutdown()
    server.server_close()


def test_every_body_is_sent_in_turn_with_method_and_headers(recorder: str) -> None:
    result = run_load(
        LoadSpec(
            url=recorder,
            method="POST",
            bodies=BODIES,
            headers={"Content-Type": "application/json"},
            connections=2,
            duration_s=1,
        )
    )
    received = Recorder.received
    assert {body for _, _, body in received} == set(BODIES)  # UTF-8 and escapes intact
    assert {(method, kind) for method, kind, _ in received} == {("POST", "application/json")}
    assert result.connections == 2
    assert abs(result.requests - len(received)) <= 2  # wrk counts completed ones
    assert result.throughput > 0
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    failed = sum(1 for _, _, body in received if body == "fail")
    assert abs(result.errors["status"] - failed) <= 2  # a 500 is an error by status
    assert result.error_count >= result.errors["status"] > 0


def test_a_server_that_is_not_there_is_one_readable_error() -> None:
    port = free_port()
    with pytest.raises(LoadGeneratorError, match=f"unable to connect to 127.0.0.1:{port}"):
        run_load(LoadSpec(url=f"http://127.0.0.1:{port}/", duration_s=1))
