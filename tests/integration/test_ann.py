"""qa.search.store.ann at a size where building takes seconds: each approximate index type against
exact search on clustered synthetic vectors, and each type's size against the planning formula (the
choice rule and the rescoring are in tests/unit/search/store/test_ann.py)."""

from __future__ import annotations

import pytest

from bench import synthetic
from qa.search.store import ann
from qa.search.store.ann import AnnSpec
from tests.ann_vectors import ROWS, corpus, recall, truth

__all__ = ["corpus", "truth"]  # fixtures


@pytest.mark.parametrize(
    ("spec", "lowest"),
    [
        (AnnSpec("hnsw"), 0.95),
        (AnnSpec("ivf_flat", nprobe=16), 0.9),
        (AnnSpec("ivf_pq", nprobe=16), 0.6),
    ],
    ids=["hnsw", "ivf_flat", "ivf_pq"],
)
def test_approximate_indexes_keep_most_of_the_exact_top_ten(corpus, truth, spec, lowest) -> None:
    assert lowest <= recall(corpus, truth, spec) <= 1.0


def test_index_sizes_follow_the_planning_formula(corpus) -> None:
    for spec in (AnnSpec("flat"), AnnSpec("hnsw"), AnnSpec("ivf_flat"), AnnSpec("ivf_pq")):
        measured = ann.index_bytes(ann.build(corpus.passages, spec)) / ROWS
        planned = ann.bytes_per_row(spec, synthetic.DIMENSION)
        # Small indexes carry fixed costs (centroids, codebooks): an upper slack only.
        assert planned * 0.9 <= measured <= planned * 1.1 + 200_000 / ROWS * 10, spec


def test_pq_compresses_vectors_to_pq_m_bytes(corpus) -> None:
    flat = ann.index_bytes(ann.build(corpus.passages, AnnSpec("flat")))
    pq = ann.index_bytes(ann.build(corpus.passages, AnnSpec("ivf_pq", pq_m=24)))
    assert pq < flat / 5
