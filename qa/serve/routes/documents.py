"""The document API: editors add, replace and remove articles; each change is published as a
new index version at once (incrementally) and served by this process without a restart.

Every route needs the admin key (`qa.serve.access.require_admin`); without one configured they
answer 404, as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from pydantic.config import JsonDict
from starlette.concurrency import run_in_threadpool

from qa.content.corpus.documents import (
    NAME_PATTERN,
    CorpusEdit,
    check_article,
    delete_article,
    stored_name,
    write_article,
)
from qa.indexing.build import update_index
from qa.serve.access import require_admin
from qa.serve.deps import SearcherDep, SettingsDep
from qa.serve.document_bodies import REQUEST_BODY, article_body
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head
from qa.serve.reload import served
from qa.serve.routes.sources import passage_counts
from qa.settings import Settings

router = APIRouter(prefix="/documents", tags=["documents"], dependencies=[Depends(require_admin)])


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
    author: str | None
    language: str | None
    site: str | None


class DocumentList(BaseModel):
    version: str
    documents: list[DocumentInfo]


# The article's name, as `qa.content.corpus.documents.article_name` checks it (it also refuses
# "..").
NAME_SCHEMA: JsonDict = {"pattern": f"^{NAME_PATTERN}$"}
# Documented, not validated here: `article_name` refuses with its own message.
ArticleName = Annotated[str, Path(json_schema_extra=NAME_SCHEMA)]


@router.get("", response_model=DocumentList)
def list_documents(searcher: SearcherDep) -> DocumentList:
    """The articles of the served index version, with their hashes and metadata."""
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
                author=s.author,
                language=s.language,
                site=s.site,
            )
            for s in searcher.index.sources.values()
        ],
    )


@router.put("/{name}", response_model=DocumentChange, openapi_extra=REQUEST_BODY)
async def put_document(
    name: ArticleName, request: Request, settings: SettingsDep
) -> DocumentChange:
    """Add or replace an article: `text/plain` (any charset), JSON `{text, title?, url?,
    published?}`, or as published: `text/html` (a web page: its article and metadata are
    extracted, the page kept), `text/markdown`, `application/pdf`. An article of the same name
    of another kind is replaced. Answers once the new index version holding it is served."""
    sent = article_body(request.headers.get("content-type", ""), await request.body())
    # Refused before waiting for the lock; extracting a page or a PDF is work: off the loop.
    name = await run_in_threadpool(
        check_article, settings, name, sent.data, sent.metadata, sent.kind
    )
    return await run_in_threadpool(
        _publish,
        request,
        settings,
        name,
        "written",
        lambda: write_article(settings, name, sent.data, sent.metadata, sent.kind),
    )


@router.delete("/{name}", response_model=DocumentChange, responses={409: {"model": ErrorBody}})
def delete_document(name: ArticleName, request: Request, settings: SettingsDep) -> DocumentChange:
    """Remove an article from the corpus folder and from the served index; refused (409,
    nothing changed) when it is the last readable article: an index needs one."""
    name = stored_name(settings, name)
    return _publish(request, settings, name, "deleted", lambda: delete_article(settings, name))


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
