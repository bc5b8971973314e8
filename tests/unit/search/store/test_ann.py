"""qa.search.store.ann: exact and IVF search against brute force on clustered synthetic vectors, the
choice rule, and sentence rescoring against a brute-force reference (each approximate type's
recall and size, slower to build, are in tests/integration/test_ann.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench import synthetic
from qa.search.store import ann
from qa.search.store.ann import AnnSpec, ScoredPassage
from tests.ann_vectors import ROWS, corpus, recall, truth

__all__ = ["corpus", "truth"]  # fixtures


def test_exact_index_finds_the_brute_force_neighbours(corpus, truth) -> None:
    assert recall(corpus, truth, AnnSpec("flat")) == 1.0


def test_ivf_probing_every_list_is_exact(corpus, truth) -> None:
    lists = ann.default_nlist(ROWS)
    assert recall(corpus, truth, AnnSpec("ivf_flat", nlist=lists, nprobe=lists)) == 1.0


def test_more_search_effort_never_loses_recall(corpus, truth) -> None:
    index = ann.build(corpus.passages, AnnSpec("hnsw", ef_construction=16))
    found = []
    for ef in (10, 200):
        ann.tune(index, AnnSpec("hnsw", ef_search=ef))
        found.append(ann.recall_at_k(truth, ann.search(index, corpus.queries, 10)[1], 10))
    assert found[0] < found[1]


def test_choose_index_is_exact_while_small_then_hnsw() -> None:
    assert ann.choose_index(0).kind == "flat"
    assert ann.choose_index(100_000).kind == "flat"
    above = ann.choose_index(100_001)
    assert (above.kind, above.hnsw_m, above.ef_search) == ("hnsw", 32, 256)
    # efSearch grows with rows: 512 kept recall@10 0.962 at 300k where 128 kept 0.879.
    assert ann.choose_index(300_000).ef_search == 512
    assert [ann.hnsw_ef_search(n) for n in (1, 100_000, 200_000, 400_000, 1_000_000)] == [
        128,
        128,
        256,
        512,
        2048,
    ]
    assert ann.choose_index(50_000_000).kind == "hnsw"


def test_choose_index_compresses_when_memory_is_short() -> None:
    rows = 1_000_000
    hnsw_bytes = rows * ann.bytes_per_row(AnnSpec("hnsw"), 384)
    assert ann.choose_index(rows, memory_budget_bytes=int(hnsw_bytes)).kind == "hnsw"
    chosen = ann.choose_index(rows, memory_budget_bytes=int(hnsw_bytes) - 1)
    assert chosen.kind == "ivf_pq"
    assert chosen.nlist == ann.default_nlist(rows) == 1024
    # Small but not even exact fits: compressed too.
    assert ann.choose_index(1000, memory_budget_bytes=1000).kind == "ivf_pq"


def test_choose_index_refuses_negative_rows() -> None:
    with pytest.raises(ValueError, match="negative"):
        ann.choose_index(-1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "annoy"}, "unknown index kind"),
        ({"kind": "hnsw", "hnsw_m": 0}, "hnsw_m"),
        ({"kind": "ivf_flat", "nlist": -1}, "nlist"),
    ],
)
def test_bad_specs_are_refused(spec, message) -> None:
    with pytest.raises(ValueError, match=message):
        AnnSpec(**spec)


def test_pq_size_must_divide_the_dimension(corpus) -> None:
    with pytest.raises(ValueError, match="does not divide"):
        ann.build(corpus.passages, AnnSpec("ivf_pq", pq_m=50))


def test_default_nlist_is_a_power_of_two_near_the_square_root() -> None:
    assert [ann.default_nlist(n) for n in (0, 1, 100, 100_000, 1_000_000)] == [1, 1, 8, 256, 1024]


def test_recall_at_k_counts_shared_ids() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 9, 9], [5, 6, 7, 8]])
    assert ann.recall_at_k(truth, found, 4) == pytest.approx((2 / 4 + 1) / 2)
    # Fewer true neighbours than k (-1 padding): the share is of those that exist.
    assert ann.recall_at_k(np.array([[1, -1]]), np.array([[1, -1]]), 2) == 1.0


def brute_force(query, candidates, sentences, starts, k):
    scored = []
    for c in candidates:
        own = sentences[starts[c.position] : starts[c.position + 1]] @ query
        scored.append((c.position, max([c.score, *own.tolist()])))
    scored.sort(key=lambda item: -item[1])
    return scored[:k]


def test_rescoring_matches_brute_force(corpus) -> None:
    sentences, starts = corpus.sentences, corpus.starts
    rng = np.random.default_rng(0)
    for query in corpus.queries[:20]:
        positions = rng.choice(ROWS, size=30, replace=False)
        candidates = [ScoredPassage(int(p), float(corpus.passages[p] @ query)) for p in positions]
        got = ann.rescore_with_sentences(query, candidates, sentences, starts, 10)
        expected = brute_force(query, candidates, sentences, starts, 10)
        assert [hit.position for hit in got] == [p for p, _ in expected]
        assert [hit.score for hit in got] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_rescoring_every_passage_equals_a_full_sentence_search(corpus) -> None:
    """With every passage a candidate, the result is today's passage + sentence index search."""
    sentences, starts = corpus.sentences, corpus.starts
    owners = np.repeat(np.arange(ROWS), corpus.sentence_counts)
    for query in corpus.queries[:10]:
        passage_scores = corpus.passages @ query
        best = passage_scores.copy()
        np.maximum.at(best, owners, sentences @ query)
        candidates = [ScoredPassage(p, float(s)) for p, s in enumerate(passage_scores)]
        got = ann.rescore_with_sentences(query, candidates, sentences, starts, 10)
        assert [hit.position for hit in got] == np.argsort(-best, kind="stable")[:10].tolist()


def test_rescoring_keeps_passages_without_sentences_and_half_precision() -> None:
    query = np.array([1.0, 0.0], dtype=np.float32)
    sentences = np.array([[0.9, 0.1], [0.2, 0.9], [0.95, 0.0]], dtype=np.float16)
    starts = ann.sentence_starts([2, 0, 1])  # passage 1 has no sentence
    candidates = [ScoredPassage(0, 0.5), ScoredPassage(1, 0.7), ScoredPassage(2, 0.1)]
    got = ann.rescore_with_sentences(query, candidates, sentences, starts, 3)
    assert [hit.position for hit in got] == [2, 0, 1]
    assert [hit.score for hit in got] == pytest.approx([0.95, 0.9, 0.7], abs=1e-3)
    assert ann.rescore_with_sentences(query, candidates, sentences, starts, 1)[0].position == 2
    assert ann.rescore_with_sentences(query, [], sentences, starts, 3) == []


def test_synthetic_vectors_are_seeded_unit_and_clustered() -> None:
    first = synthetic.generate(2000, 20, seed=1)
    again = synthetic.generate(2000, 20, seed=1)
    assert np.array_equal(first.passages, again.passages)
    assert np.allclose(np.linalg.norm(first.passages, axis=1), 1, atol=1e-5)
    assert 4.5 < first.sentence_counts.mean() < 5.5
    scores = first.queries @ first.passages.T
    # Each query's own passage is its nearest; its article's passages stand out from the rest.
    assert (scores.argmax(axis=1) == first.query_passages).mean() > 0.9
    ranked = np.sort(scores, axis=1)
    assert (ranked[:, -2] > 3 * np.median(np.abs(scores), axis=1)).all()
