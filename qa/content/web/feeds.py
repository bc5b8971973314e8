"""RSS and Atom feeds, with feedparser (always given bytes: given a string, it would fetch it
as a URL). Each item keeps its own content as the fallback for a page that cannot be had."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from qa.content.web.outcomes import Listed
from qa.content.web.sitemaps import MAX_ENTRIES, ListingError


def read_feed(body: bytes, base_url: str) -> tuple[Listed, ...]:
    """The items of an RSS or Atom feed that link to an http(s) page, in order, each URL
    once. ListingError when nothing in it reads as a feed."""
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    items: dict[str, Listed] = {}
    for entry in parsed.entries[:MAX_ENTRIES]:
        link = _link(entry)
        if link and link not in items:
            items[link] = _listed(entry, link)
    # feedparser reads broken feeds as well as it can (`bozo`): what it got is kept, but a
    # broken feed that gave no item, or no feed at all, is an error.
    if not items and (parsed.get("bozo") or not parsed.get("version")):
        problem = parsed.get("bozo_exception")
        raise ListingError(f"not a readable RSS or Atom feed{f': {problem}' if problem else ''}")
    return tuple(items.values())


def _link(entry: Any) -> str | None:
    """The item's page: its alternate link, else a permalink guid."""
    link = entry.get("link") or (entry.get("id") if entry.get("guidislink") else None)
    return link if isinstance(link, str) and link.startswith(("http://", "https://")) else None


def _listed(entry: Any, link: str) -> Listed:
    published = _moment(entry.get("published_parsed"))
    # dict.get: feedparser's own get() answers a missing `updated_parsed` with the published
    # date, and warns that it will stop doing so.
    updated = _moment(dict.get(entry, "updated_parsed"))
    content_type, content = _content(entry)
    return Listed(
        link,
        changed=updated or published,
        title=_clean(entry.get("title")),
        published=published,
        author=_clean(entry.get("author")),
        content=content,
        content_type=content_type,
    )


def _content(entry: Any) -> tuple[str | None, str | None]:
    """The item's longest text, full content before summary: (media type, text)."""
    candidates = [*entry.get("content", ()), entry.get("summary_detail")]
    texts = [
        (str(part.get("type") or "text/html"), str(part.get("value") or "").strip())
        for part in candidates
        if part
    ]
    texts = [(media_type, text) for media_type, text in texts if text]
    if not texts:
        return None, None
    media_type, text = max(texts, key=lambda pair: len(pair[1]))
    return ("text/plain" if media_type == "text/plain" else "text/html"), text


def _moment(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's dates are UTC struct_times."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError):
        return None


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text or None
