"""The routes an orchestrator polls: `/health`, `/ready`, `/metrics`.

The service serves them, and so does the probe port (`qa.serve.probes`) when one is set: both apps
add them (`add_probe_routes`) and share one state, so they say the same. All three are `async`
and do no blocking work on the event loop: they never wait for a thread behind searches.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from qa.indexing.staleness import index_problems
from qa.serve import metrics
from qa.serve.http_errors import ErrorBody
from qa.serve.reload import served


class Readiness(BaseModel):
    status: str
    model: str
    sources: int
    chunks: int
    built_at: str
    stale: list[str] = Field(
        description="Why the index no longer matches the corpus, if it does not."
    )
    version: str = Field(description="The published index version served.")
    engine: str = Field(description="The store and how it searches (exact, or HNSW when large).")
    corpus_changed: bool = Field(description="The corpus folder changed since that version.")


async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


async def ready(request: Request) -> Readiness:
    """Model and index are loaded; says which index version is served and whether the
    corpus folder changed since it was built."""
    searcher = served(request.app.state)
    manifest = searcher.index.manifest
    # Reading the corpus folder blocks: off the event loop, on a thread searches never use.
    reasons = await to_thread.run_sync(index_problems, request.app.state.settings, manifest)
    return Readiness(
        status="ready",
        model=manifest.model,
        sources=len(searcher.index.sources),
        chunks=manifest.chunk_count,
        built_at=manifest.built_at.isoformat(),
        stale=reasons,
        version=manifest.version,
        engine=searcher.index.engine,
        corpus_changed=bool(reasons),
    )


async def prometheus_metrics() -> Response:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def add_probe_routes(app: FastAPI) -> None:
    # Routes of the app itself, not an included router: `qa.serve.app.answer_head` gives them HEAD.
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route(
        "/ready",
        ready,
        methods=["GET"],
        response_model=Readiness,
        responses={503: {"model": ErrorBody}},
    )
    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"], include_in_schema=False)
