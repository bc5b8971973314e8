"""Domain errors as HTTP answers: the one place where errors meet status codes.

Every error the application emits has the same JSON body (`ErrorBody`); the API's exception
handlers and the middlewares that answer before the router (body size, load shedding) build it
here.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa.errors import (
    AccessDeniedError,
    ClientGoneError,
    CorpusError,
    DocumentError,
    DocumentNotFoundError,
    IndexLockedError,
    IndexUnavailableError,
    IndexWriteError,
    InvalidQueryError,
    ModelError,
    OverloadedError,
    QAError,
    RateLimitedError,
    RetryLaterError,
    SourceNotFoundError,
)

# Domain error -> (HTTP status, machine-readable code).
ERROR_STATUS: dict[type[QAError], tuple[int, str]] = {
    InvalidQueryError: (422, "invalid_request"),
    SourceNotFoundError: (404, "unknown_source"),
    IndexUnavailableError: (503, "index_unavailable"),
    ModelError: (503, "model_unavailable"),
    CorpusError: (503, "corpus_unavailable"),
    DocumentError: (422, "invalid_document"),
    DocumentNotFoundError: (404, "unknown_document"),
    AccessDeniedError: (401, "unauthorized"),
    IndexLockedError: (503, "index_busy"),
    IndexWriteError: (507, "index_write_failed"),
    OverloadedError: (503, "overloaded"),
    RateLimitedError: (429, "rate_limited"),
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
    return error_response(status, code, str(error), headers=headers)
