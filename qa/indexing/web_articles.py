"""Fetched pages as corpus articles: each named after its canonical URL, kept as it was
published (the original bytes; text and Markdown in UTF-8), with a sidecar carrying that URL and
what its feed or sitemap said of it when the page itself does not say; a feed item's own text
when its page gives no article. What cannot become an article says why (`ArticleSkip`)."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from qa.content.corpus.articles import ExtractionCache
from qa.content.corpus.checks import CONTROL_CHARACTERS
from qa.content.corpus.ingest import Document, Metadata, parse_document
from qa.content.extract import ContentKind, Extracted
from qa.content.web import Listed, Page
from qa.errors import CorpusError

SUFFIXES: dict[ContentKind, str] = {
    "text": ".txt",
    "html": ".html",
    "markdown": ".md",
    "pdf": ".pdf",
}
# An article's name: a readable slug of its URL, then a hash of the whole URL (the same URL
# always gives the same name, two URLs never one), well under the corpus's 151 characters.
SLUG_CHARS = 60
HASH_CHARS = 10
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


class ArticleSkip(StrEnum):
    """Why a page fetched gave no article. The values are what a summary prints."""

    NOT_ARTICLE = "not an article"  # a page with no main text (a home page, a list)
    NO_TEXT = "not a PDF with text"  # a scan, an encrypted or broken PDF
    EMPTY = "empty extraction"  # a text or Markdown file with nothing in it
    TOO_LARGE = "too large"  # over QA_MAX_ARTICLE_BYTES
    DUPLICATE = "duplicate"  # the text of another URL's article


_FAILED_EXTRACTION: dict[ContentKind, ArticleSkip] = {
    "html": ArticleSkip.NOT_ARTICLE,
    "pdf": ArticleSkip.NO_TEXT,
    "markdown": ArticleSkip.EMPTY,
    "text": ArticleSkip.EMPTY,
}


@dataclass(frozen=True)
class WebArticle:
    """An article out of a URL: its corpus file (`name`, `data`), its sidecar, and the article
    as the indexer reads it. `page` is None when it is the feed item's text."""

    url: str  # the URL asked: the sync state's key
    name: str
    data: bytes
    metadata: Metadata
    document: Document
    page: Page | None

    @property
    def text_sha256(self) -> str:
        """The hash of its text, spacing aside: what tells the same article under two URLs."""
        return hashlib.sha256(" ".join(self.document.text.split()).encode()).hexdigest()


@dataclass(frozen=True)
class NoArticle:
    url: str
    reason: ArticleSkip
    detail: str


def web_article_name(url: str, kind: ContentKind) -> str:
    """`https://site.fr/eco/2025/bytedance-puce.html` -> `bytedance-puce-<hash>.html`: the
    last segment of its path (else its host) as a slug, and a hash of the whole URL."""
    parts = urlsplit(url)
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    ascii_text = unicodedata.normalize("NFKD", segment or parts.hostname or "")
    slug = _NOT_SLUG.sub("-", ascii_text.encode("ascii", "ignore").decode().lower()).strip("-")
    slug = slug[:SLUG_CHARS].rstrip("-") or "page"
    digest = hashlib.sha256(url.encode()).hexdigest()[:HASH_CHARS]
    return f"{slug}-{digest}{SUFFIXES[kind]}"


def canonical_url(declared: str | None, final_url: str) -> str:
    """The URL an article is known by: the page's canonical link when it is on the host the
    page came from (`www.` aside: another site's would rename its article), else the URL
    fetched; scheme and host in lower case, no fragment."""
    if declared and _host(declared) is not None and _host(declared) == _host(final_url):
        return _normalized(declared)
    return _normalized(final_url)


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return f"{host.removeprefix('www.')}:{port or ''}"


def _normalized(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), fragment="")
    )


def from_page(page: Page, cache: ExtractionCache, max_bytes: int) -> WebArticle | NoArticle:
    """The article a fetched page holds, extracted once (`cache`, the indexer's)."""
    data = _stored_bytes(page)
    return _article(page.url, page.kind, data, page.final_url, page.listed, page, cache, max_bytes)


def from_feed_item(
    listed: Listed, cache: ExtractionCache, max_bytes: int
) -> WebArticle | NoArticle:
    """The article a feed item's own content holds (HTML as a page of its own, or text)."""
    content = listed.content or ""
    title = listed.title or ""
    if listed.content_type == "text/plain":
        kind: ContentKind = "text"
        data = _CONTROL.sub("", f"{title}\n\n{content}" if title else content).encode()
    else:
        kind = "html"
        heading = html.escape(title)
        data = (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{heading}</title></head>'
            f"<body><article><h1>{heading}</h1>\n{content}\n</article></body></html>\n"
        ).encode()
    return _article(listed.url, kind, data, listed.url, listed, None, cache, max_bytes)


def _stored_bytes(page: Page) -> bytes:
    """What the corpus keeps of a page: its bytes as published, but text and Markdown (which
    cannot declare their encoding) in UTF-8 (a page says its own in <meta charset>)."""
    if page.kind in ("text", "markdown") and page.charset not in (None, "utf-8"):
        try:
            return page.body.decode(page.charset).encode()
        except (LookupError, UnicodeDecodeError):
            return page.body  # the corpus refuses it and says why
    return page.body


def _article(
    url: str,
    kind: ContentKind,
    data: bytes,
    origin: str,
    listed: Listed | None,
    page: Page | None,
    cache: ExtractionCache,
    max_bytes: int,
) -> WebArticle | NoArticle:
    if len(data) > max_bytes:
        detail = f"{len(data)} bytes, over the {max_bytes}-byte limit (QA_MAX_ARTICLE_BYTES)"
        return NoArticle(url, ArticleSkip.TOO_LARGE, detail)
    provisional = f"page{SUFFIXES[kind]}"
    try:
        found = cache.article_of(provisional, data, url=origin)
        name = web_article_name(canonical_url(found.url, origin), kind)
        metadata = _sidecar(canonical_url(found.url, origin), found, listed)
        document = parse_document(name, data, metadata, cache)
    except CorpusError as error:
        return NoArticle(url, _FAILED_EXTRACTION[kind], str(error))
    return WebArticle(url, name, data, metadata, document, page)


def _sidecar(url: str, found: Extracted, listed: Listed | None) -> Metadata:
    """The canonical URL, and what the listing says that the page does not say of itself. A
    field the corpus would refuse (a title on two lines) is left out, not the article
    (`Metadata.over` checks each)."""
    said = listed or Listed(url)
    return Metadata().over(
        Extracted(
            title=None if found.title else said.title,
            text="",
            url=url,
            published=None if found.published or not said.published else said.published.date(),
            author=None if found.author else said.author,
        )
    )
