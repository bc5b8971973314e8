"""Rate limits and the client address, on the real app (real model, real index of `seeds/`):
under Starlette's TestClient, which sets the client address, and on real uvicorn servers with
the settings read from the environment, as `qa serve` reads them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.search.retrieval.search import Searcher
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import make_settings
from tests.integration.test_schema_fuzz import serving

PROXY = ("10.0.0.5", 40000)
ELSEWHERE = ("192.0.2.7", 40000)
DEFAULT_KEY_RATE = 600  # per minute, QA_API_KEY_RATE_LIMIT's default
ADMIN_KEY = "admin-key"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def app_client(
    settings: Settings, searcher: Searcher, peer: tuple[str, int], **overrides: object
) -> Iterator[TestClient]:
    app = api.create_app(make_settings(settings.index_dir, **overrides), searcher=searcher)
    with TestClient(app, client=peer) as client:
        yield client


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    assert set(response.json()) == {"error", "detail"}
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_no_rate_limit_per_address_by_default(settings: Settings, searcher: Searcher) -> None:
    with app_client(settings, searcher, ELSEWHERE) as client:
        statuses = {client.get("/sources").status_code for _ in range(30)}

    assert statuses == {200}


def test_a_client_over_its_limit_gets_429_with_retry_after(
    settings: Settings, searcher: Searcher
) -> None:
    with app_client(settings, searcher, ELSEWHERE, rate_limit="3/minute") as client:
        allowed = [client.get("/search", params={"q": "puce", "k": 1}) for _ in range(3)]
        refused = client.post("/search", json={"question": "puce"})
        other_route = client.get("/sources")
        probes = [client.get(path).status_code for path in ("/health", "/ready", "/")]

    assert [response.status_code for response in allowed] == [200, 200, 200]
    assert_rate_limited(refused)
    assert_rate_limited(other_route)  # one budget per client, whatever the route
    assert probes == [200, 200, 200]  # probes and pages are never limited


def test_a_read_key_has_its_own_limit(settings: Settings, searcher: Searcher) -> None:
    with app_client(
        settings,
        searcher,
        ELSEWHERE,
        rate_limit="1/minute",
        api_keys=["key-one"],
        api_key_rate_limit="3/minute",
    ) as client:
        # With read keys set, a request without a known key is refused before it counts.
        assert client.get("/sources").status_code == 401
        assert client.get("/sources", headers=bearer("made-up")).status_code == 401
        keyed = [client.get("/sources", headers=bearer("key-one")) for _ in range(4)]

    assert [response.status_code for response in keyed[:3]] == [200, 200, 200]
    assert_rate_limited(keyed[3])


def test_forwarded_address_is_ignored_from_an_untrusted_peer(
    settings: Settings, searcher: Searcher
) -> None:
    with app_client(settings, searcher, PROXY, rate_limit="1/minute") as client:
        first = client.get("/sources", headers={"X-Forwarded-For": "203.0.113.1"})
        second = client.get("/sources", headers={"X-Forwarded-For": "203.0.113.2"})

    assert first.status_code == 200
    assert_rate_limited(second)  # both counted against the proxy's own address


def test_forwarded_address_is_the_client_behind_a_trusted_proxy(
    settings: Settings, searcher: Searcher
) -> None:
    with app_client(
        settings, searcher, PROXY, rate_limit="1/minute", trusted_proxies=["10.0.0.0/8"]
    ) as client:
        first = client.get("/sources", headers={"X-Forwarded-For": "203.0.113.1"})
        second = client.get("/sources", headers={"X-Forwarded-For": "203.0.113.2"})
        again = client.get("/sources", headers={"X-Forwarded-For": "203.0.113.1"})

    assert first.status_code == second.status_code == 200
    assert_rate_limited(again)


# --- the per-key limit on a real server, settings from the environment -----------------------


@contextmanager
def keyed_server(
    settings: Settings, searcher: Searcher, monkeypatch: pytest.MonkeyPatch, **environment: str
) -> Iterator[httpx.Client]:
    """A real server with read keys `key-one` and `key-two` and the admin key, its settings read
    from the environment plus `environment` (QA_API_KEY_RATE_LIMIT unset unless given there)."""
    monkeypatch.delenv("QA_RATE_LIMIT", raising=False)
    monkeypatch.delenv("QA_API_KEY_RATE_LIMIT", raising=False)
    monkeypatch.setenv("QA_API_KEYS", "key-one,key-two")
    monkeypatch.setenv("QA_ADMIN_API_KEY", ADMIN_KEY)
    monkeypatch.setenv("QA_RELOAD_INTERVAL", "0")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    app = api.create_app(make_settings(settings.index_dir), searcher=searcher)
    with (
        serving(app, "uvicorn-rate-limit") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def sources_statuses(client: httpx.Client, key: str, times: int) -> list[int]:
    return [client.get("/sources", headers=bearer(key)).status_code for _ in range(times)]


def test_a_key_is_limited_by_default_and_another_key_is_not(
    settings: Settings, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    with keyed_server(settings, searcher, monkeypatch) as client:
        allowed = sources_statuses(client, "key-one", DEFAULT_KEY_RATE)
        refused = client.get("/search", params={"q": "puce"}, headers=bearer("key-one"))
        other_key = client.get("/search", params={"q": "puce"}, headers=bearer("key-two"))

    assert set(allowed) == {200}
    assert_rate_limited(refused)
    assert other_key.status_code == 200


def test_an_empty_key_rate_setting_lifts_the_limit(
    settings: Settings, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    with keyed_server(settings, searcher, monkeypatch, QA_API_KEY_RATE_LIMIT="") as client:
        statuses = sources_statuses(client, "key-one", DEFAULT_KEY_RATE + 100)

    assert set(statuses) == {200}


def test_the_admin_key_has_a_budget_for_reading_and_none_for_the_document_api(
    settings: Settings, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    with keyed_server(settings, searcher, monkeypatch, QA_API_KEY_RATE_LIMIT="3/minute") as client:
        reads = sources_statuses(client, ADMIN_KEY, 4)
        listings = [client.get("/documents", headers=bearer(ADMIN_KEY)) for _ in range(5)]
        reader = sources_statuses(client, "key-one", 4)

    assert reads == [200, 200, 200, 429]
    assert [listing.status_code for listing in listings] == [200] * 5
    assert reader == [200, 200, 200, 429]  # its own budget, not the admin key's
