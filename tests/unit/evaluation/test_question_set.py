"""The committed question sets stay consistent with the articles they are about."""

from __future__ import annotations

import runpy

import pytest

from qa.evaluation.evaluate import load_questions
from tests.conftest import ROOT


def test_question_sets_agree_with_the_articles(capsys: pytest.CaptureFixture[str]) -> None:
    """`eval/check_questions.py`, its `main` run in this process."""
    checker = runpy.run_path(str(ROOT / "eval" / "check_questions.py"))

    status = checker["main"]([])

    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    assert "0 error(s)" in printed.out


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
