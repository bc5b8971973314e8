"""The document API: editors add, replace and remove articles; each change is published as a
new index version at once (incrementally) and served by this process without a restart.

Every route needs the admin key (`qa.serve.access.require_admin`); without one configured they
answer 404, as if they did not exist.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field, ValidationError
from pydantic.config import JsonDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qa.corpus.checks import ARTICLE_PATTERN, ArticleText, TitleLine, WebUrl
from qa.corpus.documents import (
    NAME_PATTERN,
    CorpusEdit,
    article_name,
    check_article,
    delete_article,
    write_article,
)
from qa.corpus.ingest import Metadata
from qa.errors import DocumentError
from qa.indexing.build import update_index
from qa.serve.access import require_admin
from qa.serve.deps import SearcherDep, SettingsDep
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head
from qa.serve.reload import served
from qa.serve.request_types import IsoDate
from qa.serve.routes.sources import passage_counts
from qa.settings import Settings

router = APIRouter(prefix="/documents", tags=["documents"], dependencies=[Depends(require_admin)])


# What the schema says of an article's text (`qa.corpus.checks.ARTICLE_PATTERN`): a text that
# the service always accepts; it accepts more, and says why it refuses what it refuses.
TEXT_SCHEMA: JsonDict = {"pattern": f"^{ARTICLE_PATTERN}$"}
# The article's name, as `qa.corpus.documents.article_name` checks it (it also refuses "..").
NAME_SCHEMA: JsonDict = {"pattern": f"^{NAME_PATTERN}$"}


class DocumentBody(BaseModel):
    """An article sent as JSON; the title, when given, becomes its first line (its headline)."""

    text: ArticleText = Field(json_schema_extra=TEXT_SCHEMA)
    title: TitleLine | None = None
    url: WebUrl | None = Field(None, description="An http:// or https:// URL with a host.")
    published: IsoDate | None = None


class DocumentChange(BaseModel):
    name: str = Field(description="The article's file name in the corpus folder.")
    action: Literal["written", "deleted"]
    version: str = Field(description="The index version that holds the change, now served.")
    passages: int = Field(description="Passages in that version.")
    passages_embedded: int = Field(description="Passages this change embedded.")


class DocumentInfo(BaseModel):
    name: str
    title: str
    sha256: str
    passages: int
    url: str | None
    published: date | None


class DocumentList(BaseModel):
    version: str
    documents: list[DocumentInfo]


# Documented, not validated here: `article_name` refuses with its own message.
ArticleName = Annotated[str, Path(json_schema_extra=NAME_SCHEMA)]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string", **TEXT_SCHEMA}},
            "application/json": {"schema": DocumentBody.model_json_schema()},
        },
    }
}


@router.get("", response_model=DocumentList)
def list_documents(searcher: SearcherDep) -> DocumentList:
    """The articles of the served index version, with their hashes and dates."""
    counts = passage_counts(searcher)
    return DocumentList(
        version=searcher.index.manifest.version,
        documents=[
            DocumentInfo(
                name=s.name,
                title=s.title,
                sha256=s.sha256,
                passages=counts.get(s.name, 0),
                url=s.url,
                published=s.published,
            )
            for s in searcher.index.sources.values()
        ],
    )


@router.put("/{name}", response_model=DocumentChange, openapi_extra=_BODY)
async def put_document(
    name: ArticleName, request: Request, settings: SettingsDep
) -> DocumentChange:
    """Add or replace an article: `text/plain` (UTF-8), or JSON `{text, title?, url?,
    published?}`. Answers once the new index version holding it is served."""
    data, metadata = _article(request.headers.get("content-type", ""), await request.body())
    name = check_article(settings, name, data, metadata)  # refuse before waiting for the lock
    return await run_in_threadpool(
        _publish,
        request,
        settings,
        name,
        "written",
        lambda: write_article(settings, name, data, metadata),
    )


@router.delete("/{name}", response_model=DocumentChange, responses={409: {"model": ErrorBody}})
def delete_document(name: ArticleName, request: Request, settings: SettingsDep) -> DocumentChange:
    """Remove an article from the corpus folder and from the served index; refused (409,
    nothing changed) when it is the last readable article: an index needs one."""
    name = article_name(name)
    return _publish(request, settings, name, "deleted", lambda: delete_article(settings, name))


def _article(content_type: str, body: bytes) -> tuple[bytes, Metadata]:
    """The article's UTF-8 bytes and metadata, from a body of either media type."""
    kind, charset = _media_type(content_type)
    if kind == "text/plain":
        return _as_utf8(body, charset), Metadata()
    if kind != "application/json":
        raise HTTPException(
            415, f"Content-Type must be text/plain or application/json (got {kind or 'none'!r})"
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
    return text.encode("utf-8"), Metadata(url=document.url, published=document.published)


def _media_type(content_type: str) -> tuple[str, str | None]:
    """The media type of a Content-Type header (lower case) and its charset, if it names one."""
    kind, *parameters = content_type.split(";")
    charset = None
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    return kind.strip().lower(), charset


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


def _publish(
    request: Request,
    settings: Settings,
    name: str,
    action: Literal["written", "deleted"],
    edit: Callable[[], CorpusEdit],
) -> DocumentChange:
    """Applies `edit` to the corpus folder and publishes the index version holding it, with the
    encoder of the searcher served then; serves that version before answering."""
    report = update_index(
        settings,
        served(request.app.state).encoder,
        wait=settings.index_lock_wait,
        edit=edit,
    )
    request.app.state.reloader.check()  # serve the new version now, not at the next poll
    return DocumentChange(
        name=name,
        action=action,
        version=report.version,
        passages=report.passages,
        passages_embedded=report.changes.passages_embedded,
    )


answer_head(router)
