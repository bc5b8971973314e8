"""`GET /sources` and `GET /sources/{name}`: the indexed articles, and one article's text."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from qa.errors import SourceNotFoundError
from qa.search.retrieval.search import Searcher
from qa.search.store import Source
from qa.serve.deps import READER_RESPONSES, READERS, SearcherDep
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head

router = APIRouter()


class SourceSummary(BaseModel):
    name: str
    title: str
    chunks: int


class SourceList(BaseModel):
    sources: list[SourceSummary]


@router.get("/sources", response_model=SourceList, dependencies=READERS, responses=READER_RESPONSES)
def list_sources(searcher: SearcherDep) -> SourceList:
    """The indexed articles, with their titles and number of passages."""
    counts = passage_counts(searcher)
    return SourceList(
        sources=[
            SourceSummary(name=s.name, title=s.title, chunks=counts.get(s.name, 0))
            for s in searcher.index.sources.values()
        ]
    )


@router.get(
    "/sources/{name}",
    response_model=Source,
    dependencies=READERS,
    responses={404: {"model": ErrorBody}, **READER_RESPONSES},
)
def get_source(name: str, searcher: SearcherDep) -> Source:
    """One article's original text; passage offsets index into it."""
    source = searcher.index.sources.get(name)
    if source is None:
        raise SourceNotFoundError(name)
    return source


def passage_counts(searcher: Searcher) -> dict[str, int]:
    """Article name -> number of its passages in the index `searcher` serves."""
    counts: dict[str, int] = {}
    for chunk in searcher.index.chunks:
        counts[chunk.source] = counts.get(chunk.source, 0) + 1
    return counts


answer_head(router)
