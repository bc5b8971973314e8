"""HTTP hygiene: security headers, relative redirects, cached and compressed static files, and a
time limit on request headers.

- `SecurityHeaders` (ASGI middleware) gives every response `X-Content-Type-Options: nosniff`,
  `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and a Content-Security-Policy: the
  API's forbids everything (JSON needs nothing), the demo page's allows only this origin's
  script and requests plus the two inline style sheets it has, by hash. It also makes a
  redirect's `Location` relative, so that the request's Host header is never copied into it.
- `StaticFile` answers with an `ETag`, `Cache-Control`, gzip when accepted, and 304 when the
  client already has the file.
- `h11_with_header_timeout` is uvicorn's h11 protocol closing a connection whose request
  headers are not complete within a time limit (uvicorn has none: a client that never finishes
  its headers would hold a connection for ever).
- `JSONErrorCORSMiddleware` is Starlette's CORS whose refused preflight is the service's JSON
  error.
- `answer_head` gives a router's GET routes a HEAD twin: GET's headers, no body.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa.serve.http_errors import error_response

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc (served by fastapi-offline) start with an inline script and style, and
# ReDoc runs a blob: worker; they load nothing from elsewhere.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Host sites load widget.js on every page view: an hour in their readers' caches, then a
# conditional request that costs a 304.
STATIC_CACHE_CONTROL = "public, max-age=3600"


def demo_page_policy(page_html: str, widget_js: str) -> str:
    """The demo page's CSP: as `page_policy`, the widget's shadow-DOM style sheet (its `STYLES`
    text) allowed too."""
    widget = re.search(r"const STYLES = `([^`$\\]*)`;", widget_js)
    if widget is None:
        raise ValueError("widget.js: no `const STYLES = `...`;` to hash for the CSP")
    return page_policy(page_html, widget.group(1))


def page_policy(page_html: str, *styles: str) -> str:
    """A page's CSP: scripts and requests to this origin only; styles only the page's own
    `<style>` elements and `styles`, by hash; no inline script, no style attribute."""
    inline = re.findall(r"<style>(.*?)</style>", page_html, re.S)
    hashes = " ".join(_csp_hash(text) for text in [*inline, *styles])
    return (
        f"default-src 'none'; script-src 'self'; connect-src 'self'; style-src {hashes}; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, page_policies: Mapping[str, str]) -> None:
        """`page_policies`: path -> CSP of the pages that need more than the API's."""
        self.app = app
        self.page_policies = page_policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.page_policies.get(scope["path"], API_POLICY)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in FIXED_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
                if "location" in headers:
                    headers["Location"] = _relative(headers["location"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _relative(location: str) -> str:
    """`http://any-host/docs?x` -> `/docs?x`: the app only ever redirects within itself."""
    parts = urlsplit(location)
    path = "/" + parts.path.lstrip("/")  # never `//host`, which a browser reads as a host
    return f"{path}?{parts.query}" if parts.query else path


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, text: str, media_type: str) -> StaticFile:
        body = text.encode("utf-8")
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        return cls(body, gzip.compress(body, mtime=0), media_type, etag)

    def response(self, request: Request) -> Response:
        headers = {
            "ETag": self.etag,
            "Cache-Control": STATIC_CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if self._client_has_it(request.headers):
            return Response(status_code=304, headers=headers)
        if _accepts_gzip(request.headers):
            headers["Content-Encoding"] = "gzip"
            return Response(self.gzipped, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)

    def _client_has_it(self, headers: Headers) -> bool:
        wanted = [
            tag.strip().removeprefix("W/") for tag in headers.get("if-none-match", "").split(",")
        ]
        return "*" in wanted or self.etag in wanted


def _accepts_gzip(headers: Headers) -> bool:
    for coding in headers.get("accept-encoding", "").lower().split(","):
        name, _, parameters = coding.partition(";")
        if name.strip() == "gzip":
            quality = parameters.strip().removeprefix("q=")
            return not re.fullmatch(r"0(\.0*)?", quality)
    return False


def h11_with_header_timeout(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection when a request's headers are not complete
    `seconds` after the connection opened or the previous response ended."""

    class H11WithHeaderTimeout(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._start_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._start_header_timer()

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a request's headers arrived and it has started
                self._stop_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _start_header_timer(self) -> None:
            self._stop_header_timer()
            if not self.transport.is_closing():
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return H11WithHeaderTimeout


class JSONErrorCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is the service's JSON error, not plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = bytes(response.body).decode("utf-8", "replace")  # "Disallowed CORS origin"
        return error_response(response.status_code, "cors_refused", detail)


def answer_head(router: APIRouter) -> None:
    """Every GET route of `router` answers HEAD by the same endpoint: GET's headers, no body.
    The HEAD routes stay out of the API schema, which would otherwise list every operation
    twice. Called once per router, after its routes: each resource's router at the end of its
    module, the app's own router (fastapi-offline's documentation pages) by the app factory."""
    gets = [
        r for r in router.routes if isinstance(r, APIRoute) and r.methods and "GET" in r.methods
    ]
    # A route's path and dependencies already hold the router's; `add_api_route` adds them again.
    inherited = len(router.dependencies)
    for route in gets:
        router.add_api_route(
            route.path.removeprefix(router.prefix),
            route.endpoint,
            methods=["HEAD"],
            response_model=route.response_model,
            response_class=route.response_class,
            dependencies=route.dependencies[inherited:],
            include_in_schema=False,
        )
