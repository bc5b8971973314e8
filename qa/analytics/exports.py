"""What a report gives back: readers' judgments as a question set `qa eval` reads, and the
unanswered clusters as CSV for a spreadsheet.

A question set line is `{"id", "question", "relevant", "lang"}` (qa.evaluation's format) plus
`searches`, which `qa eval` ignores. A source is relevant to a question only when a reader
opened it from that question's results, or judged it helpful (last judgment, with its rank);
every other question asked goes to a second file, listed with no relevant source: nothing is
guessed."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Connection

from qa.analytics import queries
from qa.analytics.queries import Period, QuestionRow
from qa.analytics.report import AnalyticsReport, check_period
from qa.analytics.sql import SqlEventStore
from qa.errors import QAError

GAP_COLUMNS = ("cluster", "cluster_searches", "question", "normalised", "language", "searches")


@dataclass(frozen=True)
class EvalExport:
    judged: Path
    judged_questions: int
    not_judged: Path
    not_judged_questions: int


def not_judged_path(path: Path) -> Path:
    """Where the questions without a judgment go: `readers.jsonl` -> `readers.unjudged.jsonl`."""
    return path.with_name(f"{path.stem}.unjudged.jsonl")


def export_eval_questions(store: SqlEventStore, since: date, until: date, path: Path) -> EvalExport:
    period = check_period(since, until)
    questions, relevant = store.read(lambda connection: _judgments(connection, period))
    judged = [
        _line(row, sorted(relevant[row.normalised]))
        for row in questions
        if row.normalised in relevant
    ]
    rest = [_line(row, []) for row in questions if row.normalised not in relevant]
    other = not_judged_path(path)
    _write(path, judged)
    _write(other, rest)
    return EvalExport(path, len(judged), other, len(rest))


def export_gaps(report: AnalyticsReport, path: Path) -> int:
    """One row per question of each unanswered cluster, the largest cluster first; how many."""
    rows = [
        (number, cluster.searches, q.example, q.question, q.language, q.searches)
        for number, cluster in enumerate(report.unanswered_clusters, start=1)
        for q in cluster.questions
    ]
    try:
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(GAP_COLUMNS)
            writer.writerows(rows)
    except OSError as error:
        raise QAError(f"cannot write {path}: {error.strerror or error}") from error
    return len(rows)


def _judgments(
    connection: Connection, period: Period
) -> tuple[list[QuestionRow], dict[str, set[str]]]:
    questions = queries.question_counts(connection, period)
    return questions, queries.relevant_sources(connection, period)


def _line(row: QuestionRow, relevant: list[str]) -> dict[str, object]:
    # The id is the normalised question's: the same question keeps its id from one export to
    # the next, so that runs of `qa eval` on successive exports compare.
    digest = hashlib.sha256(row.normalised.encode()).hexdigest()[:12]
    line: dict[str, object] = {"id": f"reader-{digest}", "question": row.example}
    if relevant:
        line["relevant"] = relevant
    return line | {"lang": row.language, "searches": row.searches}


def _write(path: Path, lines: list[dict[str, object]]) -> None:
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise QAError(f"cannot write {path}: {error.strerror or error}") from error
