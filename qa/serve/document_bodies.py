"""The bodies `PUT /documents/{name}` takes, read into an article file's kind, bytes and
metadata: text (`text/plain` in any charset, or JSON `{text, title?, url?, published?}`) or an
article as it was published (`text/html`, `text/markdown`, `application/pdf`), kept as sent and
extracted by the corpus (`qa.content.corpus.articles`). Also the request body's schema."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic.config import JsonDict
from starlette.exceptions import HTTPException

from qa.content.corpus.checks import ARTICLE_PATTERN, PARAGRAPH_LINE, ArticleText, TitleLine, WebUrl
from qa.content.corpus.ingest import Metadata
from qa.content.extract import ContentKind, media_type_of
from qa.errors import DocumentError
from qa.serve.request_types import IsoDate

# What the schema says of an article's text (`qa.content.corpus.checks.ARTICLE_PATTERN`): a text
# that the service always accepts; it accepts more, and says why it refuses what it refuses. The
# same for a Markdown document (one paragraph) and a page (one paragraph of at least the words
# an extraction needs, `qa.content.extract.html.MIN_WORDS`, in an article).
TEXT_SCHEMA: JsonDict = {"pattern": f"^{ARTICLE_PATTERN}$"}
MARKDOWN_SCHEMA: JsonDict = {"pattern": f"^{PARAGRAPH_LINE}$"}
PAGE_SCHEMA: JsonDict = {
    "pattern": "^<html><body><article><p>(?:[A-Za-z]{2} ){12,40}[A-Za-z]{2}\\.</p>"
    "</article></body></html>$"
}
# Articles as published, kept as sent: their kind by media type.
PUBLISHED: dict[str, ContentKind] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "application/pdf": "pdf",
}
ACCEPTED = ("text/plain", "application/json", *PUBLISHED)


class DocumentBody(BaseModel):
    """An article sent as JSON; the title, when given, becomes its first line (its headline)."""

    text: ArticleText = Field(json_schema_extra=TEXT_SCHEMA)
    title: TitleLine | None = None
    url: WebUrl | None = Field(None, description="An http:// or https:// URL with a host.")
    published: IsoDate | None = None


# Whether a PDF holds an article is the extractor's to say (422 with its reason when not): no
# JSON Schema states it.
REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string", **TEXT_SCHEMA}},
            "application/json": {"schema": DocumentBody.model_json_schema()},
            "text/html": {"schema": {"type": "string", **PAGE_SCHEMA}},
            "text/markdown": {"schema": {"type": "string", **MARKDOWN_SCHEMA}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@dataclass(frozen=True)
class ArticleBody:
    kind: ContentKind
    data: bytes
    metadata: Metadata


def article_body(content_type: str, body: bytes) -> ArticleBody:
    """The article a body carries; 415 for a media type or charset the service does not read,
    DocumentError (422) for a JSON body that is not a valid article."""
    kind, charset = media_type_of(content_type), _charset(content_type)
    if kind == "text/plain":
        return ArticleBody("text", _as_utf8(body, charset), Metadata())
    if kind == "text/markdown":  # no in-document declaration of its encoding: store UTF-8
        return ArticleBody("markdown", _as_utf8(body, charset), Metadata())
    if kind in PUBLISHED:
        # A page declares its own encoding (<meta charset>); a PDF is binary.
        return ArticleBody(PUBLISHED[kind], body, Metadata())
    if kind != "application/json":
        raise HTTPException(
            415, f"Content-Type must be one of {', '.join(ACCEPTED)} (got {kind or 'none'!r})"
        )
    if charset is not None and _codec(charset) != "utf-8":
        raise HTTPException(415, f"application/json must be UTF-8 (got charset {charset!r})")
    try:
        document = DocumentBody.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise DocumentError(f"{where}: {first['msg']}") from error
    text = f"{document.title.strip()}\n\n{document.text}" if document.title else document.text
    metadata = Metadata(url=document.url, published=document.published)
    return ArticleBody("text", text.encode("utf-8"), metadata)


def _charset(content_type: str) -> str | None:
    """The charset a Content-Type header names, if any."""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"')
    return None


def _as_utf8(body: bytes, charset: str | None) -> bytes:
    """A text/plain body in UTF-8: as sent when it is UTF-8 (parsing the article says where it
    is not), else decoded from its charset (415 when Python knows no such text encoding)."""
    codec = "utf-8" if charset is None else _codec(charset)
    if codec == "utf-8":
        return body
    try:
        return body.decode(codec).encode("utf-8")
    except UnicodeError as error:  # some codecs (idna, punycode) say no more than that
        where = f"byte {error.start}" if isinstance(error, UnicodeDecodeError) else error
        raise DocumentError(f"not valid {charset} ({where})") from error


def _codec(charset: str) -> str:
    """Python's name of a text encoding, or 415 when there is none of that name (`rot13`,
    `base64` are codecs, not text encodings)."""
    try:
        codec = codecs.lookup(charset)
        "".encode(codec.name)  # a LookupError for the codecs that are not text encodings
    except (LookupError, UnicodeError):
        raise HTTPException(
            415, f"unknown charset {charset[:40]!r}: send UTF-8, or name a known text encoding"
        ) from None
    return codec.name
