"""Fusion of the dense and lexical rankings: pure functions, hand-made inputs."""

from __future__ import annotations

import pytest

from qa.search.retrieval.fusion import convex_fusion, fuse, min_max, reciprocal_rank_fusion


def test_rrf_rewards_agreement_between_rankings() -> None:
    assert reciprocal_rank_fusion([[1, 2, 3], [2, 3, 4]], k=60) == [2, 3, 1, 4]


def test_rrf_keeps_items_found_by_one_ranking_only() -> None:
    assert set(reciprocal_rank_fusion([[1], [2]], k=60)) == {1, 2}


def test_min_max_maps_the_best_to_one_and_the_worst_to_zero() -> None:
    assert min_max({1: 0.9, 2: 0.8, 3: 0.85}) == pytest.approx({1: 1.0, 2: 0.0, 3: 0.5})
    assert min_max({1: 3.0, 2: 3.0}) == {1: 1.0, 2: 1.0}
    assert min_max({}) == {}


# The SeedChip failure in miniature: dense is far more confident about passage 7 than about any
# other; BM25 prefers two passages of another article by a hair and barely scores passage 7.
DENSE = {7: 0.90, 1: 0.84, 2: 0.835, 3: 0.83}
LEXICAL = {1: 10.0, 2: 9.9, 3: 9.0, 7: 8.0}


def test_rrf_buries_a_confident_dense_winner_that_convex_fusion_keeps_first() -> None:
    assert reciprocal_rank_fusion([list(DENSE), list(LEXICAL)], k=60)[0] == 1
    assert convex_fusion(DENSE, LEXICAL, dense_weight=0.7)[0] == 7


def test_convex_fusion_weights_and_missing_candidates() -> None:
    # Weight 1 is dense alone, 0 lexical alone.
    assert convex_fusion(DENSE, LEXICAL, dense_weight=1.0) == [7, 1, 2, 3]
    assert convex_fusion(DENSE, LEXICAL, dense_weight=0.0) == [1, 2, 3, 7]
    # An item proposed by one retriever only gets the other's worst score (0), not nothing.
    fused = convex_fusion({1: 0.9, 2: 0.5}, {3: 5.0, 2: 1.0}, dense_weight=0.5)
    assert fused == [1, 3, 2]


def test_convex_fusion_ties_keep_dense_order_first() -> None:
    assert convex_fusion({1: 0.9, 2: 0.5}, {2: 1.0, 1: 0.5}, dense_weight=0.5) == [1, 2]


def test_convex_fusion_refuses_a_weight_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        convex_fusion(DENSE, LEXICAL, dense_weight=1.5)


def test_fuse_dispatches_on_the_method() -> None:
    assert fuse("rrf", DENSE, LEXICAL, rrf_k=60, dense_weight=0.7)[0] == 1
    assert fuse("convex", DENSE, LEXICAL, rrf_k=60, dense_weight=0.7)[0] == 7
    assert fuse("convex", {}, {}, rrf_k=60, dense_weight=0.7) == []
