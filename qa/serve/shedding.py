"""Load shedding: a search the service has no room for is refused before it is read.

When every search worker and waiting place is taken (`Admission.refuse_if_full`), a request to
a search route gets its 503 here, ahead of its body, its validation and the route's
dependencies. Under a flood most requests are such refusals, and through the whole stack each
took about 1 ms of the event loop, the loop that also answers `/health` (docs/measurements.md,
"Load shedding and async key checks"). The answer is the route's own refusal: the same JSON body and
`Retry-After`, and, since the middlewares around this one still see it, the same security and
CORS headers, request id, log line and metrics. Refusing comes before checking the API key or
the rate limit: a service with no room says so to everyone.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.errors import OverloadedError
from qa.serve.admission import Admission
from qa.serve.http_errors import domain_error_response
from qa.serve.routes import every_route

SEARCH_PATHS = frozenset({"/search"})
SEARCH_METHODS = frozenset({"GET", "HEAD", "POST"})  # others get the router's 405


class ShedWhenFull:
    """ASGI middleware refusing requests to `paths` while the app's `state.admission` is
    full."""

    def __init__(self, app: ASGIApp, paths: frozenset[str] = SEARCH_PATHS) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] in self.paths
            and scope["method"] in SEARCH_METHODS
        ):
            admission: Admission | None = getattr(scope["app"].state, "admission", None)
            try:
                if admission is not None:
                    admission.refuse_if_full()
            except OverloadedError as error:
                scope["route"] = _route(scope)  # what the access log and metrics label it by
                await domain_error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _route(scope: Scope) -> BaseRoute | None:
    routes = every_route(scope["app"].router.routes)
    return next((route for route in routes if route.matches(scope)[0] == Match.FULL), None)
