"""The clustered synthetic vectors both tiers of qa.search.store.ann tests search
(tests/unit/search/store and tests/integration test_ann.py), their brute-force neighbours, and an
index type's recall on them."""

from __future__ import annotations

import numpy as np
import pytest

from bench import synthetic
from qa.search.store import ann
from qa.search.store.ann import AnnSpec

ROWS = 4000
QUERIES = 100


@pytest.fixture(scope="module")
def corpus() -> synthetic.SyntheticCorpus:
    return synthetic.generate(ROWS, QUERIES, topics=64, keep_sentences=True, seed=3)


@pytest.fixture(scope="module")
def truth(corpus: synthetic.SyntheticCorpus) -> np.ndarray:
    scores = corpus.queries @ corpus.passages.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :10]


def recall(corpus: synthetic.SyntheticCorpus, truth: np.ndarray, spec: AnnSpec) -> float:
    index = ann.build(corpus.passages, spec)
    return ann.recall_at_k(truth, ann.search(index, corpus.queries, 10)[1], 10)
