"""What a fetch or a sync gives: a page's bytes, unchanged, gone, or skipped for one reason of a
fixed set; and what a feed or a sitemap says of a page it lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from qa.content.extract import ContentKind

ListingKind = Literal["feed", "sitemap", "sitemap-index", "news-sitemap"]
# What a response is, told by its content first and its declared type second; None: neither.
Kind = ContentKind | ListingKind


class SkipReason(StrEnum):
    """Why a URL gave no page. The values are what a summary prints."""

    ROBOTS = "robots.txt"
    HTTP_STATUS = "http status"
    TOO_LARGE = "too large"
    NOT_HTTP = "not http(s)"
    PRIVATE_ADDRESS = "private address"
    TOO_MANY_REDIRECTS = "too many redirects"
    TIMEOUT = "timeout"
    NETWORK = "network error"
    BAD_RESPONSE = "bad response"  # a body that cannot be decoded (broken gzip...)
    NOT_ARTICLE = "not an article type"
    BAD_LISTING = "unreadable feed or sitemap"
    LIMIT = "over the sitemap limits"  # too many or too deeply nested sitemaps


@dataclass(frozen=True)
class Listed:
    """A page as a feed or a sitemap lists it. `changed` is what tells a new version: the
    sitemap's `lastmod`, the feed item's `updated` (else `published`), the news sitemap's
    publication date. `content` is the feed item's own text (HTML or plain, `content_type`),
    a fallback for when the page cannot be fetched."""

    url: str
    changed: datetime | None = None
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    content: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Page:
    """A page fetched. `url` is the one asked (listed or named), `final_url` where redirects
    led. `charset` is the encoding of the body as declared and checked against its bytes (None
    for a PDF, or when nothing declared fits and the decoder must guess). `listed` is what the
    feed or sitemap said of it, `source` which one (None: a page its user named)."""

    url: str
    final_url: str
    status: int
    kind: ContentKind
    media_type: str
    charset: str | None
    body: bytes
    etag: str | None
    last_modified: str | None
    listed: Listed | None = None
    source: str | None = None


@dataclass(frozen=True)
class Unchanged:
    """A page not fetched (its listing says it did not change) or answered 304."""

    url: str
    fetched: bool


@dataclass(frozen=True)
class Gone:
    """A page that answered 404 or 410: its article goes only if the caller prunes."""

    url: str
    status: int


@dataclass(frozen=True)
class Skipped:
    """A URL that gave no page, and why. `listed` keeps what a feed said of it, its content
    included, for a caller that takes the feed's text when the page cannot be had."""

    url: str
    reason: SkipReason
    detail: str
    status: int | None = None
    listed: Listed | None = None


@dataclass(frozen=True)
class ListingRead:
    """A feed or sitemap read (or answered 304) and the number of pages it lists."""

    url: str
    kind: ListingKind
    pages: int
    unchanged: bool


Outcome = Page | Unchanged | Gone | Skipped | ListingRead
