"""BM25 as sparse vectors, for engines that score them (Qdrant): the same French analysis and
the same formula as the embedded store's bm25s, so that both engines rank words alike.

bm25s ("lucene" BM25) scores a passage by the sum over query terms of
idf(term) * tf / (tf + k1 * (1 - b + b * length / average_length)).
A passage's sparse vector holds the tf part per term; the engine multiplies by the IDF it counts
over its own points (Qdrant's `Modifier.IDF` uses the same ln(1 + (N - n + 0.5) / (n + 0.5))).
A query's vector holds how often each term occurs in it, as bm25s sums repeated query terms.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from qa.search.store.lexical import analyze

# bm25s.BM25 defaults (checked by a test), so that both stores weigh term frequency alike.
K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class SparseTerms:
    """A sparse vector: term ids and their weights, ids ascending."""

    ids: list[int]
    weights: list[float]


def term_id(stem: str) -> int:
    """A stable 32-bit id of a stem: the same on every machine and run (Python's hash() is
    salted per process), so that writers and readers agree."""
    return int.from_bytes(hashlib.blake2b(stem.encode("utf-8"), digest_size=4).digest(), "big")


def passage_length(text: str) -> int:
    """Number of index terms of a passage (BM25's document length)."""
    return len(analyze(text))


def passage_terms(text: str, average_length: float) -> SparseTerms:
    """The BM25 term-frequency weights of a passage's terms."""
    counts = Counter(analyze(text))
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / average_length) if average_length > 0 else K1
    return _sparse({stem: tf / (tf + norm) for stem, tf in counts.items()})


def query_terms(text: str) -> SparseTerms:
    """A question's terms, each weighted by how often it occurs."""
    return _sparse({stem: float(n) for stem, n in Counter(analyze(text)).items()})


def _sparse(weights: dict[str, float]) -> SparseTerms:
    by_id: dict[int, float] = {}
    for stem, weight in weights.items():  # a 32-bit collision merges two stems, as a hash must
        key = term_id(stem)
        by_id[key] = by_id.get(key, 0.0) + weight
    ids = sorted(by_id)
    return SparseTerms(ids=ids, weights=[by_id[i] for i in ids])
