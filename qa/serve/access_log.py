"""Request ids, one JSON access-log line per request, and the request metrics.

`RequestObserver` is an ASGI middleware: it takes the request id from `X-Request-ID` when it
looks sane (else makes one), returns it in the response's `X-Request-ID`, and when the response
is done logs `{"time", "level", "logger", "message": "request", "request_id", "method", "route",
"status", "latency_ms", "client"}` to the `qa.serve.access` logger and counts it in the metrics. The
route is the template (`/sources/{name}`), never the query string: questions sent with GET stay
out of the log. `JSONLogFormatter` and `log_config` make every log line of `qa serve` JSON.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.serve.metrics import observe_request

access_log = logging.getLogger("qa.serve.access")

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted as given: what tracing systems send (UUIDs, hex trace ids, dotted or dashed ids).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The route label of a request that matched no route: one label, whatever the path.
UNMATCHED = "<unmatched>"
# The status of a request whose client left before its answer (nginx's convention).
CLIENT_GONE = 499
# Attributes every LogRecord has; anything else was passed with `extra=` and is output.
# uvicorn's `color_message` is its message with terminal colours: not for a JSON log.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def request_id_of(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER, "")
    return given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        status = CLIENT_GONE

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            observe_request(scope["method"], route, status, seconds)
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "latency_ms": round(seconds * 1000, 2),
                    "client": client[0] if client else None,
                },
            )


def log_search(request_id: str, question: str, k: int, mode: str | None, *, full: bool) -> None:
    """One line per search: its size always, the question itself only when `full`."""
    fields: dict[str, Any] = {
        "request_id": request_id,
        "question_chars": len(question),
        "k": k,
        "mode": mode,
    }
    if full:
        fields["question"] = question
    logging.getLogger("qa.search.retrieval.search").info("search", extra=fields)


class JSONLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for `qa serve`: the service's and uvicorn's loggers, JSON
    on standard error (uvicorn's own access log is off: `RequestObserver` writes it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JSONLogFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False}
            for name in ("qa", "uvicorn", "uvicorn.error")
        },
    }
