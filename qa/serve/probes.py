"""The probe port: `/health`, `/ready` and `/metrics` on a port and event loop of their own.

Under a flood the service's event loop has a queue of requests to answer or refuse, and a
probe sent to the service's port waits its turn behind them (`make loadtest` at 128 clients:
tens of milliseconds; figures in docs/measurements.md, "The probe port under a flood"). With
`QA_PROBE_PORT`, `qa serve` also answers the probes on that port, from a second uvicorn server
running in a thread with its own event loop, which sees no client traffic: a few milliseconds
under the same flood. The probe app shares the service's state (the searcher it serves) and its
error handlers and headers, so both ports say the same thing in the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from qa.serve.access_log import RequestObserver
from qa.serve.http_errors import EXCEPTION_HANDLERS, UnexpectedErrors
from qa.serve.http_hygiene import SecurityHeaders
from qa.serve.routes import probes

log = logging.getLogger("qa.serve.probes")

STOP_TIMEOUT_S = 10.0


def probe_app(service: FastAPI) -> FastAPI:
    """An app with only the probe routes, reading `service`'s state."""
    app = FastAPI(
        openapi_url=None, docs_url=None, redoc_url=None, exception_handlers=EXCEPTION_HANDLERS
    )
    app.state = service.state
    app.include_router(probes.router)
    app.add_middleware(UnexpectedErrors)  # inside the others, as in the service
    app.add_middleware(SecurityHeaders, page_policies={})
    app.add_middleware(RequestObserver)
    return app


@contextmanager
def serving_in_thread(config: uvicorn.Config | None) -> Iterator[None]:
    """While inside, `config`'s app is served by a uvicorn server in a thread of its own
    (nothing when `config` is None); it stops on the way out."""
    if config is None:
        yield
        return
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only in the main thread: SIGTERM stays the service's.
    thread = threading.Thread(target=server.run, name="qa-probes", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            log.warning("the probe server did not stop within %g s", STOP_TIMEOUT_S)
