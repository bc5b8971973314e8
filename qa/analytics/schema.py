"""The analytics tables (SQLAlchemy Core, the same on SQLite and PostgreSQL) and their version.

A search is one row of `searches`, the passages it showed rows of `shown_results`, readers'
feedback rows of `feedback`. `schema_version` holds one number: a database written by a newer
version of qa is refused rather than misread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SCHEMA_VERSION = 1


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime, stored without its zone (SQLite keeps none): one meaning on both
    engines, and comparisons that are plain string or timestamp comparisons."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("analytics times must be aware (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class utc_day(FunctionElement[Any]):  # noqa: N801 (an SQL function's name)
    """The UTC day of a stored time, as a date: CAST on PostgreSQL, date() on SQLite (where
    CAST(... AS DATE) would keep only the year)."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_day)
def _day_cast(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(utc_day, "sqlite")
def _day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

searches = sa.Table(
    "searches",
    metadata,
    sa.Column("search_id", sa.String(32), primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("normalised", sa.Text, nullable=False, index=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("filters", sa.JSON, nullable=False),
    sa.Column("answerable", sa.Boolean, nullable=False),
    sa.Column("best_score", sa.Float, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("api_key", sa.String(200)),
)

shown_results = sa.Table(
    "shown_results",
    metadata,
    sa.Column("search_id", sa.ForeignKey("searches.search_id"), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False, index=True),
    sa.Column("chunk_id", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    # The order feedback arrived in: a reader's last judgment is the one with the highest id.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("search_id", sa.ForeignKey("searches.search_id"), nullable=False, index=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("rank", sa.Integer),
    sa.Column("comment", sa.Text),
)
