"""Load shedding: with every search worker and waiting place taken, a search is refused before
its body is read, with the same answer, headers, log line and metrics as the route's own
refusal (the real service under a burst is in tests/integration/test_ops.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from qa.search.encoders.base import Encoder, Vectors
from qa.search.retrieval.search import Searcher
from qa.serve import app as api
from qa.serve import metrics
from qa.settings import Settings
from tests.conftest import make_settings


class GatedEncoder:
    """The real encoder, whose questions wait for `gate` first: a search that holds its worker
    for as long as the test wants."""

    def __init__(self, encoder: Encoder, gate: threading.Event) -> None:
        self._encoder = encoder
        self._gate = gate
        self.entered = threading.Event()
        self.model_id = encoder.model_id
        self.precision = encoder.precision
        self.dimension = encoder.dimension
        self.query_prompt = encoder.query_prompt

    def count_tokens(self, text: str) -> int:
        return self._encoder.count_tokens(text)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.entered.set()
        self._gate.wait(30)
        return self._encoder.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._encoder.embed_passages(texts, progress=progress)


@pytest.fixture
def full_service(
    searcher: Searcher, settings: Settings, caplog: pytest.LogCaptureFixture
) -> Iterator[TestClient]:
    """The app with one search worker and no waiting place, that worker busy with a search
    that waits until the test ends."""
    gate = threading.Event()
    gate.set()  # open while the app starts: it runs a warm-up search
    encoder = GatedEncoder(searcher.encoder, gate)
    limits = make_settings(
        settings.index_dir, search_workers=1, search_queue=0, query_cache_size=0, batch_max=1
    )
    app = api.create_app(limits, searcher=Searcher(searcher.index, encoder, limits))
    with (
        caplog.at_level(logging.INFO, logger="qa"),
        TestClient(app) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        gate.clear()
        encoder.entered.clear()
        held = pool.submit(client.post, "/search", json={"question": "Qui a conçu SeedChip ?"})
        assert encoder.entered.wait(30), "the first search never started"
        yield client
        gate.set()
        assert held.result().status_code == 200


def test_a_search_with_no_room_is_refused_before_its_body_is_read(
    full_service: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    refused_before = metrics.REGISTRY.get_sample_value(
        "qa_admission_refusals_total", {"reason": "queue_full"}
    )
    started = time.perf_counter()

    # A body that would be a 422 if it were read: the refusal comes first.
    response = full_service.post(
        "/search",
        content=b'{"question": ',
        headers={"Content-Type": "application/json", "X-Request-ID": "shed-1"},
    )

    assert time.perf_counter() - started < 1
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "overloaded"
    assert "busy" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-content-type-options"] == "nosniff"  # outer middlewares ran
    assert response.headers["x-request-id"] == "shed-1"
    assert (
        metrics.REGISTRY.get_sample_value("qa_admission_refusals_total", {"reason": "queue_full"})
        == (refused_before or 0) + 1
    )
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "shed-1"]
    assert [(r.route, r.status) for r in logged if r.getMessage() == "request"] == [
        ("/search", 503)
    ]
    # Neither the search log line nor the route ran.
    assert not [r for r in logged if r.getMessage() == "search"]


def test_with_no_room_the_get_search_is_refused_too_and_the_rest_is_served(
    full_service: TestClient,
) -> None:
    assert full_service.get("/search", params={"q": "puce"}).status_code == 503
    assert full_service.delete("/search").status_code == 405
    assert full_service.get("/health").status_code == 200
    assert full_service.get("/sources").status_code == 200


def test_with_room_the_same_body_is_read_and_refused_as_malformed(
    searcher: Searcher, settings: Settings
) -> None:
    app = api.create_app(make_settings(settings.index_dir), searcher=searcher)
    with TestClient(app) as client:
        response = client.post(
            "/search", content=b'{"question": ', headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 422, response.text
