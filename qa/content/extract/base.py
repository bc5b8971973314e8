"""What every extractor gives and takes: the `Extractor` protocol and its `Extracted` record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

# The kinds of published files the service reads an article from.
ContentKind = Literal["text", "html", "markdown", "pdf"]


@dataclass(frozen=True)
class Extracted:
    """An article out of a published file: its title, its text, and what it says of itself.

    `text` is the body, paragraphs one per line, without the title; `article` is what the
    corpus indexes: the title as first line, a blank line, the body."""

    title: str | None
    text: str
    url: str | None = None
    published: date | None = None
    author: str | None = None
    language: str | None = None
    site: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def article(self) -> str:
        return f"{self.title}\n\n{self.text}" if self.title else self.text


class Extractor(Protocol):
    """Bytes of one kind of published file -> the article in it, or ExtractionError saying why
    there is none. `url` is where the bytes came from (relative links, the site's name);
    `charset` what the transport declared, if anything."""

    kind: ContentKind

    def extract(
        self, data: bytes, *, url: str | None = None, charset: str | None = None
    ) -> Extracted: ...
