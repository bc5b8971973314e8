"""Markdown documents (markdown-it-py): the text of each block without its markup, and the
front matter's title, date, author, language, tags and URL."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from qa.content.extract.base import ContentKind, Extracted
from qa.content.extract.language import detect_language
from qa.content.extract.text_decoding import decode
from qa.errors import ExtractionError

_PARSER = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)
# Inline tokens whose text is the reader's: code spans and image descriptions included.
_TEXT_TOKENS = {"text", "code_inline", "html_inline"}
_BREAKS = {"softbreak", "hardbreak"}


class MarkdownExtractor:
    kind: ContentKind = "markdown"

    def extract(
        self, data: bytes, *, url: str | None = None, charset: str | None = None
    ) -> Extracted:
        tokens = _PARSER.parse(decode(data, charset))
        front = _front_matter(tokens)
        blocks = list(_blocks(tokens))
        title = _text(front.get("title"))
        # The first heading is the title when there is none in the front matter, and a copy
        # of it when it says the same.
        if blocks and blocks[0][0] == "h1" and title in (None, blocks[0][1]):
            title = blocks.pop(0)[1]
        text = "\n".join(block for _, block in blocks)
        if not text.strip():
            raise ExtractionError("no text in the Markdown document")
        language = _text(front.get("lang") or front.get("language"))
        detected = detect_language(text)
        return Extracted(
            title=title,
            text=text,
            url=_text(front.get("url") or front.get("canonical")) or url,
            published=_date(front.get("date") or front.get("published")),
            author=_author(front.get("author") or front.get("authors")),
            language=language or (None if detected == "unknown" else detected),
            site=_text(front.get("site")),
            tags=tuple(_labels(front.get("tags")) + _labels(front.get("categories"))),
        )


def _front_matter(tokens: list[Token]) -> dict[str, Any]:
    for token in tokens:
        if token.type == "front_matter":
            try:
                found = yaml.safe_load(token.content)
            except yaml.YAMLError as error:
                raise ExtractionError(f"unreadable front matter ({error})") from error
            return found if isinstance(found, dict) else {}
    return {}


def _blocks(tokens: list[Token]) -> Any:
    """(opening tag, plain text) of each block that holds text: headings, paragraphs, list
    items, table cells; code blocks are left out (not prose)."""
    opened = "p"
    for token in tokens:
        if token.nesting == 1:
            opened = token.tag
        elif token.type == "inline" and token.children is not None:
            text = " ".join("".join(_inline(child) for child in token.children).split())
            if text:
                yield opened, text


def _inline(token: Token) -> str:
    if token.type in _TEXT_TOKENS:
        return token.content
    if token.type in _BREAKS:
        return " "
    if token.type == "image":
        return token.content  # its description
    return ""


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _author(value: Any) -> str | None:
    if isinstance(value, list):
        return ", ".join(name for item in value if (name := _text(item))) or None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _labels(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [label for item in items if (label := _text(item))]
