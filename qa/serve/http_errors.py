"""Domain errors as HTTP answers: the one place where errors meet status codes.

Every error the application emits has the same JSON body (`ErrorBody`); the API's exception
handlers (`EXCEPTION_HANDLERS`, which the app factory and the probe app install), the
middlewares that answer before the router (body size, load shedding) and `UnexpectedErrors`
(any other exception: a JSON 500, logged once) build it here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import (
    AccessDeniedError,
    AnalyticsError,
    ClientGoneError,
    CorpusError,
    DocumentError,
    DocumentNotFoundError,
    IndexLockedError,
    IndexUnavailableError,
    IndexWriteError,
    InvalidFeedbackError,
    InvalidQueryError,
    LastDocumentError,
    ModelError,
    OverloadedError,
    QAError,
    RateLimitedError,
    RetryLaterError,
    SourceNotFoundError,
    UnknownSearchError,
    WritesUnavailableError,
)
from qa.serve.routes import every_route

log = logging.getLogger("qa.serve.http_errors")

# When to try again after an analytics database that cannot be used: the analytics writer
# tries to open one that failed at start this often (`qa.serve.analytics_writer`).
ANALYTICS_RETRY_AFTER_S = 30

# Domain error -> (HTTP status, machine-readable code).
ERROR_STATUS: dict[type[QAError], tuple[int, str]] = {
    InvalidQueryError: (422, "invalid_request"),
    SourceNotFoundError: (404, "unknown_source"),
    IndexUnavailableError: (503, "index_unavailable"),
    ModelError: (503, "model_unavailable"),
    CorpusError: (503, "corpus_unavailable"),
    # Before DocumentError, its base: the first matching entry wins.
    LastDocumentError: (409, "last_document"),
    DocumentError: (422, "invalid_document"),
    DocumentNotFoundError: (404, "unknown_document"),
    AccessDeniedError: (401, "unauthorized"),
    IndexLockedError: (503, "index_busy"),
    WritesUnavailableError: (503, "writes_unavailable"),
    IndexWriteError: (507, "index_write_failed"),
    OverloadedError: (503, "overloaded"),
    RateLimitedError: (429, "rate_limited"),
    UnknownSearchError: (404, "unknown_search"),
    InvalidFeedbackError: (422, "invalid_request"),
    AnalyticsError: (503, "analytics_unavailable"),
    # nginx's code for a client that closed the connection: only the log and metrics see it.
    ClientGoneError: (499, "client_gone"),
}


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable error code.")
    detail: str = Field(description="What was wrong, for a person.")


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        ErrorBody(error=code, detail=detail).model_dump(), status_code=status, headers=headers
    )


def domain_error_response(error: QAError) -> JSONResponse:
    """The answer to `error`: its status and code, and `Retry-After` when it says when."""
    status, code = next(
        (value for kind, value in ERROR_STATUS.items() if isinstance(error, kind)),
        (500, "internal_error"),
    )
    headers = {}
    if isinstance(error, RetryLaterError):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, AnalyticsError):
        headers["Retry-After"] = str(ANALYTICS_RETRY_AFTER_S)
    return error_response(status, code, str(error), headers=headers)


async def domain_error(_: Request, error: QAError) -> JSONResponse:
    return domain_error_response(error)


async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    return error_response(422, "invalid_request", _describe(error.errors()))


# Starlette's HTTP errors (the router's 404 and 405, and the routes' own) -> machine codes.
HTTP_ERROR_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_too_large",
    415: "unsupported_media_type",
}


async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    unparsable = _unparsable_body(error)
    if unparsable is not None:
        return error_response(422, "invalid_request", unparsable)
    headers = dict(error.headers or {})  # e.g. the `Allow` header a 405 must carry
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return error_response(
        error.status_code,
        HTTP_ERROR_CODES.get(error.status_code, "http_error"),
        str(error.detail),
        headers=headers,
    )


def internal_error_response() -> JSONResponse:
    # The connection may be in any state after an unexpected error: the client must not
    # reuse it.
    return error_response(
        500,
        "internal_error",
        "internal error; the server log has the details",
        headers={"Connection": "close"},
    )


async def unexpected(_: Request, error: Exception) -> JSONResponse:
    """Starlette's last resort (its ServerErrorMiddleware, outside every middleware), reached
    only by an exception raised outside `UnexpectedErrors`; that middleware re-raises it and
    uvicorn logs it, so it is not logged here."""
    return internal_error_response()


class UnexpectedErrors:
    """ASGI middleware answering any exception nothing else handled: one log record with its
    traceback and the request id, and the JSON 500 sent through the middlewares around it, so
    that the answer has their headers (CORS, security headers, request id). Nothing is
    re-raised: the server would log the same error a second time. It sits inside every
    middleware that adds headers, since Starlette's own handler of `Exception` runs outside
    them all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        except Exception as error:
            # Too late for a 500 once the response has started: returning without ending it
            # makes uvicorn close the connection, so the client sees a cut answer, not a whole.
            what = "connection closed" if started else "answered 500"
            log.error(
                "unexpected error: %s",
                what,
                exc_info=error,
                extra={"request_id": scope.get("state", {}).get("request_id")},
            )
            if not started:
                await internal_error_response()(scope, receive, send)


# What the app factory and the probe app install (FastAPI's `exception_handlers`).
EXCEPTION_HANDLERS: dict[
    int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]
] = {
    QAError: domain_error,
    RequestValidationError: invalid_request,
    HTTPException: http_error,
    Exception: unexpected,
}


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
    for route in every_route(request.app.router.routes):
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
