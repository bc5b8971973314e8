"""Which extractor reads a file: by what its bytes are, then by what it was declared to be
(a media type, a file name's suffix) — never by a URL's spelling."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from qa.content.extract.base import ContentKind, Extracted, Extractor


# Each extractor's module is imported when a file of its kind is first read: trafilatura, pypdf
# and markdown-it cost `qa serve` about half a second and 40 MB at start-up, and a service that
# answers searches may never read an article (docs/measurements.md, start-up).
def _plain_text() -> Extractor:
    from qa.content.extract.plain_text import PlainTextExtractor

    return PlainTextExtractor()


def _html() -> Extractor:
    from qa.content.extract.html import HtmlExtractor

    return HtmlExtractor()


def _markdown() -> Extractor:
    from qa.content.extract.markdown import MarkdownExtractor

    return MarkdownExtractor()


def _pdf() -> Extractor:
    from qa.content.extract.pdf import PdfExtractor

    return PdfExtractor()


_EXTRACTORS: dict[ContentKind, Callable[[], Extractor]] = {
    "text": _plain_text,
    "html": _html,
    "markdown": _markdown,
    "pdf": _pdf,
}
MEDIA_TYPES: dict[str, ContentKind] = {
    "text/plain": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "application/pdf": "pdf",
}
SUFFIXES: dict[str, ContentKind] = {
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".pdf": "pdf",
}
# What a web server says of a file it knows nothing about: the bytes decide.
_UNDECLARED = {"", "application/octet-stream", "binary/octet-stream"}
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_FRONT_MATTER = re.compile(rb"^---\r?\n")
SNIFF_BYTES = 1024


def media_type_of(content_type: str | None) -> str:
    """`text/html; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";")[0].strip().lower()


def kind_of(data: bytes, declared: str | None = None) -> ContentKind | None:
    """The kind of `data`: a PDF or an HTML page by their first bytes whatever was declared,
    else the declared media type (or a file suffix, `.md`), else Markdown for a front matter
    and plain text for the rest; None for a declared type no extractor reads."""
    head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if _HTML_START.match(head):
        return "html"
    declared = (declared or "").lower()
    if declared in SUFFIXES:
        return SUFFIXES[declared]
    media_type = media_type_of(declared)
    if media_type in MEDIA_TYPES:
        return MEDIA_TYPES[media_type]
    if media_type in _UNDECLARED:
        return "markdown" if _FRONT_MATTER.match(head) else "text"
    return None


def extract(
    data: bytes, kind: ContentKind, *, url: str | None = None, charset: str | None = None
) -> Extracted:
    """The article in `data`, read by the extractor of `kind`; ExtractionError if none."""
    return extractor_for(kind).extract(data, url=url, charset=charset)


@cache
def extractor_for(kind: ContentKind) -> Extractor:
    """The extractor of `kind`, its module imported on first use."""
    return _EXTRACTORS[kind]()
