"""Dense index types for the store: exact, HNSW, IVF-Flat, IVF-PQ; the rule choosing one by size.

A store module (it imports faiss). Every index here ranks by inner product over unit vectors,
i.e. cosine. What each type costs and keeps was measured by `python -m bench.capacity`
(docs/scaling.md); `choose_index` encodes that table:

- exact (`IndexFlatIP`): every row scanned; recall 1; 4·d bytes a row; latency grows linearly
  with rows.
- HNSW (`IndexHNSWFlat`): a graph of `hnsw_m` links a node; full vectors kept, plus about
  2·M·4 bytes of links a row; latency nearly flat in rows; no training.
- IVF-Flat: k-means into `nlist` lists, `nprobe` of them scanned per query; full vectors kept;
  needs training on a sample.
- IVF-PQ: as IVF, but vectors compressed to `pq_m` bytes (product quantisation, 8 bits per
  sub-vector): the memory-bound choice; recall@10 drops (scores are approximate).

Also the pure sentence-rescoring function that replaces a sentence index at scale: score only
the sentences of the top passages (`rescore_with_sentences`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import faiss
import numpy as np
import numpy.typing as npt

IndexKind = Literal["flat", "hnsw", "ivf_flat", "ivf_pq"]
KINDS: tuple[IndexKind, ...] = ("flat", "hnsw", "ivf_flat", "ivf_pq")
AnnIndex = faiss.Index  # what `build` returns, for modules that do not import faiss

# Exact search up to this many rows. A scan reads 1.5 KB a row: 100k rows took ~8 ms a query
# on one quiet core (59 ms with the machine shared), under a fifth of encoding the question, with
# recall 1, no build time, and deletions supported. Above, the scan grows linearly (10x at 1M)
# while HNSW answered in about a millisecond (docs/scaling.md).
EXACT_MAX_ROWS = 100_000
# Links kept per HNSW node: 32 is the usual value for ~400-dimension text embeddings.
HNSW_M = 32
# IVF trains k-means on this many sample rows per list (faiss warns below 39).
TRAIN_ROWS_PER_LIST = 64
# PQ trains 256 centroids per sub-quantiser on the same sample: faiss wants 39 rows each.
PQ_TRAIN_ROWS = 39 * 256
FLOAT32_BYTES = 4
# HNSW recall at a fixed efSearch falls as rows grow (recall@10 with efSearch 128: 0.991 at
# 100k rows, 0.879 at 300k); efSearch 128 per 100k rows, rounded up to a power of two, kept
# it at 0.95 or more at both sizes measured (0.991; 0.962 with 512 at 300k). Beyond 300k the
# rule is extrapolated, not measured (docs/scaling.md).
HNSW_EF_PER_100K = 128


@dataclass(frozen=True)
class AnnSpec:
    """One dense index type and its parameters; unused parameters are ignored by a type."""

    kind: IndexKind
    hnsw_m: int = HNSW_M
    ef_construction: int = 40  # candidate list while inserting: build time vs graph quality
    ef_search: int = 128  # candidate list while searching: latency vs recall
    nlist: int = 0  # IVF lists; 0 = `default_nlist(rows)`
    nprobe: int = 16  # IVF lists scanned per query: latency vs recall
    pq_m: int = 48  # IVF-PQ bytes per vector (sub-quantisers); must divide the dimension

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown index kind {self.kind!r}: one of {', '.join(KINDS)}")
        for name in ("hnsw_m", "ef_construction", "ef_search", "nprobe", "pq_m"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.nlist < 0:
            raise ValueError("nlist must be 0 (automatic) or positive")

    def label(self) -> str:
        """Short human name with the parameters that matter for this kind."""
        match self.kind:
            case "flat":
                return "exact"
            case "hnsw":
                return f"HNSW{self.hnsw_m} ef{self.ef_search}"
            case "ivf_flat":
                return f"IVF-Flat np{self.nprobe}"
            case "ivf_pq":
                return f"IVF-PQ{self.pq_m} np{self.nprobe}"


def default_nlist(rows: int) -> int:
    """IVF lists for `rows` vectors: about sqrt(rows), a power of two, at least 1.

    faiss suggests 4-16·sqrt(rows) for the best speed; sqrt(rows) keeps k-means training
    affordable on one core (1024 lists at 1M rows train in seconds, 4096 in minutes).
    """
    return max(1, int(2 ** round(math.log2(max(1.0, math.sqrt(rows))))))


def hnsw_ef_search(rows: int) -> int:
    """efSearch for an HNSW index of `rows` vectors: 128 per 100k rows, a power of two."""
    hundreds_of_thousands = max(1, math.ceil(rows / 100_000))
    return HNSW_EF_PER_100K * int(2 ** math.ceil(math.log2(hundreds_of_thousands)))


def bytes_per_row(spec: AnnSpec, dimension: int) -> float:
    """Approximate memory of one indexed row, for planning (measured figures agree within ~10%)."""
    match spec.kind:
        case "flat":
            return float(dimension * FLOAT32_BYTES)
        case "hnsw":
            # Level 0 holds 2·M links of 4 bytes; upper levels add ~1/M of that.
            return dimension * FLOAT32_BYTES + 2 * spec.hnsw_m * 4 * (1 + 1 / spec.hnsw_m)
        case "ivf_flat":
            return float(dimension * FLOAT32_BYTES + 8)  # 8-byte id in its list
        case "ivf_pq":
            return float(spec.pq_m + 8)


def choose_index(
    rows: int, dimension: int = 384, memory_budget_bytes: int | None = None
) -> AnnSpec:
    """The embedded store's default index for `rows` vectors.

    Exact while a scan is cheap beside encoding the question (recall 1, no parameters);
    HNSW above (about a millisecond, recall@10 0.95 or more with `hnsw_ef_search`, 18% more
    memory than exact); IVF-PQ when
    full vectors plus links no longer fit the memory budget (an order of magnitude smaller,
    lower recall: the next step is a distributed store, see docs/scaling.md).
    """
    if rows < 0:
        raise ValueError("rows must not be negative")
    exact, hnsw = AnnSpec("flat"), AnnSpec("hnsw", ef_search=hnsw_ef_search(rows))

    def fits(spec: AnnSpec) -> bool:
        needed = rows * bytes_per_row(spec, dimension)
        return memory_budget_bytes is None or needed <= memory_budget_bytes

    if rows <= EXACT_MAX_ROWS and fits(exact):
        return exact
    if fits(hnsw):
        return hnsw
    return AnnSpec("ivf_pq", nlist=default_nlist(rows))


def set_threads(threads: int) -> None:
    """Threads faiss may use for search and build (the service searches one query at a time)."""
    faiss.omp_set_num_threads(threads)


def build(vectors: npt.NDArray[np.float32], spec: AnnSpec, *, seed: int = 0) -> faiss.Index:
    """An index of `spec`'s type over `vectors` (unit rows), trained if it needs it."""
    rows, dimension = vectors.shape
    nlist = spec.nlist or default_nlist(rows)
    index: faiss.Index
    match spec.kind:
        case "flat":
            index = faiss.IndexFlatIP(dimension)
        case "hnsw":
            graph = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = spec.ef_construction
            index = graph
        case "ivf_flat":
            quantizer = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        case "ivf_pq":
            if dimension % spec.pq_m:
                raise ValueError(f"pq_m={spec.pq_m} does not divide dimension {dimension}")
            # Built directly rather than by index_factory, which turns on polysemous training:
            # only Hamming filtering (unused here) needs it, and it took 97% of training time.
            quantizer = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIVFPQ(
                quantizer, dimension, nlist, spec.pq_m, 8, faiss.METRIC_INNER_PRODUCT
            )
    if not index.is_trained:
        wanted = nlist * TRAIN_ROWS_PER_LIST
        if spec.kind == "ivf_pq":
            wanted = max(wanted, PQ_TRAIN_ROWS)
        sample = _training_sample(vectors, wanted, seed)
        index.train(sample)
    index.add(vectors)
    tune(index, spec)
    return index


def tune(index: faiss.Index, spec: AnnSpec) -> None:
    """Apply `spec`'s search-time parameters (they are not saved with a faiss index)."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = spec.ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = spec.nprobe


def search(
    index: faiss.Index, queries: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Scores and row ids of the `k` nearest rows of each query; id -1 where fewer exist."""
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return scores, ids


def index_bytes(index: faiss.Index) -> int:
    """Size of the index as faiss serialises it: its vectors, codes, links and lists."""
    return int(faiss.serialize_index(index).nbytes)


def recall_at_k(truth: npt.NDArray[np.int64], found: npt.NDArray[np.int64], k: int) -> float:
    """Mean share of each query's true top `k` ids found in its returned top `k`."""
    if truth.shape[0] != found.shape[0]:
        raise ValueError("truth and found must have one row per query")
    shares = []
    for true_row, found_row in zip(truth, found, strict=True):
        expected = {int(i) for i in true_row[:k] if i >= 0}  # -1: fewer than k rows exist
        returned = {int(i) for i in found_row[:k]}
        shares.append(len(expected & returned) / len(expected) if expected else 1.0)
    return float(np.mean(shares)) if shares else 1.0


@dataclass(frozen=True)
class ScoredPassage:
    position: int
    score: float


def sentence_starts(counts: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Row offsets of each passage's sentences in a contiguous sentence array (length n + 1)."""
    return np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64)))).astype(np.int64)


def rescore_with_sentences(
    query: npt.NDArray[np.float32],
    candidates: Sequence[ScoredPassage],
    sentence_vectors: npt.NDArray[np.floating],
    starts: npt.NDArray[np.int64],
    k: int,
) -> list[ScoredPassage]:
    """The `k` best candidates when a passage scores max(its own cosine, its best sentence's).

    The same score as a search over a separate sentence index, restricted to the sentences of
    the candidate passages: one dot product over a few hundred rows instead of a second index
    five times the size of the passage index. `sentence_vectors` holds every passage's sentence
    vectors in passage order (any float dtype; a memory map will do), `starts` their offsets.
    """
    if not candidates:
        return []
    positions = np.fromiter((c.position for c in candidates), dtype=np.int64)
    firsts, lasts = starts[positions], starts[positions + 1]
    lengths = lasts - firsts
    best = np.full(len(positions), -np.inf, dtype=np.float64)
    if lengths.sum():
        # Every candidate's sentence rows, concatenated; segment i begins at offsets[i].
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        rows = np.repeat(firsts - offsets, lengths) + np.arange(lengths.sum())
        scores = np.asarray(sentence_vectors[rows], dtype=np.float32) @ query
        has = lengths > 0
        best[has] = np.maximum.reduceat(scores, offsets[has])
    merged = np.maximum(best, [c.score for c in candidates])
    order = np.argsort(-merged, kind="stable")[:k]
    return [ScoredPassage(int(positions[i]), float(merged[i])) for i in order]


def _training_sample(
    vectors: npt.NDArray[np.float32], size: int, seed: int
) -> npt.NDArray[np.float32]:
    if size >= len(vectors):
        return vectors
    chosen = np.random.default_rng(seed).choice(len(vectors), size=size, replace=False)
    return np.ascontiguousarray(vectors[np.sort(chosen)])
