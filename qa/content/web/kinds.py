"""What a response is — a feed, a sitemap (index, news), a page, a PDF, Markdown, text — told
by its content first and its declared type second, never by its URL; and which charset its
text is in, the declarations checked against the bytes."""

from __future__ import annotations

import codecs
import re
import zlib

from qa.content.extract import ContentKind, kind_of
from qa.content.web.outcomes import Kind, ListingKind

SNIFF_BYTES = 2048
# The root element of a feed or a sitemap, after an XML declaration, comments, a doctype.
_LISTING_ROOT = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*|<\?[^>]*\?>\s*)*"
    rb"<(?:[\w.-]+:)?(rss|RDF|feed|urlset|sitemapindex)\b",
    re.S,
)
_NEWS_NAMESPACE = b"http://www.google.com/schemas/sitemap-news/"
_ROOTS: dict[bytes, ListingKind] = {
    b"rss": "feed",
    b"RDF": "feed",
    b"feed": "feed",
    b"urlset": "sitemap",
    b"sitemapindex": "sitemap-index",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I
)  # <meta charset=x> and <meta http-equiv=Content-Type content="text/html; charset=x">
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)", re.I)
# The labels that mean windows-1252 to a browser (WHATWG Encoding): what such pages really are.
_WINDOWS_1252 = {"latin1", "iso8859-1", "iso-8859-1", "ascii", "us-ascii", "cp1252"}
_GZIP_MAGIC = b"\x1f\x8b"


def sniff(body: bytes, media_type: str) -> Kind | None:
    """The kind of a response's body: a feed or a sitemap by its root element whatever its
    declared type, else what `qa.content.extract.kind_of` says (PDF and HTML by their bytes, then
    the declared type); None for anything no reader takes (an image, an unknown XML)."""
    head = body[:SNIFF_BYTES].lstrip(codecs.BOM_UTF8)
    if found := _LISTING_ROOT.match(head):
        kind = _ROOTS[found.group(1)]
        return "news-sitemap" if kind == "sitemap" and _NEWS_NAMESPACE in body else kind
    return kind_of(body, media_type)


def listing_kind(kind: Kind | None) -> ListingKind | None:
    return kind if kind in ("feed", "sitemap", "sitemap-index", "news-sitemap") else None


def page_kind(kind: Kind | None) -> ContentKind | None:
    return kind if kind in ("text", "html", "markdown", "pdf") else None


def gunzipped(body: bytes, limit: int) -> bytes | None:
    """A gzip file's content (sitemaps are often served as `sitemap.xml.gz`, no
    Content-Encoding), None past `limit` bytes or broken; the body itself if not gzip."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        content = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    return content if len(content) <= limit and inflater.eof else None


def charset_of(body: bytes, kind: Kind, declared: str | None) -> str | None:
    """The charset the body's text is in: a byte-order mark, else the first declaration (the
    HTTP header, then the page's <meta> or the XML declaration) that the bytes bear out, else
    UTF-8 if they are UTF-8; None for a PDF, or when nothing fits (the decoder guesses).

    A single-byte declaration (latin-1, windows-1252) on bytes that are valid UTF-8 with some
    non-ASCII in them is a server's default label, not the page's: UTF-8 wins."""
    if kind == "pdf":
        return None
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return bom_codec
    valid_utf8 = _decodes(body, "utf-8")
    for label in (declared, _in_document(body[:SNIFF_BYTES], kind)):
        codec = _codec(label)
        if codec is None:
            continue
        if codec == "cp1252" and valid_utf8 and not body.isascii():
            return "utf-8"
        if _decodes(body, codec):
            return codec
    return "utf-8" if valid_utf8 else None


def _in_document(head: bytes, kind: Kind) -> str | None:
    pattern = _META_CHARSET if kind == "html" else _XML_ENCODING
    found = pattern.search(head)
    return found.group(1).decode("ascii") if found else None


def _codec(label: str | None) -> str | None:
    name = (label or "").strip().lower()
    if not name:
        return None
    if name in _WINDOWS_1252:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
