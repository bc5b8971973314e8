"""Web pages: the article's main text and metadata, with trafilatura (and htmldate for the
publication date), the best-scoring main-content extractor on published news-page benchmarks."""

from __future__ import annotations

from datetime import date
from typing import Any

import trafilatura
from trafilatura.settings import Document

from qa.content.extract.base import ContentKind, Extracted
from qa.content.extract.language import detect_language
from qa.content.extract.text_decoding import decode
from qa.errors import ExtractionError

# htmldate: the first publication date, not the last modification; its extensive search also
# reads dates in the page's text and URL when the metadata has none.
DATE_SEARCH = {"original_date": True, "extensive_search": True}
# Fewer words than this is a page's navigation or a stub, not an article.
MIN_WORDS = 10


class HtmlExtractor:
    kind: ContentKind = "html"

    def extract(
        self, data: bytes, *, url: str | None = None, charset: str | None = None
    ) -> Extracted:
        # Undeclared, the bytes go to trafilatura as they are: it reads the page's <meta charset>.
        page: str | bytes = decode(data, charset) if charset else data
        found = trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=DATE_SEARCH,
        )
        # A `Document` unless `as_dict` is asked for; None when the page has no main text.
        words = len((found.text or "").split()) if isinstance(found, Document) else 0
        if not isinstance(found, Document) or words < MIN_WORDS:
            raise ExtractionError(f"no article text in the page ({words} words of main text)")
        title = _clean(found.title)
        text = _without_title((found.text or "").strip(), title)
        return Extracted(
            title=title,
            text=text,
            url=_clean(found.url),
            published=_date(found.date),
            author=_clean(found.author),
            language=_clean(found.language) or _known(detect_language(text)),
            site=_clean(found.sitename) or _clean(found.hostname),
            tags=tuple(dict.fromkeys(_labels(found.categories) + _labels(found.tags))),
        )


def _without_title(text: str, title: str | None) -> str:
    """The body: trafilatura keeps the page's <h1> as the first line when it is the title."""
    first, _, rest = text.partition("\n")
    return rest.lstrip("\n") if title and first.strip() == title else text


def _clean(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text or None


def _known(language: str) -> str | None:
    return None if language == "unknown" else language


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _labels(values: Any) -> list[str]:
    return [label for value in values or () if (label := _clean(value))]
