"""Question sets and answer matching: pure logic, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import QuestionSetError
from qa.evaluation.evaluate import (
    ANSWER,
    METRICS,
    Outcome,
    Question,
    answer_run,
    check_question_sets,
    contains_answer,
    load_questions,
    recall_at_1_ceiling,
    score,
    unknown_sources,
)

ANSWERABLE = Question(id="a", question="Qui ?", relevant=["x.txt"], answers=["X"])
UNANSWERABLE = Question(id="u", question="Quoi ?")


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_blank_lines_are_skipped_and_fields_default(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('\n{"id": "a", "question": "Qui ?"}\n\n', encoding="utf-8")

    assert load_questions(path) == [Question(id="a", question="Qui ?")]


def test_a_question_listing_a_file_is_refused_in_an_unanswerable_set(tmp_path: Path) -> None:
    path = write(tmp_path / "u.jsonl", UNANSWERABLE.model_dump(), ANSWERABLE.model_dump())

    assert load_questions(path) == [UNANSWERABLE, ANSWERABLE]
    with pytest.raises(QuestionSetError, match=r"u\.jsonl:2: relevant: must be empty"):
        load_questions(path, unanswerable=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no question"),
        ('{"id": "a", "question": "x"}\n{"id": "a", "question": "y"}\n', "duplicate ids a"),
        ('{"id": "a", "question": "x", "relevant": "x.txt"}\n', ":1: relevant"),
        ('{"id": "a", "question": "x"}\n{"id": "b", "question": "  "}\n', ":2: question: must not"),
        (json.dumps({"id": "a", "question": "x" * 2001}), ":1: question: at most 2000"),
    ],
)
def test_bad_sets_are_refused_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(QuestionSetError, match=message) as raised:
        load_questions(path)
    assert str(path) in str(raised.value)


def test_sets_with_nothing_to_rank_or_a_shared_id_are_refused() -> None:
    check_question_sets([ANSWERABLE, UNANSWERABLE], [])
    with pytest.raises(QuestionSetError, match="nothing to rank"):
        check_question_sets([UNANSWERABLE], [])
    with pytest.raises(QuestionSetError, match="both question sets: a"):
        check_question_sets([ANSWERABLE], [UNANSWERABLE.model_copy(update={"id": "a"})])


def test_unknown_sources_names_each_missing_file_with_its_questions() -> None:
    other = Question(id="b", question="Où ?", relevant=["x.txt", "y.txt"])

    assert unknown_sources([ANSWERABLE, other, UNANSWERABLE], {"y.txt"}) == {"x.txt": ["a", "b"]}
    assert unknown_sources([ANSWERABLE, other], {"x.txt", "y.txt"}) == {}


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("La puce SeedChip sera produite", ["seedchip"], True),
        ("pour 7\u00a0milliards de dollars", ["7 milliards"], True),
        ("pour 7\n  milliards", ["7 milliards"], True),
        ("pour 70 milliards", ["7 milliards"], False),
        ("n'importe quoi", ["", "  "], False),
        ("n'importe quoi", [], False),
    ],
)
def test_contains_answer_ignores_case_and_spacing(
    text: str, answers: list[str], expected: bool
) -> None:
    assert contains_answer(text, answers) is expected


def outcome(question: Question) -> Outcome:
    return Outcome(question, "fr", [], None, 0.0, flagged_answerable=True, top_passages=[])


def test_recall_at_1_ceiling_is_one_over_the_relevant_files_on_average() -> None:
    two = Question(id="b", question="Où ?", relevant=["x.txt", "y.txt"])
    four = Question(id="c", question="Quand ?", relevant=["1", "2", "3", "4"])

    assert recall_at_1_ceiling([outcome(ANSWERABLE)]) == 1.0
    assert recall_at_1_ceiling([outcome(ANSWERABLE), outcome(two), outcome(four)]) == (
        pytest.approx((1 + 0.5 + 0.25) / 3)
    )


def ranked(question: Question, sources: list[str], answer_rank: int | None) -> Outcome:
    return Outcome(question, "fr", sources, answer_rank, 0.9, True, [])


def test_hit_rates_and_answer_hits_are_ranx_scores_of_hand_made_rankings() -> None:
    two = Question(id="b", question="Où ?", relevant=["x.txt", "y.txt"])
    three = Question(id="c", question="Quand ?", relevant=["z.txt"])
    outcomes = [
        ranked(ANSWERABLE, ["x.txt", "w.txt"], answer_rank=1),  # hit at 1, answered at 1
        ranked(two, ["w.txt", "v.txt", "y.txt"], answer_rank=4),  # hit at 3, answered at 4
        ranked(three, ["w.txt"] + [f"{n}.txt" for n in range(8)], answer_rank=None),  # no hit
    ]

    metrics = score(outcomes, k=10)

    assert metrics["hit@1"] == pytest.approx(1 / 3)
    assert metrics["hit@5"] == pytest.approx(2 / 3)
    assert metrics["recall@5"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert metrics["answer@1"] == pytest.approx(1 / 3)
    assert metrics["answer@5"] == pytest.approx(2 / 3)
    assert set(metrics) == set(METRICS)


def test_answer_run_puts_the_pseudo_document_at_the_answer_rank() -> None:
    run = answer_run([ranked(ANSWERABLE, ["x.txt"], answer_rank=3)], k=10).to_dict()

    assert sorted(run["a"], key=lambda item: -run["a"][item]) == [
        "passage 1",
        "passage 2",
        ANSWER,
    ]


def test_no_answer_anywhere_scores_zero_instead_of_failing() -> None:
    metrics = score([ranked(ANSWERABLE, ["x.txt"], answer_rank=None)], k=10)

    assert metrics["answer@1"] == metrics["answer@5"] == 0.0
    assert metrics["hit@1"] == 1.0
