"""The PostgreSQL + pgvector rows of the capacity benchmark, measured through the store itself.

The synthetic passages go in through the store's own write path (`PostgresStore.write_document`,
one article of `PASSAGES_PER_ARTICLE` passages a transaction, into the store's tables), and its
publication builds the HNSW index with the store's DDL (`m` = `qa.search.store.ann.HNSW_M`, cosine);
the searches are the store's `search_dense` (HNSW at `ef_search`, candidates rescored with
their sentences), one client. Each synthetic passage has one sentence, its own vector, so that
the rescoring changes no ranking (the real index has about five a passage: the sentence table
then weighs five times what is measured here).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from pgserver.postgres_server import PostgresServer

from bench.capacity_measure import K, Latency
from bench.postgres_server import ServerMemory, scalar, server_memory, url
from bench.synthetic import PASSAGES_PER_ARTICLE, SyntheticCorpus
from qa.content.corpus import Chunk, ChunkingConfig
from qa.search.store import DocumentRecord, Manifest, Source
from qa.search.store.ann import recall_at_k
from qa.search.store.choice import postgres_writer
from qa.settings import Settings

EXACT_BATCH = 50  # queries scored at once by the exact numpy scan (1M x 50 float32: 200 MB)


@dataclass(frozen=True)
class PostgresResult:
    ef_search: int
    load_s: float  # write_document of every article
    build_s: float  # the publication: the HNSW build, in its transaction
    table_bytes: int  # qa_passages with its TOAST and its other indexes, HNSW excluded
    sentence_bytes: int  # qa_sentences, one row a passage here
    hnsw_bytes: int
    memory_loaded: ServerMemory  # the server after the load, before the build
    memory_searched: ServerMemory  # the server after the searches
    latency: Latency
    recall: float


def _record(corpus: SyntheticCorpus, article: int) -> DocumentRecord:
    first = article * PASSAGES_PER_ARTICLE
    rows = range(first, min(first + PASSAGES_PER_ARTICLE, len(corpus.passages)))
    name = f"a{article}.txt"
    texts = [f"passage {row} de l'article {article}." for row in rows]
    text = " ".join(texts)
    chunks, start = [], 0
    for row, passage in zip(rows, texts, strict=True):
        end = start + len(passage)
        chunks.append(
            Chunk(
                chunk_id=f"p{row}",
                source=name,
                start=start,
                end=end,
                text=passage,
                context="",
                sentences=((start, end),),
            )
        )
        start = end + 1
    vectors = corpus.passages[rows.start : rows.stop]
    source = Source(
        name=name, title=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    return DocumentRecord(source, tuple(chunks), vectors, vectors)


def _exact_top(corpus: SyntheticCorpus) -> npt.NDArray[np.int64]:
    top = []
    for first in range(0, len(corpus.queries), EXACT_BATCH):
        scores = corpus.passages @ corpus.queries[first : first + EXACT_BATCH].T
        best = np.argpartition(-scores, K, axis=0)[:K].T
        order = np.take_along_axis(scores.T, best, axis=1).argsort(axis=1)[:, ::-1]
        top.append(np.take_along_axis(best, order, axis=1))
    return np.concatenate(top).astype(np.int64)


def bench_postgres(
    corpus: SyntheticCorpus, server: PostgresServer, ef_search: int
) -> PostgresResult:
    settings = Settings(store="postgres", postgres_url=url(server), postgres_ef_search=ef_search)
    writer = postgres_writer(settings)
    articles = -(-len(corpus.passages) // PASSAGES_PER_ARTICLE)
    start = time.perf_counter()
    for article in range(articles):
        writer.write_document(_record(corpus, article))
    load_s = time.perf_counter() - start
    loaded = server_memory(server)
    manifest = Manifest(
        model=settings.model,
        dimension=corpus.passages.shape[1],
        query_prompt=settings.query_prompt,
        chunking=ChunkingConfig.from_settings(settings),
        corpus={},
        skipped={},
        chunk_count=len(corpus.passages),
        sentence_count=len(corpus.passages),
        built_at=datetime.now(UTC),
    )
    start = time.perf_counter()
    writer.publish(manifest)
    build_s = time.perf_counter() - start
    # The writer is the store itself: it searches the version it just published.
    store = writer
    times, found = [], []
    store.search_dense(corpus.queries[0], K)  # warm-up: the pool's first connection
    for query in corpus.queries:
        begin = time.perf_counter()
        hits = store.search_dense(query, K)
        times.append(time.perf_counter() - begin)
        found.append([int(store.chunk(hit.position).chunk_id[1:]) for hit in hits])
    table_bytes, sentence_bytes, hnsw_bytes = (
        int(scalar(server, f"SELECT {expression}"))
        for expression in (
            "pg_total_relation_size('qa_passages') "
            "- coalesce(pg_relation_size(to_regclass('qa_passages_hnsw')), 0)",
            "pg_total_relation_size('qa_sentences')",
            "coalesce(pg_relation_size(to_regclass('qa_passages_hnsw')), 0)",
        )
    )
    latency = Latency(
        statistics.median(times) * 1000, float(np.percentile(times, 95)) * 1000, float("nan")
    )
    return PostgresResult(
        ef_search,
        load_s,
        build_s,
        table_bytes,
        sentence_bytes,
        hnsw_bytes,
        loaded,
        server_memory(server),
        latency,
        recall_at_k(_exact_top(corpus), np.array(found), K),
    )
