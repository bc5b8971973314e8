"""One `APIRouter` module per resource of the HTTP API: `search`, `sources`, `documents`,
`feedback`, `analytics`, `probes` (`/health`, `/ready`, `/metrics`) and `widget` (the demo page
and its script). Each router answers HEAD on its GET routes
(`qa.serve.http_hygiene.answer_head`); `qa.serve.app` includes them all."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute


def every_route(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """`routes` with each included router replaced by its own routes. FastAPI keeps a router
    included by `include_router` as one route of the app, which does not say which of its
    routes matches a request; the 405's `Allow` header and the shed request's route label need
    that. The routers are included without a prefix (each has its own), so their routes match
    a request as they are."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is None:
            yield route
        else:
            yield from every_route(included.routes)
