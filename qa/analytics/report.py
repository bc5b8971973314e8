"""The editors' report of a period: what readers asked, what went unanswered (clustered), what
helped. `GET /analytics` answers it as JSON, `qa report` prints it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from qa.analytics import queries
from qa.analytics.queries import Period, QuestionRow
from qa.analytics.questions import CLUSTER_SIMILARITY, cluster_questions
from qa.analytics.sql import SqlEventStore
from qa.errors import InvalidQueryError
from qa.search.encoders.base import Encoder

TOP_QUESTIONS = 20
TOP_SOURCES = 20
# Distinct unanswered questions embedded and clustered, the most asked first: a report's cost
# stays bounded however many readers asked.
MAX_CLUSTERED_QUESTIONS = 500


class DayCount(BaseModel):
    day: date
    searches: int


class QuestionCount(BaseModel):
    question: str = Field(description="Normalised: lower case, no accents or punctuation.")
    example: str = Field(description="The question as it was first asked.")
    language: str = Field(description="Detected language of the example.")
    searches: int


class QuestionCluster(BaseModel):
    """Near-identical questions (by their embeddings), the most asked first."""

    searches: int
    questions: list[QuestionCount]


class SourceCount(BaseModel):
    source: str
    count: int


class FeedbackCounts(BaseModel):
    helpful: int = 0
    not_helpful: int = 0
    open: int = 0


class AnalyticsReport(BaseModel):
    """Searches of whole UTC days from `since` to `until` (included) and their feedback."""

    since: date
    until: date
    searches: int
    searches_per_day: list[DayCount] = Field(description="Every day of the period, zeros too.")
    answerable_searches: int
    answerable_share: float | None = Field(description="None when there was no search.")
    feedback: FeedbackCounts = Field(description="Feedback events on the period's searches.")
    judged_searches: int = Field(description="Searches judged helpful or not (the last counts).")
    helpful_rate: float | None = Field(description="Helpful / judged; None when none judged.")
    top_questions: list[QuestionCount]
    unanswered_searches: int = Field(description="Flagged not answerable, or judged not helpful.")
    unanswered_questions: int = Field(description="Distinct questions among them.")
    unanswered_clusters: list[QuestionCluster] = Field(
        description=f"The {MAX_CLUSTERED_QUESTIONS} most asked unanswered questions, clustered; "
        "the largest cluster first."
    )
    shown_sources: list[SourceCount] = Field(description="By the searches that showed them.")
    opened_sources: list[SourceCount] = Field(description="By the times readers opened them.")


def check_period(since: date, until: date) -> Period:
    if until < since:
        raise InvalidQueryError(f"until ({until}) is before since ({since})")
    return Period(since, until)


@dataclass(frozen=True)
class ReportDraft:
    """A report before its unanswered questions are clustered: `qa report` loads the model
    only when `unanswered` holds any."""

    report: AnalyticsReport
    unanswered: list[QuestionRow]  # the most asked first, at most MAX_CLUSTERED_QUESTIONS

    def clustered(self, encoder: Encoder) -> AnalyticsReport:
        if not self.unanswered:
            return self.report
        clusters = clusters_of(self.unanswered, encoder)
        return self.report.model_copy(update={"unanswered_clusters": clusters})


def build_report(
    store: SqlEventStore, encoder: Encoder, since: date, until: date
) -> AnalyticsReport:
    """The report of the period; `encoder` embeds the unanswered questions (only if any)."""
    return draft_report(store, since, until).clustered(encoder)


def draft_report(store: SqlEventStore, since: date, until: date) -> ReportDraft:
    """The report's aggregates, read in one transaction (one snapshot of the events)."""
    period = check_period(since, until)
    return store.read(lambda connection: _aggregates(connection, period))


def _aggregates(connection: Connection, period: Period) -> ReportDraft:
    searches, answerable = queries.search_totals(connection, period)
    per_day = queries.searches_per_day(connection, period)
    judged = queries.last_judgment_counts(connection, period)
    judged_total = sum(judged.values())
    unanswered = queries.unanswered_condition()
    unanswered_searches, unanswered_questions = queries.distinct_questions(
        connection, period, unanswered
    )
    report = AnalyticsReport(
        since=period.since,
        until=period.until,
        searches=searches,
        searches_per_day=[DayCount(day=day, searches=per_day.get(day, 0)) for day in _days(period)],
        answerable_searches=answerable,
        answerable_share=answerable / searches if searches else None,
        feedback=FeedbackCounts.model_validate(queries.feedback_counts(connection, period)),
        judged_searches=judged_total,
        helpful_rate=judged.get("helpful", 0) / judged_total if judged_total else None,
        top_questions=[
            _question(row)
            for row in queries.question_counts(connection, period, limit=TOP_QUESTIONS)
        ],
        unanswered_searches=unanswered_searches,
        unanswered_questions=unanswered_questions,
        unanswered_clusters=[],
        shown_sources=[
            SourceCount(source=source, count=count)
            for source, count in queries.shown_sources(connection, period, TOP_SOURCES)
        ],
        opened_sources=[
            SourceCount(source=source, count=count)
            for source, count in queries.opened_sources(connection, period, TOP_SOURCES)
        ],
    )
    to_cluster = queries.question_counts(
        connection, period, only=unanswered, limit=MAX_CLUSTERED_QUESTIONS
    )
    return ReportDraft(report, to_cluster)


def clusters_of(
    rows: list[QuestionRow], encoder: Encoder, threshold: float = CLUSTER_SIMILARITY
) -> list[QuestionCluster]:
    """The questions (most asked first) grouped by their embeddings, the largest group first."""
    vectors = encoder.embed_queries([row.example for row in rows])
    clusters = [
        QuestionCluster(
            searches=sum(rows[member].searches for member in cluster.members),
            questions=[_question(rows[member]) for member in cluster.members],
        )
        for cluster in cluster_questions(vectors, threshold)
    ]
    return sorted(clusters, key=lambda cluster: -cluster.searches)  # stable: ties keep order


def _question(row: QuestionRow) -> QuestionCount:
    return QuestionCount(
        question=row.normalised, example=row.example, language=row.language, searches=row.searches
    )


def _days(period: Period) -> list[date]:
    return [
        period.since + timedelta(days=offset)
        for offset in range((period.until - period.since).days + 1)
    ]
