"""Fuse the dense and the lexical ranking of passages into one: pure functions, no index.

Each retriever gives its candidates as passage position -> score, best first. Reciprocal-rank
fusion only sees ranks, so a passage that one retriever finds far more confidently than
everything else counts no more than a close first; the convex combination of normalised scores
keeps that margin (docs/evaluation.md, "Fusion"; the comparison on both question sets in
docs/measurements.md, "Fusion").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from qa.settings import FusionMethod


def reciprocal_rank_fusion(rankings: Iterable[Sequence[int]], k: int) -> list[int]:
    """Items ordered by the sum over rankings of 1 / (k + rank); ties keep first-seen order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def min_max(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores rescaled to [0, 1] over the candidates given: the best 1, the worst 0.

    Equal scores all become 1: none of them is worse than another.
    """
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {item: (score - low) / (high - low) for item, score in scores.items()}


def convex_fusion(
    dense: Mapping[int, float], lexical: Mapping[int, float], dense_weight: float
) -> list[int]:
    """Items ordered by `dense_weight * dense + (1 - dense_weight) * lexical`, each retriever's
    scores min-max normalised over its own candidates; an item one retriever did not propose
    gets 0 from it (its worst). Ties keep first-seen order, dense candidates first."""
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError(f"dense_weight must be between 0 and 1 (got {dense_weight})")
    dense_norm, lexical_norm = min_max(dense), min_max(lexical)
    items = list(dict.fromkeys([*dense, *lexical]))
    fused = {
        item: dense_weight * dense_norm.get(item, 0.0)
        + (1.0 - dense_weight) * lexical_norm.get(item, 0.0)
        for item in items
    }
    return sorted(items, key=lambda item: -fused[item])


def fuse(
    method: FusionMethod,
    dense: Mapping[int, float],
    lexical: Mapping[int, float],
    *,
    rrf_k: int,
    dense_weight: float,
) -> list[int]:
    """The fused ranking of the candidates of both retrievers (each given best first)."""
    if method == "rrf":
        return reciprocal_rank_fusion([list(dense), list(lexical)], rrf_k)
    return convex_fusion(dense, lexical, dense_weight)
