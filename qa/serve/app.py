"""The HTTP service: thin routes over `Searcher`; domain errors become HTTP answers in one place
(`qa.serve.http_errors`), through the exception handlers here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from importlib.resources import files
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, field_validator
from pydantic.config import JsonDict
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa import __version__
from qa.encoders.loading import load_encoder
from qa.errors import IndexUnavailableError, QAError, SourceNotFoundError
from qa.indexing.staleness import index_problems
from qa.retrieval.search import DEFAULT_K, MAX_K, MAX_QUESTION_CHARS, Searcher, SearchResponse
from qa.serve import heap, metrics
from qa.serve.access import presented_key, require_reader
from qa.serve.access_log import RequestObserver, log_search
from qa.serve.admission import Admission, AdmissionLimits, is_costly
from qa.serve.batching import micro_batched
from qa.serve.http_errors import ErrorBody, domain_error_response, error_response
from qa.serve.http_hygiene import DOCS_POLICY, SecurityHeaders, StaticFile, demo_page_policy
from qa.serve.rate_limit import RateLimiter
from qa.serve.reload import IndexReloader, served
from qa.serve.request_types import IsoDate
from qa.serve.routes.documents import router as document_router
from qa.serve.routes.probes import add_probe_routes
from qa.serve.shedding import ShedWhenFull
from qa.settings import SearchMode, Settings, get_settings
from qa.store import SearchFilter, Source
from qa.store.choice import open_store

log = logging.getLogger("qa.serve.app")

# The largest request body the service reads, in bytes. A search body is far smaller: even a
# 2,000-character question with every character escaped as a surrogate pair is 24,000 bytes.
MAX_BODY_BYTES = 64 * 1024


# The blank-question rule, shown in the schema (the validators enforce it, with clearer
# messages): at least one character that is not white space.
NOT_BLANK: JsonDict = {"pattern": r"\S"}


class SearchRequest(BaseModel):
    question: str = Field(
        max_length=MAX_QUESTION_CHARS,
        examples=["Quelle puce ByteDance développe-t-il ?"],
        json_schema_extra=NOT_BLANK,
    )
    # Strict: a JSON integer only, not true, "5" or 1e1 (the query string's k stays lax).
    k: int = Field(
        DEFAULT_K, ge=1, le=MAX_K, strict=True, description="Number of passages to return."
    )
    mode: SearchMode | None = Field(
        None, description="Retrieval mode; the service default if absent."
    )
    sources: list[str] | None = Field(None, description="Only passages of these articles.")
    published_after: IsoDate | None = Field(
        None, description="Only articles published on or after."
    )
    published_before: IsoDate | None = Field(
        None, description="Only articles published on or before."
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("must not be blank")
        return question


class SourceSummary(BaseModel):
    name: str
    title: str
    chunks: int


class SourceList(BaseModel):
    sources: list[SourceSummary]


# Async, like /health and /ready: it does no blocking work, so it takes no thread of the pool.
async def get_searcher(request: Request) -> Searcher:
    return served(request.app.state)


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


async def get_admission(request: Request) -> Admission:
    admission: Admission | None = getattr(request.app.state, "admission", None)
    if admission is None:
        raise IndexUnavailableError("the service is still loading its model and index")
    return admission


AdmissionDep = Annotated[Admission, Depends(get_admission)]


async def admitted_search(
    request: Request,
    admission: Admission,
    searcher: Searcher,
    question: str,
    k: int,
    mode: SearchMode | None,
    where: SearchFilter | None,
) -> SearchResponse:
    """The search, computed on the search pool once admission control lets it in."""
    log_search(
        request.state.request_id, question, k, mode, full=request.app.state.settings.log_questions
    )
    return await admission.run(
        lambda: searcher.search(question, k, mode, where),
        costly=is_costly(question, k),
        client_gone=request.is_disconnected,
    )


async def enforce_rate_limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    address = request.client.host if request.client else "unknown"
    limiter.check(presented_key(request, request.app.state.settings), address)


# The routes that read the index: behind the read keys if set, and rate-limited; the probes, the
# demo page and the documentation are neither.
READERS = [Depends(require_reader), Depends(enforce_rate_limit)]
READER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    429: {"model": ErrorBody},
}


async def require_json(request: Request) -> None:  # async: see qa/access.py
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(
            415, f"Content-Type must be application/json (got {content_type or 'none'!r})"
        )


class BodySizeLimit:
    """Refuses a request body over `max_bytes` with 413: from its Content-Length before reading
    any of it, or while it is read when it comes without one (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"the request body is over the {max_bytes}-byte limit"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "request_too_large", self.detail)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised where the route reads its body; the HTTPException handler answers.
                raise HTTPException(413, self.detail)
            return message

        await self.app(scope, receive_within_limit, send)


class JSONErrorCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is the service's JSON error, not plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = bytes(response.body).decode("utf-8", "replace")  # "Disallowed CORS origin"
        return error_response(response.status_code, "cors_refused", detail)


def create_app(settings: Settings | None = None, searcher: Searcher | None = None) -> FastAPI:
    """The application. The model and the index are loaded once, when it starts, unless a
    `searcher` already holding them is given (`qa serve` loads them first to fail early)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The index first: it is quick to load and the likelier to be missing.
        loaded = searcher or Searcher(open_store(settings), load_encoder(settings), settings)
        try:
            loaded.warm_up()
        except Exception:  # a question will meet the same failure, and get a JSON 500 for it
            log.exception("the warm-up search failed; serving anyway")
        heap.freeze()
        app.state.searcher = loaded
        app.state.admission = Admission(
            AdmissionLimits(
                workers=settings.search_workers,
                max_queued=settings.search_queue,
                deadline_s=settings.search_deadline_s,
            ),
            metrics.AdmissionMetrics(),
        )
        metrics.track_index(lambda: app.state.searcher and app.state.searcher.index.manifest)
        if reasons := index_problems(settings, loaded.index.manifest):
            log.warning("the index is stale (%s): rebuild it with `qa index`", "; ".join(reasons))
        with micro_batched(loaded, settings):  # questions embedded together, on one worker
            app.state.reloader = IndexReloader(app.state, settings)
            app.state.reloader.start()
            try:
                yield
            finally:
                await app.state.reloader.stop()
        app.state.admission.close()
        app.state.searcher = app.state.admission = None
        heap.thaw()

    # /docs and /redoc with their scripts served from the package: no CDN, the service is offline.
    app = FastAPIOffline(
        title="qa: questions over French news articles",
        version=__version__,
        description="Ask a question in any language; get the best-matching passages of the "
        "indexed articles, each tagged with its source file.",
        lifespan=lifespan,
        # Any operation may answer these; 405 is the answer to a method it does not have.
        responses={code: {"model": ErrorBody} for code in (405, 422, 500, 503)},
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.api_key_rate_limit)
    # Added first, so CORS wraps it: a browser can read its 413 too.
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(ShedWhenFull)  # before the body is read; CORS and the rest wrap it
    app.add_middleware(
        JSONErrorCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Content-Type", "Authorization"],
    )
    app.add_middleware(
        SecurityHeaders,
        page_policies={
            "/": demo_page_policy(_static("index.html"), _static("widget.js")),
            **{page: DOCS_POLICY for page in ("/docs", "/docs/oauth2-redirect", "/redoc")},
        },
    )
    app.add_middleware(RequestObserver)
    # Outermost: the client address every later layer sees is the forwarded one only when the
    # connection comes from a trusted proxy (none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    _add_error_handlers(app)
    _add_routes(app)
    add_probe_routes(app)
    # The document API: a key (401), an unknown article or no admin key (404), an article too
    # large (413) or of another type (415), an index that cannot be written (507).
    app.include_router(
        document_router,
        responses={code: {"model": ErrorBody} for code in (401, 404, 413, 415, 507)},
    )
    answer_head(app)
    return app


def _filter(
    sources: list[str] | None, after: date | None, before: date | None
) -> SearchFilter | None:
    if sources is None and after is None and before is None:
        return None
    return SearchFilter(frozenset(sources) if sources is not None else None, after, before)


def answer_head(app: FastAPI) -> None:
    """Every GET route (the API's, the demo's, fastapi-offline's documentation) answers HEAD by
    the same endpoint: GET's headers, no body. The HEAD routes stay out of the API schema, which
    would otherwise list every operation twice."""
    gets = [r for r in app.routes if isinstance(r, APIRoute) and r.methods and "GET" in r.methods]
    for route in gets:
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=["HEAD"],
            response_class=route.response_class,
            dependencies=route.dependencies,
            include_in_schema=False,
        )


def _add_routes(app: FastAPI) -> None:
    @app.post(
        "/search",
        response_model=SearchResponse,
        dependencies=[*READERS, Depends(require_json)],
        responses={413: {"model": ErrorBody}, 415: {"model": ErrorBody}, **READER_RESPONSES},
    )
    async def search_post(
        request: Request, body: SearchRequest, searcher: SearcherDep, admission: AdmissionDep
    ) -> SearchResponse:
        """Best passages for a question sent as JSON."""
        where = _filter(body.sources, body.published_after, body.published_before)
        return await admitted_search(
            request, admission, searcher, body.question, body.k, body.mode, where
        )

    @app.get(
        "/search",
        response_model=SearchResponse,
        dependencies=READERS,
        responses=READER_RESPONSES,
    )
    async def search_get(
        request: Request,
        searcher: SearcherDep,
        admission: AdmissionDep,
        q: Annotated[
            str,
            Query(
                max_length=MAX_QUESTION_CHARS,
                description="The question.",
                json_schema_extra=NOT_BLANK,
            ),
        ],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = DEFAULT_K,
        mode: SearchMode | None = None,
        sources: Annotated[list[str] | None, Query(description="Only these articles.")] = None,
        published_after: IsoDate | None = None,
        published_before: IsoDate | None = None,
    ) -> SearchResponse:
        """Best passages for a question sent in the query string."""
        where = _filter(sources, published_after, published_before)
        return await admitted_search(request, admission, searcher, q, k, mode, where)

    @app.get(
        "/sources",
        response_model=SourceList,
        dependencies=READERS,
        responses=READER_RESPONSES,
    )
    def list_sources(searcher: SearcherDep) -> SourceList:
        """The indexed articles, with their titles and number of passages."""
        counts: dict[str, int] = {}
        for chunk in searcher.index.chunks:
            counts[chunk.source] = counts.get(chunk.source, 0) + 1
        return SourceList(
            sources=[
                SourceSummary(name=s.name, title=s.title, chunks=counts.get(s.name, 0))
                for s in searcher.index.sources.values()
            ]
        )

    @app.get(
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

    # /health and /ready are `async def` doing no blocking work: they run on the event loop and
    # never wait for a thread behind searches, so a busy server still answers its probes.
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def demo_page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    widget_file = StaticFile.of(_static("widget.js"), "application/javascript")

    @app.get("/widget.js", include_in_schema=False)
    async def widget(request: Request) -> Response:
        return widget_file.response(request)


def _static(name: str) -> str:
    return files("qa.serve").joinpath("static", name).read_text(encoding="utf-8")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def domain_error(_: Request, error: QAError) -> JSONResponse:
        return domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe(error.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        unparsable = _unparsable_body(error)
        if unparsable is not None:
            return error_response(422, "invalid_request", unparsable)
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
            415: "unsupported_media_type",
        }
        headers = dict(error.headers or {})  # e.g. the `Allow` header a 405 must carry
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return error_response(
            error.status_code,
            code.get(error.status_code, "http_error"),
            str(error.detail),
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        # The connection may be in any state after an unexpected error: the client must not
        # reuse it.
        return error_response(
            500,
            "internal_error",
            "internal error; the server log has the details",
            headers={"Connection": "close"},
        )


def _unparsable_body(error: HTTPException) -> str | None:
    """The detail for a JSON body FastAPI could not parse and reports as a bare 400 (its JSON
    syntax errors come as validation errors instead): bytes that are not UTF-8, or nesting
    deeper than Python's recursion limit. None for any other HTTP error."""
    if error.status_code != 400:
        return None
    cause = error.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"body: malformed JSON at byte {cause.start} (not valid UTF-8)"
    if isinstance(cause, RecursionError):
        return "body: malformed JSON (nested too deeply)"
    return None


def _allowed_methods(request: Request) -> str:
    """Every method the routes of the request's path answer; Starlette's 405 names only those
    of the first route matching the path (POST for /search)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _describe(errors: Any) -> str:
    """One readable line from pydantic's error list: 'question: must not be blank; k: ...'."""
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            # Its location is ("body", character offset), not a field.
            reason = error.get("ctx", {}).get("error", "cannot parse")
            where = f" at character {location[-1]}" if location else ""
            message, location = f"malformed JSON{where} ({reason})", []
        parts.append(f"{'.'.join(location) or 'body'}: {message}")
    return "; ".join(parts)
