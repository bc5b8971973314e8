"""HTTP hygiene on the real app (real model, real index of `seeds/`): security headers, no Host
reflection, the widget's caching and compression, every status in the schema, and a 500 that
closes its connection (on a real uvicorn server)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from qa.retrieval.search import Searcher, SearchResponse
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import free_port


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
    ],
)
def test_every_status_an_operation_can_answer_is_in_the_schema(
    client: TestClient, path: str, method: str, statuses: set[str]
) -> None:
    operation = client.get("/openapi.json").json()["paths"][path][method]

    assert set(operation["responses"]) == statuses


def test_blank_question_rule_is_in_the_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["components"]["schemas"]["SearchRequest"]["properties"]["question"]
    query = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")

    assert body["pattern"] == query["schema"]["pattern"] == r"\S"


# --- a 500 on a real server -----------------------------------------------------------------


class FailingSearcher(Searcher):
    def search(self, question: str, k: int = 5, mode: object = None) -> SearchResponse:
        raise RuntimeError("a bug")


@pytest.fixture
def failing_server(settings: Settings, searcher: Searcher) -> Iterator[int]:
    broken = FailingSearcher(searcher.index, searcher.encoder, settings)
    port = free_port()
    app = api.create_app(settings, searcher=broken)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=30)


def test_a_500_is_json_and_closes_the_connection(failing_server: int) -> None:
    with socket.create_connection(("127.0.0.1", failing_server), timeout=10) as connection:
        connection.sendall(
            b"GET /search?q=puce HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):  # ends when the server closes the connection
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"connection: close" in head.lower()
    assert (
        body
        == b'{"error":"internal_error","detail":"internal error; the server log has the details"}'
    )
