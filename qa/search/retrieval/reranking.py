"""The search's hook for the learned ranker: the fused candidates in, their features computed,
the top `rerank_candidates` re-ordered by the model; and what a result says of its scores
(`PassageScores`) and, asked for, of the features behind them (`Explanation`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from qa.errors import RankerError
from qa.search.retrieval.features import (
    FEATURE_NAMES,
    CandidateFeatures,
    Scored,
    candidate_features,
    question_terms,
)
from qa.search.retrieval.ranker import PACKAGED_MODEL, Ranker
from qa.search.store import Store
from qa.settings import Settings


class PassageScores(BaseModel):
    """Each retriever's score of a result; null where it was not computed."""

    dense: float | None = Field(None, description="Cosine of the question with the passage.")
    sentence: float | None = Field(None, description="Cosine with the highlighted sentence.")
    lexical: float | None = Field(
        None, description="BM25 of the passage; null if the lexical search did not find it."
    )
    ranker: float | None = Field(
        None, description="The learned ranker's score (a relative value: higher is better)."
    )


class Explanation(BaseModel):
    """Why a passage ranks where it does (`explain=true`)."""

    features: dict[str, float] = Field(description="What the ranker reads of the passage.")
    contributions: dict[str, float] | None = Field(
        None,
        description="Each feature's share of the ranker's score, and `bias`: they sum to "
        "`scores.ranker`. Null when the ranker is off.",
    )


@dataclass(frozen=True)
class Candidates:
    """A search's fused ranking and each retriever's scores of its candidates."""

    order: list[int]
    dense: dict[int, float]
    lexical: dict[int, float] | None  # None in dense mode: not computed


@dataclass(frozen=True)
class Reranked:
    order: list[int]
    ranker_scores: dict[int, float]
    explanations: dict[int, Explanation]


class Reranker:
    """Features of the top candidates, and the model that orders them when it is on."""

    def __init__(self, settings: Settings, highlight_term_weight: float) -> None:
        self.depth = settings.rerank_candidates
        self.highlight_term_weight = highlight_term_weight
        self.model = (
            load_ranker(settings.ranker_model or PACKAGED_MODEL) if settings.ranker else None
        )

    def features(
        self, index: Store, query: np.ndarray, question: str, language: str, found: Candidates
    ) -> list[Scored]:
        """The features of the top `depth` candidates, in fused order (training reads these)."""
        return candidate_features(
            index,
            query,
            question_terms(question, language),
            found.order[: self.depth],
            found.dense,
            found.lexical or {},
            self.highlight_term_weight,
        )

    def rerank(
        self,
        index: Store,
        query: np.ndarray,
        question: str,
        language: str,
        found: Candidates,
        *,
        explain: bool,
    ) -> Reranked:
        """The candidates re-ordered by the model (the rest keep their fused order behind);
        with `explain`, each reranked candidate's features and contributions."""
        scored = self.features(index, query, question, language, found)
        if not scored:
            return Reranked(found.order, {}, {})
        if self.model is None:
            # Off: the fused order stands; features only, if asked for.
            explanations = {s.position: _explanation(s.features, None) for s in scored}
            return Reranked(found.order, {}, explanations if explain else {})
        rows = np.array([s.features.row() for s in scored], dtype=np.float64)
        scores = self.model.score(rows)
        # Stable: equal scores keep the fused order.
        order = [scored[i].position for i in np.argsort(-scores, kind="stable")]
        explanations = {}
        if explain:
            contributions = self.model.contributions(rows)
            explanations = {
                s.position: _explanation(s.features, contributions[i]) for i, s in enumerate(scored)
            }
        return Reranked(
            order=[*order, *found.order[len(scored) :]],
            ranker_scores={s.position: float(scores[i]) for i, s in enumerate(scored)},
            explanations=explanations,
        )


def _explanation(features: CandidateFeatures, contributions: np.ndarray | None) -> Explanation:
    names = [*FEATURE_NAMES, "bias"]
    return Explanation(
        features=dict(zip(FEATURE_NAMES, features.row(), strict=True)),
        contributions=None
        if contributions is None
        else {name: float(value) for name, value in zip(names, contributions, strict=True)},
    )


def load_ranker(path: Path) -> Ranker:
    """The model at `path`, loaded once per version of the file (searchers are rebuilt on
    every index reload; the model does not change with them)."""
    try:
        modified = path.stat().st_mtime_ns
    except OSError as error:
        raise RankerError(f"cannot read the ranker model {path}: {error.strerror}") from error
    return _load(path, modified)


@lru_cache(maxsize=4)
def _load(path: Path, modified_ns: int) -> Ranker:
    del modified_ns  # part of the cache key only
    return Ranker(path)
