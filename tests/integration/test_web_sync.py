"""A sync (`qa.content.web.collect`) against a real HTTP server on 127.0.0.1 serving the news site
of tests/news_site.py: sources told apart and expanded, robots.txt and the pace per host obeyed
(the server's log and clock say so), an unchanged site fetched again for nothing, a changed page
fetched alone, and every refusal reported without stopping the run."""

from __future__ import annotations

import dataclasses
import gzip
import html
import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from qa.content.web import (
    Gone,
    ListingRead,
    Outcome,
    Page,
    Skipped,
    SkipReason,
    SyncState,
    Unchanged,
    WebClient,
    collect,
)
from tests.news_server import server
from tests.news_site import (
    Article,
    Route,
    Site,
    SiteServer,
    build_with_draft,
    devset_articles,
    seed_articles,
    sitemap_index,
)

Found = TypeVar("Found", bound=Outcome)

__all__ = ["server"]  # a fixture


def articles() -> list[Article]:
    return seed_articles() + devset_articles()[:4]


def build(server: SiteServer, published: Sequence[Article] | None = None) -> Site:
    return build_with_draft(server, articles(), published, pdf=False)


@pytest.fixture
def site(server: SiteServer) -> Site:
    return build(server)


def web_client(*, allow_private: bool = True, rate: float = 200.0, hosts: int = 4) -> WebClient:
    return WebClient(
        user_agent="qa-tests/1.0",
        rate_per_host=rate,
        hosts_in_parallel=hosts,
        timeout_s=5.0,
        allow_private=allow_private,
    )


def sync(
    state: SyncState,
    urls: Sequence[str] | None = None,
    *,
    allow_private: bool = True,
    rate: float = 200.0,
    hosts: int = 4,
) -> list[Outcome]:
    """One sync that stores every page it gets (as its URL's tail), then saves the state."""
    with web_client(allow_private=allow_private, rate=rate, hosts=hosts) as client:
        outcomes = list(collect(urls, state, client))
    for outcome in outcomes:
        if isinstance(outcome, Page):
            state.record_page(outcome, name=outcome.url.rsplit("/", 2)[-2], sha256="0" * 64)
    state.save()
    return outcomes


def of(kind: type[Found], outcomes: Sequence[Outcome]) -> list[Found]:
    return [outcome for outcome in outcomes if isinstance(outcome, kind)]


def page_paths(server: SiteServer) -> list[str]:
    """What the server was asked, robots.txt and feeds and sitemaps aside."""
    return [r.path for r in server.requests if not r.path.endswith((".xml", ".txt"))]


def test_an_index_gives_every_page_of_its_sitemaps_and_robots_keeps_drafts_out(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    outcomes = sync(SyncState.load(tmp_path), [site.sitemap_index_url])
    read = {o.url: o.kind for o in of(ListingRead, outcomes)}
    assert read == {
        site.sitemap_index_url: "sitemap-index",
        site.child_sitemap_urls[0]: "sitemap",
        site.child_sitemap_urls[1]: "sitemap",
        site.news_sitemap_url: "news-sitemap",
    }
    pages = {o.url: o for o in of(Page, outcomes)}
    assert set(pages) == {p.url for p in site.pages}
    for listed in site.pages:
        page = pages[listed.url]
        assert isinstance(page, Page)
        assert (page.kind, page.charset, page.status) == ("html", "utf-8", 200)
        assert page.listed is not None
        assert page.listed.changed == listed.article.updated
        assert page.source in site.child_sitemap_urls  # listed first there
        assert html.escape(listed.article.paragraphs[-1]).encode() in page.body
    skipped = of(Skipped, outcomes)
    assert {(o.url, o.reason) for o in skipped} == {
        (draft.url, SkipReason.ROBOTS) for draft in site.drafts
    }
    assert [p for p in page_paths(server) if "brouillons" in p] == []
    assert len(server.requested("/robots.txt")) == 1
    assert Counter(page_paths(server)) == Counter(p.path for p in site.pages)  # each once


def test_a_news_sitemap_dates_and_titles_each_page(site: Site, tmp_path: Path) -> None:
    outcomes = sync(SyncState.load(tmp_path), [site.news_sitemap_url])
    pages = {o.url: o.listed for o in of(Page, outcomes)}
    for listed in site.pages:
        said = pages[listed.url]
        assert said is not None
        assert (said.title, said.published, said.changed) == (
            listed.article.title,
            listed.article.published,
            listed.article.published,
        )


def test_a_feed_item_keeps_its_own_content_for_a_page_that_cannot_be_had(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    broken = site.pages[2]
    server.routes[broken.path] = Route(status=500)
    outcomes = sync(SyncState.load(tmp_path), [site.atom_url])
    (failed, draft) = of(Skipped, outcomes)
    assert isinstance(failed, Skipped)
    assert (failed.url, failed.reason, failed.status) == (broken.url, SkipReason.HTTP_STATUS, 500)
    assert isinstance(draft, Skipped)
    assert draft.reason is SkipReason.ROBOTS
    for skipped, page in ((failed, broken), (draft, site.drafts[0])):
        assert skipped.listed is not None
        assert skipped.listed.content is not None
        assert skipped.listed.title == page.article.title
        assert page.article.paragraphs[-1].split()[-1] in skipped.listed.content
    assert len(of(Page, outcomes)) == len(site.pages) - 1


def test_sources_are_told_apart_by_content_not_by_declared_type_or_url(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    page = site.pages[0]
    server.routes["/feed"] = Route(
        body=(server.folder / "rss.xml").read_bytes(), content_type="text/xml"
    )
    server.routes["/plan.html"] = Route(
        body=(server.folder / "sitemap.xml").read_bytes(), content_type="text/html"
    )
    server.routes["/plan.xml.gz"] = Route(
        body=gzip.compress((server.folder / "news-sitemap.xml").read_bytes()),
        content_type="application/x-gzip",
    )
    server.routes["/article.xml"] = Route(
        body=(server.folder / page.path.strip("/") / "index.html").read_bytes(),
        content_type="application/octet-stream",
    )
    server.routes["/logo.png"] = Route(
        body=b"\x89PNG\r\n\x1a\n" + bytes(64), content_type="image/png"
    )
    given = ["/feed", "/plan.html", "/plan.xml.gz", "/article.xml", "/logo.png", page.markdown_url]
    outcomes = sync(SyncState.load(tmp_path), [server.url(p) if p[0] == "/" else p for p in given])
    kinds = {o.url.removeprefix(server.base_url): o.kind for o in of(ListingRead, outcomes)}
    assert kinds == {"/feed": "feed", "/plan.html": "sitemap", "/plan.xml.gz": "news-sitemap"}
    named = {o.url: o.kind for o in of(Page, outcomes) if isinstance(o, Page) and o.source is None}
    assert named == {server.url("/article.xml"): "html", page.markdown_url: "markdown"}
    (image,) = of(Skipped, [o for o in outcomes if o.url.endswith(".png")])
    assert image.reason is SkipReason.NOT_ARTICLE


def test_a_second_sync_over_an_unchanged_site_fetches_no_page(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    first = sync(SyncState.load(tmp_path), [site.sitemap_index_url, site.rss_url])
    assert len(of(Page, first)) == len(site.pages)
    server.clear()
    second = sync(SyncState.load(tmp_path))  # the saved sources
    assert page_paths(server) == []
    listings = [r for r in server.requests if r.path != "/robots.txt"]
    assert len(listings) == 5  # the index, its 3 sitemaps, the feed
    assert {r.status for r in listings} == {304}
    assert all(isinstance(o, ListingRead) and o.unchanged for o in of(ListingRead, second))
    unchanged = of(Unchanged, second)
    assert {o.url for o in unchanged} == {p.url for p in site.pages}
    assert not any(o.fetched for o in unchanged)
    assert of(Page, second) == []


def test_a_changed_lastmod_fetches_just_that_page(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    sync(SyncState.load(tmp_path), [site.sitemap_index_url])
    changed = site.pages[3].article
    edited = dataclasses.replace(
        changed,
        modified=changed.published + timedelta(days=1),
        paragraphs=(*changed.paragraphs, "Mise à jour : ByteDance a confirmé l'information."),
    )
    build(server, [edited if a == changed else a for a in articles()[:-1]])
    server.clear()
    outcomes = sync(SyncState.load(tmp_path))
    assert page_paths(server) == [site.pages[3].path]
    (page,) = of(Page, outcomes)
    assert isinstance(page, Page)
    assert b"ByteDance a confirm" in page.body
    assert len(of(Unchanged, outcomes)) == len(site.pages) - 1
    server.clear()
    sync(SyncState.load(tmp_path))
    assert page_paths(server) == []


def test_a_new_lastmod_on_an_unchanged_page_is_asked_once_and_answered_304(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    sync(SyncState.load(tmp_path), [site.sitemap_url])
    page = site.pages[1]
    old = page.article.updated.isoformat(timespec="seconds")
    body = (server.folder / "sitemap.xml").read_bytes().replace(old.encode(), b"2026-01-02")
    server.routes["/sitemap.xml"] = Route(body=body, content_type="application/xml")
    server.clear()
    outcomes = sync(SyncState.load(tmp_path))
    (asked,) = [r for r in server.requests if r.path == page.path]
    assert asked.status == 304
    assert "if-none-match" in asked.headers
    assert Unchanged(page.url, fetched=True) in outcomes
    assert SyncState.load(tmp_path).pages[page.url].changed == "2026-01-02T00:00:00+00:00"
    server.clear()
    sync(SyncState.load(tmp_path))
    assert page_paths(server) == []


def test_a_page_named_is_remembered_asked_conditionally_and_gone_when_it_is(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    url = site.pages[0].url
    assert isinstance(sync(SyncState.load(tmp_path), [url])[0], Page)
    assert SyncState.load(tmp_path).sources == [url]
    assert sync(SyncState.load(tmp_path)) == [Unchanged(url, fetched=True)]
    server.routes[site.pages[0].path] = Route(status=410)
    assert sync(SyncState.load(tmp_path)) == [Gone(url, 410)]
    server.routes["/sitemap.xml"] = Route(status=404)  # a listing that is gone has no article
    (skipped,) = sync(SyncState.load(tmp_path), [site.sitemap_url])
    assert isinstance(skipped, Skipped)
    assert skipped.status == 404


def test_a_listed_page_that_answers_404_is_gone(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    server.routes[site.pages[4].path] = Route(status=404)
    outcomes = sync(SyncState.load(tmp_path), [site.sitemap_url])
    assert Gone(site.pages[4].url, 404) in outcomes


def test_one_bad_url_never_stops_the_run(site: Site, server: SiteServer, tmp_path: Path) -> None:
    server.routes["/broken.xml"] = Route(
        body=b"<rss><channel><item>", content_type="application/rss+xml"
    )
    server.routes["/slow"] = Route(delay=2.0)
    bad = ["ftp://127.0.0.1/x", server.url("/missing"), server.url("/broken.xml"), "nothing"]
    state = SyncState.load(tmp_path)
    outcomes = sync(state, [*bad, site.sitemap_url])
    reasons = [(o.url, o.reason) for o in outcomes[: len(bad)] if isinstance(o, Skipped)]
    assert reasons == [
        (bad[0], SkipReason.NOT_HTTP),
        (bad[1], SkipReason.HTTP_STATUS),
        (bad[2], SkipReason.BAD_LISTING),
        (bad[3], SkipReason.NOT_HTTP),
    ]
    assert len(of(Page, outcomes)) == len(site.pages)
    assert state.sources == [site.sitemap_url]  # what failed is not remembered


def test_private_addresses_are_refused_unless_allowed(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    (refused,) = sync(SyncState.load(tmp_path), [site.sitemap_url], allow_private=False)
    assert isinstance(refused, Skipped)
    assert refused.reason is SkipReason.PRIVATE_ADDRESS
    assert server.requests == []
    assert len(of(Page, sync(SyncState.load(tmp_path), [site.sitemap_url]))) == len(site.pages)


def intervals(times: Sequence[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def assert_paced(times: Sequence[float], interval: float) -> None:
    """Requests as the server saw them arrive, `interval` apart: on average (the pace), and each
    one nearly so (arrival times move by a loaded machine's jitter; an unpaced client would send
    them milliseconds apart)."""
    assert (times[-1] - times[0]) / (len(times) - 1) >= interval * 0.95, intervals(times)
    assert min(intervals(times)) >= interval * 0.75, intervals(times)


def test_one_host_is_never_asked_faster_than_its_rate(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    sync(SyncState.load(tmp_path), [site.sitemap_url], rate=8.0)
    times = [r.at for r in server.requests]
    assert len(times) == 2 + len(site.listed) - 1  # robots.txt, the sitemap, pages not drafts
    assert_paced(times, 0.125)


def test_a_longer_crawl_delay_wins(site: Site, server: SiteServer, tmp_path: Path) -> None:
    robots = (
        (server.folder / "robots.txt")
        .read_text()
        .replace("User-agent: *\n", "User-agent: *\nCrawl-delay: 0.4\n", 1)
    )
    server.routes["/robots.txt"] = Route(body=robots.encode(), content_type="text/plain")
    few = site.pages[:3]
    server.routes["/few.xml"] = Route(
        body=(server.folder / "sitemap.xml")
        .read_text()
        .replace("</urlset>", "")
        .split("<url>")[0]
        .encode()
        + "".join(f"<url><loc>{p.url}</loc></url>" for p in few).encode()
        + b"</urlset>",
        content_type="application/xml",
    )
    sync(SyncState.load(tmp_path), [server.url("/few.xml")], rate=100.0)
    after_robots = [r.at for r in server.requests][1:]
    assert len(after_robots) == 1 + len(few)
    assert_paced(after_robots, 0.4)


def test_hosts_are_fetched_in_parallel_each_at_its_own_pace(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    """127.0.0.1 and localhost are two hosts to the client (one server here)."""
    other = f"http://localhost:{server.port}"
    urls = [p.url for p in site.pages[:4]] + [
        p.url.replace(server.base_url, other) for p in site.pages[4:8]
    ]
    server.routes["/two-hosts.xml"] = Route(
        body=b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{url}</loc></url>" for url in urls).encode()
        + b"</urlset>",
        content_type="application/xml",
    )
    start = time.monotonic()
    outcomes = sync(SyncState.load(tmp_path), [server.url("/two-hosts.xml")], rate=4.0, hosts=2)
    elapsed = time.monotonic() - start
    assert {o.url for o in of(Page, outcomes)} == set(urls)
    by_host: dict[str, list[float]] = {}
    for request in server.requests:
        by_host.setdefault(request.headers["host"].split(":")[0], []).append(request.at)
    assert set(by_host) == {"127.0.0.1", "localhost"}
    for times in by_host.values():
        assert_paced(times, 0.25)
    # One after the other, 11 requests at 4 a second take 2.5 s at least; side by side, less.
    assert elapsed < 2.4


def test_leaving_a_sync_early_stops_its_workers(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    other = f"http://localhost:{server.port}"
    urls = [p.url for p in site.pages] + [p.url.replace(server.base_url, other) for p in site.pages]
    server.routes["/many.xml"] = Route(
        body=b"<urlset>"
        + "".join(f"<url><loc>{u}</loc></url>" for u in urls).encode()
        + b"</urlset>",
        content_type="application/xml",
    )
    with web_client(rate=5.0, hosts=2) as client:
        outcomes = collect([server.url("/many.xml")], SyncState.load(tmp_path), client)
        taken = [next(outcomes) for _ in range(3)]
        start = time.monotonic()
        outcomes.close()
        assert time.monotonic() - start < 1.5
    assert isinstance(taken[0], ListingRead)
    assert not any(t.name.startswith("qa-fetch") for t in threading.enumerate())
    assert len(page_paths(server)) < len(urls) // 2


def test_nested_indexes_stop_at_the_depth_limit_and_cycles_are_read_once(
    server: SiteServer, tmp_path: Path
) -> None:
    site = build(server)
    for level in range(5):  # /i0 -> /i1 -> ... -> /i4 -> the sitemap; /i0 also lists itself
        children = {server.url(f"/i{level + 1}") if level < 4 else site.sitemap_url: site.updated}
        if level == 0:
            children[server.url("/i0")] = site.updated
        server.routes[f"/i{level}"] = Route(
            body=sitemap_index(children).encode(), content_type="application/xml"
        )
    outcomes = sync(SyncState.load(tmp_path), [server.url("/i0")])
    assert [o.url.removeprefix(server.base_url) for o in of(ListingRead, outcomes)] == [
        "/i0",
        "/i1",
        "/i2",
        "/i3",
    ]
    (limit,) = of(Skipped, outcomes)
    assert (limit.url, limit.reason) == (server.url("/i4"), SkipReason.LIMIT)
    assert len(server.requested("/i0")) == 1


def test_a_page_listed_twice_takes_the_later_date_whatever_the_order(
    site: Site, server: SiteServer, tmp_path: Path
) -> None:
    """A sitemap says the page changed on the 14th, a news sitemap it was published on the
    10th: the 14th, read first or second, so that a sync reading them in another order does not
    fetch the page again."""
    url = site.pages[0].url
    for name, day in (("/a.xml", "2025-03-10"), ("/b.xml", "2025-03-14")):
        server.routes[name] = Route(
            body=f"<urlset><url><loc>{url}</loc><lastmod>{day}</lastmod></url></urlset>".encode(),
            content_type="application/xml",
        )
    sync(SyncState.load(tmp_path), [server.url("/a.xml"), server.url("/b.xml")])
    assert SyncState.load(tmp_path).pages[url].changed == "2025-03-14T00:00:00+00:00"
    server.clear()
    assert sync(SyncState.load(tmp_path), [server.url("/b.xml"), server.url("/a.xml")])[2:] == [
        Unchanged(url, fetched=False)
    ]
    assert page_paths(server) == []


@pytest.mark.parametrize("page_first", [True, False])
def test_a_page_named_and_listed_is_fetched_once(
    site: Site, server: SiteServer, tmp_path: Path, page_first: bool
) -> None:
    page = site.pages[0]
    given = [page.url, site.sitemap_url] if page_first else [site.sitemap_url, page.url]
    outcomes = sync(SyncState.load(tmp_path), [*given, *given])
    assert len(server.requested(page.path)) == 1
    assert len(server.requested("/sitemap.xml")) == 1
    assert [o.url for o in of(Page, outcomes)].count(page.url) == 1
    assert SyncState.load(tmp_path).sources == given
