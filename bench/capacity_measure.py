"""The measurements of the capacity benchmark (`python -m bench.capacity` prints them).

Passages: each index type of `qa.search.store.ann` over the same vectors, recall against the exact
one. Sentences: today's dense path (passage index + sentence index) against rescoring the sentences
of the top passages only (`qa.search.store.ann.rescore_with_sentences`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import numpy.typing as npt

from bench.synthetic import SyntheticCorpus
from qa.search.store import ann
from qa.search.store.ann import AnnSpec, IndexKind, ScoredPassage

K = 10
CANDIDATES = 100  # passages proposed to the fusion, as qa.search.retrieval.search.CANDIDATES
SENTENCE_FACTOR = 4  # today's dense path searches the sentence index for 4x the candidates
# Search-time settings measured on one build of each type.
SETTINGS: dict[IndexKind, tuple[AnnSpec, ...]] = {
    "flat": (AnnSpec("flat"),),
    "hnsw": tuple(AnnSpec("hnsw", ef_search=ef) for ef in (64, 128, 256, 512)),
    "ivf_flat": (AnnSpec("ivf_flat", nprobe=16), AnnSpec("ivf_flat", nprobe=64)),
    "ivf_pq": (AnnSpec("ivf_pq", nprobe=16), AnnSpec("ivf_pq", nprobe=64)),
}
PAGE_BYTES = resource.getpagesize()

Matrix = npt.NDArray[np.float32]
Ranking = list[int]


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    batch_ms: float  # wall time of one batch of every query, per query


@dataclass(frozen=True)
class IndexResult:
    label: str
    build_s: float
    index_bytes_per_row: float
    rss_bytes_per_row: float
    latency: Latency
    recall: float


@dataclass(frozen=True)
class SentenceResult:
    path: str
    memory_bytes_per_passage: float  # what the sentence scoring keeps, per passage
    latency: Latency
    recall: float  # recall@10 against today's path


def resident_bytes() -> int:
    """The process's resident memory now, freed heap handed back to the system first."""
    _LIBC.malloc_trim(0)
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))


def measure_latency(search_one: Callable[[int], object], queries: int) -> Latency:
    """Single-query p50/p99 over every query in turn (callers add the batch figure)."""
    search_one(0)  # warm-up
    times = []
    for row in range(queries):
        start = time.perf_counter()
        search_one(row)
        times.append(time.perf_counter() - start)
    return Latency(
        statistics.median(times) * 1000, float(np.percentile(times, 99)) * 1000, float("nan")
    )


def _search_row(index: ann.AnnIndex, queries: Matrix, row: int) -> None:
    ann.search(index, queries[row : row + 1], K)


def bench_passages(corpus: SyntheticCorpus, kinds: Sequence[IndexKind]) -> list[IndexResult]:
    """Every index type over the corpus's passages, recall against the exact one."""
    vectors, queries = corpus.passages, corpus.queries
    rows = len(vectors)
    truth: npt.NDArray[np.int64] | None = None
    results = []
    measured: tuple[IndexKind, ...] = ("flat", *(k for k in kinds if k != "flat"))
    for kind in measured:
        gc.collect()
        before = resident_bytes()
        start = time.perf_counter()
        index = ann.build(vectors, SETTINGS[kind][0])
        build_s = time.perf_counter() - start
        rss = resident_bytes() - before
        size = ann.index_bytes(index)
        for spec in SETTINGS[kind]:
            ann.tune(index, spec)
            latency = measure_latency(partial(_search_row, index, queries), len(queries))
            start = time.perf_counter()
            found = ann.search(index, queries, K)[1]
            batch_ms = (time.perf_counter() - start) / len(queries) * 1000
            truth = found if truth is None else truth
            if kind in kinds:
                results.append(
                    IndexResult(
                        spec.label(),
                        build_s,
                        size / rows,
                        rss / rows,
                        replace(latency, batch_ms=batch_ms),
                        ann.recall_at_k(truth, found, K),
                    )
                )
        del index
    return results


def today_path(
    passage_index: ann.AnnIndex,
    sentence_index: ann.AnnIndex,
    owners: npt.NDArray[np.int64],
    query: Matrix,
) -> Ranking:
    """qa.search.store.EmbeddedStore.search_dense on synthetic data: passage and sentence hits
    merged."""
    best: dict[int, float] = {}
    scores, rows = ann.search(passage_index, query[None], CANDIDATES)
    for row, score in zip(rows[0], scores[0], strict=True):
        best[int(row)] = float(score)
    scores, rows = ann.search(sentence_index, query[None], CANDIDATES * SENTENCE_FACTOR)
    for row, score in zip(rows[0], scores[0], strict=True):
        owner = int(owners[row])
        best[owner] = max(best.get(owner, -1.0), float(score))
    return sorted(best, key=lambda p: -best[p])[:K]


def rescore_path(
    passage_index: ann.AnnIndex,
    sentences: npt.NDArray[np.floating],
    starts: npt.NDArray[np.int64],
    candidates: int,
    query: Matrix,
) -> Ranking:
    """The cheaper path: passage search, then the sentences of the candidates only."""
    scores, rows = ann.search(passage_index, query[None], candidates)
    hits = [ScoredPassage(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True)]
    return [hit.position for hit in ann.rescore_with_sentences(query, hits, sentences, starts, K)]


def passages_only(passage_index: ann.AnnIndex, query: Matrix) -> Ranking:
    """No sentence scoring at all: the floor the sentence paths improve on."""
    return [int(row) for row in ann.search(passage_index, query[None], K)[1][0]]


def _timed_rankings(
    search: Callable[[Matrix], Ranking], queries: Matrix
) -> tuple[Latency, list[Ranking]]:
    latency = measure_latency(lambda row: search(queries[row]), len(queries))
    start = time.perf_counter()
    ranked = [search(query) for query in queries]
    batch_ms = (time.perf_counter() - start) / len(queries) * 1000
    return replace(latency, batch_ms=batch_ms), ranked


def bench_sentences(corpus: SyntheticCorpus, kinds: Sequence[IndexKind]) -> list[SentenceResult]:
    """Today's exact sentence index (and HNSW, when among `kinds`) against rescoring within
    the top passages."""
    if corpus.sentences is None:
        raise ValueError("the sentence benchmark needs a corpus generated with its sentences")
    sentences, starts, queries = corpus.sentences, corpus.starts, corpus.queries
    passages = len(corpus.passages)
    owners = np.repeat(np.arange(passages), corpus.sentence_counts)
    passage_index = ann.build(corpus.passages, AnnSpec("flat"))
    results = []
    reference: list[Ranking] = []
    sentence_specs = [AnnSpec("flat")] + [AnnSpec("hnsw", ef_search=128)] * ("hnsw" in kinds)
    for spec in sentence_specs:
        sentence_index = ann.build(sentences, spec)
        latency, ranked = _timed_rankings(
            partial(today_path, passage_index, sentence_index, owners), queries
        )
        reference = reference or ranked
        size = ann.index_bytes(sentence_index) / passages
        label = f"sentence index, {spec.label()}"
        results.append(SentenceResult(label, size, latency, _recall(reference, ranked)))
        del sentence_index
    half = sentences.astype(np.float16)
    for name, stored in (("float32", sentences), ("float16", half)):
        for candidates in (CANDIDATES // 5, CANDIDATES):
            latency, ranked = _timed_rankings(
                partial(rescore_path, passage_index, stored, starts, candidates), queries
            )
            label = f"rescore top {candidates}, {name} vectors"
            size = stored.nbytes / passages
            results.append(SentenceResult(label, size, latency, _recall(reference, ranked)))
    latency, ranked = _timed_rankings(partial(passages_only, passage_index), queries)
    results.append(SentenceResult("passages only", 0, latency, _recall(reference, ranked)))
    return results


def _recall(truth: list[Ranking], found: list[Ranking]) -> float:
    return ann.recall_at_k(np.array(truth), np.array(found), K)
