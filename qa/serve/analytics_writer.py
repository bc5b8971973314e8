"""Search events written off the request path: a search puts its event on a bounded queue and
one background thread inserts them in batches. A full queue or a database that is down drops
events (counted in /metrics, `qa_analytics_events_dropped_total{reason}`): a search never fails
or waits because of analytics. Feedback is different: a reader's click is written before
`POST /feedback` answers (`record_feedback`), its search first if that is still queued.

The thread also purges, once a day, the events older than `QA_ANALYTICS_RETENTION_DAYS`, and
reopens a database that could not be opened at start every `REOPEN_INTERVAL_S`."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from qa.analytics import Feedback, SearchEvent, ShownResult, new_search_id
from qa.analytics.sql import SqlEventStore
from qa.errors import AnalyticsError, QAError
from qa.search.retrieval.search import SearchResponse
from qa.search.store import SearchFilter
from qa.serve import metrics
from qa.settings import Settings

log = logging.getLogger("qa.serve.analytics")

MAX_BATCH = 500  # events per insert: one transaction, well under a second on SQLite
REOPEN_INTERVAL_S = 30.0  # the Retry-After of a refused /feedback says as much (http_errors)
PURGE_INTERVAL_S = 24 * 3600.0
GATHER_S = 1.0  # a batch takes the events that come this long after its first
GATHER_POLL_S = 0.05
POLL_S = 0.5  # how often an idle writer looks whether it should stop, purge or reopen

StoreOpener = Callable[[Settings], SqlEventStore]


def search_event(
    response: SearchResponse,
    k: int,
    where: SearchFilter | None,
    latency_s: float,
    api_key: str | None,
) -> SearchEvent:
    """What is recorded of a search: its answer, and the name of the key that asked."""
    return SearchEvent(
        search_id=new_search_id(),
        at=datetime.now(UTC),
        question=response.question,
        language=response.language,
        mode=response.mode,
        k=k,
        filters=_filters(where),
        answerable=response.answerable,
        best_score=response.best_score,
        results=tuple(
            ShownResult(
                rank=passage.rank,
                source=passage.source,
                chunk_id=_chunk_number(passage.chunk_id),
                score=passage.score,
            )
            for passage in response.results
        ),
        latency_ms=round(latency_s * 1000, 2),
        api_key=api_key,
    )


def _chunk_number(chunk_id: str) -> int:
    """A passage's number in its article: chunk ids are `NAME#N` (`qa.content.corpus.chunk`); -1 for
    any other, rather than a search that fails for its analytics."""
    number = chunk_id.rpartition("#")[2]
    return int(number) if number.isascii() and number.isdigit() else -1


def _filters(where: SearchFilter | None) -> dict[str, object]:
    """The conditions given, JSON-ready: sorted lists of strings, ISO dates."""
    if where is None:
        return {}
    sets = {"sources": where.sources, "languages": where.languages, "sites": where.sites}
    dates = {"published_after": where.published_after, "published_before": where.published_before}
    return {
        **{name: sorted(values) for name, values in sets.items() if values is not None},
        **{name: day.isoformat() for name, day in dates.items() if day is not None},
    }


class SearchRecorder:
    """The service's side of the analytics: the queue, the writer thread, and the store."""

    def __init__(self, settings: Settings, open_store: StoreOpener) -> None:
        self.settings = settings
        self.database: SqlEventStore | None = None
        self._open_store = open_store
        self._ids: queue.Queue[str] = queue.Queue(maxsize=settings.analytics_queue)
        # Enough queued to write at once: half a small queue, so that gathering never fills it.
        self._batch_goal = min(MAX_BATCH, settings.analytics_queue // 2) - 1
        # The queued events by id: whoever pops an event writes it (the writer's batch or a
        # feedback that names it), so each is written once.
        self._pending: dict[str, SearchEvent] = {}
        # Held while a batch is taken and written: a feedback waits for the batch holding its
        # search to be committed rather than find the search missing.
        self._writing = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qa-analytics-writer", daemon=True)
        self._next_open = 0.0
        self._failing = False
        self._next_purge = 0.0

    # ------------------------------------------------------------------ the request side

    def start(self) -> None:
        self._try_open()
        self._thread.start()

    def record(self, event: SearchEvent) -> None:
        """Queue a search's event; never blocks, never raises: a full queue drops it."""
        self._pending[event.search_id] = event
        try:
            self._ids.put_nowait(event.search_id)
        except queue.Full:
            self._pending.pop(event.search_id, None)
            metrics.analytics_dropped("queue_full")

    def record_feedback(self, feedback: Feedback) -> None:
        """Write a feedback durably, its search first if that is still queued (blocking: run
        it on a thread). `UnknownSearchError` for a search never recorded."""
        store = self._store_or_refuse()
        with self._writing:
            event = self._pending.pop(feedback.search_id, None)
            if event is not None:
                self._write(store, [event])
        try:
            store.record_feedback(feedback)
        except QAError:
            raise  # an unknown search, a rank past the results: the reader's mistake
        except Exception as error:  # the database's own errors: whatever the driver raises
            raise AnalyticsError(f"the analytics database failed: {error}") from error

    def report_store(self) -> SqlEventStore:
        return self._store_or_refuse()

    def stop(self, timeout_s: float) -> None:
        """Write what is queued, for `timeout_s` at most, then close the database."""
        self._stopping.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning(
                "analytics: %d search events not written at shutdown (%.0f s limit)",
                self._ids.qsize(),
                timeout_s,
            )
            return  # the thread still uses the store; the process exit ends both
        if self.database is not None:
            self.database.close()

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self._write_queued(batch)
            elif self._stopping.is_set():
                return
            self._maintain()

    def _next_batch(self) -> list[str]:
        try:
            ids = [self._ids.get(timeout=POLL_S)]
        except queue.Empty:
            return []
        # Gather for a moment: one insert of many events costs the process (and the GIL the
        # searches need) a fraction of many small ones (SQLite: 2.5 ms for one event alone,
        # 0.06 ms each in 500). They wait in the queue, which keeps its bound.
        deadline = time.monotonic() + GATHER_S
        while self._ids.qsize() < self._batch_goal and time.monotonic() < deadline:
            if self._stopping.wait(GATHER_POLL_S):
                break
        while len(ids) < MAX_BATCH:
            try:
                ids.append(self._ids.get_nowait())
            except queue.Empty:
                break
        return ids

    def _write_queued(self, ids: list[str]) -> None:
        with self._writing:
            events = [event for id_ in ids if (event := self._pending.pop(id_, None))]
            if not events:
                return  # each was written with the feedback that named it
            if self.database is None:
                metrics.analytics_dropped("database", len(events))
                return
            with contextlib.suppress(AnalyticsError):  # counted and logged by _write
                self._write(self.database, events)

    def _write(self, store: SqlEventStore, events: list[SearchEvent]) -> None:
        try:
            store.record_searches(events)
        except Exception as error:  # the database's own errors: whatever the driver raises
            metrics.analytics_dropped("database", len(events))
            if not self._failing:  # one line when it starts failing, not one per batch
                log.warning("analytics: the database failed, search events dropped: %s", error)
            self._failing = True
            raise AnalyticsError(f"the analytics database failed: {error}") from error
        if self._failing:
            log.info("analytics: the database works again")
        self._failing = False
        metrics.analytics_written(len(events))

    def _maintain(self) -> None:
        now = time.monotonic()
        if self.database is None and now >= self._next_open and not self._stopping.is_set():
            self._try_open()
        if self.database is not None and now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL_S
            self._purge()

    def _try_open(self) -> None:
        self._next_open = time.monotonic() + REOPEN_INTERVAL_S
        try:
            self.database = self._open_store(self.settings)
        except Exception as error:
            log.error(
                "analytics: cannot open the database (%s): searches are served, their events "
                "dropped; /feedback answers 503; trying again every %.0f s",
                error,
                REOPEN_INTERVAL_S,
            )

    def _purge(self) -> None:
        assert self.database is not None
        before = datetime.now(UTC) - timedelta(days=self.settings.analytics_retention_days)
        try:
            purged = self.database.purge(before)
        except Exception as error:
            log.warning("analytics: the daily purge failed: %s", error)
            return
        if purged:
            log.info("analytics: %d searches older than %s purged", purged, before.date())

    def _store_or_refuse(self) -> SqlEventStore:
        if self.database is None:
            raise AnalyticsError(
                "the analytics database cannot be reached right now; try again later"
            )
        return self.database
