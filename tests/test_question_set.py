"""The committed question sets stay consistent with the articles they are about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qa.evaluation.evaluate import load_questions

ROOT = Path(__file__).resolve().parents[1]


def test_question_sets_agree_with_the_articles() -> None:
    checker = subprocess.run(
        [sys.executable, str(ROOT / "eval" / "check_questions.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checker.returncode == 0, checker.stdout + checker.stderr
    assert "0 error(s)" in checker.stdout


def test_question_sets_load_and_cover_the_languages() -> None:
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    unanswerable = load_questions(ROOT / "eval" / "unanswerable.jsonl")
    languages = [q.lang for q in questions]
    assert len(questions) >= 60
    assert languages.count("en") >= 10
    assert languages.count("fr") > len(questions) / 2
    assert len(set(languages) - {"fr", "en"}) >= 2
    assert len(unanswerable) >= 5
    assert all(not q.relevant for q in unanswerable)
