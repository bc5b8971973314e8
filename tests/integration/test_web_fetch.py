"""The polite client (`qa.content.web.client`) against a real HTTP server on 127.0.0.1 serving the
news site of tests/news_site.py: what it sends, what it refuses at any hop, what it reads, and the
kinds of what it fetched told apart by content whatever the server declares."""

from __future__ import annotations

import gzip
import zlib

import pytest

from qa.content.web import Refusal, Response, SkipReason, Validators, WebClient, sniff
from qa.settings import Settings
from tests.news_server import server
from tests.news_site import Route, Site, SiteServer, build_site, devset_articles, seed_articles

USER_AGENT = "qa-tests/1.0"
CONTACT = "mailto:ops@example.org"

__all__ = ["server"]  # a fixture


@pytest.fixture
def site(server: SiteServer) -> Site:
    articles = seed_articles() + devset_articles()[:3]
    return build_site(server.folder, articles[:-1], base_url=server.base_url, drafts=articles[-1:])


def web_client(
    *,
    allow_private: bool = True,
    rate_per_host: float = 100.0,
    timeout_s: float = 5.0,
    max_bytes: int = 2_000_000,
) -> WebClient:
    return WebClient(
        user_agent=USER_AGENT,
        contact=CONTACT,
        allow_private=allow_private,
        rate_per_host=rate_per_host,
        timeout_s=timeout_s,
        max_bytes=max_bytes,
    )


def fetched(url: str, *, allow_private: bool = True, max_bytes: int = 2_000_000) -> Response:
    with web_client(allow_private=allow_private, max_bytes=max_bytes) as client:
        answer = client.fetch(url)
    assert isinstance(answer, Response), answer
    return answer


def refused(
    url: str,
    reason: SkipReason,
    *,
    allow_private: bool = True,
    max_bytes: int = 2_000_000,
    timeout_s: float = 5.0,
) -> Refusal:
    with web_client(
        allow_private=allow_private, max_bytes=max_bytes, timeout_s=timeout_s
    ) as client:
        answer = client.fetch(url)
    assert isinstance(answer, Refusal), answer
    assert answer.reason is reason, answer
    return answer


def test_every_request_names_the_service_and_its_contact(site: Site, server: SiteServer) -> None:
    fetched(site.pages[0].url)
    assert [request.path for request in server.requests] == ["/robots.txt", site.pages[0].path]
    for request in server.requests:
        assert request.headers["user-agent"] == f"{USER_AGENT} (+{CONTACT})"
        assert "gzip" in request.headers["accept-encoding"]


def test_the_settings_make_the_client() -> None:
    settings = Settings(fetch_contact="https://example.org/bot", fetch_rate_per_host=2)
    with WebClient.from_settings(settings, allow_private=settings.sync_allow_private) as client:
        assert client.user_agent == "qa-news-search/0.1 (+https://example.org/bot)"
        assert client.allow_private is False
        assert client.max_bytes == settings.fetch_max_bytes


KINDS = [
    ("rss_url", "feed"),
    ("atom_url", "feed"),
    ("sitemap_url", "sitemap"),
    ("sitemap_index_url", "sitemap-index"),
    ("news_sitemap_url", "news-sitemap"),
]


@pytest.mark.parametrize(("where", "kind"), KINDS)
@pytest.mark.parametrize("declared", [None, "text/xml", "text/html; charset=utf-8", "text/plain"])
def test_feeds_and_sitemaps_are_told_apart_whatever_their_type(
    site: Site, server: SiteServer, where: str, kind: str, declared: str | None
) -> None:
    url = getattr(site, where)
    if declared:
        server.routes[url.removeprefix(server.base_url)] = Route(content_type=declared)
    answer = fetched(url)
    assert answer.media_type == (declared or "application/xml").split(";")[0]
    assert sniff(answer.body, answer.media_type) == kind


@pytest.mark.parametrize(
    ("declared", "markdown"),
    [
        (None, "markdown"),
        ("application/octet-stream", "markdown"),  # by its front matter
        ("text/plain", "text"),  # what it was declared: text
        ("application/xml", None),  # a type no reader takes, and nothing in it says otherwise
    ],
)
def test_pages_and_pdf_are_told_by_their_bytes_whatever_their_type(
    site: Site, server: SiteServer, declared: str | None, markdown: str | None
) -> None:
    page = site.pages[1]
    assert page.pdf_url is not None
    for url, kind in ((page.url, "html"), (page.pdf_url, "pdf"), (page.markdown_url, markdown)):
        if declared:
            server.routes[url.removeprefix(server.base_url)] = Route(content_type=declared)
        answer = fetched(url)
        assert sniff(answer.body, answer.media_type) == kind, (url, declared)


def test_a_conditional_get_is_answered_304(site: Site, server: SiteServer) -> None:
    first = fetched(site.pages[0].url)
    assert first.etag
    assert first.last_modified
    with web_client() as client:
        by_etag = client.fetch(site.pages[0].url, Validators(etag=first.etag))
        by_date = client.fetch(site.pages[0].url, Validators(last_modified=first.last_modified))
        stale = client.fetch(site.pages[0].url, Validators(etag='"an old one"'))
    assert isinstance(by_etag, Response)
    assert by_etag.not_modified
    assert by_etag.body == b""
    assert isinstance(by_date, Response)
    assert by_date.not_modified
    assert isinstance(stale, Response)
    assert (stale.status, stale.body) == (200, first.body)
    conditional = server.requested(site.pages[0].path)[1:]
    assert [request.status for request in conditional] == [304, 304, 200]
    assert conditional[0].headers["if-none-match"] == first.etag
    assert conditional[1].headers["if-modified-since"] == first.last_modified


def test_gzip_and_deflate_bodies_are_decoded(site: Site, server: SiteServer) -> None:
    page = site.pages[0]
    on_disk = (server.folder / page.path.strip("/") / "index.html").read_bytes()
    assert fetched(page.url).body == on_disk
    assert server.requested(page.path)[0].status == 200  # the server gzips when asked
    server.routes["/deflated"] = Route(
        body=zlib.compress(on_disk), headers={"Content-Encoding": "deflate"}
    )
    assert fetched(server.url("/deflated")).body == on_disk
    server.routes["/broken"] = Route(body=b"not gzip", headers={"Content-Encoding": "gzip"})
    refused(server.url("/broken"), SkipReason.BAD_RESPONSE)


def test_up_to_5_redirects_are_followed_and_a_6th_refused(site: Site, server: SiteServer) -> None:
    statuses = (301, 302, 303, 307, 308)
    for hop in range(1, 6):  # /r1 -> /r2 ... /r5 -> /r6
        server.routes[f"/r{hop}"] = Route(status=statuses[hop - 1], location=f"/r{hop + 1}")
    server.routes["/r6"] = Route(status=301, location=site.pages[0].path)
    answer = fetched(server.url("/r2"))  # 5 redirects, then the page
    assert (answer.url, answer.final_url) == (server.url("/r2"), site.pages[0].url)
    refused(server.url("/r1"), SkipReason.TOO_MANY_REDIRECTS)  # a 6th
    assert len(server.requested("/r1")) == 1
    assert len(server.requested(site.pages[0].path)) == 1


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "javascript:alert(1)", "http://", "x"]
)
def test_only_http_and_https_are_fetched(server: SiteServer, url: str) -> None:
    refused(url, SkipReason.NOT_HTTP)
    assert server.requests == []


def test_a_redirect_to_another_scheme_is_refused(server: SiteServer) -> None:
    server.routes["/to-ftp"] = Route(status=302, location="ftp://127.0.0.1/file")
    server.routes["/to-file"] = Route(status=302, location="file:///etc/passwd")
    refused(server.url("/to-ftp"), SkipReason.NOT_HTTP)
    refused(server.url("/to-file"), SkipReason.NOT_HTTP)


def test_a_response_over_the_size_limit_is_refused(site: Site, server: SiteServer) -> None:
    big = b"<p>" + b"x" * 300_000 + b"</p>"
    server.routes["/declared"] = Route(body=big)  # its Content-Length says it
    server.routes["/chunked"] = Route(body=big, chunked=True)  # it shows only while read
    server.routes["/bomb"] = Route(
        body=gzip.compress(b"x" * 5_000_000), headers={"Content-Encoding": "gzip"}
    )  # 5 KB on the wire, 5 MB decoded
    for path in ("/declared", "/chunked", "/bomb"):
        refused(server.url(path), SkipReason.TOO_LARGE, max_bytes=100_000)
    assert fetched(server.url("/chunked"), max_bytes=400_000).body == big


def test_a_slow_server_times_out(server: SiteServer) -> None:
    server.routes["/slow"] = Route(delay=2.0)
    refusal = refused(server.url("/slow"), SkipReason.TIMEOUT, timeout_s=0.5)
    assert "/slow" in refusal.detail


def test_http_errors_are_refusals_with_their_status(server: SiteServer) -> None:
    server.routes["/gone"] = Route(status=410)
    server.routes["/boom"] = Route(status=503)
    assert refused(server.url("/missing"), SkipReason.HTTP_STATUS).gone
    assert refused(server.url("/gone"), SkipReason.HTTP_STATUS).status == 410
    boom = refused(server.url("/boom"), SkipReason.HTTP_STATUS)
    assert boom.status == 503
    assert not boom.gone


def test_robots_txt_is_obeyed_and_read_once_per_host(site: Site, server: SiteServer) -> None:
    with web_client() as client:
        assert isinstance(client.fetch(site.pages[0].url), Response)
        refusal = client.fetch(site.drafts[0].url)
        assert isinstance(client.fetch(site.pages[1].url), Response)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is SkipReason.ROBOTS
    assert server.requested(site.drafts[0].path) == []
    assert len(server.requested("/robots.txt")) == 1


def test_a_redirect_into_a_disallowed_path_is_not_followed(site: Site, server: SiteServer) -> None:
    server.routes["/teaser"] = Route(status=302, location=site.drafts[0].path)
    refused(server.url("/teaser"), SkipReason.ROBOTS)
    assert server.requested(site.drafts[0].path) == []


def test_no_robots_txt_allows_all_and_a_failing_one_allows_nothing(
    site: Site, server: SiteServer
) -> None:
    server.routes["/robots.txt"] = Route(status=404)
    fetched(site.drafts[0].url)
    server.routes["/robots.txt"] = Route(status=503)
    refusal = refused(site.pages[0].url, SkipReason.ROBOTS)
    assert "robots.txt unavailable (HTTP 503)" in refusal.detail
    assert len(server.requested(site.pages[0].path)) == 0


def test_private_addresses_are_refused_unless_allowed(site: Site, server: SiteServer) -> None:
    for url in (site.pages[0].url, f"http://localhost:{server.port}/"):
        refusal = refused(url, SkipReason.PRIVATE_ADDRESS, allow_private=False)
        assert "127.0.0.1" in refusal.detail
    assert server.requests == []  # not even robots.txt
    fetched(site.pages[0].url, allow_private=True)


def test_the_declared_charset_is_read(site: Site, server: SiteServer) -> None:
    server.routes["/latin"] = Route(
        body="Élodie".encode("cp1252"), content_type="text/plain; charset=windows-1252"
    )
    assert fetched(server.url("/latin")).declared_charset == "windows-1252"
    assert fetched(site.pages[0].url).declared_charset == "utf-8"
    assert fetched(site.pages[0].pdf_url or "").declared_charset is None
