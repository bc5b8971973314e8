"""Measure retrieval on a fixed question set: ranking metrics (ranx), answer hits, answerability."""

from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table
from rich.text import Text

from qa.content.extract import detect_language
from qa.errors import InvalidQueryError, QuestionSetError
from qa.search.retrieval.search import DEFAULT_K, Passage, Searcher, validate_query
from qa.settings import SearchMode

if TYPE_CHECKING:
    from ranx import Qrels, Run

# Our metric name -> ranx's. Document metrics score the ranked source files against the relevant
# ones; answer@k is ranx's hit rate of a run whose item at the rank of the first passage holding
# an answer is the pseudo-document ANSWER (so that ranx's paired tests apply to it too).
DOCUMENT_METRICS = {
    "hit@1": "hit_rate@1",
    "hit@5": "hit_rate@5",
    "recall@1": "recall@1",
    "recall@5": "recall@5",
    "recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
ANSWER_METRICS = {"answer@1": "hit_rate@1", "answer@5": "hit_rate@5"}
METRICS = (*DOCUMENT_METRICS, *ANSWER_METRICS)
ANSWER = "answer"


class Question(BaseModel):
    """One line of a question set (JSON Lines)."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    relevant: list[str] = Field(default_factory=list, description="Every file that answers it.")
    answers: list[str] = Field(
        default_factory=list, description="A passage answers if it contains one of these."
    )
    lang: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the service answered to one question."""

    question: Question
    language: str
    sources: list[str]  # ranked source files, first occurrence of each
    answer_rank: int | None  # rank of the first passage that answers, if any
    best_score: float
    flagged_answerable: bool
    top_passages: list[Passage]

    @property
    def expected_answerable(self) -> bool:
        return bool(self.question.relevant)

    def hit_at(self, depth: int) -> bool:
        return bool(set(self.sources[:depth]) & set(self.question.relevant))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.question.id,
            "question": self.question.question,
            "lang": self.language,
            "relevant": self.question.relevant,
            "sources": self.sources,
            "answer_rank": self.answer_rank,
            "best_score": self.best_score,
            "answerable": self.flagged_answerable,
            "expected_answerable": self.expected_answerable,
        }


@dataclass(frozen=True)
class Report:
    name: str  # the mode, or the configuration compared
    mode: SearchMode
    k: int
    metrics: dict[str, float]
    by_language: dict[str, dict[str, float]]
    outcomes: list[Outcome]  # answerable questions
    unanswerable: list[Outcome]

    def as_json(self) -> dict[str, Any]:
        return {
            **{name: round(value, 4) for name, value in self.metrics.items()},
            "questions": [o.as_json() for o in self.outcomes + self.unanswerable],
        }

    def half(self, parity: int) -> Report:
        """The report on every other answerable question: 0 the first, third…, 1 the second…"""
        outcomes = self.outcomes[parity::2]
        return Report(
            name=self.name,
            mode=self.mode,
            k=self.k,
            metrics=score(outcomes, self.k),
            by_language={},
            outcomes=outcomes,
            unanswerable=self.unanswerable,
        )

    @property
    def misses_at_5(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.hit_at(5)]

    def threshold_sweep(self) -> list[tuple[float, int, int]]:
        """(threshold, answerable flagged answerable, unanswerable flagged not) at each
        observed best score: what `QA_ANSWERABLE_THRESHOLD` would give on this set."""
        scores = sorted({o.best_score for o in self.outcomes + self.unanswerable})
        return [
            (
                threshold,
                sum(o.best_score >= threshold for o in self.outcomes),
                sum(o.best_score < threshold for o in self.unanswerable),
            )
            for threshold in scores
        ]

    @property
    def answerability(self) -> tuple[int, int, int, int]:
        """(answerable flagged answerable, answerable, unanswerable flagged not, unanswerable)."""
        right = sum(o.flagged_answerable for o in self.outcomes)
        refused = sum(not o.flagged_answerable for o in self.unanswerable)
        return right, len(self.outcomes), refused, len(self.unanswerable)


def load_questions(path: Path, *, unanswerable: bool = False) -> list[Question]:
    """A question set; any bad line is an error naming the file and the line.

    In a set of `unanswerable` questions, a question that lists a relevant file is an error.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionSetError(f"cannot read question set {path}: {error}") from error
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate_json(line))
            validate_query(questions[-1].question, DEFAULT_K)  # what the service would refuse
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise QuestionSetError(f"{path}:{number}: {where}: {first['msg']}") from error
        except InvalidQueryError as error:
            raise QuestionSetError(f"{path}:{number}: {error}") from error
        if unanswerable and questions[-1].relevant:
            raise QuestionSetError(
                f"{path}:{number}: relevant: must be empty for a question the corpus cannot answer"
            )
    if duplicates := _repeated(q.id for q in questions):
        raise QuestionSetError(f"{path}: duplicate ids {', '.join(duplicates)}")
    if not questions:
        raise QuestionSetError(f"{path}: no question")
    return questions


def check_question_sets(questions: Sequence[Question], unanswerable: Sequence[Question]) -> None:
    """Refuse sets that cannot be scored together: nothing to rank, or one id twice."""
    if not any(q.relevant for q in questions):
        raise QuestionSetError(
            "no question lists a relevant file, so there is nothing to rank "
            "(questions the corpus cannot answer are scored only beside answerable ones)"
        )
    if duplicates := _repeated(q.id for q in [*questions, *unanswerable]):
        raise QuestionSetError(f"ids used in both question sets: {', '.join(duplicates)}")


def unknown_sources(
    questions: Sequence[Question], indexed: Collection[str]
) -> dict[str, list[str]]:
    """Relevant files that are not in the index -> the questions listing them.

    Such a question can never be answered: a typo, or a question set for another corpus.
    """
    unknown: dict[str, list[str]] = defaultdict(list)
    for question in questions:
        for name in question.relevant:
            if name not in indexed:
                unknown[name].append(question.id)
    return dict(unknown)


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """True if one of the answers occurs in the text, ignoring case and spacing."""
    haystack = _fold(text)
    return any(_fold(answer) in haystack for answer in answers if answer.strip())


def ask(searcher: Searcher, question: Question, k: int, mode: SearchMode) -> Outcome:
    response = searcher.search(question.question, k=k, mode=mode)
    sources = list(dict.fromkeys(p.source for p in response.results))
    answer_rank = next(
        (
            p.rank
            for p in response.results
            if p.source in question.relevant and contains_answer(p.text, question.answers)
        ),
        None,
    )
    return Outcome(
        question=question,
        language=question.lang or detect_language(question.question),
        sources=sources,
        answer_rank=answer_rank,
        best_score=response.best_score,
        flagged_answerable=response.answerable,
        top_passages=response.results[:3],
    )


def document_qrels(outcomes: Sequence[Outcome]) -> Qrels:
    from ranx import Qrels  # numba compiles on import: only when evaluating

    return Qrels({o.question.id: dict.fromkeys(o.question.relevant, 1) for o in outcomes})


def document_run(outcomes: Sequence[Outcome], k: int, name: str = "run") -> Run:
    from ranx import Run

    return Run(
        {o.question.id: {s: float(k - rank) for rank, s in enumerate(o.sources)} for o in outcomes},
        name=name,
    )


def answer_qrels(outcomes: Sequence[Outcome]) -> Qrels:
    from ranx import Qrels

    return Qrels({o.question.id: {ANSWER: 1} for o in outcomes})


def answer_run(outcomes: Sequence[Outcome], k: int, name: str = "run") -> Run:
    """Per question, the passages above the first that answers, then ANSWER at its rank."""
    from ranx import Run

    ranks = {o.question.id: o.answer_rank for o in outcomes if o.answer_rank is not None}
    return Run(
        {
            question: {
                **{f"passage {r}": float(k - r) for r in range(1, rank)},
                ANSWER: float(k - rank),
            }
            for question, rank in ranks.items()
        }
        # A run with no question at all would be refused: one that answers nothing instead.
        or {outcomes[0].question.id: {"passage 1": 1.0}},
        name=name,
    )


def ranx_scores(qrels: Qrels, run: Run, metrics: Sequence[str]) -> dict[str, float]:
    from ranx import evaluate as ranx_evaluate

    with warnings.catch_warnings():
        # ranx's numba kernels warn about an integer cast that cannot overflow here.
        warnings.filterwarnings("ignore", message="unsafe cast")
        scores = ranx_evaluate(qrels, run, list(metrics), make_comparable=True)
    return (
        {name: float(scores[name]) for name in metrics}
        if len(metrics) > 1
        else {metrics[0]: float(scores)}
    )


def score(outcomes: Sequence[Outcome], k: int) -> dict[str, float]:
    """Document-level ranking metrics and passage-level answer hits, all computed by ranx."""
    documents = ranx_scores(
        document_qrels(outcomes), document_run(outcomes, k), list(DOCUMENT_METRICS.values())
    )
    answers = ranx_scores(
        answer_qrels(outcomes), answer_run(outcomes, k), list(ANSWER_METRICS.values())
    )
    return {
        **{name: documents[ranx] for name, ranx in DOCUMENT_METRICS.items()},
        **{name: answers[ranx] for name, ranx in ANSWER_METRICS.items()},
    }


def evaluate(
    searcher: Searcher,
    questions: Sequence[Question],
    unanswerable: Sequence[Question] = (),
    *,
    k: int = 10,
    mode: SearchMode = "hybrid",
    name: str | None = None,
    progress: bool = False,
) -> Report:
    """Ask every question and score the answers; the report is called `name` (the mode)."""
    check_question_sets(questions, unanswerable)
    answerable = [q for q in questions if q.relevant]
    unanswerable = [*unanswerable, *(q for q in questions if not q.relevant)]
    everything = [*answerable, *unanswerable]
    name = name or mode
    asked = track(everything, description=name, transient=True) if progress else everything
    outcomes = [ask(searcher, question, max(k, 5), mode) for question in asked]
    answered, refused = outcomes[: len(answerable)], outcomes[len(answerable) :]
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in answered:
        groups[outcome.language].append(outcome)
    return Report(
        name=name,
        mode=mode,
        k=k,
        metrics=score(answered, k),
        by_language={lang: score(group, k) for lang, group in sorted(groups.items())},
        outcomes=answered,
        unanswerable=refused,
    )


def recall_at_1_ceiling(outcomes: Sequence[Outcome]) -> float:
    """The best recall@1 any ranking could reach on these questions."""
    return sum(1 / len(o.question.relevant) for o in outcomes) / len(outcomes)


def write_trec(report: Report, folder: Path) -> None:
    """The run and the qrels in TREC format, for trec_eval or ir-measures."""
    folder.mkdir(parents=True, exist_ok=True)
    document_qrels(report.outcomes).save(str(folder / "qrels.trec"))
    document_run(report.outcomes, report.k, report.name).save(
        str(folder / f"run-{_file_name(report.name)}.trec")
    )


def print_report(reports: Sequence[Report], console: Console) -> None:
    """Metric tables (overall and per language), answerability, and the misses."""
    overall = Table(title="Retrieval (documents: recall, MRR, nDCG; passages: answer)")
    overall.add_column("configuration" if len(reports) > 1 else "mode")
    for name in METRICS:
        overall.add_column(name, justify="right")
    overall.add_column("answerable ok", justify="right")
    overall.add_column("unanswerable ok", justify="right")
    for report in reports:
        right, total, refused, unanswerable = report.answerability
        overall.add_row(
            Text(report.name),
            *(f"{report.metrics[name]:.1%}" for name in METRICS),
            f"{right}/{total}",
            f"{refused}/{unanswerable}",
        )
    console.print(overall)
    ceiling = recall_at_1_ceiling(reports[0].outcomes)
    if ceiling < 1:
        console.print(
            f"recall@1 cannot exceed {ceiling:.1%} on this set: a question with n relevant "
            "files finds at most 1/n of them at rank 1"
        )
    _print_threshold_advice(reports[0], console)
    for report in reports:
        languages = Table(title=f"By question language ({report.name})")
        languages.add_column("lang")
        languages.add_column("n", justify="right")
        for name in METRICS:
            languages.add_column(name, justify="right")
        counts: dict[str, int] = defaultdict(int)
        for outcome in report.outcomes:
            counts[outcome.language] += 1
        for lang, metrics in report.by_language.items():
            languages.add_row(lang, str(counts[lang]), *(f"{metrics[n]:.1%}" for n in METRICS))
        console.print(languages)
        misses = report.misses_at_5
        if not misses:
            console.print(
                f"[green]{escape(report.name)}: every question finds a relevant file "
                "in its top 5[/]"
            )
            continue
        table = Table(title=f"Questions missed at 5 ({report.name})")
        for column in ("id", "question", "relevant", "top-3 sources"):
            table.add_column(column)
        for outcome in misses:
            table.add_row(  # Text: brackets in a question are not rich markup
                Text(outcome.question.id),
                Text(outcome.question.question),
                Text(", ".join(outcome.question.relevant)),
                Text(", ".join(outcome.sources[:3])),
            )
        console.print(table)


def _print_threshold_advice(report: Report, console: Console) -> None:
    """The threshold that gets the most questions right, keeping answerable ones first."""
    if not report.unanswerable:
        return
    threshold, answered, refused = max(
        report.threshold_sweep(), key=lambda row: (row[1] + row[2], row[1])
    )
    console.print(
        f"answerability: QA_ANSWERABLE_THRESHOLD={threshold:.3f} would get "
        f"{answered}/{len(report.outcomes)} answerable and {refused}/{len(report.unanswerable)} "
        "unanswerable questions of this set right"
    )


def _repeated(ids: Iterable[str]) -> list[str]:
    return sorted(id_ for id_, count in Counter(ids).items() if count > 1)


def _file_name(name: str) -> str:
    return re.sub(r"[^\w.=-]+", "_", name)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).casefold().strip()
