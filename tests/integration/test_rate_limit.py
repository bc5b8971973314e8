"""Rate limits and the client address, on the real app (real model, real index of `seeds/`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi.testclient import TestClient

from qa.retrieval.search import Searcher
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import make_settings

PROXY = ("10.0.0.5", 40000)
ELSEWHERE = ("192.0.2.7", 40000)


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


def test_no_rate_limit_by_default(settings: Settings, searcher: Searcher) -> None:
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
