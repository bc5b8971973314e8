"""The application factory: it assembles the routers of `qa.serve.routes` (one per resource), the
middlewares, the exception handlers (`qa.serve.http_errors`: domain errors become HTTP answers
there, once) and the lifespan that loads the model and the index once. It answers no request
itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa import __version__
from qa.analytics.sql import open_event_store
from qa.indexing.staleness import index_problems
from qa.search.encoders.loading import load_encoder
from qa.search.retrieval.search import Searcher
from qa.search.store.choice import open_store
from qa.serve import heap, metrics
from qa.serve.access_log import RequestObserver
from qa.serve.admission import Admission, AdmissionLimits
from qa.serve.analytics_writer import SearchRecorder
from qa.serve.batching import micro_batched
from qa.serve.deps import FailedWarmUp
from qa.serve.http_errors import EXCEPTION_HANDLERS, ErrorBody, UnexpectedErrors
from qa.serve.http_hygiene import (
    DOCS_POLICY,
    JSONErrorCORSMiddleware,
    SecurityHeaders,
    answer_head,
)
from qa.serve.rate_limit import RateLimiter
from qa.serve.reload import IndexReloader
from qa.serve.request_body import BodySizeLimit, BodyTimeout
from qa.serve.routes import (
    admin,
    analytics,
    documents,
    feedback,
    probes,
    search,
    sources,
    widget,
)
from qa.serve.shedding import ShedWhenFull
from qa.settings import Settings, get_settings

log = logging.getLogger("qa.serve.app")

# The largest request body the service reads, in bytes. A search body is far smaller: even a
# 2,000-character question with every character escaped as a surrogate pair is 24,000 bytes.
# The document API takes articles up to QA_MAX_ARTICLE_BYTES: a news page's HTML is often
# 100-500 KB, a PDF more.
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None, searcher: Searcher | None = None) -> FastAPI:
    """The application. The model and the index are loaded once, when it starts, unless a
    `searcher` already holding them is given (`qa serve` loads them first to fail early)."""
    settings = settings or get_settings()
    # /docs and /redoc with their scripts served from the package: no CDN, the service is offline.
    app = FastAPIOffline(
        title="qa: questions over French news articles",
        version=__version__,
        description="Ask a question in any language; get the best-matching passages of the "
        "indexed articles, each tagged with its source file.",
        lifespan=partial(lifespan, settings=settings, searcher=searcher),
        # Any operation may answer these; 405 is the answer to a method it does not have.
        responses={code: {"model": ErrorBody} for code in (405, 422, 500, 503)},
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.api_key_rate_limit)
    _add_middlewares(app, settings)
    _include_routers(app)
    return app


def _add_middlewares(app: FastAPI, settings: Settings) -> None:
    """From the innermost to the outermost: each one added wraps those added before it."""
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout_s)
    # Added early, so CORS wraps it: a browser can read its 413 too.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=MAX_BODY_BYTES,
        path_limits={"/documents/": settings.max_article_bytes},
    )
    app.add_middleware(ShedWhenFull)  # before the body is read; CORS and the rest wrap it
    # Inside every middleware that adds headers, so that a 500 has them all.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(
        JSONErrorCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Content-Type", "Authorization"],
    )
    app.add_middleware(
        SecurityHeaders,
        page_policies={
            "/": widget.PAGE_POLICY,
            "/admin": admin.PAGE_POLICY,
            **{page: DOCS_POLICY for page in ("/docs", "/docs/oauth2-redirect", "/redoc")},
        },
    )
    app.add_middleware(RequestObserver)
    # Outermost: the client address every later layer sees is the forwarded one only when the
    # connection comes from a trusted proxy (none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def _include_routers(app: FastAPI) -> None:
    app.include_router(search.router)
    app.include_router(sources.router)
    app.include_router(widget.router)
    app.include_router(probes.router)
    app.include_router(feedback.router)
    # Needs the admin key, as the document API: none configured (404), a wrong one (401).
    app.include_router(analytics.router)
    app.include_router(admin.router)  # the editors' page: it asks for the key, and sends it
    # The document API: a key (401), an unknown article or no admin key (404), an article too
    # slow to arrive (408), too large (413) or of another type (415), an index that cannot be
    # written (507).
    app.include_router(
        documents.router,
        responses={code: {"model": ErrorBody} for code in (401, 404, 408, 413, 415, 507)},
    )
    answer_head(app.router)  # fastapi-offline's documentation pages, the app's own routes


@asynccontextmanager
async def lifespan(
    app: FastAPI, settings: Settings, searcher: Searcher | None
) -> AsyncIterator[None]:
    """Loads the model and the index (unless `searcher` holds them) and serves them until the
    app stops; the routes find them on `app.state` (`qa.serve.deps`)."""
    loaded = searcher or _load_searcher(settings)
    app.state.failed_warm_up = _warm_up(loaded)
    heap.freeze()
    app.state.searcher = loaded
    app.state.admission = _admission(settings)
    metrics.track_index(lambda: app.state.searcher and app.state.searcher.index.manifest)
    _warn_if_stale(settings, loaded)
    with micro_batched(loaded, settings):  # questions embedded together, on one worker
        async with (
            _recording(app.state, settings),
            _reloading(app.state, settings),
            _syncing(app.state, settings),
        ):
            yield
    app.state.admission.close()
    app.state.searcher = app.state.admission = None
    heap.thaw()


def _load_searcher(settings: Settings) -> Searcher:
    # The index first: it is quick to load and the likelier to be missing.
    return Searcher(open_store(settings), load_encoder(settings), settings)


def _warm_up(searcher: Searcher) -> FailedWarmUp | None:
    """None, or how the start-up search failed. The service is then not ready (/ready answers
    503 while this searcher is served) but still tries each search: an orchestrator sends it
    no traffic, and a failure that is not every question's does not refuse them all."""
    try:
        searcher.warm_up()
    except Exception as error:
        log.exception(
            "the warm-up search failed: /ready answers 503 until another index version is "
            "served; searches are still tried"
        )
        return FailedWarmUp(searcher, f"{type(error).__name__}: {error}")
    return None


def _admission(settings: Settings) -> Admission:
    limits = AdmissionLimits(
        workers=settings.search_workers,
        max_queued=settings.search_queue,
        deadline_s=settings.search_deadline_s,
    )
    return Admission(limits, metrics.AdmissionMetrics())


def _warn_if_stale(settings: Settings, searcher: Searcher) -> None:
    if reasons := index_problems(settings, searcher.index.manifest):
        log.warning("the index is stale (%s): rebuild it with `qa index`", "; ".join(reasons))


@asynccontextmanager
async def _recording(state: Any, settings: Settings) -> AsyncIterator[None]:
    """While inside, `state.recorder` records searches and feedback (None with analytics off);
    leaving writes what is queued, for `QA_SHUTDOWN_TIMEOUT_S` at most."""
    if not settings.analytics:
        state.recorder = None
        yield
        return
    recorder = SearchRecorder(settings, open_event_store)
    await asyncio.to_thread(recorder.start)  # opens the database: a moment on a network
    state.recorder = recorder
    try:
        yield
    finally:
        await asyncio.to_thread(recorder.stop, settings.shutdown_timeout_s)
        state.recorder = None


@asynccontextmanager
async def _reloading(state: Any, settings: Settings) -> AsyncIterator[None]:
    """While inside, `state.reloader` serves each newly published index version."""
    state.reloader = IndexReloader(state, settings)
    state.reloader.start()
    try:
        yield
    finally:
        await state.reloader.stop()


@asynccontextmanager
async def _syncing(state: Any, settings: Settings) -> AsyncIterator[None]:
    """While inside, the saved web sources are synced every `QA_SYNC_INTERVAL_MINUTES` (0:
    never), on a thread; leaving stops it (a run in progress stops between two pages)."""
    if settings.sync_interval_minutes <= 0:
        yield
        return
    # Imported only when syncing: the web client's libraries (httpx, feedparser) are 80 ms of a
    # start-up that serves searches only.
    from qa.serve import sync_loop

    interval_s = settings.sync_interval_minutes * sync_loop.SECONDS_PER_MINUTE
    syncing = sync_loop.ScheduledSync(state, settings, interval_s)
    syncing.start()
    try:
        yield
    finally:
        await asyncio.to_thread(syncing.stop, settings.shutdown_timeout_s)
