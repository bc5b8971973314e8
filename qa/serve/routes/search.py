"""`POST /search` and `GET /search`: the best passages for a question, computed on the search
pool once admission control lets the request in (`qa.serve.admission`)."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, StrictBool, field_validator
from pydantic.config import JsonDict
from starlette.exceptions import HTTPException

from qa.search.retrieval.search import (
    DEFAULT_K,
    MAX_K,
    MAX_QUESTION_CHARS,
    Searcher,
    SearchResponse,
)
from qa.search.store import SearchFilter
from qa.serve.access import key_name
from qa.serve.access_log import log_search
from qa.serve.admission import Admission, is_costly
from qa.serve.analytics_writer import SearchRecorder, search_event
from qa.serve.deps import (
    READER_RESPONSES,
    READERS,
    AdmissionDep,
    RecorderOrNoneDep,
    SearcherDep,
    SettingsDep,
)
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head
from qa.serve.request_types import LETTER_OR_DIGIT, IsoDate, JsonInteger, LanguageCode
from qa.settings import SearchMode

router = APIRouter()

# What a question must hold, in the schema: a letter or a digit, without which the search refuses
# it (422 from `validate_query` of `qa.search.retrieval.search`, or from `_not_blank` below when
# blank, each with a clearer message than a pattern's).
QUESTION_RULE: JsonDict = {"pattern": LETTER_OR_DIGIT}
QUESTION = (
    "The question: at least one letter or digit (Unicode general category L or N), "
    f"at most {MAX_QUESTION_CHARS:,} characters."
)
SOURCES = "Only passages of these articles (file names)."
LANGUAGES = (
    "Only articles in these languages (ISO 639-1 codes in lower case, such as fr); an article "
    "of unknown language is left out."
)
SITES = (
    "Only articles published by these sites (names as `site` shows them); an article of "
    "unknown site is left out."
)
EXPLAIN = (
    "Also give each result's ranker features and their contributions (`explanation`); "
    "contributions only when the learned ranker is on."
)
AFTER = "Only articles published on or after (an undated article is left out)."
BEFORE = "Only articles published on or before (an undated article is left out)."


class SearchAnswer(SearchResponse):
    search_id: str | None = Field(
        description="This search's id, for POST /feedback; null when analytics are off."
    )


class SearchRequest(BaseModel):
    question: str = Field(
        max_length=MAX_QUESTION_CHARS,
        description=QUESTION,
        examples=["Quelle puce ByteDance développe-t-il ?"],
        json_schema_extra=QUESTION_RULE,
    )
    # A JSON integer, 1.0 included, but not true or "5" (the query string's k stays lax).
    k: JsonInteger = Field(DEFAULT_K, ge=1, le=MAX_K, description="Number of passages to return.")
    mode: SearchMode | None = Field(
        None, description="Retrieval mode; the service default if absent."
    )
    sources: list[str] | None = Field(None, description=SOURCES)
    languages: list[LanguageCode] | None = Field(None, description=LANGUAGES)
    sites: list[str] | None = Field(None, description=SITES)
    published_after: IsoDate | None = Field(None, description=AFTER)
    published_before: IsoDate | None = Field(None, description=BEFORE)
    explain: StrictBool = Field(False, description=EXPLAIN)  # JSON true or false, not 0 or "yes"

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("must not be blank")
        return question


async def require_json(request: Request) -> None:  # async: see qa/serve/access.py
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(
            415, f"Content-Type must be application/json (got {content_type or 'none'!r})"
        )


@router.post(
    "/search",
    response_model=SearchAnswer,
    dependencies=[*READERS, Depends(require_json)],
    responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}, **READER_RESPONSES},
)
async def search_post(
    request: Request,
    body: SearchRequest,
    searcher: SearcherDep,
    admission: AdmissionDep,
    settings: SettingsDep,
    recorder: RecorderOrNoneDep,
) -> SearchAnswer:
    """Best passages for a question sent as JSON."""
    where = _filter(
        body.sources, body.languages, body.sites, body.published_after, body.published_before
    )
    log_search(
        request.state.request_id, body.question, body.k, body.mode, full=settings.log_questions
    )
    return await _admitted(
        request,
        admission,
        searcher,
        recorder,
        body.question,
        body.k,
        body.mode,
        where,
        explain=body.explain,
    )


@router.get(
    "/search", response_model=SearchAnswer, dependencies=READERS, responses=READER_RESPONSES
)
async def search_get(
    request: Request,
    searcher: SearcherDep,
    admission: AdmissionDep,
    settings: SettingsDep,
    recorder: RecorderOrNoneDep,
    q: Annotated[
        str,
        Query(max_length=MAX_QUESTION_CHARS, description=QUESTION, json_schema_extra=QUESTION_RULE),
    ],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = DEFAULT_K,
    mode: SearchMode | None = None,
    sources: Annotated[list[str] | None, Query(description=SOURCES)] = None,
    languages: Annotated[list[LanguageCode] | None, Query(description=LANGUAGES)] = None,
    sites: Annotated[list[str] | None, Query(description=SITES)] = None,
    published_after: Annotated[IsoDate | None, Query(description=AFTER)] = None,
    published_before: Annotated[IsoDate | None, Query(description=BEFORE)] = None,
    explain: Annotated[bool, Query(description=EXPLAIN)] = False,
) -> SearchAnswer:
    """Best passages for a question sent in the query string; a list is its parameter repeated
    (`languages=fr&languages=en`)."""
    where = _filter(sources, languages, sites, published_after, published_before)
    log_search(request.state.request_id, q, k, mode, full=settings.log_questions)
    return await _admitted(
        request, admission, searcher, recorder, q, k, mode, where, explain=explain
    )


def _filter(
    sources: list[str] | None,
    languages: list[str] | None,
    sites: list[str] | None,
    after: date | None,
    before: date | None,
) -> SearchFilter | None:
    """The conditions a search was given; None for none. An empty list admits nothing."""
    where = SearchFilter(
        sources=_set(sources),
        languages=_set(languages),
        sites=_set(sites),
        published_after=after,
        published_before=before,
    )
    return None if where == SearchFilter() else where


def _set(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values is not None else None


async def _admitted(
    request: Request,
    admission: Admission,
    searcher: Searcher,
    recorder: SearchRecorder | None,
    question: str,
    k: int,
    mode: SearchMode | None,
    where: SearchFilter | None,
    *,
    explain: bool = False,
) -> SearchAnswer:
    """The search, computed on the search pool once admission control lets it in, and its
    event queued for the analytics (never waited for)."""
    started = time.perf_counter()
    response = await admission.run(
        lambda: searcher.search(question, k, mode, where, explain=explain),
        costly=is_costly(question, k),
        client_gone=request.is_disconnected,
    )
    search_id = None
    if recorder is not None:
        latency_s = time.perf_counter() - started
        asker = key_name(request, recorder.settings)
        event = search_event(response, k, where, latency_s, asker)
        recorder.record(event)
        search_id = event.search_id
    # Built without validating again what the search built.
    return SearchAnswer.model_construct(**dict(response), search_id=search_id)


answer_head(router)
