"""Web sources into published articles (`qa.indexing.web_sources`) against a real HTTP server on
127.0.0.1 serving the news site of tests/news_site.py: articles named after their URL, kept as
published, updated in place, duplicates skipped, an unchanged site fetched and published for
nothing, a changed page indexed alone, gone pages pruned only when asked. The fake encoder:
what is checked here does not depend on the model."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from qa.content.corpus.documents import article_name
from qa.content.web import SkipReason, SyncState, WebClient
from qa.indexing.web_articles import ArticleSkip, web_article_name
from qa.indexing.web_sources import Stored, SyncReport, sync_sources
from qa.search.encoders.base import Vectors
from qa.search.store import EmbeddedStore, current_version, load_store
from qa.settings import Settings
from tests.conftest import FakeEncoder, make_settings
from tests.news_server import server
from tests.news_site import (
    Article,
    Route,
    Site,
    SitePage,
    SiteServer,
    build_with_draft,
    devset_articles,
    seed_articles,
)

__all__ = ["server"]  # a fixture


def articles() -> list[Article]:
    return seed_articles() + devset_articles()[:3]


def build(server: SiteServer, published: Sequence[Article] | None = None) -> Site:
    return build_with_draft(server, articles(), published)


@pytest.fixture
def site(server: SiteServer) -> Site:
    return build(server)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "index", tmp_path / "corpus", model=FakeEncoder.model_id, fetch_rate_per_host=100
    )


def sync(settings: Settings, urls: Sequence[str] | None = None, **options: Any) -> SyncReport:
    with WebClient.from_settings(settings, allow_private=True) as client:
        return sync_sources(settings, FakeEncoder, urls, client, **options)


def name_of(page: SitePage) -> str:
    return web_article_name(page.url, "html")


def served_file(server: SiteServer, page: SitePage) -> bytes:
    return (server.folder / page.path.strip("/") / "index.html").read_bytes()


def published(settings: Settings) -> EmbeddedStore:
    return load_store(settings.index_dir, FakeEncoder.model_id)


def longest(article: Article) -> str:
    """The article's longest paragraph: its text, not a line of the seeds' own boilerplate."""
    return max(article.body, key=len)


def edited(article: Article, line: str) -> Article:
    return dataclasses.replace(
        article,
        modified=article.published + timedelta(days=1),
        paragraphs=(*article.paragraphs, line),
    )


def test_a_sitemap_index_gives_one_article_per_page_kept_as_published(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    report = sync(settings, [site.sitemap_index_url])

    assert sorted(report.added, key=lambda s: s.url) == sorted(
        (Stored(p.url, name_of(p)) for p in site.pages), key=lambda s: s.url
    )
    assert [(s.url, s.reason) for s in report.skipped] == [
        (draft.url, SkipReason.ROBOTS) for draft in site.drafts
    ]
    index = published(settings)
    assert report.index is not None
    assert (
        sorted(report.index.changes.added)
        == sorted(index.sources)
        == sorted(name_of(p) for p in site.pages)
    )
    for page in site.pages:
        name = name_of(page)
        assert article_name(name, "html") == name  # a plain corpus file name of its kind
        assert (settings.corpus_dir / name).read_bytes() == served_file(server, page)
        sidecar = settings.corpus_dir / name.replace(".html", ".meta.json")
        assert json.loads(sidecar.read_text("utf-8")) == {"url": page.url}
        source = index.sources[name]
        assert (source.url, source.title) == (page.url, page.article.title)
        assert source.published == page.article.published.date()
        assert longest(page.article) in source.text


def test_a_feed_item_text_stands_in_for_a_page_that_cannot_be_had(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    broken = site.pages[2]
    server.routes[broken.path] = Route(status=500)

    report = sync(settings, [site.rss_url])

    draft = site.drafts[0]  # robots.txt disallows the page, not the feed that carries it
    assert sorted(report.from_feed) == sorted([broken.url, draft.url])
    assert report.skipped == []
    assert {s.url for s in report.added} == {p.url for p in site.listed}
    index = published(settings)
    for page in (broken, draft):
        source = index.sources[name_of(page)]
        assert source.url == page.url
        assert source.title == page.article.title
        assert source.published == page.article.published.date()
        assert longest(page.article) in source.text


def test_a_page_a_markdown_file_and_a_pdf_named_by_their_urls_told_apart_by_content(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    page, markdown, pdf = site.pages[0], site.pages[1], site.pages[2]
    assert pdf.pdf_url is not None
    pdf_path = pdf.pdf_url.removeprefix(server.base_url)
    server.routes[pdf_path] = Route(content_type="application/octet-stream")

    report = sync(settings, [page.url, markdown.markdown_url, pdf.pdf_url])

    names = {
        page.url: web_article_name(page.url, "html"),
        markdown.markdown_url: web_article_name(markdown.markdown_url, "markdown"),
        pdf.pdf_url: web_article_name(pdf.pdf_url, "pdf"),
    }
    assert {s.url: s.name for s in report.added} == names
    assert [Path(name).suffix for name in names.values()] == [".html", ".md", ".pdf"]
    assert (settings.corpus_dir / names[pdf.pdf_url]).read_bytes() == (
        server.folder / pdf_path.strip("/")
    ).read_bytes()
    index = published(settings)
    for url, article in ((markdown.markdown_url, markdown.article), (pdf.pdf_url, pdf.article)):
        source = index.sources[names[url]]
        assert source.url == url
        assert source.title == article.title
        assert longest(article) in " ".join(source.text.split())


def test_adding_a_url_again_updates_its_article_in_place(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    page = site.pages[1]
    first = sync(settings, [page.url])
    version = current_version(settings.index_dir)

    again = sync(settings, [page.url])  # 304: nothing to publish
    assert (again.added, again.updated, again.unchanged) == ([], [], [page.url])
    assert again.index is None
    assert current_version(settings.index_dir) == version

    line = "Mise à jour : la société a confirmé l'information mardi soir."
    build(server, [edited(a, line) if a == page.article else a for a in articles()[:-1]])
    updated = sync(settings, [page.url])

    assert first.added == updated.updated == [Stored(page.url, name_of(page))]
    assert updated.added == []
    assert (settings.corpus_dir / name_of(page)).read_bytes() == served_file(server, page)
    assert sorted(p.name for p in settings.corpus_dir.iterdir() if not p.name.startswith(".")) == [
        name_of(page),
        name_of(page).replace(".html", ".meta.json"),
    ]
    assert line in published(settings).sources[name_of(page)].text


def test_the_same_text_under_another_url_is_a_duplicate_not_indexed_twice(
    site: Site, settings: Settings
) -> None:
    page = site.pages[0]
    assert page.pdf_url is not None
    sync(settings, [page.url])
    version = current_version(settings.index_dir)

    report = sync(settings, [page.markdown_url, page.pdf_url])

    assert [(s.url, s.reason) for s in report.duplicates] == [
        (page.markdown_url, ArticleSkip.DUPLICATE),
        (page.pdf_url, ArticleSkip.DUPLICATE),
    ]
    assert all(name_of(page) in s.detail for s in report.duplicates)
    assert "2 skipped (duplicate: 2)" in report.summary()
    assert report.added == []
    assert report.index is None
    assert current_version(settings.index_dir) == version
    assert list(published(settings).sources) == [name_of(page)]


def test_a_sync_of_an_unchanged_site_fetches_no_page_and_publishes_nothing(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    sync(settings, [site.sitemap_index_url, site.rss_url])
    version = current_version(settings.index_dir)
    server.clear()

    report = sync(settings)

    listings = {"/robots.txt", "/sitemap_index.xml", "/news-sitemap.xml", "/rss.xml"}
    listings |= {url.removeprefix(server.base_url) for url in site.child_sitemap_urls}
    assert sorted(r.path for r in server.requests) == sorted(listings)
    assert {r.status for r in server.requests if r.path != "/robots.txt"} == {304}
    assert sorted(report.unchanged) == sorted(p.url for p in site.pages)
    assert (report.added, report.updated, report.index) == ([], [], None)
    assert current_version(settings.index_dir) == version


def test_a_changed_page_is_fetched_and_indexed_alone(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    sync(settings, [site.sitemap_index_url])
    changed = site.pages[3]
    line = "Mise à jour : ByteDance a confirmé l'information."
    build(server, [edited(a, line) if a == changed.article else a for a in articles()[:-1]])
    server.clear()

    report = sync(settings)

    assert [r.path for r in server.requests if not r.path.endswith((".xml", ".txt"))] == [
        changed.path
    ]
    assert report.updated == [Stored(changed.url, name_of(changed))]
    assert report.index is not None
    changes = report.index.changes
    assert (changes.added, changes.changed, changes.removed) == ([], [name_of(changed)], [])
    index = published(settings)
    assert changes.passages_embedded == len(index.document(name_of(changed)).chunks)
    assert line in index.sources[name_of(changed)].text


def test_a_gone_page_is_kept_without_prune_and_removed_with_it(
    site: Site, server: SiteServer, settings: Settings
) -> None:
    kept, gone = site.pages[0], site.pages[1]
    sync(settings, [kept.url, gone.url])
    server.routes[gone.path] = Route(status=410)

    report = sync(settings)
    assert (report.gone, report.removed, report.index) == ([gone.url], [], None)
    assert "1 gone but kept (--prune removes them)" in report.summary()
    assert (settings.corpus_dir / name_of(gone)).exists()

    pruned = sync(settings, prune=True)

    assert pruned.removed == [Stored(gone.url, name_of(gone))]
    assert pruned.index is not None
    assert pruned.index.changes.removed == [name_of(gone)]
    assert sorted(published(settings).sources) == [name_of(kept)]
    assert not (settings.corpus_dir / name_of(gone)).exists()
    assert not (settings.corpus_dir / name_of(gone).replace(".html", ".meta.json")).exists()
    assert gone.url not in SyncState.load(settings.corpus_dir).pages


def test_a_failed_publication_changes_nothing_and_saves_no_state(
    site: Site, settings: Settings
) -> None:
    sync(settings, [site.pages[0].url])
    corpus_before = sorted(p.name for p in settings.corpus_dir.iterdir())
    state_before = (settings.corpus_dir / ".qa-sync.json").read_bytes()

    class BrokenEncoder(FakeEncoder):
        def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
            raise RuntimeError("out of memory while embedding")

    with (
        WebClient.from_settings(settings, allow_private=True) as client,
        pytest.raises(RuntimeError, match="out of memory"),
    ):
        sync_sources(settings, BrokenEncoder, [site.sitemap_url], client)

    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == corpus_before
    assert (settings.corpus_dir / ".qa-sync.json").read_bytes() == state_before


def test_a_run_asked_to_stop_publishes_and_saves_nothing(site: Site, settings: Settings) -> None:
    stop = threading.Event()
    stop.set()  # as `qa serve` does when it stops in the middle of a scheduled sync

    report = sync(settings, [site.sitemap_url], stop=stop)

    assert report.stopped
    assert (report.added, report.index) == ([], None)
    assert not settings.corpus_dir.exists()
    assert not settings.index_dir.exists()
