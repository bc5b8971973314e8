"""What the routes depend on, as `Annotated` aliases (`SettingsDep`, `SearcherDep`, ...).

Each dependency reads what the app factory and the lifespan (`qa.serve.app`) put on
`request.app.state`: the settings, the rate limiter, the served searcher, admission control and
the analytics' recorder.
All are `async` although none waits: FastAPI runs a plain `def` dependency on
its thread pool, a round trip per request (see `qa.serve.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from qa.errors import IndexUnavailableError
from qa.search.retrieval.search import Searcher
from qa.serve.access import presented_key, require_reader
from qa.serve.admission import Admission
from qa.serve.analytics_writer import SearchRecorder
from qa.serve.http_errors import ErrorBody
from qa.serve.rate_limit import RateLimiter
from qa.serve.reload import served
from qa.settings import Settings


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_searcher(request: Request) -> Searcher:
    """The searcher served when the request arrives; it keeps it to the end (`qa.serve.reload`)."""
    return served(request.app.state)


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


@dataclass(frozen=True)
class FailedWarmUp:
    """The start-up search failed on `searcher` (`qa.serve.app`): not ready while it is served.
    A version the reloader serves later is not concerned."""

    searcher: Searcher
    reason: str


async def get_ready_searcher(request: Request) -> Searcher:
    """The served searcher, if it is ready: loaded, and not one whose start-up search failed."""
    searcher = served(request.app.state)
    failed: FailedWarmUp | None = getattr(request.app.state, "failed_warm_up", None)
    if failed is not None and failed.searcher is searcher:
        raise IndexUnavailableError(
            f"the start-up search failed ({failed.reason}); the server log has the details"
        )
    return searcher


ReadySearcherDep = Annotated[Searcher, Depends(get_ready_searcher)]


async def get_admission(request: Request) -> Admission:
    admission: Admission | None = getattr(request.app.state, "admission", None)
    if admission is None:
        raise IndexUnavailableError("the service is still loading its model and index")
    return admission


AdmissionDep = Annotated[Admission, Depends(get_admission)]


async def get_recorder(request: Request) -> SearchRecorder | None:
    """What records searches and takes feedback; None with QA_ANALYTICS=off."""
    recorder: SearchRecorder | None = getattr(request.app.state, "recorder", None)
    return recorder


RecorderOrNoneDep = Annotated[SearchRecorder | None, Depends(get_recorder)]


async def require_recorder(recorder: RecorderOrNoneDep) -> SearchRecorder:
    """The recorder, for the routes that exist only with analytics on: else 404."""
    if recorder is None:
        raise HTTPException(
            404, "analytics are off on this service (QA_ANALYTICS=off): nothing is recorded"
        )
    return recorder


RecorderDep = Annotated[SearchRecorder, Depends(require_recorder)]


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


async def enforce_rate_limit(
    request: Request, limiter: RateLimiterDep, settings: SettingsDep
) -> None:
    address = request.client.host if request.client else "unknown"
    limiter.check(presented_key(request, settings), address)


# The routes that read the index: behind the read keys if set, and rate-limited; the probes, the
# demo page and the documentation are neither.
READERS = [Depends(require_reader), Depends(enforce_rate_limit)]
READER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    429: {"model": ErrorBody},
}
