"""Synthetic embeddings shaped like a news corpus, for the capacity benchmark.

Uniform random unit vectors are the wrong test for approximate search: in 384 dimensions they
are all nearly orthogonal, every point is about as far as every other, and no index can beat a
scan. Text embeddings are clustered instead. The model here, all in 384 dimensions:

- `topics` centroids, uniform on the sphere (subjects of the archive);
- articles of `PASSAGES_PER_ARTICLE` consecutive passages; each article draws a topic, and its
  vector is the topic's plus Gaussian noise (`ARTICLE_NOISE` per component), normalised
  (cosine to its topic ~0.7);
- each passage's theme is its article's vector plus noise (`PASSAGE_NOISE`), normalised
  (cosine to its article ~0.85);
- each passage has 1-9 sentences (1 + Binomial(8, 1/2), mean 5, as the real index has about
  five sentence rows per passage): its theme plus noise (`SENTENCE_NOISE`), normalised (cosine
  to the theme ~0.8);
- the passage vector is the normalised mean of its sentence vectors;
- a query paraphrases one sentence of a random passage: that sentence plus noise
  (`QUERY_NOISE`), normalised — a question about one fact, as the sentence-level scoring
  expects.

Generation is chunked and seeded: the same arguments give the same vectors, and at 1M passages
only the passage vectors (1.5 GB) are kept unless the sentences are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qa.search.store.ann import sentence_starts

DIMENSION = 384
# Per-component standard deviations; the noise norm is about sigma * sqrt(384).
ARTICLE_NOISE = 0.05
PASSAGE_NOISE = 0.032
SENTENCE_NOISE = 0.038
QUERY_NOISE = 0.038
PASSAGES_PER_ARTICLE = 8
MAX_EXTRA_SENTENCES = 8  # sentences per passage: 1 + Binomial(8, 0.5)
CHUNK_PASSAGES = 20_000  # a multiple of PASSAGES_PER_ARTICLE

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SyntheticCorpus:
    passages: Matrix  # (n, d) unit rows
    queries: Matrix  # (q, d) unit rows
    query_passages: npt.NDArray[np.int64]  # the passage each query paraphrases a sentence of
    sentence_counts: npt.NDArray[np.int64]  # (n,) sentences of each passage
    sentences: Matrix | None  # (sum of counts, d) in passage order, when kept

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return sentence_starts(self.sentence_counts)


def _normalise(vectors: npt.NDArray[np.float32]) -> Matrix:
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _noisy(
    rng: np.random.Generator, centres: npt.NDArray[np.float32], scale: float
) -> npt.NDArray[np.float32]:
    noise = rng.standard_normal(centres.shape, dtype=np.float32)
    noise *= scale
    noise += centres
    return _normalise(noise)


def generate(
    passages: int,
    queries: int,
    *,
    topics: int = 2048,
    keep_sentences: bool = False,
    seed: int = 0,
    dimension: int = DIMENSION,
) -> SyntheticCorpus:
    """`passages` clustered passage vectors, their sentence counts (and vectors), `queries`."""
    rng = np.random.default_rng(seed)
    centroids = _normalise(rng.standard_normal((topics, dimension), dtype=np.float32))
    counts = (1 + rng.binomial(MAX_EXTRA_SENTENCES, 0.5, size=passages)).astype(np.int64)
    query_passages = np.sort(rng.choice(passages, size=min(queries, passages), replace=False))
    passage_vectors = np.empty((passages, dimension), dtype=np.float32)
    query_vectors = np.empty((len(query_passages), dimension), dtype=np.float32)
    kept: list[Matrix] = []
    for first in range(0, passages, CHUNK_PASSAGES):
        last = min(first + CHUNK_PASSAGES, passages)
        chunk_rng = np.random.default_rng([seed, first])
        articles = -(-(last - first) // PASSAGES_PER_ARTICLE)
        topic_rows = chunk_rng.integers(topics, size=articles)
        article_vectors = _noisy(chunk_rng, centroids[topic_rows], ARTICLE_NOISE)
        in_article = np.repeat(article_vectors, PASSAGES_PER_ARTICLE, axis=0)[: last - first]
        themes = _noisy(chunk_rng, in_article, PASSAGE_NOISE)
        chunk_counts = counts[first:last]
        sentences = _noisy(chunk_rng, np.repeat(themes, chunk_counts, axis=0), SENTENCE_NOISE)
        starts = sentence_starts(chunk_counts)
        means = np.add.reduceat(sentences, starts[:-1], axis=0)
        passage_vectors[first:last] = _normalise(means)
        # Each query here paraphrases one sentence, picked at random, of its passage.
        here = np.flatnonzero((query_passages >= first) & (query_passages < last))
        local = query_passages[here] - first
        picked = starts[local] + chunk_rng.integers(chunk_counts[local])
        query_vectors[here] = _noisy(chunk_rng, sentences[picked], QUERY_NOISE)
        if keep_sentences:
            kept.append(sentences)
    return SyntheticCorpus(
        passages=passage_vectors,
        queries=query_vectors,
        query_passages=query_passages.astype(np.int64),
        sentence_counts=counts,
        sentences=np.concatenate(kept) if keep_sentences else None,
    )
