"""PDF documents: the text layer in page order (pypdf), lines joined back into paragraphs.

A PDF with no text layer (a scan) is refused with that reason: reading it would need OCR."""

from __future__ import annotations

import io
import re
import statistics

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from qa.content.extract.base import ContentKind, Extracted
from qa.content.extract.language import detect_language
from qa.errors import ExtractionError

# A line this much shorter than the page's usual line ends a paragraph (or is a heading): text
# set in a column fills every line but a paragraph's last.
SHORT_LINE = 0.75
# What PDF writers put in the Title field when the author did not.
_PLACEHOLDER_TITLES = ("untitled", "microsoft word", "document", "sans titre")
_FILE_NAME = re.compile(r"\S+\.\w{2,5}")
HEADING_MAX_CHARS = 140


class PdfExtractor:
    kind: ContentKind = "pdf"

    def extract(
        self, data: bytes, *, url: str | None = None, charset: str | None = None
    ) -> Extracted:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ExtractionError("the PDF is encrypted")
            pages = [page.extract_text() or "" for page in reader.pages]
            info = reader.metadata
        except (PdfReadError, ValueError, KeyError, TypeError) as error:
            raise ExtractionError(f"not a readable PDF ({error})") from error
        paragraphs = reflow([line for page in pages for line in page.splitlines()])
        if not paragraphs:
            raise ExtractionError("the PDF has no text layer (a scan? it needs OCR first)")
        title = _title(info.title if info else None)
        if title is not None:
            paragraphs = _without_title(paragraphs, title)
        elif _is_heading(paragraphs[0]) and len(paragraphs) > 1:
            title, paragraphs = paragraphs[0], paragraphs[1:]
        if not paragraphs:
            raise ExtractionError("the PDF has a title and no text")
        text = "\n".join(paragraphs)
        created = info.creation_date if info else None
        language = detect_language(text)
        return Extracted(
            title=title,
            text=text,
            url=url,
            published=created.date() if created else None,
            author=" ".join(info.author.split()) if info and info.author else None,
            language=None if language == "unknown" else language,
        )


def reflow(lines: list[str]) -> list[str]:
    """Paragraphs out of a page's lines: a blank line or a short line ends one; a word cut by a
    hyphen at a line's end is joined back."""
    stripped = [" ".join(line.split()) for line in lines]
    lengths = [len(line) for line in stripped if len(line) > 20]
    usual = statistics.median(lengths) if lengths else 0
    paragraphs: list[str] = []
    current = ""
    for line in stripped:
        if not line:
            paragraphs, current = _end(paragraphs, current), ""
            continue
        if current.endswith("-") and line[:1].islower():
            current = current + line
        else:
            current = f"{current} {line}" if current else line
        if len(line) < SHORT_LINE * usual:
            paragraphs, current = _end(paragraphs, current), ""
    return _end(paragraphs, current)


def _without_title(paragraphs: list[str], title: str) -> list[str]:
    """The paragraphs after the title the Title field has, when the page shows it first: in a
    larger font its lines count as short ones (one paragraph each), and its last line may run
    into the next paragraph (the text layer has no paragraph marks)."""
    shown = ""
    for n, paragraph in enumerate(paragraphs):
        shown = f"{shown} {paragraph}".strip()
        if shown.startswith(title):
            rest = shown[len(title) :].strip()
            return [rest, *paragraphs[n + 1 :]] if rest else paragraphs[n + 1 :]
        if not title.startswith(shown):
            break
    return paragraphs


def _end(paragraphs: list[str], current: str) -> list[str]:
    return [*paragraphs, current] if current.strip() else paragraphs


def _title(value: str | None) -> str | None:
    title = " ".join((value or "").split())
    if not title or title.lower().startswith(_PLACEHOLDER_TITLES) or _FILE_NAME.fullmatch(title):
        return None  # "Untitled", "Microsoft Word - x.docx", "article.pdf"
    return title


def _is_heading(paragraph: str) -> bool:
    return len(paragraph) <= HEADING_MAX_CHARS and not paragraph.endswith(tuple(".!…;,:"))
