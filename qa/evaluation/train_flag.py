"""Train the learned answerability flag (qa/search/retrieval/answerability.py) and measure it.

`python -m qa.evaluation.train_flag` uses the half-corpus construction of `calibrate`: index
half of piaf-dev's articles and ask every question, those of the indexed half answerable, the
others not, and the same with the halves swapped. A logistic regression is fitted on one split,
its threshold chosen there (balanced accuracy), and both are measured on the other split; then
on the project's seeds: its answerable questions, its unanswerable ones and the on-topic and
off-topic sets, against today's cosine threshold. The model shipped is fitted on both splits,
its threshold chosen on the held-out probabilities; it is on by default only if it met the
targets of docs/evaluation.md. Writes the model file with its data, command, metrics and sha256.
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
from qa.content.extract import detect_language
from qa.errors import QAError, require_extra
from qa.evaluation.calibrate import Scored, choose_threshold, split_corpus, split_questions
from qa.evaluation.evaluate import Question, contains_answer, load_questions
from qa.indexing.build import build_index
from qa.search.encoders.base import Encoder
from qa.search.retrieval.answerability import (
    FEATURE_NAMES,
    PACKAGED_MODEL,
    AnswerabilityFlag,
    FlagModel,
    question_features,
    write_model,
)
from qa.search.retrieval.search import CANDIDATES
from qa.search.store import Store
from qa.settings import Settings, load_settings

# The targets of issue 24: the flag is on by default only if it reaches all of them.
TARGET_AUC = 0.97
TARGET_PROJECT_REFUSED = 9  # of the project's 12 unanswerable questions
TARGET_NEW_REFUSED = 0.90  # share of the on-topic and off-topic sets flagged
TARGET_KEPT = 0.95  # share of the answerable questions still answerable
# Inverse regularisation strengths tried, by cross-validation inside the training split.
REGULARISATION = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class Labelled:
    """Feature rows of questions asked of one index, and whether the index answers each."""

    rows: np.ndarray
    answerable: np.ndarray  # bool per row
    # Per row: the question's answer passages were hidden (an on-topic unanswerable question).
    hidden: np.ndarray

    def without_hidden(self) -> Labelled:
        """calibrate's construction alone: answerable rows and other-half rows."""
        kept = ~self.hidden
        return Labelled(self.rows[kept], self.answerable[kept], self.hidden[kept])

    def without_other_half(self) -> Labelled:
        """Answerable rows and hidden-answer rows."""
        kept = self.answerable | self.hidden
        return Labelled(self.rows[kept], self.answerable[kept], self.hidden[kept])

    @property
    def best_scores(self) -> np.ndarray:
        return self.rows[:, FEATURE_NAMES.index("best_score")]


def feature_rows(
    index: Store,
    encoder: Encoder,
    questions: Sequence[Question],
    hidden: Sequence[frozenset[int]] | None = None,
) -> np.ndarray:
    """One row of `QuestionFeatures` per question, computed as a search computes them (with
    each question's `hidden` passages treated as absent)."""
    vectors = encoder.embed_queries([q.question for q in questions])
    rows = []
    for number, (question, vector) in enumerate(zip(questions, vectors, strict=True)):
        dense = index.search_dense(vector, CANDIDATES + (len(hidden[number]) if hidden else 0))
        features = question_features(
            index,
            question.question,
            detect_language(question.question),
            vector,
            dense,
            hidden=hidden[number] if hidden else frozenset(),
        )
        if features is None:
            raise QAError("an index without passages cannot train the flag")
        rows.append(features.row())
    return np.asarray(rows, dtype=np.float64)


def half_corpus_splits(
    corpus: Corpus, questions: Sequence[Question], encoder: Encoder, settings: Settings
) -> list[Labelled]:
    """Each half indexed in turn, every question asked of it (calibrate's construction)."""
    splits = []
    for half in split_corpus(corpus):
        index = build_index(half, encoder, ChunkingConfig.from_settings(settings))
        answerable, unanswerable = split_questions(questions, set(index.sources))
        answers = {q.id: answer_passages(index, q) for q in answerable}
        hideable = [q for q in answerable if answers[q.id]]
        asked = [*answerable, *unanswerable, *hideable]
        hidden = [frozenset[int]()] * (len(answerable) + len(unanswerable)) + [
            answers[q.id] for q in hideable
        ]
        labels = np.r_[np.ones(len(answerable), bool), np.zeros(len(asked) - len(answerable), bool)]
        was_hidden = np.r_[
            np.zeros(len(answerable) + len(unanswerable), bool), np.ones(len(hideable), bool)
        ]
        splits.append(Labelled(feature_rows(index, encoder, asked, hidden), labels, was_hidden))
    return splits


def answer_passages(index: Store, question: Question) -> frozenset[int]:
    """The passages of the question's articles that hold one of its answers."""
    return frozenset(
        position
        for position, chunk in enumerate(index.chunks)
        if chunk.source in question.relevant and contains_answer(chunk.text, question.answers)
    )


def fit(training: Labelled, command: str) -> FlagModel:
    """A standardised logistic regression, its strength chosen by 5-fold cross-validation on
    `training` only, and its threshold chosen on `training` (balanced accuracy)."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(training.rows)
    # A feature constant in the training data (the language, on a French set) gets scale 1 and
    # then weight 0: it is kept in the record for the file's layout.
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    standardised = (training.rows - scaler.mean_) / scale
    regression = LogisticRegressionCV(
        Cs=list(REGULARISATION), cv=5, scoring="roc_auc", class_weight="balanced", max_iter=2000
    ).fit(standardised, training.answerable)
    model = FlagModel(
        features=list(FEATURE_NAMES),
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scale],
        coefficients=[float(v) for v in regression.coef_[0]],
        intercept=float(regression.intercept_[0]),
        threshold=0.5,
        default_on=False,
        command=command,
    )
    threshold = choose_threshold(scored(probabilities(model, training), training.answerable))
    return model.model_copy(update={"threshold": threshold})


def probabilities(model: FlagModel, data: Labelled) -> np.ndarray:
    return AnswerabilityFlag(model).probabilities(data.rows)


def scored(values: np.ndarray, answerable: np.ndarray) -> Scored:
    return Scored(answerable=values[answerable], unanswerable=values[~answerable])


def roc_auc(values: np.ndarray, answerable: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(answerable, values))


@dataclass(frozen=True)
class SplitFigures:
    """A model fitted on one split, measured on the other, beside the cosine's figures: ROC
    AUC against the other half's questions (calibrate's construction) and against the
    questions whose answer passages were hidden (on-topic)."""

    auc_cosine: float  # best_score alone, held out, other half's questions
    auc_trained_on: float
    auc_held_out: float
    auc_cosine_hidden: float
    auc_held_out_hidden: float
    threshold: float  # chosen on the training split
    refused: float  # held-out answerable questions flagged not answerable
    answered: float  # held-out unanswerable questions (other half) flagged answerable
    answered_hidden: float  # held-out hidden-answer questions flagged answerable


@dataclass(frozen=True)
class SetFigures:
    """How many questions of one of the project's sets each flag gets right."""

    name: str
    expected_answerable: bool
    size: int
    learned_right: int
    cosine_right: int


def concatenate(parts: Sequence[Labelled]) -> Labelled:
    return Labelled(
        np.vstack([part.rows for part in parts]),
        np.concatenate([part.answerable for part in parts]),
        np.concatenate([part.hidden for part in parts]),
    )


def cross_split(splits: Sequence[Labelled], command: str) -> tuple[list[SplitFigures], Labelled]:
    """Each split's model measured on the other; and the held-out probabilities of all rows."""
    figures, held_out = [], []
    for training, measured in (splits, splits[::-1]):
        # Fitted on calibrate's construction only: with the hidden-answer rows too, it refused
        # cross-lingual answerable questions (docs/evaluation.md); those rows measure it.
        model = fit(training.without_hidden(), command)
        held = Labelled(
            probabilities(model, measured)[:, None], measured.answerable, measured.hidden
        )
        cosine = Labelled(measured.best_scores[:, None], measured.answerable, measured.hidden)
        other_half, hidden = held.without_hidden(), held.without_other_half()
        figures.append(
            SplitFigures(
                auc_cosine=auc(cosine.without_hidden()),
                auc_trained_on=auc(
                    Labelled(
                        probabilities(model, training)[:, None],
                        training.answerable,
                        training.hidden,
                    ).without_hidden()
                ),
                auc_held_out=auc(other_half),
                auc_cosine_hidden=auc(cosine.without_other_half()),
                auc_held_out_hidden=auc(hidden),
                threshold=model.threshold,
                refused=float(np.mean(held.rows[held.answerable, 0] < model.threshold)),
                answered=float(
                    np.mean(other_half.rows[~other_half.answerable, 0] >= model.threshold)
                ),
                answered_hidden=float(
                    np.mean(hidden.rows[~hidden.answerable, 0] >= model.threshold)
                ),
            )
        )
        held_out.append(held)
    return figures, concatenate(held_out)


def auc(values: Labelled) -> float:
    """ROC AUC of a one-column `Labelled` (a score per row)."""
    return roc_auc(values.rows[:, 0], values.answerable)


def project_figures(
    model: FlagModel,
    index: Store,
    encoder: Encoder,
    sets: Sequence[tuple[str, Sequence[Question]]],
    cosine_threshold: float,
) -> list[SetFigures]:
    figures = []
    for name, questions in sets:
        expected = all(q.relevant for q in questions)
        rows = feature_rows(index, encoder, questions)
        learned = AnswerabilityFlag(model).probabilities(rows) >= model.threshold
        cosine = rows[:, FEATURE_NAMES.index("best_score")] >= cosine_threshold
        figures.append(
            SetFigures(
                name=name,
                expected_answerable=expected,
                size=len(questions),
                learned_right=int(np.sum(learned == expected)),
                cosine_right=int(np.sum(cosine == expected)),
            )
        )
    return figures


def meets_targets(splits: Sequence[SplitFigures], sets: Sequence[SetFigures]) -> bool:
    """The issue's bar: held-out AUC, the project's 12, the new sets, the answerable kept."""
    by_name = {figures.name: figures for figures in sets}
    new = [figures for name, figures in by_name.items() if name.endswith("topic")]
    kept = [figures for figures in sets if figures.expected_answerable]
    return (
        all(split.auc_held_out >= TARGET_AUC for split in splits)
        and by_name["unanswerable"].learned_right >= TARGET_PROJECT_REFUSED
        and sum(f.learned_right for f in new) >= TARGET_NEW_REFUSED * sum(f.size for f in new)
        and sum(f.learned_right for f in kept) >= TARGET_KEPT * sum(f.size for f in kept)
    )


def print_figures(
    splits: Sequence[SplitFigures], sets: Sequence[SetFigures], console: Console
) -> None:
    table = Table(title="learned flag: fitted on one half-corpus split, measured on the other")
    for column in (
        "fitted on",
        "ROC AUC cosine (other half / hidden)",
        "ROC AUC flag (fit / held out / hidden)",
        "threshold",
        "answerable refused",
        "unanswerable answered (other half / hidden)",
    ):
        table.add_column(column, justify="right")
    for number, split in enumerate(splits, start=1):
        table.add_row(
            f"split {number}",
            f"{split.auc_cosine:.3f} / {split.auc_cosine_hidden:.3f}",
            f"{split.auc_trained_on:.3f} / {split.auc_held_out:.3f} / "
            f"{split.auc_held_out_hidden:.3f}",
            f"{split.threshold:.3f}",
            f"{split.refused:.1%}",
            f"{split.answered:.1%} / {split.answered_hidden:.1%}",
        )
    console.print(table)
    project = Table(title="the project's seeds: questions flagged right")
    for column in ("set", "expected", "learned flag", "cosine threshold"):
        project.add_column(column, justify="right")
    for figures in sets:
        project.add_row(
            figures.name,
            "answerable" if figures.expected_answerable else "not answerable",
            f"{figures.learned_right}/{figures.size}",
            f"{figures.cosine_right}/{figures.size}",
        )
    console.print(project)


def main(argv: Sequence[str] | None = None) -> int:
    from qa.content.corpus.ingest import load_corpus
    from qa.search.encoders.loading import load_encoder

    parser = argparse.ArgumentParser(prog="python -m qa.evaluation.train_flag", description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/piaf-dev/questions.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("eval/piaf-dev/docs"))
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--answerable", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument(
        "--unanswerable",
        type=Path,
        nargs="+",
        default=[
            Path(f"eval/unanswerable{suffix}.jsonl") for suffix in ("", "_on_topic", "_off_topic")
        ],
    )
    parser.add_argument("--output", type=Path, default=PACKAGED_MODEL)
    args = parser.parse_args(argv)
    command = "python -m qa.evaluation.train_flag " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    errors = Console(stderr=True)
    try:
        require_extra("eval", "training the answerability flag", "sklearn")
        settings = load_settings({"corpus_dir": args.corpus})
        encoder = load_encoder(settings)
        questions = load_questions(args.questions)
        splits = half_corpus_splits(load_corpus(args.corpus), questions, encoder, settings)
        split_figures, held_out = cross_split(splits, command.strip())
        both = concatenate(splits)
        model = fit(both.without_hidden(), command.strip())
        held = held_out.without_hidden()
        threshold = choose_threshold(scored(held.rows[:, 0], held.answerable))
        model = model.model_copy(update={"threshold": threshold})
        seeds = build_index(
            load_corpus(args.seeds), encoder, ChunkingConfig.from_settings(settings)
        )
        sets = [("answerable", load_questions(args.answerable))] + [
            (path.stem, load_questions(path, unanswerable=True)) for path in args.unanswerable
        ]
        set_figures = project_figures(model, seeds, encoder, sets, settings.answerable_threshold)
    except QAError as error:
        errors.print(f"qa: error: {error}", markup=False, highlight=False)
        return 1
    print_figures(split_figures, set_figures, Console(width=150))
    model = model.model_copy(
        update={
            "default_on": meets_targets(split_figures, set_figures),
            "data": {
                "training": f"{args.questions} over {args.corpus}, each half indexed in turn "
                f"({len(both.answerable)} rows, {int(both.answerable.sum())} answerable)",
                "measured": f"{args.seeds} with {args.answerable} and "
                + ", ".join(str(path) for path in args.unanswerable),
            },
            "metrics": {
                "splits": [vars(split) for split in split_figures],
                "sets": [vars(figures) for figures in set_figures],
            },
        }
    )
    write_model(model, args.output)
    Console().print(f"wrote {args.output} (on by default: {model.default_on})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
