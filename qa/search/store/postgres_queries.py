"""What the PostgreSQL store asks of the database when searching: SQL, run by psycopg.

Dense search is the embedded store's, in SQL: passage candidates by cosine (`<=>`, which the
HNSW index `vector_cosine_ops` serves once there is one), each rescored with its own sentences;
a passage scores the higher of its inner product with the question and its best sentence's
(unit vectors: inner product = cosine, as FAISS computes it). Lexical search is BM25 over the
stems `qa/search/store/lexical.py` makes (the embedded store's formula and parameters, bm25s
"lucene", `qa/search/store/sparse.py`), from the term counts of `qa_terms`; or, with `french-fts`,
PostgreSQL's French full text (`ts_rank_cd` over the GIN-indexed `tsvector`), the alternative
measured in docs/stores.md. Filters are SQL conditions on the articles.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import numpy as np

from qa.search.encoders.base import Vectors
from qa.search.store.lexical import analyze
from qa.search.store.postgres_schema import Connection
from qa.search.store.protocol import SearchFilter
from qa.search.store.sparse import K1, B

LexicalMethod = Literal["bm25", "french-fts"]
# (passage id, score, chunk JSON)
Row = tuple[int, float, dict[str, Any]]


def admitted(where: SearchFilter | None) -> tuple[str, list[object]]:
    """The SQL condition on `qa_sources s` a filter sets, and its parameters; "true" if None.
    NULL (an unknown date, language or site) satisfies no comparison, as the filter says."""
    if where is None:
        return "true", []
    conditions: list[str] = []
    parameters: list[object] = []
    for column, allowed in [
        ("s.name", where.sources),
        ("s.language", where.languages),
        ("s.site", where.sites),
    ]:
        if allowed is not None:
            conditions.append(f"{column} = ANY(%s)")
            parameters.append(sorted(allowed))
    if where.published_after is not None:
        conditions.append("s.published >= %s")
        parameters.append(where.published_after)
    if where.published_before is not None:
        conditions.append("s.published <= %s")
        parameters.append(where.published_before)
    return " AND ".join(conditions) or "true", parameters


def dense(
    connection: Connection,
    query: Vectors,
    k: int,
    candidates: int,
    where: SearchFilter | None,
    ef_search: int,
    approximate: bool,
) -> list[Row]:
    """The `k` best passages: `candidates` nearest by their own vector (through the HNSW
    index if `approximate`), rescored with their sentences."""
    condition, parameters = admitted(where)
    if approximate:
        # SET LOCAL takes no parameter; the value is an int the settings checked.
        connection.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
        # A filter keeps the index scan going until enough rows pass it, in distance order.
        connection.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        # The index, as the embedded store does past its exact size, whatever the planner
        # estimates of a scan.
        connection.execute("SET LOCAL enable_seqscan = off")
    join = "" if where is None else "JOIN qa_sources s ON s.name = p.source"
    return [
        (int(id_), float(score), chunk)
        for id_, score, chunk in connection.execute(
            f"""
            WITH candidates AS (
                SELECT p.id, -(p.embedding <#> %s) AS own
                FROM qa_passages p {join}
                WHERE {condition}
                ORDER BY p.embedding <=> %s
                LIMIT %s
            ), scored AS (
                SELECT c.id, GREATEST(c.own, (
                    SELECT max(-(t.embedding <#> %s)) FROM qa_sentences t WHERE t.passage = c.id
                )) AS score
                FROM candidates c
                ORDER BY score DESC, c.id
                LIMIT %s
            )
            -- The passages' JSON is read for the k kept only.
            SELECT s.id, s.score, p.chunk
            FROM scored s JOIN qa_passages p ON p.id = s.id
            ORDER BY s.score DESC, s.id""",
            [query, *parameters, query, candidates, query, k],
        )
    ]


def dense_scores(connection: Connection, query: Vectors, ids: list[int]) -> dict[int, float]:
    """The `dense` score of given passages, by id."""
    rows = connection.execute(
        """
        SELECT p.id, GREATEST(-(p.embedding <#> %s), max(-(t.embedding <#> %s)))
        FROM qa_passages p LEFT JOIN qa_sentences t ON t.passage = p.id
        WHERE p.id = ANY(%s)
        GROUP BY p.id""",
        [query, query, ids],
    )
    return {int(id_): float(score) for id_, score in rows}


def sentence_scores(connection: Connection, query: Vectors, id_: int) -> Vectors:
    rows = connection.execute(
        "SELECT -(embedding <#> %s) FROM qa_sentences WHERE passage = %s ORDER BY ord",
        [query, id_],
    ).fetchall()
    return np.array([row[0] for row in rows], dtype=np.float32)


def lexical(
    connection: Connection,
    text: str,
    k: int,
    where: SearchFilter | None,
    method: LexicalMethod,
) -> list[Row]:
    """The best `k` passages sharing a term with `text`, by `method`."""
    if method == "french-fts":
        return _french_full_text(connection, text, k, where)
    counts = Counter(analyze(text))
    if not counts:
        return []
    condition, parameters = admitted(where)
    join = "" if where is None else "JOIN qa_sources s ON s.name = p.source"
    # bm25s "lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)) over every passage (a filter
    # does not change it), tf / (tf + k1 * (1 - b + b * length / average length)); a term
    # repeated in the question counts as often.
    rows = connection.execute(
        f"""
        WITH asked AS (
            SELECT * FROM unnest(%s::text[], %s::int[]) AS q (term, times)
        ), frequency AS (
            SELECT a.term, a.times, count(*) AS df
            FROM asked a JOIN qa_terms t ON t.term = a.term
            GROUP BY a.term, a.times
        ), totals AS (
            SELECT passages AS n, total_length::float8 / greatest(passages, 1) AS average
            FROM qa_meta
        )
        SELECT p.id,
               sum(f.times * ln(1 + (totals.n - f.df + 0.5) / (f.df + 0.5))
                   * t.tf / (t.tf + %s * (1 - %s + %s * p.length / totals.average))) AS score,
               p.chunk
        FROM frequency f
        JOIN qa_terms t ON t.term = f.term
        JOIN qa_passages p ON p.id = t.passage
        {join}
        CROSS JOIN totals
        WHERE {condition}
        GROUP BY p.id, p.chunk
        ORDER BY score DESC, p.id
        LIMIT %s""",
        [list(counts), list(counts.values()), K1, B, B, *parameters, k],
    )
    return [(int(id_), float(score), chunk) for id_, score, chunk in rows if score > 0]


def _french_full_text(
    connection: Connection, text: str, k: int, where: SearchFilter | None
) -> list[Row]:
    """PostgreSQL's French full text: any of the question's lexemes (OR, as BM25 matches),
    ranked by cover density (`ts_rank_cd`, normalised by the passage's length)."""
    condition, parameters = admitted(where)
    join = "" if where is None else "JOIN qa_sources s ON s.name = p.source"
    rows = connection.execute(
        f"""
        WITH asked AS (
            SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS query
            FROM unnest(tsvector_to_array(to_tsvector('french', %s))) AS lexeme
        )
        SELECT p.id, ts_rank_cd(p.french, asked.query, 1) AS score, p.chunk
        FROM qa_passages p {join} CROSS JOIN asked
        WHERE asked.query IS NOT NULL AND p.french @@ asked.query AND {condition}
        ORDER BY score DESC, p.id
        LIMIT %s""",
        [text, *parameters, k],
    )
    return [(int(id_), float(score), chunk) for id_, score, chunk in rows if score > 0]
