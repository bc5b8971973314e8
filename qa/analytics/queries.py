"""The reports' aggregations, in SQL (GROUP BY, window functions) on either engine: a report
reads counts and one row per distinct question, never every event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from qa.analytics.schema import feedback, searches, shown_results, utc_day


@dataclass(frozen=True)
class Period:
    """Whole UTC days, `until` included."""

    since: date
    until: date

    @property
    def condition(self) -> ColumnElement[bool]:
        start = datetime.combine(self.since, time(), UTC)
        end = datetime.combine(self.until + timedelta(days=1), time(), UTC)
        return sa.and_(searches.c.at >= start, searches.c.at < end)


@dataclass(frozen=True)
class QuestionRow:
    normalised: str
    example: str  # as it was first asked
    language: str
    searches: int


def _last_judgments() -> sa.Subquery:
    """Each judged search's last helpful/not_helpful (a reader may change their mind)."""
    last_ids = (
        sa.select(sa.func.max(feedback.c.id).label("id"))
        .where(feedback.c.event.in_(["helpful", "not_helpful"]))
        .group_by(feedback.c.search_id)
        .subquery()
    )
    return (
        sa.select(feedback.c.search_id, feedback.c.event, feedback.c.rank)
        .join(last_ids, feedback.c.id == last_ids.c.id)
        .subquery("last_judgments")
    )


def search_totals(connection: Connection, period: Period) -> tuple[int, int]:
    """Searches, and how many of them were flagged answerable."""
    answerable = sa.func.coalesce(sa.func.sum(sa.case((searches.c.answerable, 1), else_=0)), 0)
    row = connection.execute(sa.select(sa.func.count(), answerable).where(period.condition)).one()
    return int(row[0]), int(row[1])


def searches_per_day(connection: Connection, period: Period) -> dict[date, int]:
    day = utc_day(searches.c.at).label("day")
    rows = connection.execute(
        sa.select(day, sa.func.count()).where(period.condition).group_by(day)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def feedback_counts(connection: Connection, period: Period) -> dict[str, int]:
    """Feedback events of the period's searches, by event."""
    return _counts_by_event(connection, period, feedback)


def last_judgment_counts(connection: Connection, period: Period) -> dict[str, int]:
    """Judged searches of the period by their last judgment."""
    return _counts_by_event(connection, period, _last_judgments())


def _counts_by_event(
    connection: Connection, period: Period, events: sa.Table | sa.Subquery
) -> dict[str, int]:
    rows = connection.execute(
        sa.select(events.c.event, sa.func.count())
        .join(searches, events.c.search_id == searches.c.search_id)
        .where(period.condition)
        .group_by(events.c.event)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def unanswered_condition() -> ColumnElement[bool]:
    """Flagged not answerable, or judged not helpful in the end."""
    last = _last_judgments()
    not_helpful = sa.select(last.c.search_id).where(last.c.event == "not_helpful")
    return sa.or_(sa.not_(searches.c.answerable), searches.c.search_id.in_(not_helpful))


def question_counts(
    connection: Connection,
    period: Period,
    *,
    only: ColumnElement[bool] | None = None,
    limit: int | None = None,
) -> list[QuestionRow]:
    """Distinct (normalised) questions with their searches, most asked first (ties: first
    asked first), each with its first wording."""
    condition = period.condition if only is None else sa.and_(period.condition, only)
    by_question = (searches.c.normalised,)
    ranked = (
        sa.select(
            searches.c.normalised,
            searches.c.question,
            searches.c.language,
            searches.c.at,
            sa.func.row_number()
            .over(partition_by=by_question, order_by=(searches.c.at, searches.c.search_id))
            .label("nth"),
            sa.func.count().over(partition_by=by_question).label("searches"),
        )
        .where(condition)
        .subquery()
    )
    query = (
        sa.select(ranked.c.normalised, ranked.c.question, ranked.c.language, ranked.c.searches)
        .where(ranked.c.nth == 1)
        .order_by(ranked.c.searches.desc(), ranked.c.at, ranked.c.normalised)
        .limit(limit)
    )
    return [QuestionRow(row[0], row[1], row[2], int(row[3])) for row in connection.execute(query)]


def distinct_questions(
    connection: Connection, period: Period, only: ColumnElement[bool]
) -> tuple[int, int]:
    """Searches matching `only`, and the distinct questions among them."""
    row = connection.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(searches.c.normalised))).where(
            period.condition, only
        )
    ).one()
    return int(row[0]), int(row[1])


def shown_sources(connection: Connection, period: Period, limit: int) -> list[tuple[str, int]]:
    """Sources by the number of searches that showed them."""
    shown = sa.func.count(sa.distinct(shown_results.c.search_id)).label("shown")
    rows = connection.execute(
        sa.select(shown_results.c.source, shown)
        .join(searches, shown_results.c.search_id == searches.c.search_id)
        .where(period.condition)
        .group_by(shown_results.c.source)
        .order_by(shown.desc(), shown_results.c.source)
        .limit(limit)
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def _results_pointed_at(event: str) -> sa.Subquery:
    """(search_id, rank) of the results readers opened, or judged helpful in the end."""
    if event == "open":
        return (
            sa.select(feedback.c.search_id, feedback.c.rank)
            .where(feedback.c.event == "open")
            .subquery()
        )
    last = _last_judgments()
    return (
        sa.select(last.c.search_id, last.c.rank)
        .where(last.c.event == "helpful", last.c.rank.is_not(None))
        .subquery()
    )


def _with_source(pointed: sa.Subquery) -> sa.Select[str, str]:
    return (
        sa.select(searches.c.normalised, shown_results.c.source)
        .select_from(pointed)
        .join(
            shown_results,
            sa.and_(
                shown_results.c.search_id == pointed.c.search_id,
                shown_results.c.rank == pointed.c.rank,
            ),
        )
        .join(searches, searches.c.search_id == pointed.c.search_id)
    )


def opened_sources(connection: Connection, period: Period, limit: int) -> list[tuple[str, int]]:
    """Sources by the number of times readers opened them from a search's results."""
    opened = _with_source(_results_pointed_at("open")).where(period.condition).subquery()
    count = sa.func.count().label("opens")
    rows = connection.execute(
        sa.select(opened.c.source, count)
        .group_by(opened.c.source)
        .order_by(count.desc(), opened.c.source)
        .limit(limit)
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def relevant_sources(connection: Connection, period: Period) -> dict[str, set[str]]:
    """Normalised question -> the sources readers opened from it or judged helpful."""
    pointed = sa.union(
        _with_source(_results_pointed_at("open")).where(period.condition),
        _with_source(_results_pointed_at("helpful")).where(period.condition),
    )
    relevant: dict[str, set[str]] = {}
    for row in connection.execute(pointed):
        relevant.setdefault(row[0], set()).add(row[1])
    return relevant
