"""Telling a response apart by its bytes first and its declared type second
(`qa.content.web.kinds`), and the charset of its text, declarations checked against the bytes."""

from __future__ import annotations

import gzip

import pytest

from qa.content.web import Kind
from qa.content.web.kinds import charset_of, gunzipped, sniff
from tests.news_site import Article, markdown_version, news_page, pdf_version, seed_articles

RSS = b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel></channel></rss>'
ATOM = b'<?xml version="1.0"?>\n<!-- generated --><feed xmlns="http://www.w3.org/2005/Atom"/>'
RDF = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
SITEMAP = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
INDEX = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></sitemapindex>'
NEWS = (
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"></urlset>'
)


def article() -> Article:
    return seed_articles()[2]


def page() -> bytes:
    a = article()
    return news_page(
        a.title, a.paragraphs, url="https://x.fr/a/", published=a.published, author=a.author
    ).encode()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (RSS, "feed"),
        (ATOM, "feed"),
        (RDF, "feed"),
        (SITEMAP, "sitemap"),
        (INDEX, "sitemap-index"),
        (NEWS, "news-sitemap"),
    ],
)
@pytest.mark.parametrize(
    "declared",
    ["application/xml", "text/xml", "text/html", "text/plain", "application/rss+xml", ""],
)
def test_feeds_and_sitemaps_are_told_by_their_root_whatever_their_declared_type(
    body: bytes, kind: str, declared: str
) -> None:
    assert sniff(body, declared) == kind
    assert sniff(b"\xef\xbb\xbf  \n" + body, declared) == kind  # a BOM and blank lines first


@pytest.mark.parametrize("declared", ["text/html", "application/octet-stream", "text/plain", ""])
def test_a_page_is_a_page_whatever_its_declared_type(declared: str) -> None:
    assert sniff(page(), declared) == "html"


def test_pdf_markdown_and_text() -> None:
    assert sniff(pdf_version(article()), "application/octet-stream") == "pdf"
    assert sniff(pdf_version(article()), "text/html") == "pdf"
    markdown = markdown_version(article()).encode()
    assert sniff(markdown, "text/markdown") == "markdown"
    assert sniff(markdown, "application/octet-stream") == "markdown"  # its front matter
    assert sniff(article().text.encode(), "text/plain") == "text"


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "application/xml"),
        (b'<?xml version="1.0"?><catalog/>', "text/xml"),
        (b'{"items": []}', "application/json"),
    ],
)
def test_what_no_reader_takes_is_none(body: bytes, declared: str) -> None:
    assert sniff(body, declared) is None


def test_a_page_that_mentions_a_feed_is_still_a_page() -> None:
    body = b"<!DOCTYPE html><html><body><pre>&lt;rss version=2.0&gt;</pre><rss></rss></body></html>"
    assert sniff(body, "text/html") == "html"


def test_gzip_files_are_opened_within_the_limit() -> None:
    assert gunzipped(gzip.compress(SITEMAP), 10_000) == SITEMAP
    assert gunzipped(SITEMAP, 10_000) == SITEMAP  # not gzip: as it is
    assert gunzipped(gzip.compress(b"x" * 100_000), 10_000) is None  # a bomb stops at the limit
    assert gunzipped(gzip.compress(SITEMAP)[:-12], 10_000) is None  # truncated


FRENCH = "Élodie a acheté des puces « Nvidia » à 19,4 € : déjà, l'œuvre."
META = '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15">'
CHARSETS = [
    # The header is right.
    (FRENCH.encode("utf-8"), "text", "utf-8", "utf-8"),
    (FRENCH.encode("cp1252"), "text", "windows-1252", "cp1252"),
    (FRENCH.encode("iso8859-15"), "text", "iso-8859-15", "iso8859-15"),
    # A server's default latin-1 on a UTF-8 page: the bytes say UTF-8.
    (FRENCH.encode("utf-8"), "html", "ISO-8859-1", "utf-8"),
    # A header saying UTF-8 on windows-1252 bytes, which do not decode: the <meta> is right.
    (f'<meta charset="windows-1252"><p>{FRENCH}'.encode("cp1252"), "html", "utf-8", "cp1252"),
    # No header: the page's <meta>, either form, or the XML declaration.
    (f"<meta charset='iso-8859-1'><p>{FRENCH}".encode("cp1252"), "html", None, "cp1252"),
    (f"{META}<p>{FRENCH}".encode("iso8859-15"), "html", None, "iso8859-15"),
    (
        f'<?xml version="1.0" encoding="ISO-8859-1"?><rss>{FRENCH}</rss>'.encode("cp1252"),
        "feed",
        None,
        "cp1252",
    ),
    # A byte-order mark wins over any declaration.
    (b"\xef\xbb\xbf" + FRENCH.encode(), "html", "iso-8859-1", "utf-8"),
    (FRENCH.encode("utf-16"), "text", None, "utf-16"),
    # Nothing declared: UTF-8 if the bytes are, else left to the decoder's guess.
    (FRENCH.encode("utf-8"), "markdown", None, "utf-8"),
    (FRENCH.encode("cp1252"), "text", None, None),
    # An unknown label is no declaration.
    (FRENCH.encode("utf-8"), "text", "x-unknown-charset", "utf-8"),
]


@pytest.mark.parametrize(("body", "kind", "declared", "charset"), CHARSETS)
def test_the_charset_is_what_the_declarations_and_the_bytes_agree_on(
    body: bytes, kind: Kind, declared: str | None, charset: str | None
) -> None:
    assert charset_of(body, kind, declared) == charset
    if charset:
        assert FRENCH in body.decode(charset).lstrip("\ufeff")


def test_a_pdf_has_no_charset() -> None:
    assert charset_of(pdf_version(article()), "pdf", "utf-8") is None
