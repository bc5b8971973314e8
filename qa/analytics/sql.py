"""`SqlEventStore`: the events in an SQL database through SQLAlchemy 2 Core, one code path for
SQLite (the default: a file beside the index folder, in WAL mode) and PostgreSQL (psycopg 3,
several replicas sharing one database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from qa.analytics.questions import normalise_question
from qa.analytics.records import MAX_COMMENT_CHARS, Feedback, SearchEvent
from qa.analytics.schema import (
    SCHEMA_VERSION,
    feedback,
    metadata,
    schema_version,
    searches,
    shown_results,
)
from qa.errors import AnalyticsError, InvalidFeedbackError, UnknownSearchError, require_extra
from qa.settings import Settings

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_SECONDS = 30  # the writer thread and a feedback may want the file at once


def open_event_store(settings: Settings, *, create: bool = True) -> SqlEventStore:
    """The event store of the settings' analytics database, its tables created if missing;
    with `create` False, a missing SQLite file is an AnalyticsError (a report reads, it does
    not leave an empty database behind)."""
    return SqlEventStore(settings.analytics_database, create=create)


def database_url(url: str) -> URL:
    """The SQLAlchemy URL to connect with: `postgresql://` taken as psycopg 3's."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise AnalyticsError(f"the analytics database URL {url!r} cannot be read") from error
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        require_extra("postgres", "a PostgreSQL analytics database", "psycopg")
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "sqlite":
        raise AnalyticsError(
            f"the analytics database must be sqlite:///PATH or postgresql://…, not "
            f"{parsed.render_as_string(hide_password=True)}"
        )
    return parsed


class SqlEventStore:
    """Searches, the results they showed and readers' feedback, in one SQL database.

    Safe to share between threads (the background writer, the request threads): each call takes
    a connection of the engine's pool for one transaction. Every database failure is an
    `AnalyticsError` naming the database (its password hidden)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = database_url(url)
        self.name = self.url.render_as_string(hide_password=True)
        if not create and _sqlite_file_missing(self.url):
            raise AnalyticsError(
                f"no analytics database at {self.url.database}: `qa serve` records searches "
                "there (QA_ANALYTICS_URL chooses another)"
            )
        self.engine = _engine(self.url)
        self._run(_create_or_check_schema)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def record_searches(self, events: Sequence[SearchEvent]) -> None:
        if not events:
            return
        search_rows = [_search_row(event) for event in events]
        result_rows = [
            {
                "search_id": event.search_id,
                "rank": shown.rank,
                "source": shown.source,
                "chunk_id": shown.chunk_id,
                "score": shown.score,
            }
            for event in events
            for shown in event.results
        ]

        def insert(connection: Connection) -> None:
            connection.execute(searches.insert(), search_rows)
            if result_rows:
                connection.execute(shown_results.insert(), result_rows)

        self._run(insert)

    def record_feedback(self, judgment: Feedback) -> None:
        if judgment.event == "open" and judgment.rank is None:
            raise InvalidFeedbackError("an open event names the result opened (rank)")
        if judgment.rank is not None and judgment.rank < 1:
            raise InvalidFeedbackError(f"rank must be 1 or more, not {judgment.rank}")
        if judgment.comment is not None and len(judgment.comment) > MAX_COMMENT_CHARS:
            raise InvalidFeedbackError(f"a comment holds at most {MAX_COMMENT_CHARS} characters")

        def insert(connection: Connection) -> None:
            shown = connection.execute(
                sa.select(sa.func.count(shown_results.c.rank))
                .select_from(searches.outerjoin(shown_results))
                .where(searches.c.search_id == judgment.search_id)
                .group_by(searches.c.search_id)
            ).scalar()
            if shown is None:
                raise UnknownSearchError(judgment.search_id)
            if judgment.rank is not None and judgment.rank > shown:
                raise InvalidFeedbackError(
                    f"rank {judgment.rank} is past the {shown} results of search "
                    f"{judgment.search_id!r}"
                )
            connection.execute(
                feedback.insert().values(
                    search_id=judgment.search_id,
                    at=judgment.at,
                    event=judgment.event,
                    rank=judgment.rank,
                    comment=judgment.comment,
                )
            )

        self._run(insert)  # committed when the transaction ends, before this returns

    def purge(self, before: datetime) -> int:
        old = sa.select(searches.c.search_id).where(searches.c.at < before)

        def delete(connection: Connection) -> int:
            connection.execute(feedback.delete().where(feedback.c.search_id.in_(old)))
            connection.execute(shown_results.delete().where(shown_results.c.search_id.in_(old)))
            return connection.execute(searches.delete().where(searches.c.at < before)).rowcount

        return self._run(delete)

    def read(self, work: Callable[[Connection], T]) -> T:
        """`work` done on a connection in one transaction (the reports' queries)."""
        return self._run(work)

    def close(self) -> None:
        self.engine.dispose()

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self._database_errors(), self.engine.begin() as connection:
            return work(connection)

    @contextmanager
    def _database_errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise AnalyticsError(f"analytics database {self.name}: {cause}") from error


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _write_ahead(connection: Any, _: object) -> None:
        # WAL: readers (reports) never block the writer; a commit is a write to the log.
        connection.execute("PRAGMA journal_mode=WAL")

    return engine


def _sqlite_file_missing(url: URL) -> bool:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return not Path(url.database).exists()


def _create_or_check_schema(connection: Connection) -> None:
    if sa.inspect(connection).has_table(schema_version.name):
        found = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
        if found is not None and found > SCHEMA_VERSION:
            raise AnalyticsError(
                f"the analytics database has schema version {found}, newer than version "
                f"{SCHEMA_VERSION} this qa knows: upgrade qa, or set QA_ANALYTICS_URL to "
                "another database"
            )
    else:
        found = None
    metadata.create_all(connection)
    if found is None:
        connection.execute(schema_version.insert().values(version=SCHEMA_VERSION))


def _search_row(event: SearchEvent) -> dict[str, object]:
    return {
        "search_id": event.search_id,
        "at": event.at,
        "question": event.question,
        "normalised": normalise_question(event.question),
        "language": event.language,
        "mode": event.mode,
        "k": event.k,
        "filters": dict(event.filters),
        "answerable": event.answerable,
        "best_score": event.best_score,
        "latency_ms": event.latency_ms,
        "api_key": event.api_key,
    }
