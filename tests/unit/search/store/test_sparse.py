"""The sparse (BM25) terms the Qdrant store writes: bm25s's weighting, stable term ids, and
weights that grow with repetition (both engines on the real articles:
tests/integration/test_store_engines.py)."""

from __future__ import annotations

import bm25s

from qa.search.store.sparse import K1, B, passage_terms, query_terms, term_id


def test_bm25_weights_match_bm25s_defaults() -> None:
    retriever = bm25s.BM25()
    assert (retriever.k1, retriever.b, retriever.method) == (K1, B, "lucene")


def test_sparse_terms_are_stable_and_weigh_repetition() -> None:
    assert term_id("puce") == term_id("puce")  # no per-process salt
    assert term_id("puce") == 682067234  # blake2b, fixed across runs and machines
    once = passage_terms("ByteDance achète des puces.", average_length=3.0)
    twice = passage_terms("ByteDance achète des puces, des puces.", average_length=3.0)
    puce = term_id("puc")
    assert (
        dict(zip(twice.ids, twice.weights, strict=True))[puce]
        > dict(zip(once.ids, once.weights, strict=True))[puce]
    )
    assert all(0 < w < 1 for w in once.weights)  # tf / (tf + k1 * norm)
    question = query_terms("puces, puces et Nvidia")
    assert dict(zip(question.ids, question.weights, strict=True))[puce] == 2.0
