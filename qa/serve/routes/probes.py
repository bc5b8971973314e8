"""The routes an orchestrator polls: `/health`, `/ready`, `/metrics`.

The service serves them, and so does the probe port (`qa.serve.probes`) when one is set: both
apps include this router and share one state, so they say the same. All three are `async` and do
no blocking work on the event loop: they never wait for a thread behind searches.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from qa.indexing.staleness import index_problems
from qa.serve import metrics
from qa.serve.deps import ReadySearcherDep, SettingsDep
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head

router = APIRouter()


class Readiness(BaseModel):
    status: str
    model: str
    sources: int
    chunks: int
    built_at: str
    stale: list[str] = Field(
        description="Why the index no longer matches the corpus or the settings (model, "
        "encoder precision, chunking, index format), if it does not."
    )
    version: str = Field(description="The published index version served.")
    engine: str = Field(description="The store and how it searches (exact, or HNSW when large).")
    corpus_changed: bool = Field(description="The corpus folder changed since that version.")


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/ready", response_model=Readiness, responses={503: {"model": ErrorBody}})
async def ready(searcher: ReadySearcherDep, settings: SettingsDep) -> Readiness:
    """Model and index are loaded and the start-up search passed; says which index version is
    served and whether the corpus folder changed since it was built."""
    manifest = searcher.index.manifest
    # Reading the corpus folder blocks: off the event loop, on a thread searches never use.
    reasons = await to_thread.run_sync(index_problems, settings, manifest)
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


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


answer_head(router)
