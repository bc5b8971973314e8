"""Sitemaps (sitemaps.org), sitemap indexes and Google News sitemaps, parsed safely: lxml with
no entity expansion, no DTD, no network and no huge-tree mode, on a body already size-bounded.
Elements are matched by local name, for the sitemaps that put them in no or another
namespace."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from qa.content.web.outcomes import Listed

# The protocol's own bound: 50,000 URLs (or child sitemaps) in one file.
MAX_ENTRIES = 50_000
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
_YEAR_OR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


class ListingError(Exception):
    """A feed or a sitemap that cannot be read."""


@dataclass(frozen=True)
class Sitemap:
    """What a sitemap lists: pages (a sitemap, a news sitemap) or child sitemaps (an index,
    as `Listed` with their `lastmod` as `changed`)."""

    pages: tuple[Listed, ...] = ()
    children: tuple[Listed, ...] = ()


def read_sitemap(body: bytes, base_url: str) -> Sitemap:
    """The pages or child sitemaps of a sitemap, a news sitemap or a sitemap index, in order,
    each URL once; only http(s) URLs; at most MAX_ENTRIES. ListingError if not XML."""
    root = _parse(body)
    pages: dict[str, Listed] = {}
    children: dict[str, Listed] = {}
    for entry in root:
        name = _local(entry)
        loc = _text(entry, "loc")
        if name not in ("url", "sitemap") or not loc or not loc.startswith(("http://", "https://")):
            continue
        found = children if name == "sitemap" else pages
        if loc not in found and len(found) < MAX_ENTRIES:
            found[loc] = (
                _listed(entry, loc)
                if name == "url"
                else Listed(loc, w3c_date(_text(entry, "lastmod")))
            )
    if not pages and not children and _local(root) not in ("urlset", "sitemapindex"):
        raise ListingError(f"not a sitemap: its root element is <{_local(root)}>")
    return Sitemap(pages=tuple(pages.values()), children=tuple(children.values()))


def _child_sitemap(entry: etree._Element, loc: str) -> Listed:
    return Listed(loc, changed=w3c_date(_text(entry, "lastmod")))


def _listed(entry: etree._Element, loc: str) -> Listed:
    news = _child(entry, "news")
    lastmod = w3c_date(_text(entry, "lastmod"))
    if news is None:
        return Listed(loc, changed=lastmod)
    published = w3c_date(_text(news, "publication_date"))
    return Listed(
        loc, changed=lastmod or published, title=_text(news, "title"), published=published
    )


def _parse(body: bytes) -> etree._Element:
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise ListingError(f"not well-formed XML: {error}") from error
    if root is None:
        raise ListingError("empty XML document")
    return root


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in element if _local(child) == name), None)


def _text(element: etree._Element, name: str) -> str | None:
    child = _child(element, name)
    text = " ".join((child.text or "").split()) if child is not None else ""
    return text or None


def w3c_date(value: str | None) -> datetime | None:
    """A W3C datetime (`2025-03-14`, `2025-03-14T08:30:00+01:00`, `2025-03`, `2025`...) as an
    aware datetime (UTC when it says no zone); None if absent or unreadable."""
    if not value:
        return None
    if found := _YEAR_OR_MONTH.match(value):
        return datetime(int(found.group(1)), int(found.group(2) or 1), 1, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
