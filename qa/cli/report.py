"""`qa report`: the readers' analytics of a period in the terminal (rich tables), or the JSON
`GET /analytics` answers; the judged questions as a question set for `qa eval`, the unanswered
clusters as CSV."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa.cli.arguments import console
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.analytics.report import AnalyticsReport
    from qa.search.encoders import Encoder

DEFAULT_DAYS = 30


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "--since", type=day, help=f"first day, YYYY-MM-DD (default: {DEFAULT_DAYS} days ago)"
    )
    report.add_argument("--until", type=day, help="last day, included (default: today, UTC)")
    report.add_argument("--json", action="store_true", help="print the JSON of GET /analytics")
    report.add_argument(
        "--export-eval",
        type=Path,
        metavar="FILE",
        help="write the judged questions as a question set for `qa eval`, and the others "
        "(no relevant source known) beside it in FILE's name + .unjudged.jsonl",
    )
    report.add_argument(
        "--export-gaps", type=Path, metavar="FILE.csv", help="write the unanswered clusters"
    )
    report.add_argument(
        "--index-dir",
        type=Path,
        help="index folder (QA_INDEX_DIR): the default analytics database is beside it",
    )


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day YYYY-MM-DD: {value!r}") from None


def run_report(
    args: argparse.Namespace, settings: Settings, *, load_encoder: Callable[[Settings], Encoder]
) -> int:
    from qa.analytics.exports import export_eval_questions, export_gaps
    from qa.analytics.report import draft_report
    from qa.analytics.sql import open_event_store

    until: date = args.until or datetime.now(UTC).date()
    since: date = args.since or until - timedelta(days=DEFAULT_DAYS - 1)
    store = open_event_store(settings, create=False)
    try:
        draft = draft_report(store, since, until)
        # The model is loaded (seconds) only when there are questions to cluster.
        report = draft.clustered(load_encoder(settings)) if draft.unanswered else draft.report
        notes = console if not args.json else Console(stderr=True, soft_wrap=True)
        if args.export_eval:
            written = export_eval_questions(store, since, until, args.export_eval)
            notes.print(
                f"{written.judged_questions} judged questions in {written.judged}, "
                f"{written.not_judged_questions} not judged in {written.not_judged}",
                markup=False,
                highlight=False,
            )
        if args.export_gaps:
            rows = export_gaps(report, args.export_gaps)
            notes.print(
                f"{len(report.unanswered_clusters)} unanswered clusters ({rows} questions) "
                f"in {args.export_gaps}",
                markup=False,
                highlight=False,
            )
    finally:
        store.close()
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print_report(report, console)
    return 0


def print_report(report: AnalyticsReport, out: Console) -> None:
    out.print(_summary(report))
    per_day = Table("day", "searches", title="Searches per day (days with none left out)")
    for count in report.searches_per_day:
        if count.searches:
            per_day.add_row(count.day.isoformat(), str(count.searches))
    out.print(per_day)

    top = Table("searches", "question (as first asked)", "language", title="Top questions")
    for question in report.top_questions:
        top.add_row(str(question.searches), Text(question.example), question.language)
    out.print(top)

    gaps = Table(
        "cluster", "searches", "questions (most asked first)", title="Unanswered questions"
    )
    for number, cluster in enumerate(report.unanswered_clusters, start=1):
        shown = "\n".join(f"{q.searches} × {q.example}" for q in cluster.questions[:5])
        more = len(cluster.questions) - 5
        gaps.add_row(str(number), str(cluster.searches), Text(shown + (f"\n+{more}" * (more > 0))))
    out.print(gaps)

    for title, sources in (
        ("Most shown sources (searches)", report.shown_sources),
        ("Most opened sources (opens)", report.opened_sources),
    ):
        table = Table("source", "count", title=title)
        for source in sources:
            table.add_row(Text(source.source), str(source.count))
        out.print(table)


def _summary(report: AnalyticsReport) -> Text:
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    feedback = report.feedback
    return Text(
        f"{report.since} to {report.until}: {report.searches} searches, "
        f"{share(report.answerable_share)} answerable; feedback: {feedback.helpful} helpful, "
        f"{feedback.not_helpful} not helpful, {feedback.open} opened; "
        f"helpful rate {share(report.helpful_rate)} of {report.judged_searches} judged; "
        f"{report.unanswered_searches} unanswered searches "
        f"({report.unanswered_questions} distinct questions)"
    )
