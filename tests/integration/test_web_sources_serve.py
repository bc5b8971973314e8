"""The sync `qa serve` runs by itself (`QA_SYNC_INTERVAL_MINUTES`), on a real uvicorn server on
127.0.0.1 with the real model, against the news site of tests/news_site.py served on 127.0.0.1:
a page the site lists later is fetched, published and served; a failed run is one log line
and the next run tries again; private addresses are refused unless allowed; stopping the
service stops the thread. Minutes are shortened to a fraction of a second."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.content.web import STATE_FILE, SyncState, WebClient
from qa.indexing.web_articles import web_article_name
from qa.indexing.web_sources import sync_sources
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.serve import sync_loop
from tests.conftest import make_settings
from tests.integration.test_documents import serving
from tests.news_server import server
from tests.news_site import Site, SiteServer, build_site, seed_articles

ADMIN_KEY = "s3cret-admin"  # what tests.integration.test_documents.serving sends
SYNC_LOGGER = "qa.serve.sync"

__all__ = ["server"]  # a fixture


def build(server: SiteServer, count: int) -> Site:
    return build_site(server.folder, seed_articles()[:count], base_url=server.base_url, pdf=False)


def sync_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == SYNC_LOGGER]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.1)


def test_qa_serve_syncs_on_schedule_and_serves_what_it_published(
    server: SiteServer,
    encoder: SentenceTransformerEncoder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        tmp_path / "index",
        tmp_path / "corpus",
        admin_api_key=ADMIN_KEY,
        fetch_rate_per_host=100,
        sync_interval_minutes=1,
        sync_allow_private=True,  # the test site is on loopback
        reload_interval=0,  # served at once by the sync itself, not by polling
    )
    site = build(server, 2)
    with WebClient.from_settings(settings, allow_private=True) as client:
        sync_sources(settings, lambda: encoder, [site.sitemap_url], client)
    later = build(server, 3).pages[2]  # the site publishes another article
    monkeypatch.setattr(sync_loop, "SECONDS_PER_MINUTE", 0.3)
    caplog.set_level(logging.INFO, logger=SYNC_LOGGER)

    with serving(settings, encoder) as client:

        def served() -> list[str]:
            return [d["name"] for d in client.get("/documents").json()["documents"]]

        wait_for(lambda: web_article_name(later.url, "html") in served(), "the new page served")
        assert any(
            m.startswith("scheduled sync: 1 added, 0 updated, 2 unchanged")
            for m in sync_messages(caplog)
        )
        found = client.post("/search", json={"question": later.article.title, "k": 1}).json()
        assert found["results"][0]["url"] == later.url

        state = settings.corpus_dir / STATE_FILE
        saved = state.read_bytes()
        state.write_bytes(b"{broken")
        caplog.clear()
        wait_for(lambda: any("failed" in m for m in sync_messages(caplog)), "a failed run")
        state.write_bytes(saved)
        wait_for(lambda: sync_messages(caplog)[-1].endswith("nothing to publish"), "the next run")

    (failed, *_) = [m for m in sync_messages(caplog) if "failed" in m]
    assert failed.startswith("scheduled sync failed (CorpusError: ")
    assert "\n" not in failed
    assert "qa-sync" not in [thread.name for thread in threading.enumerate()]


def test_the_scheduled_sync_refuses_private_addresses_by_default(
    server: SiteServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = build(server, 1)
    settings = make_settings(tmp_path / "index", tmp_path / "corpus")
    state = SyncState.load(settings.corpus_dir)
    state.add_source(site.pages[0].url)  # as `qa add URL` leaves it
    state.save()
    caplog.set_level(logging.INFO, logger=SYNC_LOGGER)

    sync_loop.ScheduledSync(SimpleNamespace(), settings, 60).run_once()

    assert sync_messages(caplog) == [
        "scheduled sync: 0 added, 0 updated, 0 unchanged, 0 removed, "
        "1 skipped (private address: 1); feeds and sitemaps read: 0; nothing to publish"
    ]
    assert server.requests == []
