"""Prometheus metrics of the service (`GET /metrics`), with prometheus-client.

One registry for the process: every app created in it adds to the same series (a server runs
one app; tests read differences). Other modules report through the small functions here:
`observe_request` (the access-log middleware), `AdmissionMetrics` (admission control),
`observe_embedding_batch` (an embedding batcher), `track_index` (the loaded index) and
`analytics_written` / `analytics_dropped` (the analytics writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from qa.search.store import Manifest
from qa.serve.admission import AdmissionHooks

REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets from a cached probe (1 ms) to a search queued behind a full pool (30 s).
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

REQUESTS = Counter(
    "qa_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "qa_http_request_duration_seconds",
    "Time from the request to the end of its response, by method, route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SEARCHES_QUEUED = Gauge(
    "qa_searches_queued", "Searches admitted and waiting for a worker.", registry=REGISTRY
)
SEARCHES_IN_PROGRESS = Gauge(
    "qa_searches_in_progress", "Searches being computed.", registry=REGISTRY
)
ADMISSION_REFUSALS = Counter(
    "qa_admission_refusals",
    "Searches refused by admission control: queue_full, deadline or client_gone.",
    ["reason"],
    registry=REGISTRY,
)
for _reason in ("queue_full", "deadline", "client_gone"):
    ADMISSION_REFUSALS.labels(_reason)  # listed at 0 from the start, not only once it happens
EMBEDDING_BATCH_SIZE = Histogram(
    "qa_embedding_batch_size",
    "Texts per call to the encoder when serving questions.",
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
ANALYTICS_EVENTS_WRITTEN = Counter(
    "qa_analytics_events_written",
    "Search events written to the analytics database.",
    registry=REGISTRY,
)
ANALYTICS_EVENTS_DROPPED = Counter(
    "qa_analytics_events_dropped",
    "Search events dropped: queue_full (the writer's queue) or database (down or failing).",
    ["reason"],
    registry=REGISTRY,
)
for _reason in ("queue_full", "database"):
    ANALYTICS_EVENTS_DROPPED.labels(_reason)


def analytics_written(count: int) -> None:
    ANALYTICS_EVENTS_WRITTEN.inc(count)


def analytics_dropped(reason: str, count: int = 1) -> None:
    ANALYTICS_EVENTS_DROPPED.labels(reason).inc(count)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = (method, route, str(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)


def observe_embedding_batch(size: int) -> None:
    """To be called by the code that embeds questions, once per encoder call."""
    EMBEDDING_BATCH_SIZE.observe(size)


class AdmissionMetrics(AdmissionHooks):
    def queued(self, delta: int) -> None:
        SEARCHES_QUEUED.inc(delta)

    def running(self, delta: int) -> None:
        SEARCHES_IN_PROGRESS.inc(delta)

    def refused(self, reason: str) -> None:
        ADMISSION_REFUSALS.labels(reason).inc()


@dataclass(frozen=True)
class IndexFacts:
    """What the metrics say about the loaded index: the one place to add a field."""

    info: dict[str, str]
    built_at: float
    chunks: int
    sources: int

    @classmethod
    def of(cls, manifest: Manifest) -> IndexFacts:
        return cls(
            info={
                "model": manifest.model,
                "format": str(manifest.format),
                "built_at": manifest.built_at.isoformat(),
            },
            built_at=manifest.built_at.timestamp(),
            chunks=manifest.chunk_count,
            sources=len(manifest.corpus),
        )


class IndexCollector(Collector):
    """Reads the index facts at each scrape, so that the age is current and a reloaded index
    shows at once."""

    def __init__(self) -> None:
        self.current: Callable[[], Manifest | None] = lambda: None

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        manifest = self.current()
        if manifest is None:
            return
        facts = IndexFacts.of(manifest)
        yield InfoMetricFamily("qa_index", "The loaded index.", value=facts.info)
        yield GaugeMetricFamily(
            "qa_index_built_timestamp_seconds",
            "When the loaded index was built (Unix time).",
            value=facts.built_at,
        )
        yield GaugeMetricFamily(
            "qa_index_age_seconds",
            "Seconds since the loaded index was built.",
            value=time.time() - facts.built_at,
        )
        yield GaugeMetricFamily("qa_index_chunks", "Passages in the index.", value=facts.chunks)
        yield GaugeMetricFamily("qa_index_sources", "Articles in the index.", value=facts.sources)


_INDEX = IndexCollector()
REGISTRY.register(_INDEX)


def track_index(current: Callable[[], Manifest | None]) -> None:
    """Where the index metrics read the manifest of the index being served."""
    _INDEX.current = current


def exposition() -> bytes:
    return generate_latest(REGISTRY)
