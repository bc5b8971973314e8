"""What sitemaps, sitemap indexes, news sitemaps and feeds list (`qa.content.web.sitemaps`,
`qa.content.web.feeds`), read from bytes: the site of tests/news_site.py, and the odd and hostile
files that real sites and attackers serve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from qa.content.web.feeds import read_feed
from qa.content.web.sitemaps import ListingError, read_sitemap, w3c_date
from tests.news_site import Site, build_site, devset_articles, seed_articles

BASE = "https://www.gazette.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    articles = seed_articles() + devset_articles()[:5]
    return build_site(
        tmp_path_factory.mktemp("site"),
        articles[:-1],
        base_url=BASE,
        drafts=articles[-1:],
        pdf=False,
    )


def served(site: Site, url: str) -> bytes:
    return (site.folder / url.removeprefix(BASE + "/")).read_bytes()


def test_a_sitemap_lists_every_page_with_its_lastmod(site: Site) -> None:
    listed = read_sitemap(served(site, site.sitemap_url), site.sitemap_url)
    assert listed.children == ()
    assert [entry.url for entry in listed.pages] == [page.url for page in site.listed]
    assert [entry.changed for entry in listed.pages] == [p.article.updated for p in site.listed]


def test_an_index_lists_its_child_sitemaps(site: Site) -> None:
    listed = read_sitemap(served(site, site.sitemap_index_url), site.sitemap_index_url)
    assert listed.pages == ()
    assert [child.url for child in listed.children] == [
        *site.child_sitemap_urls,
        site.news_sitemap_url,
    ]
    assert all(isinstance(child.changed, datetime) for child in listed.children)


def test_a_news_sitemap_gives_each_page_its_title_and_publication_date(site: Site) -> None:
    listed = read_sitemap(served(site, site.news_sitemap_url), site.news_sitemap_url)
    assert [(e.url, e.title, e.published) for e in listed.pages] == [
        (p.url, p.article.title, p.article.published) for p in site.listed
    ]
    assert all(entry.changed == entry.published for entry in listed.pages)


def test_a_sitemap_without_namespace_and_with_odd_entries() -> None:
    body = b"""<?xml version="1.0"?>
<urlset>
  <url><loc> https://a.example/1 </loc><lastmod>2025-03-14</lastmod></url>
  <url><loc>https://a.example/1</loc></url>
  <url><loc>ftp://a.example/file</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><lastmod>2025-03-14</lastmod></url>
  <url><loc>https://a.example/2</loc><lastmod>not a date</lastmod></url>
  <url><loc>https://a.example/3</loc><lastmod>2025-03</lastmod></url>
</urlset>"""
    listed = read_sitemap(body, "https://a.example/sitemap.xml")
    assert [(e.url, e.changed) for e in listed.pages] == [
        ("https://a.example/1", datetime(2025, 3, 14, tzinfo=UTC)),
        ("https://a.example/2", None),
        ("https://a.example/3", datetime(2025, 3, 1, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025", datetime(2025, 1, 1, tzinfo=UTC)),
        (
            "2025-03-14T08:30:00+01:00",
            datetime(2025, 3, 14, 8, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2025-03-14T07:30:00Z", datetime(2025, 3, 14, 7, 30, tzinfo=UTC)),
        ("2025-03-14T07:30:00.25z", datetime(2025, 3, 14, 7, 30, 0, 250000, tzinfo=UTC)),
        ("2025-03-14T07:30", datetime(2025, 3, 14, 7, 30, tzinfo=UTC)),
        ("14/03/2025", None),
        ("", None),
    ],
)
def test_w3c_dates(text: str, moment: datetime | None) -> None:
    assert w3c_date(text) == moment


def test_an_external_entity_is_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY file SYSTEM "file://{secret}">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://a.example/&file;</loc></url>
  <url><loc>https://a.example/plain</loc></url>
</urlset>""".encode()
    listed = read_sitemap(body, "https://a.example/sitemap.xml")
    assert "https://a.example/plain" in [entry.url for entry in listed.pages]
    assert not any("TOP-SECRET" in entry.url for entry in listed.pages)


def test_entities_that_multiply_are_refused() -> None:
    """A billion laughs: nine levels of ten entities would be a gigabyte."""
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    body = f"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY l0 "haha">{laughs}]>
<urlset><url><loc>https://a.example/&l9;</loc></url></urlset>""".encode()
    try:
        listed = read_sitemap(body, "https://a.example/sitemap.xml")
    except ListingError:
        return
    assert all(len(entry.url) < 1000 for entry in listed.pages)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<urlset><url><loc>https://a.example/</loc>",
        b"not xml at all",
        b"<html><body/></html>",
    ],
)
def test_what_is_not_a_sitemap_is_a_listing_error(body: bytes) -> None:
    with pytest.raises(ListingError):
        read_sitemap(body, "https://a.example/sitemap.xml")


@pytest.mark.parametrize("feed", ["rss", "atom"])
def test_a_feed_lists_its_items_with_dates_and_their_own_content(site: Site, feed: str) -> None:
    url = site.rss_url if feed == "rss" else site.atom_url
    items = read_feed(served(site, url), url)
    assert [(i.url, i.title, i.published) for i in items] == [
        (p.url, p.article.title, p.article.published) for p in site.listed
    ]
    for item, page in zip(items, site.listed, strict=True):
        assert item.changed == page.article.updated
        assert item.author == page.article.author
        assert item.content_type == "text/html"
        # The item's full content (content:encoded, Atom content), not its short summary.
        assert item.content is not None
        assert page.article.body[-1].split()[-1] in item.content


def test_a_feed_item_without_link_date_or_content() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><title>Sans lien</title><description>rien</description></item>
<item><guid isPermaLink="true">https://a.example/guid</guid><title> Par le  guid </title></item>
<item><link>https://a.example/plain</link><description>Un r\xc3\xa9sum\xc3\xa9.</description></item>
<item><link>https://a.example/plain</link><title>again</title></item>
</channel></rss>"""
    items = read_feed(body, "https://a.example/rss")
    assert [(i.url, i.title, i.changed, i.content) for i in items] == [
        ("https://a.example/guid", "Par le guid", None, None),
        ("https://a.example/plain", None, None, "Un résumé."),
    ]


def test_relative_links_are_resolved_against_the_feed() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>x</title><link href="/2025/article"/>
<updated>2025-03-14T08:00:00+01:00</updated></entry></feed>"""
    (item,) = read_feed(body, "https://a.example/feeds/atom.xml")
    assert item.url == "https://a.example/2025/article"
    assert item.changed == datetime(2025, 3, 14, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"", b"plain words", b"<html><body>page</body></html>"])
def test_what_is_not_a_feed_is_a_listing_error(body: bytes) -> None:
    with pytest.raises(ListingError):
        read_feed(body, "https://a.example/rss")
