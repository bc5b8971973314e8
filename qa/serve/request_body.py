"""Bounds on reading a request body, as ASGI middlewares that wrap `receive`.

- `BodySizeLimit` refuses a body over a size with 413, before or while reading it.
- `BodyTimeout` refuses with 408, and closes the connection of, a request whose body has not
  fully arrived some seconds after its headers: uvicorn bounds nothing past the headers (whose
  own limit is `qa.serve.http_hygiene.h11_with_header_timeout`), so a client sending its body
  a byte at a time would hold a connection and a request for as long as it liked.

Both raise their refusal as an `HTTPException` where the route reads the body; the handler of
`qa.serve.http_errors` answers it inside every header-adding middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.serve.http_errors import error_response


class BodySizeLimit:
    """Refuses a request body over its path's limit with 413: from its Content-Length before
    reading any of it, or while it is read when it comes without one (chunked). The limit is
    `max_bytes`, or that of the longest prefix of `path_limits` the path starts with."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = sorted((path_limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_of(self, path: str) -> int:
        return next(
            (limit for prefix, limit in self.path_limits if path.startswith(prefix)),
            self.max_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        detail = f"the request body is over the {limit}-byte limit"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, "request_too_large", detail)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # Raised where the route reads its body; the HTTPException handler answers.
                raise HTTPException(413, detail)
            return message

        await self.app(scope, receive_within_limit, send)


class BodyTimeout:
    """Refuses with 408 a request whose body is not complete `seconds` after the request
    started (its headers had arrived), and closes its connection: the rest of the body may
    still be on its way, so the connection cannot carry another request."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.detail = f"the request body did not arrive within {seconds:g} s"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_complete = False

        async def receive_in_time() -> Message:
            nonlocal body_complete
            if body_complete:  # what follows the body is the disconnect, however late
                return await receive()
            try:
                # Past the deadline, a part that has already arrived is still returned: only
                # waiting for one is cut short.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408, self.detail, headers={"Connection": "close"}) from None
            body_complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        await self.app(scope, receive_in_time, send)
