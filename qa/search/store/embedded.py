"""The embedded store: FAISS inner-product search and bm25s, all in memory, saved as one
immutable version folder. With the version modules, the only code that imports faiss.

A passage scores the higher of its own cosine and its best sentence's. Dense search takes
passage candidates from a passage index (exact up to `ann.EXACT_MAX_ROWS` passages, above it
the approximate index `ann.choose_index` picks: HNSW) and rescores each with its own sentences
(`ann.rescore_with_sentences`) rather than searching a sentence index five times the size
(docs/scaling.md). The passage index is built on the first search, not by the writer.

A version folder holds:

manifest.json   what was built, from what, how, and every other file's size and SHA-256
sources.jsonl   each indexed article: name, title, original text, hash, and its metadata (url,
                published date, author, language, site, tags: absent in older versions)
chunks.jsonl    each passage with its offsets and sentence offsets, grouped by article
passages.npy    one unit vector per passage (float32)
sentences.npy   one unit vector per passage sentence, in passage order
lexical/        the BM25 index (bm25s format)
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
from pydantic import BaseModel, ValidationError

from qa.content.corpus.chunk import Chunk
from qa.errors import IndexCorruptError, IndexMismatchError, IndexWriteError
from qa.search.encoders.base import Vectors
from qa.search.store import ann
from qa.search.store.integrity import check_vectors, record_files, verify_files
from qa.search.store.lexical import LexicalIndex
from qa.search.store.protocol import (
    INDEX_FORMAT,
    DocumentRecord,
    Hit,
    Manifest,
    SearchFilter,
    Source,
    StoreDescription,
)
from qa.search.store.versions import commit, current_version, stage

MANIFEST = "manifest.json"
SOURCES = "sources.jsonl"
CHUNKS = "chunks.jsonl"
PASSAGE_VECTORS = "passages.npy"
SENTENCE_VECTORS = "sentences.npy"
LEXICAL = "lexical"
# Passage candidates rescored with their sentences: 4 per passage asked for, and at least 100,
# since a passage whose own vector ranks low can still come first on its best sentence
# (docs/scaling.md: rescoring the top 100 gave the same top 10 as searching every sentence;
# with 4 candidates for k = 1, the calibration's best scores changed). 500 rows cost nothing.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 100

Record = TypeVar("Record", bound=BaseModel)


class EmbeddedStore:
    """Passages of a corpus with their vectors, searchable; a `Store`.

    Readers use a store loaded from a published version and never change it; the one writer
    changes its own copy and publishes it as a new version.
    """

    def __init__(
        self,
        manifest: Manifest,
        documents: Iterable[DocumentRecord],
        *,
        home: Path | None = None,
        keep: int = 3,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self._manifest = manifest
        self.home = home  # the index folder `publish` writes to
        self.keep = keep
        self._documents = {record.source.name: record for record in documents}
        self._building = threading.Lock()  # search threads share the first build
        self._arrange(lexical)

    # --- what the search reads -----------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def chunks(self) -> Sequence[Chunk]:
        self._arrange_if_changed()
        return self._chunks

    @property
    def sources(self) -> dict[str, Source]:
        self._arrange_if_changed()
        return self._sources

    @property
    def lexical(self) -> LexicalIndex:
        self._arrange_if_changed()
        return self._lexical

    @property
    def engine(self) -> str:
        self._arrange_if_changed()
        kind = "exact inner product" if self._spec.kind == "flat" else self._spec.label()
        return f"embedded: FAISS {kind}, candidates rescored with their sentences + bm25s"

    def search_dense(self, query: Vectors, k: int, where: SearchFilter | None = None) -> list[Hit]:
        """The `k` passages whose own vector or best sentence is closest to `query`: candidates
        from the passage index, each rescored with its own sentences."""
        passages = self._passage_index()
        candidates = [
            ann.ScoredPassage(position, score)
            for position, score in _search(
                passages,
                query,
                max(k * CANDIDATES_PER_RESULT, MIN_CANDIDATES),
                self._admitted(where),
            )
        ]
        rescored = ann.rescore_with_sentences(
            query, candidates, self._sentence_vectors, self._sentence_starts, k
        )
        return [Hit(passage.position, passage.score) for passage in rescored]

    def search_lexical(self, text: str, k: int, where: SearchFilter | None = None) -> list[Hit]:
        self._arrange_if_changed()
        passages = self._admitted(where)
        mask = None
        if passages is not None:
            mask = np.zeros(len(self._chunks), dtype=np.float32)
            mask[passages] = 1.0
        return [Hit(hit.position, hit.score) for hit in self._lexical.search(text, k, mask)]

    def dense_scores(self, query: Vectors, positions: Sequence[int]) -> list[float]:
        self._arrange_if_changed()
        return [
            max(
                float(self._passage_vectors[p] @ query),
                float(self.sentence_scores(query, p).max(initial=-1.0)),
            )
            for p in positions
        ]

    def sentence_scores(self, query: Vectors, position: int) -> Vectors:
        self._arrange_if_changed()
        rows = self._sentence_rows[position]
        return np.asarray(self._sentence_vectors[rows.start : rows.stop] @ query, np.float32)

    def count(self) -> int:
        return len(self.chunks)

    def describe(self) -> StoreDescription:
        return StoreDescription(
            engine=self.engine,
            version=self._manifest.version,
            documents=len(self._documents),
            passages=self.count(),
            sentences=len(self._sentence_vectors),
            built_at=self._manifest.built_at,
        )

    # --- what the one writer changes ---------------------------------------------------------

    def document(self, name: str) -> DocumentRecord | None:
        return self._documents.get(name)

    def write_document(self, record: DocumentRecord) -> None:
        self._documents[record.source.name] = record
        self._changed = True

    def delete_document(self, name: str) -> None:
        if self._documents.pop(name, None) is not None:
            self._changed = True

    def publish(self, manifest: Manifest) -> str:
        """Write a new version folder under `home` and point readers to it."""
        if self.home is None:
            raise ValueError("this store has no index folder to publish into")
        self._arrange_if_changed()
        try:
            staging = stage(self.home)
            try:
                self.save(staging, manifest)
                version = commit(self.home, staging, self.keep)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)  # never half a version left behind
                raise
        except OSError as error:  # a full disk, a read-only folder...
            raise IndexWriteError(
                f"cannot write a new index version in {self.home}: {error.strerror or error}; "
                "the published version is unchanged"
            ) from error
        self._manifest = manifest.model_copy(update={"version": version})
        return version

    def save(self, folder: Path, manifest: Manifest) -> None:
        """Write the files of one version into `folder`, the manifest (with checksums) last."""
        self._arrange_if_changed()
        _write_jsonl(folder / SOURCES, self.sources.values())
        _write_jsonl(folder / CHUNKS, self._chunks)
        np.save(folder / PASSAGE_VECTORS, self._passage_vectors, allow_pickle=False)
        np.save(folder / SENTENCE_VECTORS, self._sentence_vectors, allow_pickle=False)
        self._lexical.save(folder / LEXICAL)
        stamped = manifest.model_copy(
            update={
                "format": INDEX_FORMAT,
                "chunk_count": len(self._chunks),
                "sentence_count": len(self._sentence_vectors),
                "corpus": {name: s.sha256 for name, s in self.sources.items()},
                "files": record_files(folder, exclude=MANIFEST),
            }
        )
        (folder / MANIFEST).write_text(stamped.model_dump_json(indent=2), encoding="utf-8")
        self._manifest = stamped

    # --- internals -------------------------------------------------------------------------

    def _arrange(self, lexical: LexicalIndex | None = None) -> None:
        """Lay the documents' passages out in one order and index them."""
        records = list(self._documents.values())
        dimension = self._manifest.dimension
        self._sources = {record.source.name: record.source for record in records}
        self._chunks = [chunk for record in records for chunk in record.chunks]
        self._passage_vectors = _stack([r.vectors for r in records], dimension)
        self._sentence_vectors = _stack([r.sentence_vectors for r in records], dimension)
        # Chosen by size when the passages are laid out; built on the first search.
        self._spec = ann.choose_index(len(self._chunks), dimension)
        self._passages: faiss.Index | None = None
        self._sentence_starts = ann.sentence_starts([len(c.sentences) for c in self._chunks])
        self._lexical = lexical or LexicalIndex.build([c.match_text for c in self._chunks])
        self._sentence_rows = list(_sentence_rows(self._chunks))
        self._source_rows: dict[str, range] = {}
        start = 0
        for record in records:
            self._source_rows[record.source.name] = range(start, start + len(record.chunks))
            start += len(record.chunks)
        self._changed = False

    def _arrange_if_changed(self) -> None:
        if self._changed:
            self._arrange()

    def _passage_index(self) -> faiss.Index:
        """The passage vectors' index, built by the first search that needs it."""
        self._arrange_if_changed()
        with self._building:
            if self._passages is None:
                self._passages = ann.build(self._passage_vectors, self._spec)
            return self._passages

    def _admitted(self, where: SearchFilter | None) -> np.ndarray | None:
        """Positions of the passages a filter admits; None when there is no filter."""
        if where is None:
            return None
        rows = [
            np.arange(self._source_rows[name].start, self._source_rows[name].stop)
            for name, record in self._documents.items()
            if where.admits(record.source)
        ]
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


def load_store(index_dir: Path, model: str, keep: int = 3) -> EmbeddedStore:
    """The published version of the index in `index_dir`, checked, refusing another model's."""
    store = load_version(current_version(index_dir), model)
    store.home, store.keep = index_dir, keep
    return store


def read_manifest(folder: Path) -> Manifest:
    """The manifest of one version folder."""
    path = folder / MANIFEST
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise IndexCorruptError(f"unreadable manifest {path}: rebuild with `qa index`") from error
    return manifest.model_copy(update={"version": folder.name})


def load_version(folder: Path, model: str) -> EmbeddedStore:
    """Load one version folder after checking every file against its manifest."""
    manifest = read_manifest(folder)
    if manifest.model != model:
        raise IndexMismatchError(
            f"the index in {folder.parent.parent} was built with model {manifest.model!r} but "
            f"the configured model is {model!r}: rebuild it with "
            f"`qa index --index-dir {folder.parent.parent}`"
        )
    if manifest.format != INDEX_FORMAT:
        raise IndexMismatchError(
            f"the index in {folder} has format {manifest.format}, this version reads "
            f"{INDEX_FORMAT}: rebuild it with `qa index --index-dir {folder.parent.parent}`"
        )
    verify_files(folder, manifest.files, exclude=MANIFEST)
    try:
        sources = list(_read_jsonl(folder / SOURCES, Source))
        chunks = list(_read_jsonl(folder / CHUNKS, Chunk))
        passages = np.load(folder / PASSAGE_VECTORS, allow_pickle=False)
        sentences = np.load(folder / SENTENCE_VECTORS, allow_pickle=False)
        lexical = LexicalIndex.load(folder / LEXICAL, len(chunks))
    except ValidationError as error:  # a pydantic dump is many lines: its first problem will do
        raise IndexCorruptError(
            f"cannot read the index in {folder}: {error.title}: {error.errors()[0]['msg']}; "
            "rebuild it with `qa index`"
        ) from error
    except (OSError, ValueError) as error:
        raise IndexCorruptError(f"cannot read the index in {folder}: {error}") from error
    sentence_count = sum(len(chunk.sentences) for chunk in chunks)
    if (
        len(chunks) != manifest.chunk_count
        or sentence_count != manifest.sentence_count
        or {s.name: s.sha256 for s in sources} != manifest.corpus
    ):
        raise IndexCorruptError(f"the index files in {folder} disagree: rebuild with `qa index`")
    check_vectors(folder, PASSAGE_VECTORS, passages, len(chunks), manifest.dimension)
    check_vectors(folder, SENTENCE_VECTORS, sentences, sentence_count, manifest.dimension)
    records = list(_records(folder, sources, chunks, passages, sentences))
    return EmbeddedStore(manifest, records, lexical=lexical)


def _records(
    folder: Path,
    sources: list[Source],
    chunks: list[Chunk],
    passages: Vectors,
    sentences: Vectors,
) -> Iterator[DocumentRecord]:
    """Cut the stored rows back into documents; passages must come grouped by article."""
    by_name = {source.name: source for source in sources}
    position = sentence = 0
    for source in sources:
        start = position
        while position < len(chunks) and chunks[position].source == source.name:
            position += 1
        owned = chunks[start:position]
        sentence_count = sum(len(chunk.sentences) for chunk in owned)
        yield DocumentRecord(
            source=source,
            chunks=tuple(owned),
            vectors=passages[start:position],
            sentence_vectors=sentences[sentence : sentence + sentence_count],
        )
        sentence += sentence_count
    if position != len(chunks) or any(chunk.source not in by_name for chunk in chunks):
        raise IndexCorruptError(f"the passages in {folder} do not follow their articles: rebuild")


def _stack(blocks: list[Vectors], dimension: int) -> Vectors:
    if not blocks:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)


def _search(
    index: faiss.Index, query: Vectors, k: int, admitted: np.ndarray | None
) -> list[tuple[int, float]]:
    limit = index.ntotal if admitted is None else len(admitted)
    if min(k, limit) <= 0:
        return []
    params = None
    if admitted is not None:
        params = _filtered(index, faiss.IDSelectorBatch(admitted.astype(np.int64)))
    scores, rows = index.search(query.reshape(1, -1), min(k, limit), params=params)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def _filtered(index: faiss.Index, selector: faiss.IDSelector) -> faiss.SearchParameters:
    """Search parameters admitting only `selector`'s rows; an approximate index wants its own
    kind, carrying its search-time settings."""
    if isinstance(index, faiss.IndexHNSW):
        # Missing from faiss's type stubs, present in faiss.
        hnsw: faiss.SearchParameters = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            sel=selector, efSearch=index.hnsw.efSearch
        )
        return hnsw
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)  # type: ignore[call-arg]
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]


def _sentence_rows(chunks: Sequence[Chunk]) -> Iterator[range]:
    row = 0
    for chunk in chunks:
        yield range(row, row + len(chunk.sentences))
        row += len(chunk.sentences)


def _write_jsonl(path: Path, records: Iterable[BaseModel]) -> None:
    with path.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(record.model_dump_json() + "\n")


def _read_jsonl(path: Path, model: type[Record]) -> Iterator[Record]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            yield model.model_validate_json(line)
