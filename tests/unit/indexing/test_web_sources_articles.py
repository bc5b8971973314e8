"""Fetched pages as articles (`qa.indexing.web_articles`), on bytes: names from URLs, the
canonical URL chosen, the sidecar, the reasons a page gives no article, a feed item's text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from qa.content.corpus.articles import ExtractionCache
from qa.content.corpus.documents import article_name
from qa.content.extract import ContentKind
from qa.content.web import Listed, Page, SkipReason
from qa.indexing.web_articles import (
    ArticleSkip,
    NoArticle,
    WebArticle,
    canonical_url,
    from_feed_item,
    from_page,
    web_article_name,
)
from qa.indexing.web_sources import Skip, Stored, SyncReport
from tests.news_site import news_page, pdf_version, seed_articles

URL = "https://www.example.fr/economie/article/2025/03/03/bytedance-puce-ia_6578.html"
ARTICLE = seed_articles()[0]
PARAGRAPH = max(ARTICLE.body, key=len)


def page_bytes(canonical: str = URL) -> bytes:
    return news_page(
        ARTICLE.title,
        ARTICLE.paragraphs,
        url=canonical,
        published=ARTICLE.published,
        author=ARTICLE.author,
    ).encode()


def page(
    body: bytes,
    kind: ContentKind = "html",
    *,
    url: str = URL,
    listed: Listed | None = None,
    charset: str | None = "utf-8",
) -> Page:
    return Page(
        url=url,
        final_url=url,
        status=200,
        kind=kind,
        media_type="",
        charset=charset,
        body=body,
        etag=None,
        last_modified=None,
        listed=listed,
    )


@pytest.fixture
def cache(tmp_path: Path) -> ExtractionCache:
    return ExtractionCache(tmp_path / "extracted")


def made(page_: Page, cache: ExtractionCache, max_bytes: int = 4 << 20) -> WebArticle:
    article = from_page(page_, cache, max_bytes)
    assert isinstance(article, WebArticle), article
    return article


def test_a_name_is_a_readable_slug_and_a_hash_of_the_url_with_the_kind_suffix() -> None:
    name = web_article_name(URL, "html")

    assert name.startswith("bytedance-puce-ia-6578-")
    assert name.endswith(".html")
    assert web_article_name(URL, "html") == name  # the same URL, the same name
    assert web_article_name(URL + "?page=2", "html") != name
    assert web_article_name(URL, "pdf") == name.removesuffix(".html") + ".pdf"
    assert article_name(name, "html") == name  # a plain corpus file name


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://site.fr/", "site-fr-"),
        ("https://site.fr/actualites/Économie%20été/", "economie-20ete-"),
        ("https://site.fr/" + "tres-long-" * 40, "tres-long-" * 5 + "tres-long-"),
        ("https://site.fr/??", "site-fr-"),
        ("https://site.fr/.../*", "page-"),
    ],
)
def test_any_url_gives_a_plain_file_name(url: str, slug: str) -> None:
    name = web_article_name(url, "text")

    assert article_name(name, "text") == name
    assert name.startswith(slug)
    assert len(name) <= 60 + 1 + 10 + 4


def test_the_canonical_url_is_the_pages_own_on_its_host_only() -> None:
    fetched = "http://example.fr/eco/bytedance?utm_source=rss#top"

    assert canonical_url(URL, fetched) == URL  # www. aside, the same host
    assert canonical_url("https://other.example/copy", fetched) == (
        "http://example.fr/eco/bytedance?utm_source=rss"
    )
    assert canonical_url("javascript:alert(1)", fetched).startswith("http://example.fr/")
    assert canonical_url(None, "HTTP://Example.FR/A#b") == "http://example.fr/A"


def test_a_page_is_kept_as_published_named_after_its_canonical_url(
    cache: ExtractionCache,
) -> None:
    body = page_bytes()
    fetched = "https://example.fr/amp/bytedance?from=feed"

    article = made(page(body, url=fetched), cache)

    assert article.name == web_article_name(URL, "html")
    assert article.data == body
    assert article.metadata.model_dump(exclude_defaults=True) == {"url": URL}
    assert article.document.title == ARTICLE.title
    assert article.document.metadata.published == ARTICLE.published.date()
    assert PARAGRAPH in article.document.text


def test_the_sidecar_takes_from_the_listing_what_the_page_does_not_say(
    cache: ExtractionCache,
) -> None:
    undated_text = "Le groupe a présenté mardi sa nouvelle puce, gravée en cinq nanomètres. " * 4
    bare = (
        f"<!DOCTYPE html><html><body><article><p>{undated_text}</p></article></body></html>"
    ).encode()
    undated = "https://example.fr/economie/bytedance-puce-ia"  # htmldate reads URLs' dates
    listed = Listed(
        undated,
        title="Le titre du flux",
        published=datetime(2025, 3, 1, 8, tzinfo=UTC),
        author="Rédaction",
    )

    article = made(page(bare, url=undated, listed=listed), cache)

    assert article.metadata.model_dump(exclude_defaults=True) == {
        "url": undated,
        "title": "Le titre du flux",
        "published": datetime(2025, 3, 1).date(),
        "author": "Rédaction",
    }
    said = made(page(page_bytes(), listed=listed), cache)  # the page says it: not the listing
    assert said.metadata.model_dump(exclude_defaults=True) == {"url": URL}


def test_a_listing_title_the_corpus_would_refuse_is_left_out_not_the_article(
    cache: ExtractionCache,
) -> None:
    text = f"{PARAGRAPH}\n".encode()
    listed = Listed(URL, title="Deux\nlignes")

    article = made(page(text, "text", listed=listed), cache)

    assert article.metadata.model_dump(exclude_defaults=True) == {"url": URL}


@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    [
        (
            "html",
            b"<!DOCTYPE html><html><body><p>Trois mots seulement.</p></body></html>",
            ArticleSkip.NOT_ARTICLE,
        ),
        ("pdf", b"%PDF-1.4 not really", ArticleSkip.NO_TEXT),
        ("markdown", b"---\ntitle: Rien\n---\n", ArticleSkip.EMPTY),
        ("text", b"   \n", ArticleSkip.EMPTY),
    ],
)
def test_a_page_with_no_article_says_why(
    cache: ExtractionCache, kind: ContentKind, body: bytes, reason: ArticleSkip
) -> None:
    result = from_page(page(body, kind), cache, 4 << 20)

    assert isinstance(result, NoArticle)
    assert (result.url, result.reason) == (URL, reason)
    assert result.detail


def test_a_pdf_without_a_text_layer_is_refused_with_that_reason(
    cache: ExtractionCache,
) -> None:
    from fpdf import FPDF

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 100, 150, style="F")  # a picture of a page, no text

    result = from_page(page(bytes(scan.output()), "pdf"), cache, 4 << 20)

    assert isinstance(result, NoArticle)
    assert result.reason is ArticleSkip.NO_TEXT
    assert "no text layer" in result.detail
    assert isinstance(from_page(page(pdf_version(ARTICLE), "pdf"), cache, 4 << 20), WebArticle)


def test_a_page_over_the_article_size_limit_is_too_large(cache: ExtractionCache) -> None:
    result = from_page(page(page_bytes()), cache, 1000)

    assert isinstance(result, NoArticle)
    assert result.reason is ArticleSkip.TOO_LARGE
    assert "QA_MAX_ARTICLE_BYTES" in result.detail


def test_text_and_markdown_in_another_charset_are_kept_in_utf8(cache: ExtractionCache) -> None:
    latin = f"{ARTICLE.title}\n\n{PARAGRAPH}\n".encode("cp1252")

    article = made(page(latin, "text", charset="cp1252"), cache)

    assert article.data == latin.decode("cp1252").encode()
    assert PARAGRAPH in article.document.text


@pytest.mark.parametrize(
    ("content_type", "suffix"), [("text/html", ".html"), ("text/plain", ".txt")]
)
def test_a_feed_items_own_text_is_an_article_of_the_listed_url(
    cache: ExtractionCache, content_type: str, suffix: str
) -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in ARTICLE.body)
    listed = Listed(
        URL,
        title=ARTICLE.title,
        published=ARTICLE.published,
        content=paragraphs if content_type == "text/html" else "\n".join(ARTICLE.body),
        content_type=content_type,
    )

    article = from_feed_item(listed, cache, 4 << 20)

    assert isinstance(article, WebArticle)
    assert article.page is None
    assert article.name == web_article_name(URL, "html" if suffix == ".html" else "text")
    assert article.document.title == ARTICLE.title
    assert article.document.metadata.url == URL
    assert article.document.metadata.published == ARTICLE.published.date()
    assert PARAGRAPH in article.document.text


def test_the_summary_is_one_line_with_the_skips_by_reason() -> None:
    report = SyncReport(
        added=[Stored("https://a.fr/1", "1-x.html")],
        unchanged=["https://a.fr/2", "https://a.fr/3"],
        skipped=[
            Skip("https://a.fr/4", ArticleSkip.DUPLICATE, "the same text as 1-x.html"),
            Skip("https://a.fr/5", SkipReason.ROBOTS, "disallowed"),
            Skip("https://a.fr/6", ArticleSkip.DUPLICATE, "the same text as 1-x.html"),
        ],
        gone=["https://a.fr/7"],
    )

    assert report.summary() == (
        "1 added, 0 updated, 2 unchanged, 0 removed, 3 skipped (duplicate: 2, robots.txt: 1), "
        "1 gone but kept (--prune removes them); feeds and sitemaps read: 0; nothing to publish"
    )
    assert [skip.url for skip in report.duplicates] == ["https://a.fr/4", "https://a.fr/6"]
