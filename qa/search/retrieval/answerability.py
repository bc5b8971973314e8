"""The learned "nothing relevant" flag: a question's chance that the index answers it.

A logistic regression over question-level features (`QuestionFeatures`: the best passage's
cosine and its margin over the second, how much the dense and lexical rankings agree, how much
of the question the best passage covers, whether its best sentence holds the kind of answer the
question asks for). Its coefficients are a small JSON file shipped in the package, written by
`python -m qa.evaluation.train_flag` with the data, command and metrics that made it and a
sha256 of the rest, checked at load: serving needs numpy only (docs/evaluation.md, "A learned
answerability flag").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from qa.errors import AnswerabilityModelError
from qa.search.retrieval.features import candidate_features, question_terms
from qa.search.store import Hit, SearchFilter, Store
from qa.search.store.lexical import analyze

PACKAGED_MODEL = Path(__file__).parent / "models" / "answerability.json"
# The dense and lexical top results compared for agreement, and searched for the question's terms.
AGREEMENT_DEPTH = 5
COVERAGE_DEPTH = 10
# Lexical candidates in which the dense best passage is looked for (the search's own depth).
LEXICAL_DEPTH = 100


@dataclass(frozen=True)
class QuestionFeatures:
    """What the flag reads about one question and the passages found for it (all numbers)."""

    best_score: float  # cosine of the best passage (the response's `best_score`)
    margin: float  # the best passage's cosine minus the second's
    best_sentence: float  # cosine of the best passage's best sentence
    agreement: float  # share of the dense top 5 also in the lexical top 5
    lexical_rank_of_best: float  # 1 / rank of the dense best in the lexical ranking; 0: absent
    coverage: float  # share of the question's stems found in the best passage
    sentence_coverage: float  # ... in its best sentence
    title_coverage: float  # ... in its article's title
    bigram_overlap: float  # share of the question's stem bigrams in the best passage
    unseen_terms: float  # share of the question's stems in none of the top passages
    names_missing: float  # capitalised names of the question absent from the best passage
    numbers_missing: float  # numbers of the question absent from the best passage
    expects_answer_type: float  # 1 if the question asks for a year, date, amount, name...
    answer_type_match: float  # 1 if the best sentence holds that kind of answer
    question_terms: float  # how many stems the question has
    question_french: float  # 1 if the question is in French

    def row(self) -> tuple[float, ...]:
        return astuple(self)


FEATURE_NAMES: tuple[str, ...] = tuple(field.name for field in fields(QuestionFeatures))


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    """The stems of a passage: the same top passages come back question after question."""
    return frozenset(analyze(text))


def question_features(
    index: Store,
    question: str,
    language: str,
    query: np.ndarray,
    dense: Sequence[Hit],
    where: SearchFilter | None = None,
    hidden: frozenset[int] = frozenset(),
) -> QuestionFeatures | None:
    """The features of `question` given its dense hits (best first); None without any hit.

    `hidden` passages are treated as absent: training hides those holding a question's answer
    to make on-topic questions the index does not answer."""
    dense = [hit for hit in dense if hit.position not in hidden]
    if not dense:
        return None
    lexical = [
        hit
        for hit in index.search_lexical(question, LEXICAL_DEPTH + len(hidden), where)
        if hit.position not in hidden
    ][:LEXICAL_DEPTH]
    best = dense[0].position
    terms = question_terms(question, language)
    # The best passage's own features, as the ranker computes them (a single candidate).
    candidate = candidate_features(
        index, query, terms, [best], {best: dense[0].score}, {}, highlight_term_weight=0.1
    )[0].features
    lexical_order = [hit.position for hit in lexical]
    dense_top = {hit.position for hit in dense[:AGREEMENT_DEPTH]}
    lexical_rank = lexical_order.index(best) + 1 if best in lexical_order else None
    chunks = index.chunks
    top = {hit.position for hit in dense[:COVERAGE_DEPTH]} | set(lexical_order[:COVERAGE_DEPTH])
    seen = frozenset().union(*(_stems(chunks[position].match_text) for position in top))
    return QuestionFeatures(
        best_score=dense[0].score,
        margin=dense[0].score - dense[1].score if len(dense) > 1 else dense[0].score,
        best_sentence=candidate.sentence,
        agreement=len(dense_top & set(lexical_order[:AGREEMENT_DEPTH])) / AGREEMENT_DEPTH,
        lexical_rank_of_best=1 / lexical_rank if lexical_rank else 0.0,
        coverage=candidate.coverage,
        sentence_coverage=candidate.sentence_coverage,
        title_coverage=candidate.title_coverage,
        bigram_overlap=candidate.bigram_overlap,
        unseen_terms=len(terms.stems - seen) / len(terms.stems) if terms.stems else 0.0,
        names_missing=candidate.question_names * (1 - candidate.names_found),
        numbers_missing=candidate.question_numbers * (1 - candidate.numbers_found),
        expects_answer_type=float(terms.answer_type != "other"),
        answer_type_match=candidate.answer_type_match,
        question_terms=candidate.question_terms,
        question_french=candidate.question_french,
    )


class FlagModel(BaseModel):
    """The model file: a standardised logistic regression and how it was made."""

    features: list[str] = Field(description="Feature names, in the order of the other lists.")
    mean: list[float]
    scale: list[float]
    coefficients: list[float]
    intercept: float
    threshold: float = Field(ge=0.0, le=1.0, description="Answerable from this probability on.")
    default_on: bool = Field(
        description="Whether it beat the cosine threshold on held-out data (docs/evaluation.md)."
    )
    command: str
    data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lists_agree(self) -> FlagModel:
        lengths = {len(self.features), len(self.mean), len(self.scale), len(self.coefficients)}
        if len(lengths) != 1:
            raise ValueError("features, mean, scale and coefficients differ in length")
        if any(scale <= 0 for scale in self.scale):
            raise ValueError("a scale is not positive")
        return self


def checksum(content: dict[str, Any]) -> str:
    """sha256 of the file's content without its checksum, keys sorted: what load compares."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_model(model: FlagModel, path: Path) -> None:
    content = model.model_dump(mode="json")
    text = json.dumps({**content, "sha256": checksum(content)}, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def read_model(path: Path) -> FlagModel:
    """The model in `path`, refused in one line if unreadable, altered or for other features."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnswerabilityModelError(
            f"cannot read the answerability model {path}: {error}"
        ) from error
    recorded = content.pop("sha256", None) if isinstance(content, dict) else None
    if not isinstance(content, dict) or recorded != checksum(content):
        raise AnswerabilityModelError(
            f"the answerability model {path} does not match its sha256: altered or truncated, "
            "train it again (python -m qa.evaluation.train_flag)"
        )
    try:
        model = FlagModel.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise AnswerabilityModelError(
            f"answerability model {path}: {where}: {first['msg']}"
        ) from error
    if tuple(model.features) != FEATURE_NAMES:
        raise AnswerabilityModelError(
            f"the answerability model {path} was trained on other features than this version "
            "computes: train it again (python -m qa.evaluation.train_flag)"
        )
    return model


class AnswerabilityFlag:
    """A loaded model: the probability that a question is answerable, and the decision."""

    def __init__(self, model: FlagModel) -> None:
        self.model = model
        self._mean = np.asarray(model.mean)
        self._scale = np.asarray(model.scale)
        self._coefficients = np.asarray(model.coefficients)

    @classmethod
    def load(cls, path: Path = PACKAGED_MODEL) -> AnswerabilityFlag:
        return cls(read_model(path))

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The probability of each row of features (`QuestionFeatures.row()`)."""
        logits = ((rows - self._mean) / self._scale) @ self._coefficients + self.model.intercept
        # Clipped: exp overflows past 709, and the probability is 0 or 1 long before.
        return np.asarray(1 / (1 + np.exp(-np.clip(logits, -50, 50))))

    def probability(self, features: QuestionFeatures) -> float:
        return float(self.probabilities(np.asarray([features.row()]))[0])

    def assess(
        self,
        index: Store,
        question: str,
        language: str,
        query: np.ndarray,
        dense: Sequence[Hit],
        where: SearchFilter | None = None,
    ) -> float | None:
        """The probability that the index answers `question`; None if it found nothing."""
        features = question_features(index, question, language, query, dense, where)
        return None if features is None else self.probability(features)

    def answerable(self, probability: float) -> bool:
        return probability >= self.model.threshold
