"""`qa report` as a process over an analytics database the test fills, and its exports read
back as `qa eval` reads question sets."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qa.analytics import Feedback, SqlEventStore
from qa.evaluation.evaluate import load_questions
from tests.conftest import assert_one_error_line, run_module
from tests.integration.analytics.events import search


def filled_database(path: Path, *, unanswered: bool = True) -> str:
    url = f"sqlite:///{path}"
    store = SqlEventStore(url)
    today = datetime.now(UTC).replace(hour=0, minute=5)
    asked = [
        search("Quel est le prix du pain ?", sources=("pain.txt", "ble.txt"), now=today),
        search("quel est le prix du pain", sources=("pain.txt", "ble.txt"), days_ago=1, now=today),
        search(
            "Qui est le maire de Lyon ?", sources=("lyon.txt", "maires.txt"), days_ago=2, now=today
        ),
        search("Météo à Lyon demain ?", sources=("meteo.txt",), days_ago=3, now=today),
        search(
            "Qui a gagné la coupe du monde 2018 ?", answerable=not unanswered, days_ago=4, now=today
        ),
        search("hors période", days_ago=40, now=today),
    ]
    store.record_searches(asked)
    store.record_feedback(Feedback(asked[0].search_id, today, "open", rank=1))
    store.record_feedback(Feedback(asked[2].search_id, today, "helpful", rank=2))
    store.record_feedback(Feedback(asked[3].search_id, today, "not_helpful"))
    store.close()
    return url


def qa_report(tmp_path: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_module("qa.cli", "report", *args, cwd=tmp_path, env={"QA_ANALYTICS_URL": url, **env})


def test_qa_report_prints_the_json_report_and_exports_what_qa_eval_reads(tmp_path: Path) -> None:
    url = filled_database(tmp_path / "analytics.sqlite3")
    judged, gaps = tmp_path / "readers.jsonl", tmp_path / "gaps.csv"
    result = qa_report(
        tmp_path, url, "--json", "--export-eval", str(judged), "--export-gaps", str(gaps)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["searches"] == 5  # the last 30 days, today included
    assert report["feedback"] == {"helpful": 1, "not_helpful": 1, "open": 1}
    assert report["top_questions"][0]["question"] == "quel est le prix du pain"
    clusters = [[q["example"] for q in c["questions"]] for c in report["unanswered_clusters"]]
    assert clusters == [["Qui a gagné la coupe du monde 2018 ?"], ["Météo à Lyon demain ?"]]

    questions = load_questions(judged)
    assert sorted((q.question, q.relevant) for q in questions) == [
        ("Qui est le maire de Lyon ?", ["maires.txt"]),
        ("quel est le prix du pain", ["pain.txt"]),
    ]
    not_judged = load_questions(tmp_path / "readers.unjudged.jsonl")
    assert sorted(q.question for q in not_judged) == [
        "Météo à Lyon demain ?",
        "Qui a gagné la coupe du monde 2018 ?",
    ]
    assert all(q.relevant == [] for q in not_judged)
    assert "2 judged questions" in result.stderr

    with gaps.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["cluster"], r["question"], r["searches"]) for r in rows] == [
        ("1", "Qui a gagné la coupe du monde 2018 ?", "1"),
        ("2", "Météo à Lyon demain ?", "1"),
    ]


def test_qa_report_prints_tables_and_loads_no_model_without_unanswered_questions(
    tmp_path: Path,
) -> None:
    url = filled_database(tmp_path / "analytics.sqlite3", unanswered=False)
    with_no_model = {"QA_MODEL": str(tmp_path / "no-model")}
    since = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    result = qa_report(tmp_path, url, "--since", since, **with_no_model)
    assert result.returncode == 0, result.stderr
    assert "3 searches" in result.stdout
    assert "Top questions" in result.stdout
    assert "Qui est le maire de Lyon ?" in result.stdout
    assert "Météo à Lyon" not in result.stdout  # before --since
    # With an unanswered question the model is needed: missing, it is one error line.
    unanswered = filled_database(tmp_path / "other.sqlite3")
    assert_one_error_line(
        qa_report(tmp_path, unanswered, **with_no_model), "no-model (QA_MODEL) does not exist"
    )


def test_bad_dates_and_a_missing_database_are_one_error_line(tmp_path: Path) -> None:
    url = filled_database(tmp_path / "analytics.sqlite3")
    assert_one_error_line(
        qa_report(tmp_path, url, "--since", "2026-02-30"), "not a day YYYY-MM-DD", status=2
    )
    assert_one_error_line(
        qa_report(tmp_path, url, "--since", "2026-03-02", "--until", "2026-03-01"),
        "until (2026-03-01) is before since (2026-03-02)",
    )
    missing = tmp_path / "none.sqlite3"
    assert_one_error_line(qa_report(tmp_path, f"sqlite:///{missing}"), "no analytics database at")
    assert not missing.exists()
