"""The HTTP service, through a real HTTP client against a real uvicorn server.

The main server runs the real app (real model, real index of `seeds/`) in a background thread
for the whole module. Apps that must fail at start-up or need other settings (CORS, a stale
corpus) run under Starlette's TestClient and reuse the session's encoder rather than loading
the same model again; everything else in them is real.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexMismatchError, IndexMissingError
from qa.indexing.build import build_index
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.store import EmbeddedStore
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import SEEDS, assert_error, free_port, make_settings, publish

SEED_FILES = sorted(path.name for path in SEEDS.glob("*.txt"))
SEEDCHIP_FILE = "002_5f75a4b7e3170e15.txt"
FRENCH_QUESTION = "Comment s'appelle la puce IA que développe ByteDance ?"
ENGLISH_QUESTION = "What is the name of the AI chip ByteDance is designing in-house?"
RESPONSE_KEYS = {
    "question",
    "language",
    "mode",
    "answerable",
    "best_score",
    "confidence",
    "results",
    "search_id",
}
PASSAGE_KEYS = {
    "rank",
    "score",
    "source",
    "title",
    "chunk_id",
    "start",
    "end",
    "text",
    "highlight",
    "url",
    "published",
    "author",
    "language",
    "site",
    "scores",
    "explanation",
}
ALLOWED_ORIGIN = "https://example.org"


# --- the real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(real_index: EmbeddedStore, settings: Settings) -> Iterator[str]:
    """A real uvicorn server on a free port, serving the real app over the saved real index."""
    port = free_port()
    config = uvicorn.Config(
        api.create_app(settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the server stopped during start-up (see the captured log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the server did not start within 180 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        yield client


def search(client: httpx.Client, **body: Any) -> dict[str, Any]:
    """POST /search, which must succeed; the JSON response."""
    response = client.post("/search", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- /search --------------------------------------------------------------------------------


def test_post_search_answers_with_ranked_passages(client: httpx.Client) -> None:
    body = search(client, question=FRENCH_QUESTION, k=5)

    assert set(body) == RESPONSE_KEYS
    assert body["question"] == FRENCH_QUESTION
    assert body["mode"] == "hybrid"
    assert body["answerable"] is True
    assert body["best_score"] >= max(passage["score"] for passage in body["results"])
    assert [passage["rank"] for passage in body["results"]] == [1, 2, 3, 4, 5]
    for passage in body["results"]:
        assert set(passage) == PASSAGE_KEYS
        assert passage["source"] in SEED_FILES
        assert set(passage["highlight"] or {}) <= {"start", "end"}


def test_get_search_answers_exactly_like_post(client: httpx.Client) -> None:
    response = client.get("/search", params={"q": FRENCH_QUESTION, "k": 5})

    assert response.status_code == 200, response.text
    assert same_answer(response.json()) == same_answer(
        search(client, question=FRENCH_QUESTION, k=5)
    )


def test_passages_are_exact_slices_of_their_source(client: httpx.Client) -> None:
    body = search(client, question=FRENCH_QUESTION, k=10)
    sources = {name: client.get(f"/sources/{name}").json() for name in SEED_FILES}

    for passage in body["results"]:
        source = sources[passage["source"]]
        assert source["text"][passage["start"] : passage["end"]] == passage["text"]
        assert passage["title"] == source["title"]
        highlight = passage["highlight"]
        if highlight is not None:
            assert passage["start"] <= highlight["start"] < highlight["end"] <= passage["end"]


def test_french_question_about_seedchip_finds_its_article_first(client: httpx.Client) -> None:
    body = search(client, question=FRENCH_QUESTION)

    assert body["results"][0]["source"] == SEEDCHIP_FILE
    assert body["language"] == "fr"


def test_english_question_works_and_is_detected_as_english(client: httpx.Client) -> None:
    body = search(client, question=ENGLISH_QUESTION)

    assert body["language"] == "en"
    assert body["results"][0]["source"] == SEEDCHIP_FILE


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_retrieval_mode_is_accepted(client: httpx.Client, mode: str) -> None:
    posted = search(client, question=FRENCH_QUESTION, mode=mode)
    got = client.get("/search", params={"q": FRENCH_QUESTION, "mode": mode}).json()

    assert posted["mode"] == got["mode"] == mode
    assert len(posted["results"]) == len(got["results"]) == 5


def test_default_k_is_five(client: httpx.Client) -> None:
    assert len(search(client, question=FRENCH_QUESTION)["results"]) == 5
    assert len(client.get("/search", params={"q": FRENCH_QUESTION}).json()["results"]) == 5


def test_k_of_fifty_is_accepted_and_capped_by_the_index(
    client: httpx.Client, real_index: EmbeddedStore
) -> None:
    results = search(client, question=FRENCH_QUESTION, k=50)["results"]

    assert len(results) == min(50, len(real_index.chunks))
    assert [passage["rank"] for passage in results] == list(range(1, len(results) + 1))


def test_question_of_2000_characters_is_accepted(client: httpx.Client) -> None:
    question = ("puce " * 400)[:1999] + "?"
    assert len(question) == 2000

    assert search(client, question=question, k=1)["question"] == question


@pytest.mark.parametrize("question", ["puce IA", "ByteDance Nvidia", "SeedChip Samsung"])
def test_same_question_gets_the_same_language_every_time(
    client: httpx.Client, question: str
) -> None:
    languages = {search(client, question=question, k=1)["language"] for _ in range(3)}

    assert len(languages) == 1


def test_concurrent_requests_get_the_same_answers_as_sequential_ones(
    client: httpx.Client,
) -> None:
    questions = [FRENCH_QUESTION, ENGLISH_QUESTION, "Qui fabrique la puce ?"] * 3
    expected = {question: search(client, question=question) for question in set(questions)}

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda q: client.post("/search", json={"question": q}), questions)
        )

    for question, response in zip(questions, responses, strict=True):
        assert response.status_code == 200, response.text
        assert same_answer(response.json()) == same_answer(expected[question])


def same_answer(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without its `search_id`, which each search has its own of."""
    assert body["search_id"]
    return {key: value for key, value in body.items() if key != "search_id"}


# --- the other endpoints --------------------------------------------------------------------


def test_health_says_ok(client: httpx.Client) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_model_index_size_and_no_staleness(
    client: httpx.Client, settings: Settings, real_index: EmbeddedStore
) -> None:
    response = client.get("/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["model"] == settings.model
    assert body["sources"] == len(SEED_FILES)
    assert body["chunks"] == len(real_index.chunks)
    assert body["stale"] == []
    assert datetime.fromisoformat(body["built_at"]).tzinfo is not None
    assert body["engine"].startswith("embedded: FAISS exact inner product")  # 27 passages


def test_sources_lists_the_seed_files_with_titles_and_chunk_counts(
    client: httpx.Client,
) -> None:
    sources = client.get("/sources").json()["sources"]
    chunks = client.get("/ready").json()["chunks"]

    assert sorted(source["name"] for source in sources) == SEED_FILES
    assert all(set(source) == {"name", "title", "chunks"} for source in sources)
    assert all(source["title"].strip() and source["chunks"] >= 1 for source in sources)
    assert sum(source["chunks"] for source in sources) == chunks


@pytest.mark.parametrize("name", SEED_FILES)
def test_source_is_the_exact_original_text(client: httpx.Client, name: str) -> None:
    response = client.get(f"/sources/{name}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == name
    assert body["text"] == (SEEDS / name).read_bytes().decode("utf-8").removeprefix("\ufeff")


def test_demo_page_embeds_the_widget(client: httpx.Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js"' in response.text


def test_widget_is_served_as_javascript(client: httpx.Client) -> None:
    response = client.get("/widget.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.text.strip()


def test_api_documentation_is_served(client: httpx.Client) -> None:
    docs = client.get("/docs")
    schema = client.get("/openapi.json")

    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui-bundle.js" in docs.text
    assert schema.status_code == 200
    assert {"/search", "/sources", "/sources/{name}", "/health", "/ready"} <= set(
        schema.json()["paths"]
    )


# --- bad input: a 4xx JSON error naming the problem, never a 500 ----------------------------


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param({"question": ""}, ["question:", "blank"], id="empty question"),
        pytest.param({"question": "   "}, ["question:", "blank"], id="blank question"),
        pytest.param({"question": "a" * 2001}, ["question:", "2000"], id="2001 characters"),
        pytest.param({"question": 42}, ["question:", "string"], id="question not a string"),
        pytest.param({"k": 3}, ["question:", "required"], id="missing question"),
        pytest.param({"question": "puce", "k": 0}, ["k:", "1"], id="k=0"),
        pytest.param({"question": "puce", "k": 51}, ["k:", "50"], id="k=51"),
        pytest.param({"question": "puce", "k": "abc"}, ["k:", "integer"], id="k=abc"),
        pytest.param({"question": "puce", "k": 2.5}, ["k:", "integer"], id="k=2.5"),
        pytest.param({"question": "puce", "mode": "fuzzy"}, ["mode:", "hybrid"], id="unknown mode"),
        pytest.param(["puce"], ["body:"], id="body not an object"),
    ],
)
def test_post_search_rejects_bad_body(
    client: httpx.Client, body: Any, fragments: list[str]
) -> None:
    assert_error(client.post("/search", json=body), 422, "invalid_request", *fragments)


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        pytest.param({}, ["q:", "required"], id="no q"),
        pytest.param({"q": ""}, ["question:", "blank"], id="empty q"),
        pytest.param({"q": "   "}, ["question:", "blank"], id="blank q"),
        pytest.param({"q": "a" * 2001}, ["q:", "2000"], id="2001 characters"),
        pytest.param({"q": "puce", "k": "0"}, ["k:", "1"], id="k=0"),
        pytest.param({"q": "puce", "k": "51"}, ["k:", "50"], id="k=51"),
        pytest.param({"q": "puce", "k": "abc"}, ["k:", "integer"], id="k=abc"),
        pytest.param({"q": "puce", "mode": "fuzzy"}, ["mode:", "hybrid"], id="unknown mode"),
    ],
)
def test_get_search_rejects_bad_query(
    client: httpx.Client, params: dict[str, str], fragments: list[str]
) -> None:
    assert_error(client.get("/search", params=params), 422, "invalid_request", *fragments)


@pytest.mark.parametrize(
    "content",
    [b'{"question": ', b"{'question': 'puce'}", b"\xff\xfe", b""],
    ids=["truncated", "single quotes", "not UTF-8", "empty body"],
)
def test_post_search_rejects_malformed_json(client: httpx.Client, content: bytes) -> None:
    response = client.post("/search", content=content, headers={"content-type": "application/json"})

    assert_error(response, 422, "invalid_request", "body:")


@pytest.mark.parametrize("k", ["true", "false", '"5"', "2.5", "null"])
def test_post_search_k_must_be_a_json_integer(client: httpx.Client, k: str) -> None:
    response = client.post(
        "/search",
        content=f'{{"question": "puce", "k": {k}}}'.encode(),
        headers={"content-type": "application/json"},
    )

    assert_error(response, 422, "invalid_request", "k:", "integer")


@pytest.mark.parametrize("explain", ["0", "1", '"true"', '"yes"', "null"])
def test_post_search_explain_must_be_a_json_boolean(client: httpx.Client, explain: str) -> None:
    response = client.post(
        "/search",
        content=f'{{"question": "puce", "explain": {explain}}}'.encode(),
        headers={"content-type": "application/json"},
    )

    assert_error(response, 422, "invalid_request", "explain:", "boolean")


@pytest.mark.parametrize("k", ["3", "3.0", "3e0"])
def test_post_search_k_is_any_json_schema_integer(client: httpx.Client, k: str) -> None:
    response = client.post(
        "/search",
        content=f'{{"question": "puce", "k": {k}}}'.encode(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 3


# pydantic alone reads 0 or "0" as 1970-01-01 and a date-time as its date (found by fuzzing).
@pytest.mark.parametrize("value", [0, "0", "2024-06-01T00:00:00", "1 juin 2024", 20240601])
def test_a_date_filter_must_be_written_as_an_iso_date(client: httpx.Client, value: object) -> None:
    body = {"question": "puce", "published_after": value}
    assert_error(client.post("/search", json=body), 422, "invalid_request", "YYYY-MM-DD")
    query = {"q": "puce", "published_before": str(value)}
    assert_error(client.get("/search", params=query), 422, "invalid_request", "YYYY-MM-DD")


def test_an_iso_date_filter_is_accepted(client: httpx.Client) -> None:
    for response in (
        client.post("/search", json={"question": "puce", "published_after": "2024-06-01"}),
        client.get("/search", params={"q": "puce", "published_before": "2024-06-01"}),
    ):
        assert response.status_code == 200, response.text


def test_get_search_still_reads_k_from_the_query_string(client: httpx.Client) -> None:
    response = client.get("/search", params={"q": FRENCH_QUESTION, "k": "3"})

    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param('{"question": "café"}'.encode("latin-1"), "UTF-8", id="latin-1"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "nested too deeply", id="5000 levels"),
        pytest.param(
            b'{"question": "puce", "k": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            "nested too deeply",
            id="5000 levels in a field",
        ),
    ],
)
def test_unparsable_body_is_described_as_malformed_json(
    client: httpx.Client, content: bytes, fragment: str
) -> None:
    response = client.post("/search", content=content, headers={"content-type": "application/json"})

    assert_error(response, 422, "invalid_request", "body: malformed JSON", fragment)


def test_malformed_json_is_described_as_such(client: httpx.Client) -> None:
    response = client.post(
        "/search", content=b'{"question": }', headers={"content-type": "application/json"}
    )

    assert_error(response, 422, "invalid_request", "body: malformed JSON at character 13")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_post_search_requires_a_json_content_type(client: httpx.Client, content_type: str) -> None:
    response = client.post(
        "/search",
        content=json.dumps({"question": "puce"}),
        headers={"content-type": content_type},
    )

    assert_error(response, 415, "unsupported_media_type", "application/json", content_type)


def test_json_content_type_with_charset_is_accepted(client: httpx.Client) -> None:
    response = client.post(
        "/search",
        content=json.dumps({"question": "puce", "k": 1}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200, response.text


def test_unknown_source_is_404_naming_it(client: httpx.Client) -> None:
    assert_error(client.get("/sources/nope.txt"), 404, "unknown_source", "nope.txt")


@pytest.mark.parametrize("path", ["/nope", "/sources/a/b", "/search/extra"])
def test_unknown_route_is_404_json(client: httpx.Client, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/search", "GET, HEAD, POST"),
        ("PUT", "/health", "GET, HEAD"),
        ("POST", "/sources", "GET, HEAD"),
        ("POST", f"/sources/{SEEDCHIP_FILE}", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_json_with_allow_header_naming_every_method(
    client: httpx.Client, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


HTTP_METHODS = {"get", "head", "post", "put", "delete", "patch", "options", "trace"}


def test_options_on_every_path_of_the_schema_is_405_naming_exactly_its_methods(
    client: httpx.Client,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/documents/{name}"} <= set(paths)  # the document API's routes too
    for template, item in paths.items():
        methods = {method.upper() for method in HTTP_METHODS.intersection(item)}
        methods |= {"HEAD"} if "GET" in methods else set()  # every GET route answers HEAD
        response = client.options(template.replace("{name}", SEEDCHIP_FILE))

        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == ", ".join(sorted(methods)), template


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_documentation_pages_load_nothing_from_elsewhere(
    client: httpx.Client, page: str
) -> None:
    html = client.get(page).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)

    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from another host"
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content


HEAD_PATHS = [
    "/",
    "/widget.js",
    "/health",
    "/ready",
    "/sources",
    f"/sources/{SEEDCHIP_FILE}",
    "/search?q=puce&k=1",
    "/docs",
    "/redoc",
    "/openapi.json",
]


@pytest.mark.parametrize("path", HEAD_PATHS)
def test_head_answers_wherever_get_does(client: httpx.Client, path: str) -> None:
    got = client.get(path)
    head = client.head(path)

    assert head.status_code == got.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_routes_stay_out_of_the_api_schema(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert all("head" not in operations for operations in paths.values())


# --- request size -----------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    """A valid search body of exactly `size` bytes (the question is short; the rest is blanks)."""
    body = b'{"question": "puce", "k": 1}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


def chunked(content: bytes, chunk: int = 4096) -> Iterator[bytes]:
    """The content as a stream: httpx sends it without Content-Length, chunk by chunk."""
    for start in range(0, len(content), chunk):
        yield content[start : start + chunk]


def test_body_of_the_maximum_size_is_accepted(client: httpx.Client) -> None:
    content = padded_body(api.MAX_BODY_BYTES)
    headers = {"content-type": "application/json"}

    assert client.post("/search", content=content, headers=headers).status_code == 200
    assert client.post("/search", content=chunked(content), headers=headers).status_code == 200


@pytest.mark.parametrize("size", [api.MAX_BODY_BYTES + 1, 20 * 1024 * 1024])
def test_body_over_the_limit_is_413(client: httpx.Client, size: int) -> None:
    response = client.post(
        "/search", content=padded_body(size), headers={"content-type": "application/json"}
    )

    assert_error(response, 413, "request_too_large", str(api.MAX_BODY_BYTES))


def test_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    content = padded_body(api.MAX_BODY_BYTES + 1)
    headers = {"content-type": "application/json"}
    response = client.post("/search", content=chunked(content), headers=headers)

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "request_too_large", str(api.MAX_BODY_BYTES))


def test_declared_length_over_the_limit_is_refused_before_the_body_is_read(base_url: str) -> None:
    """Headers announcing 20 MB and no body at all: the answer must not wait for the body."""
    host, port = httpx.URL(base_url).host, httpx.URL(base_url).port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            b"POST /search HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20971520\r\n\r\n"
        )
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]

    assert status_line.startswith(b"HTTP/1.1 413 ")


# --- CORS -----------------------------------------------------------------------------------


@pytest.fixture
def reuse_encoder(monkeypatch: pytest.MonkeyPatch, encoder: SentenceTransformerEncoder) -> None:
    """Apps other than the main server get the session's model instead of loading it again."""
    monkeypatch.setattr(api, "load_encoder", lambda _settings: encoder)


@pytest.fixture
def cors_client(
    real_index: EmbeddedStore, settings: Settings, reuse_encoder: None
) -> Iterator[TestClient]:
    app = api.create_app(make_settings(settings.index_dir, cors_origins=[ALLOWED_ORIGIN]))
    with TestClient(app) as client:
        yield client


def preflight(client: TestClient | httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/search",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_cors_preflight_from_a_configured_origin_is_allowed(cors_client: TestClient) -> None:
    response = preflight(cors_client, ALLOWED_ORIGIN)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_cors_preflight_from_another_origin_is_refused(cors_client: TestClient) -> None:
    response = preflight(cors_client, "https://elsewhere.example")

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert response.json() == {"error": "cors_refused", "detail": "Disallowed CORS origin"}


def test_cors_response_names_only_the_configured_origin(cors_client: TestClient) -> None:
    allowed = cors_client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    other = cors_client.get("/health", headers={"Origin": "https://elsewhere.example"})

    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_no_origin_is_allowed_by_default(client: httpx.Client) -> None:
    response = preflight(client, ALLOWED_ORIGIN)

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


# --- start-up ---------------------------------------------------------------------------------


def test_app_without_index_fails_at_start_up(tmp_path: Path, reuse_encoder: None) -> None:
    app = api.create_app(make_settings(tmp_path / "empty"))

    with (
        pytest.raises(IndexMissingError, match=r"no index in .*empty.*run `qa index`"),
        TestClient(app),
    ):
        pass  # pragma: no cover


def test_index_of_another_model_is_refused_with_how_to_rebuild(
    foreign_index_dir: Path, settings: Settings, reuse_encoder: None
) -> None:
    index_dir = foreign_index_dir
    app = api.create_app(make_settings(index_dir))

    with pytest.raises(IndexMismatchError) as error, TestClient(app):
        pass  # pragma: no cover

    message = str(error.value)
    assert "intfloat/some-other-model" in message
    assert settings.model in message
    assert f"qa index --index-dir {index_dir}" in message


# --- staleness ------------------------------------------------------------------------------

SMALL_CORPUS_FILE = "000_0afdbc2315d05444.txt"


@pytest.fixture(scope="module")
def small_index(
    tmp_path_factory: pytest.TempPathFactory, encoder: SentenceTransformerEncoder
) -> Path:
    """A real index of a one-article corpus (a copy of one seed file)."""
    corpus = tmp_path_factory.mktemp("small-corpus")
    shutil.copy(SEEDS / SMALL_CORPUS_FILE, corpus)
    index_dir = tmp_path_factory.mktemp("small-index")
    settings = make_settings(index_dir, corpus)
    index = build_index(load_corpus(corpus), encoder, ChunkingConfig.from_settings(settings))
    publish(index, index_dir)
    return index_dir


def ready_with(settings: Settings) -> dict[str, Any]:
    with TestClient(api.create_app(settings)) as client:
        response = client.get("/ready")
        assert response.status_code == 200, response.text
        assert client.get("/search", params={"q": "Nvidia"}).status_code == 200
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / SMALL_CORPUS_FILE, corpus)
    return corpus


def test_unchanged_corpus_is_not_stale(
    small_index: Path, corpus_copy: Path, reuse_encoder: None
) -> None:
    assert ready_with(make_settings(small_index, corpus_copy))["stale"] == []


def test_changed_file_shows_up_as_stale(
    small_index: Path, corpus_copy: Path, reuse_encoder: None
) -> None:
    article = corpus_copy / SMALL_CORPUS_FILE
    article.write_text(article.read_text(encoding="utf-8") + "\nUne phrase ajoutée.\n", "utf-8")

    assert ready_with(make_settings(small_index, corpus_copy))["stale"] == [
        f"changed file {SMALL_CORPUS_FILE}"
    ]


def test_new_and_removed_files_show_up_as_stale(
    small_index: Path, corpus_copy: Path, reuse_encoder: None
) -> None:
    (corpus_copy / SMALL_CORPUS_FILE).rename(corpus_copy / "renamed.txt")

    assert ready_with(make_settings(small_index, corpus_copy))["stale"] == [
        "new file renamed.txt",
        f"removed file {SMALL_CORPUS_FILE}",
    ]


def test_changed_chunking_shows_up_as_stale(
    small_index: Path, corpus_copy: Path, reuse_encoder: None
) -> None:
    settings = make_settings(small_index, corpus_copy, chunk_max_tokens=128)

    assert ready_with(settings)["stale"] == ["chunking settings changed"]


def test_missing_corpus_folder_shows_up_as_stale(
    small_index: Path, tmp_path: Path, reuse_encoder: None
) -> None:
    stale = ready_with(make_settings(small_index, tmp_path / "gone"))["stale"]

    assert len(stale) == 1
    assert "corpus folder not found" in stale[0]
