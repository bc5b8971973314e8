"""The application before its start-up has run: /health answers, /ready and /search say the
index is not there yet (the running service: tests/integration/test_api.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import assert_error


def test_before_start_up_search_is_503_and_health_is_200(settings: Settings) -> None:
    client = TestClient(api.create_app(settings))  # no `with`: the lifespan has not run

    assert client.get("/health").status_code == 200
    assert_error(client.get("/ready"), 503, "index_unavailable", "loading")
    assert_error(client.get("/search", params={"q": "puce"}), 503, "index_unavailable")
