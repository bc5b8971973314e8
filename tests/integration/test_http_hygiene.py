"""HTTP hygiene on the real app (real model, real index of `seeds/`): security headers, no Host
reflection, the widget's caching and compression, every status in the schema; on real uvicorn
servers, a 500 with every header, one traceback in the log and its connection closed, and a
failed start-up search that keeps /ready false."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from qa.search.retrieval.search import Searcher, SearchResponse
from qa.search.store import EmbeddedStore, load_store
from qa.serve import app as api
from qa.serve.probes import probe_app
from qa.serve.request_types import LETTER_OR_DIGIT
from qa.settings import Settings
from tests.conftest import assert_error, free_port, make_settings, publish
from tests.qa_process import Service, is_up, serve_env


@pytest.fixture(scope="module")
def client(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    with TestClient(api.create_app(settings, searcher=searcher)) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/search?q=puce&k=1", 200),
        ("GET", "/search?q=", 422),
        ("GET", "/nope", 404),
        ("DELETE", "/search", 405),
        ("GET", "/widget.js", 200),
        ("GET", "/metrics", 200),
        ("GET", "/openapi.json", 200),
    ],
)
def test_every_response_has_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)

    assert response.status_code == status
    assert_security_headers(response)


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_a_refused_body_has_the_security_headers_too(client: TestClient) -> None:
    response = client.post(
        "/search",
        content=b"x" * (api.MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


def test_demo_page_policy_allows_only_its_own_script_and_hashed_styles(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    # The page's style sheet and the widget's shadow-DOM one, by hash: no 'unsafe-inline'.
    assert directives["style-src"].count("'sha256-") == 2
    assert "unsafe" not in policy


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443"])
def test_redirects_do_not_copy_the_host_header(client: TestClient, host: str) -> None:
    response = client.get("/docs/", headers={"Host": host}, follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


def test_widget_is_cacheable_and_compressed(client: TestClient) -> None:
    plain = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/widget.js", headers={"Accept-Encoding": "gzip, br"})

    assert plain.headers.get("content-encoding") is None
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes the gzip body
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
    assert zipped.headers["etag"] == plain.headers["etag"]
    assert "max-age=" in plain.headers["cache-control"]
    assert "Accept-Encoding" in plain.headers["vary"]


@pytest.mark.parametrize("quality", ["gzip;q=0", "gzip; q=0.0", "deflate"])
def test_widget_is_not_compressed_for_a_client_that_refuses_gzip(
    client: TestClient, quality: str
) -> None:
    response = client.get("/widget.js", headers={"Accept-Encoding": quality})

    assert response.headers.get("content-encoding") is None


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_widget_answers_304_when_the_client_has_it(client: TestClient, form: str) -> None:
    etag = client.get("/widget.js").headers["etag"]

    response = client.get("/widget.js", headers={"If-None-Match": form.format(etag=etag)})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_widget_with_a_stale_etag_is_sent_again(client: TestClient) -> None:
    response = client.get("/widget.js", headers={"If-None-Match": '"stale"'})

    assert response.status_code == 200
    assert response.content


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/search", "post", {"200", "401", "405", "413", "415", "422", "429", "500", "503"}),
        ("/search", "get", {"200", "401", "405", "422", "429", "500", "503"}),
        ("/sources", "get", {"200", "401", "405", "422", "429", "500", "503"}),
        ("/sources/{name}", "get", {"200", "401", "404", "405", "422", "429", "500", "503"}),
        ("/health", "get", {"200", "405", "422", "500", "503"}),
        (
            "/feedback",
            "post",
            {"201", "401", "404", "405", "413", "415", "422", "429", "500", "503"},
        ),
    ],
)
def test_every_status_an_operation_can_answer_is_in_the_schema(
    client: TestClient, path: str, method: str, statuses: set[str]
) -> None:
    operation = client.get("/openapi.json").json()["paths"][path][method]

    assert set(operation["responses"]) == statuses


def test_the_question_rule_is_in_the_schema_of_both_searches(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["components"]["schemas"]["SearchRequest"]["properties"]["question"]
    query = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")

    # At least one letter or digit: the rule `Searcher` applies, so generated questions pass.
    assert body["pattern"] == query["schema"]["pattern"] == LETTER_OR_DIGIT


# --- a 500 and a failed warm-up, on real servers ---------------------------------------------

ALLOWED_ORIGIN = "https://example.org"
# The service's app and log configuration, as `qa serve` runs them, over a searcher with a bug
# that only the question "bug" meets (its warm-up search passes).
BUGGY_SERVICE = """
import sys

import uvicorn

from qa.search.encoders.loading import load_encoder
from qa.search.retrieval.search import Searcher
from qa.serve.access_log import log_config
from qa.serve.app import create_app
from qa.settings import Settings
from qa.search.store.choice import open_store


class Buggy(Searcher):
    def search(self, question, *args, **kwargs):
        if question == "bug":
            raise RuntimeError("a bug")
        return super().search(question, *args, **kwargs)


settings = Settings()
app = create_app(settings, Buggy(open_store(settings), load_encoder(settings), settings))
uvicorn.run(app, host="127.0.0.1", port=settings.port, log_config=log_config(), access_log=False)
"""


@pytest.fixture(scope="module")
def buggy_service(
    real_index: EmbeddedStore, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    port = free_port()
    log = tmp_path_factory.mktemp("buggy") / "serve.log"
    env = serve_env(
        settings.index_dir, settings.corpus_dir, port=str(port), cors_origins=ALLOWED_ORIGIN
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", BUGGY_SERVICE], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    service = Service(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + 180
        while not is_up(service.url):
            assert process.poll() is None, service.output()
            assert time.monotonic() < deadline, service.output()
            time.sleep(0.2)
        yield service
    finally:
        service.stop()


def test_a_500_has_every_header_and_logs_one_traceback_with_the_request_id(
    buggy_service: Service,
) -> None:
    marker = uuid.uuid4().hex
    with httpx.Client(base_url=buggy_service.url, timeout=60) as client:
        response = client.get(
            "/search",
            params={"q": "bug"},
            headers={"X-Request-ID": marker, "Origin": ALLOWED_ORIGIN},
        )

    assert_error(response, 500, "internal_error", "server log")
    assert response.headers["connection"] == "close"
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["x-request-id"] == marker
    assert_security_headers(response)
    lines = _logged_until_access_line(buggy_service, marker)
    assert buggy_service.output().count("Traceback (most recent call last)") == 1, lines
    (failure,) = [line for line in lines if "exception" in line]
    assert failure["request_id"] == marker
    assert failure["level"] == "error"
    assert "RuntimeError: a bug" in failure["exception"]


def _logged_until_access_line(service: Service, request_id: str) -> list[dict[str, Any]]:
    """The service's log lines, once its access line of `request_id` is written (after the
    response)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in service.output().splitlines() if line[:1] == "{"]
        if any(
            line.get("message") == "request" and line.get("request_id") == request_id
            for line in lines
        ):
            return lines
        assert time.monotonic() < deadline, service.output()
        time.sleep(0.1)


class FailingSearcher(Searcher):
    def search(self, question: str, k: int = 5, mode: object = None) -> SearchResponse:
        raise RuntimeError("a bug")


@dataclass
class Ports:
    service: int
    probes: int


@pytest.fixture
def failing_server(settings: Settings, searcher: Searcher) -> Iterator[Ports]:
    """The app, and its probe app on a port of its own, over a searcher whose every search
    fails: its start-up (warm-up) search too."""
    broken = FailingSearcher(searcher.index, searcher.encoder, settings)
    app = api.create_app(settings, searcher=broken)
    ports = Ports(free_port(), free_port())
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                served, host="127.0.0.1", port=port, log_level="critical", lifespan=lifespan
            )
        )
        for served, port, lifespan in [
            (app, ports.service, "on"),
            (probe_app(app), ports.probes, "off"),
        ]
    ]
    threads = [threading.Thread(target=server.run, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while not all(server.started for server in servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield ports
    for server in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(timeout=30)


def test_a_failed_warm_up_keeps_ready_false_on_both_ports_and_health_true(
    failing_server: Ports,
) -> None:
    for port in (failing_server.service, failing_server.probes):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/health").json() == {"status": "ok"}
            ready = client.get("/ready")
            assert_error(ready, 503, "index_unavailable", "start-up search failed", "a bug")
            assert_security_headers(ready)


def test_ready_again_once_another_index_version_is_served(
    settings: Settings, searcher: Searcher, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    own = make_settings(index_dir, reload_interval=0)  # reloaded below, not by a poll
    broken = FailingSearcher(load_store(index_dir, own.model), searcher.encoder, own)
    with TestClient(api.create_app(own, searcher=broken)) as client:
        assert_error(client.get("/ready"), 503, "index_unavailable", "start-up search failed")

        publish(load_store(index_dir, own.model), index_dir)
        client.app.state.reloader.check()  # type: ignore[attr-defined]

        assert client.get("/ready").status_code == 200


def test_a_500_is_json_and_closes_the_connection(failing_server: Ports) -> None:
    # Searches are still tried after a failed warm-up: this one meets the same bug.
    with socket.create_connection(("127.0.0.1", failing_server.service), timeout=10) as connection:
        connection.sendall(
            b"GET /search?q=puce HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):  # ends when the server closes the connection
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"connection: close" in head.lower()
    assert b"x-content-type-options: nosniff" in head.lower()
    assert (
        body
        == b'{"error":"internal_error","detail":"internal error; the server log has the details"}'
    )
