"""Capacity benchmark on synthetic vectors: `python -m qa.capacity` (`make bench-scale`).

Part 1, passages: at each size, every index type of `qa.ann` is built over the same clustered
384-dimension unit vectors (`qa.synthetic`) and measured: build time, memory per passage (the
serialised index, and the process's resident-memory growth), single-query latency p50/p99 at
the given thread count (the service searches one question at a time), batch time per query,
and recall@10 against the exact index of the same run.

Part 2, sentences: at one size, with about five sentence rows per passage, today's dense path
(passage index + a sentence index searched for 4x the candidates, a passage scoring the higher
of its own cosine and its best sentence's) against the cheaper path (only the sentences of the
top passages scored, `qa.ann.rescore_with_sentences`): latency, memory, recall@10 of the cheaper
path against today's.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from qa import ann
from qa.ann import AnnSpec, IndexKind, ScoredPassage
from qa.cli import ArgumentParser, whole_number
from qa.synthetic import SyntheticCorpus, generate

K = 10
CANDIDATES = 100  # passages proposed to the fusion, as qa.search.CANDIDATES
SENTENCE_FACTOR = 4  # today's dense path searches the sentence index for 4x the candidates
# Search-time settings measured on one build of each type.
SETTINGS: dict[IndexKind, tuple[AnnSpec, ...]] = {
    "flat": (AnnSpec("flat"),),
    "hnsw": (AnnSpec("hnsw", ef_search=64), AnnSpec("hnsw", ef_search=128)),
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
    """qa.index.Index.search_dense on synthetic data: passage and sentence hits merged."""
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


def _table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    markdown: bool,
    console: Console,
) -> None:
    if markdown:
        print(f"\n{title}\n")
        print("| " + " | ".join(columns) + " |")
        print("|" + "---:|" * len(columns))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _latency_cells(latency: Latency) -> list[str]:
    return [f"{latency.p50_ms:.2f}", f"{latency.p99_ms:.2f}", f"{latency.batch_ms:.3f}"]


def _sizes(value: str) -> list[int]:
    parse = whole_number(1000)
    try:
        return [parse(part.strip().replace("_", "")) for part in value.split(",")]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"each size {error}") from error


def _kinds(value: str) -> list[IndexKind]:
    kinds = [part.strip() for part in value.split(",")]
    unknown = [kind for kind in kinds if kind not in ann.KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown index type {unknown[0]!r}: one of {', '.join(ann.KINDS)}"
        )
    return kinds  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m qa.capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="passage counts, comma-separated (default 100000,1000000)",
    )
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=list(ann.KINDS),
        help=f"index types (default {','.join(ann.KINDS)})",
    )
    parser.add_argument(
        "--queries",
        type=whole_number(10),
        default=500,
        help="queries per measurement (default 500)",
    )
    parser.add_argument(
        "--sentence-passages",
        type=whole_number(0),
        default=100_000,
        help="passages of the sentence-cost part, ~5 sentences each; 0 skips it (default 100000)",
    )
    parser.add_argument(
        "--threads",
        type=whole_number(1),
        default=1,
        help="faiss threads (default 1, as the service searches one query)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds: 10000 passages, 50 queries, 2000 sentence passages",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.sentence_passages = [10_000], 50, 2000
    try:
        _run(args)
    except KeyboardInterrupt:
        return 130
    return 0


def _run(args: argparse.Namespace) -> None:
    console = Console(width=200)  # tables at their natural width, even when piped
    ann.set_threads(args.threads)
    started = time.perf_counter()
    for size in args.sizes:
        corpus = generate(size, args.queries, seed=args.seed)
        results = bench_passages(corpus, args.kinds)
        exact = results[0].latency.p50_ms
        _table(
            f"{size:,} passages x 384 dims, {len(corpus.queries)} queries, k={K}, "
            f"{args.threads} thread(s)",
            [
                "index",
                "build s",
                "index B/passage",
                "RSS B/passage",
                "p50 ms",
                "p99 ms",
                "batch ms/q",
                "p50 vs exact",
                "recall@10",
            ],
            [
                [
                    r.label,
                    f"{r.build_s:.1f}",
                    f"{r.index_bytes_per_row:.0f}",
                    f"{r.rss_bytes_per_row:.0f}",
                    *_latency_cells(r.latency),
                    f"{r.latency.p50_ms / exact:.2f}x",
                    f"{r.recall:.3f}",
                ]
                for r in results
            ],
            args.markdown,
            console,
        )
        del corpus
    if args.sentence_passages:
        corpus = generate(args.sentence_passages, args.queries, keep_sentences=True, seed=args.seed)
        assert corpus.sentences is not None
        sentence_results = bench_sentences(corpus, args.kinds)
        baseline = sentence_results[0].latency.p50_ms
        _table(
            f"Sentence scoring: {args.sentence_passages:,} passages, "
            f"{len(corpus.sentences):,} sentence rows, {len(corpus.queries)} queries, "
            f"{args.threads} thread(s)",
            [
                "dense path",
                "sentence B/passage",
                "p50 ms",
                "p99 ms",
                "batch ms/q",
                "p50 vs today",
                "recall@10 vs today",
            ],
            [
                [
                    r.path,
                    f"{r.memory_bytes_per_passage:.0f}",
                    *_latency_cells(r.latency),
                    f"{r.latency.p50_ms / baseline:.2f}x",
                    f"{r.recall:.3f}",
                ]
                for r in sentence_results
            ],
            args.markdown,
            console,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"total {time.perf_counter() - started:.0f} s · peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
