"""Calibrate `answerable` without writing a question: index half of a corpus's articles and ask
every question of the set — those of the indexed half are answerable, those of the other half
are not (their article is not in the index), by construction.

`python -m qa.evaluation.calibrate QUESTIONS --corpus DIR` does it twice (each half indexed in
turn),
reports the ROC AUC of `best_score` on each split, chooses a threshold on one split and reports
both error rates on the other, and the same for the configured threshold.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import Corpus
from qa.errors import QAError, require_extra
from qa.evaluation.evaluate import Question, load_questions
from qa.indexing.build import build_index
from qa.search.encoders.base import Encoder
from qa.settings import Settings, load_settings


@dataclass(frozen=True)
class Scored:
    """The best passage score of every question asked of one half's index."""

    answerable: np.ndarray  # best_score of questions whose article is indexed
    unanswerable: np.ndarray  # best_score of questions whose article is not


@dataclass(frozen=True)
class ErrorRates:
    threshold: float
    false_refusals: float  # answerable questions flagged not answerable
    false_answers: float  # unanswerable questions flagged answerable


def split_corpus(corpus: Corpus) -> tuple[Corpus, Corpus]:
    """Two halves of the articles, alternating in name order (no topic grouping by name)."""
    documents = sorted(corpus.documents, key=lambda document: document.name)
    return (
        Corpus(documents=tuple(documents[0::2]), skipped=()),
        Corpus(documents=tuple(documents[1::2]), skipped=()),
    )


def split_questions(
    questions: Sequence[Question], indexed: set[str]
) -> tuple[list[Question], list[Question]]:
    """(answerable, unanswerable) given the indexed files; a question whose relevant files are
    partly indexed is neither and is left out."""
    answerable = [q for q in questions if q.relevant and set(q.relevant) <= indexed]
    unanswerable = [q for q in questions if q.relevant and not set(q.relevant) & indexed]
    return answerable, unanswerable


def best_scores(
    corpus: Corpus, questions: Sequence[Question], encoder: Encoder, settings: Settings
) -> Scored:
    """Index `corpus` in memory and score every question: the `best_score` of a search."""
    index = build_index(corpus, encoder, ChunkingConfig.from_settings(settings))
    answerable, unanswerable = split_questions(questions, set(index.sources))
    if not answerable or not unanswerable:
        raise QAError("each half of the corpus needs questions of its own and of the other")

    def scores(asked: Sequence[Question]) -> np.ndarray:
        vectors = encoder.embed_queries([q.question for q in asked])
        return np.array([index.search_dense(vector, 1)[0].score for vector in vectors])

    return Scored(answerable=scores(answerable), unanswerable=scores(unanswerable))


def roc_auc(scored: Scored) -> float:
    """Probability that an answerable question outscores an unanswerable one."""
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(scored.answerable)), np.zeros(len(scored.unanswerable))]
    return float(roc_auc_score(labels, np.r_[scored.answerable, scored.unanswerable]))


def error_rates(scored: Scored, threshold: float) -> ErrorRates:
    return ErrorRates(
        threshold=threshold,
        false_refusals=float(np.mean(scored.answerable < threshold)),
        false_answers=float(np.mean(scored.unanswerable >= threshold)),
    )


def choose_threshold(scored: Scored) -> float:
    """The observed score that minimises the mean of both error rates (balanced accuracy, so
    that the share of unanswerable questions in the set does not move it); on a tie, the
    lowest, which errs towards answering."""
    candidates = np.unique(np.r_[scored.answerable, scored.unanswerable])
    costs = [
        (rates.false_refusals + rates.false_answers) / 2
        for rates in (error_rates(scored, float(t)) for t in candidates)
    ]
    return float(candidates[int(np.argmin(costs))])


def calibrate(
    corpus: Corpus, questions: Sequence[Question], encoder: Encoder, settings: Settings
) -> list[tuple[Scored, Scored]]:
    """Both splits: (the half indexed, the other half indexed), then the swap."""
    first, second = split_corpus(corpus)
    one = best_scores(first, questions, encoder, settings)
    two = best_scores(second, questions, encoder, settings)
    return [(one, two), (two, one)]


def print_calibration(
    splits: Sequence[tuple[Scored, Scored]], configured: float, console: Console
) -> None:
    table = Table(title="answerable: threshold chosen on one split, measured on the other")
    for column in (
        "chosen on",
        "ROC AUC (chosen on / other)",
        "threshold",
        "answerable refused (other)",
        "unanswerable answered (other)",
        f"with {configured:.3f}: refused / answered (other)",
    ):
        table.add_column(column, justify="right")
    for number, (chosen_on, measured_on) in enumerate(splits, start=1):
        threshold = choose_threshold(chosen_on)
        held_out = error_rates(measured_on, threshold)
        current = error_rates(measured_on, configured)
        table.add_row(
            f"half {number} ({len(chosen_on.answerable)}+{len(chosen_on.unanswerable)})",
            f"{roc_auc(chosen_on):.3f} / {roc_auc(measured_on):.3f}",
            f"{threshold:.3f}",
            f"{held_out.false_refusals:.1%}",
            f"{held_out.false_answers:.1%}",
            f"{current.false_refusals:.1%} / {current.false_answers:.1%}",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    from qa.content.corpus.ingest import load_corpus
    from qa.search.encoders.loading import load_encoder

    parser = argparse.ArgumentParser(prog="python -m qa.evaluation.calibrate", description=__doc__)
    parser.add_argument("questions", type=Path, help="question set of the corpus (JSON Lines)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (QA_CORPUS_DIR)")
    args = parser.parse_args(argv)
    errors = Console(stderr=True)
    try:
        require_extra("eval", "calibrating the threshold", "sklearn")
        settings = load_settings({"corpus_dir": args.corpus})
        questions = load_questions(args.questions)
        corpus = load_corpus(settings.corpus_dir)
        splits = calibrate(corpus, questions, load_encoder(settings), settings)
    except QAError as error:
        errors.print(f"qa: error: {error}", markup=False, highlight=False)
        return 1
    print_calibration(splits, settings.answerable_threshold, Console(width=150))
    return 0


if __name__ == "__main__":
    sys.exit(main())
