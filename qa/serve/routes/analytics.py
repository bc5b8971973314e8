"""`GET /analytics`: the editors' report of a period (`qa.analytics.report`), the JSON that
`qa report --json` prints. It needs the admin key, as the document API: 404 without one
configured, 401 without it; 404 too with analytics off."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from qa.analytics.report import AnalyticsReport, build_report
from qa.errors import InvalidQueryError
from qa.serve.access import require_admin
from qa.serve.deps import ReadySearcherDep, RecorderDep
from qa.serve.http_errors import ErrorBody
from qa.serve.http_hygiene import answer_head
from qa.serve.request_types import IsoDate

router = APIRouter(tags=["analytics"])

DEFAULT_DAYS = 30  # as `qa report`
MAX_DAYS = 3_660  # ten years: the report lists every day of its period


@router.get(
    "/analytics",
    dependencies=[Depends(require_admin)],
    responses={code: {"model": ErrorBody} for code in (401, 404, 503)},
)
async def analytics_report(
    recorder: RecorderDep,
    searcher: ReadySearcherDep,
    since: Annotated[
        IsoDate | None,
        Query(description=f"First day, UTC (default: {DEFAULT_DAYS} days before `until`)."),
    ] = None,
    until: Annotated[
        IsoDate | None, Query(description="Last day, included, UTC (default: today).")
    ] = None,
) -> AnalyticsReport:
    """What readers asked over whole UTC days: searches per day, the answerable share, the
    feedback, the top questions, the unanswered ones clustered, the sources shown and opened.
    422 when `until` is before `since` or the period is longer than ten years; 503 when the
    analytics database cannot be reached."""
    first, last = _period(since, until)
    store = recorder.report_store()
    # SQL aggregates, then the unanswered questions embedded with the served model: a thread.
    return await asyncio.to_thread(build_report, store, searcher.encoder, first, last)


def _period(since: date | None, until: date | None) -> tuple[date, date]:
    """The days asked for, the defaults filled in; a period too long to list day by day (or
    ending on the last day a date can hold) is refused."""
    last = until or datetime.now(UTC).date()
    if last == date.max:
        raise InvalidQueryError(f"until: {last} is past any search")
    default_days = min(DEFAULT_DAYS - 1, (last - date.min).days)  # no day before date.min
    first = since or last - timedelta(days=default_days)
    if (last - first).days >= MAX_DAYS:
        raise InvalidQueryError(f"a report covers {MAX_DAYS:,} days at most: {first} to {last}")
    return first, last


answer_head(router)
