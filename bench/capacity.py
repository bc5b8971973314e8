"""Capacity benchmark on synthetic vectors: `python -m bench.capacity` (`make bench-scale`).

Part 1, passages: at each size, every index type of `qa.search.store.ann` is built over the same
clustered 384-dimension unit vectors (`bench.synthetic`) and measured: build time, memory per
passage (the serialised index, and the process's resident-memory growth), single-query latency
p50/p99 at the given thread count (the service searches one question at a time), batch time per
query, and recall@10 against the exact index of the same run.

Part 2, sentences: at one size, with about five sentence rows per passage, today's dense path
(passage index + a sentence index searched for 4x the candidates, a passage scoring the higher
of its own cosine and its best sentence's) against the cheaper path (only the sentences of the
top passages scored, `qa.search.store.ann.rescore_with_sentences`): latency, memory, recall@10 of
the cheaper path against today's.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from bench.capacity_measure import K, Latency, bench_passages, bench_sentences
from bench.synthetic import generate

if TYPE_CHECKING:
    from bench.capacity_postgres import PostgresResult
    from bench.postgres_server import ServerSettings
from qa.cli.arguments import ArgumentParser, whole_number
from qa.search.store import ann
from qa.search.store.ann import IndexKind


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
    kinds = [part.strip() for part in value.split(",") if part.strip()]  # "": PostgreSQL only
    unknown = [kind for kind in kinds if kind not in ann.KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown index type {unknown[0]!r}: one of {', '.join(ann.KINDS)}"
        )
    return kinds  # type: ignore[return-value]


def _postgres_table(
    result: PostgresResult,
    settings: ServerSettings,
    size: int,
    args: argparse.Namespace,
    console: Console,
) -> None:
    mib = 1024 * 1024
    index = f"HNSW m32 ef_search {result.ef_search}" if result.hnsw_bytes else "exact scan"
    _table(
        f"PostgreSQL store, {size:,} passages x 384 dims, {args.queries} queries, k={K}, one "
        f"client; maintenance_work_mem {settings.maintenance_work_mem}, "
        f"{settings.parallel_workers} maintenance workers",
        [
            "index",
            "load s",
            "build s",
            "p50 ms",
            "p95 ms",
            "recall@10",
            "table B/passage",
            "HNSW B/passage",
            "sentences B/passage",
            "server RSS MiB",
            "server PSS MiB",
        ],
        [
            [
                index,
                f"{result.load_s:.1f}",
                f"{result.build_s:.1f}",
                f"{result.latency.p50_ms:.2f}",
                f"{result.latency.p99_ms:.2f}",
                f"{result.recall:.3f}",
                f"{result.table_bytes / size:.0f}",
                f"{result.hnsw_bytes / size:.0f}",
                f"{result.sentence_bytes / size:.0f}",
                f"{result.memory_searched.rss_bytes / mib:.0f}",
                f"{result.memory_searched.pss_bytes / mib:.0f}",
            ]
        ],
        args.markdown,
        console,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m bench.capacity",
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
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also the PostgreSQL store (pgvector HNSW) at each size, on a throwaway server",
    )
    parser.add_argument(
        "--ef-search",
        type=whole_number(10),
        default=128,
        help="the PostgreSQL store's hnsw.ef_search (default 128, QA_POSTGRES_EF_SEARCH's)",
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
        if args.postgres:
            # Imported here: pgserver warns on import where XDG_RUNTIME_DIR is unset.
            from bench.capacity_postgres import bench_postgres
            from bench.postgres_server import ServerSettings, throwaway_server

            settings = ServerSettings()
            with throwaway_server(settings) as server:
                result = bench_postgres(corpus, server, args.ef_search)
            _postgres_table(result, settings, size, args, console)
        if not args.kinds:
            continue
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
