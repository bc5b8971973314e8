"""The store contract on the embedded store: writes, filters, versions, integrity, one writer.

The fake encoder is enough here: these are properties of storage, not of retrieval quality
(the real model's round trip and incremental indexing are in tests/integration/test_index.py
and test_live.py; a writer of another process and `qa ask` on a damaged index in
tests/integration/test_store.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexCorruptError, IndexLockedError, IndexUnavailableError, IndexWriteError
from qa.indexing.build import build_index
from qa.search.store import (
    DocumentRecord,
    EmbeddedStore,
    SearchFilter,
    Source,
    Store,
    WriterLock,
    ann,
    current_version,
    load_store,
    read_pointer,
)
from qa.search.store.embedded import MANIFEST
from qa.search.store.integrity import record_files
from qa.search.store.versions import STAGING, VERSIONS, clean_leftovers
from tests.conftest import SEEDS, FakeEncoder, publish

CHUNKING = ChunkingConfig(max_tokens=128, overlap_sentences=1, prefix="passage: ")


@pytest.fixture
def store(fake_encoder: FakeEncoder) -> EmbeddedStore:
    return build_index(load_corpus(SEEDS), fake_encoder, CHUNKING)


@pytest.fixture
def published(store: EmbeddedStore, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    publish(store, index_dir)
    return index_dir


def dated(store: EmbeddedStore, name: str, published: date) -> DocumentRecord:
    record = store.document(name)
    assert record is not None
    return DocumentRecord(
        source=record.source.model_copy(update={"published": published}),
        chunks=record.chunks,
        vectors=record.vectors,
        sentence_vectors=record.sentence_vectors,
    )


def test_the_embedded_store_follows_the_contract(store: EmbeddedStore) -> None:
    contract: Store = store  # checked by mypy in qa/; here: every member answers
    query = FakeEncoder().embed_queries(["Huawei Ascend"])[0]
    assert contract.count() == len(contract.chunks) == contract.describe().passages
    assert contract.search_dense(query, 3)
    assert contract.search_lexical("Huawei", 3)
    assert contract.describe().documents == len(contract.sources)


def test_write_replaces_and_delete_removes_a_document(
    store: EmbeddedStore, fake_encoder: FakeEncoder
) -> None:
    first, second = sorted(store.sources)[:2]
    before = store.count()
    removed = len(store.document(first).chunks)  # type: ignore[union-attr]
    store.delete_document(first)
    assert store.count() == before - removed
    assert first not in store.sources
    assert all(chunk.source != first for chunk in store.chunks)
    query = fake_encoder.embed_queries(["ByteDance puces"])[0]
    assert all(store.chunks[h.position].source != first for h in store.search_dense(query, 50))

    store.write_document(dated(store, second, date(2024, 5, 1)))
    assert store.sources[second].published == date(2024, 5, 1)
    assert store.count() == before - removed


def test_filters_by_source_and_date_in_both_retrievers(
    store: EmbeddedStore, fake_encoder: FakeEncoder
) -> None:
    names = sorted(store.sources)
    store.write_document(dated(store, names[0], date(2024, 1, 10)))
    store.write_document(dated(store, names[1], date(2024, 6, 10)))
    query = fake_encoder.embed_queries(["Huawei puces ByteDance IA"])[0]

    def found(where: SearchFilter) -> set[str]:
        hits = store.search_dense(query, 50, where) + store.search_lexical("IA puces", 50, where)
        return {store.chunks[hit.position].source for hit in hits}

    assert found(SearchFilter(sources=frozenset(names[2:4]))) == set(names[2:4])
    assert found(SearchFilter(published_after=date(2024, 3, 1))) == {names[1]}
    assert found(SearchFilter(published_before=date(2024, 3, 1))) == {names[0]}
    assert found(SearchFilter(sources=frozenset({"nothing.txt"}))) == set()


@pytest.fixture
def approximate(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> EmbeddedStore:
    """The same documents, in a store that counts as past the exact size (HNSW)."""
    monkeypatch.setattr(ann, "EXACT_MAX_ROWS", 10)
    documents = [store.document(name) for name in store.sources]
    return EmbeddedStore(store.manifest, [d for d in documents if d is not None])


def test_past_the_exact_size_passages_go_to_hnsw_and_keep_their_sentence_scores(
    store: EmbeddedStore, approximate: EmbeddedStore, fake_encoder: FakeEncoder
) -> None:
    assert "HNSW" in approximate.engine
    assert "exact" in store.engine
    query = fake_encoder.embed_queries(["Huawei puces ByteDance IA"])[0]
    hits = approximate.search_dense(query, 5)
    assert len(hits) == 5
    # Each passage scores the higher of its own cosine and its best sentence's, as when exact.
    want = approximate.dense_scores(query, [hit.position for hit in hits])
    np.testing.assert_allclose([hit.score for hit in hits], want, atol=1e-5)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].position == store.search_dense(query, 1)[0].position


def test_filters_hold_on_the_approximate_index(
    approximate: EmbeddedStore, fake_encoder: FakeEncoder
) -> None:
    names = sorted(approximate.sources)[2:4]
    query = fake_encoder.embed_queries(["Huawei puces ByteDance IA"])[0]
    hits = approximate.search_dense(query, 50, SearchFilter(sources=frozenset(names)))
    assert hits
    assert {approximate.chunks[hit.position].source for hit in hits} == set(names)


def test_publication_is_a_new_folder_and_old_versions_are_pruned(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    names = [publish(store, index_dir, keep=2) for _ in range(4)]
    assert read_pointer(index_dir) == names[-1]
    kept = sorted(p.name for p in (index_dir / VERSIONS).iterdir())
    assert kept == names[-2:]
    assert load_store(index_dir, "fake-bow").manifest.version == names[-1]


def test_leftovers_of_a_killed_writer_are_removed_and_never_served(
    published: Path, store: EmbeddedStore
) -> None:
    served = read_pointer(published)
    staging = published / VERSIONS / f"{STAGING}12345-1"
    staging.mkdir()
    (staging / "passages.npy").write_bytes(b"half written")
    (published / ".CURRENT.tmp-12345").write_text("000099-x\n")
    assert load_store(published, "fake-bow").manifest.version == served

    with WriterLock(published):
        assert sorted(clean_leftovers(published)) == [".CURRENT.tmp-12345", staging.name]
    assert not staging.exists()


def test_a_crash_before_the_pointer_moves_keeps_the_previous_version(
    published: Path, store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = read_pointer(published)

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(IndexWriteError, match="disk full; the published version is unchanged"):
        publish(store, published)
    monkeypatch.undo()
    assert load_store(published, "fake-bow").manifest.version == served


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with WriterLock(tmp_path), pytest.raises(IndexLockedError, match=f"pid {os.getpid()}"):
        WriterLock(tmp_path).__enter__()
    with WriterLock(tmp_path):  # released: free again
        pass


# --- integrity: a damaged index is refused in one line ---------------------------------------


def _rewrite_manifest(version: Path, change: Callable[[dict[str, object]], None]) -> None:
    path = version / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return damage


def _flip_byte(name: str) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / name
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def _nan_vectors_with_matching_checksums(version: Path) -> None:
    vectors = np.load(version / "passages.npy")
    vectors[3, 7] = np.nan
    np.save(version / "passages.npy", vectors)
    files = {k: v.model_dump() for k, v in record_files(version, exclude=MANIFEST).items()}
    _rewrite_manifest(version, lambda m: m.update(files=files))


def _one_fewer_vector_with_matching_checksums(version: Path) -> None:
    np.save(version / "sentences.npy", np.load(version / "sentences.npy")[:-1])
    files = {k: v.model_dump() for k, v in record_files(version, exclude=MANIFEST).items()}
    _rewrite_manifest(version, lambda m: m.update(files=files))


def _count_off_by_one(version: Path) -> None:
    _rewrite_manifest(version, lambda m: m.update(chunk_count=int(m["chunk_count"]) + 1))  # type: ignore[call-overload]


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "chunks cut short": (_truncate("chunks.jsonl"), "is damaged: chunks.jsonl has"),
    "sources cut short": (_truncate("sources.jsonl"), "is damaged: sources.jsonl has"),
    "vectors cut short": (_truncate("passages.npy"), "is damaged: passages.npy has"),
    "sentence vectors flipped": (_flip_byte("sentences.npy"), "sentences.npy does not match"),
    "passage text flipped": (_flip_byte("chunks.jsonl"), "chunks.jsonl does not match"),
    "lexical index flipped": (_flip_byte("lexical/vocab.index.json"), "does not match"),
    "file missing": (lambda v: (v / "sources.jsonl").unlink(), "lacks sources.jsonl"),
    "file added": (lambda v: (v / "extra.bin").write_bytes(b"x"), "unexpected file extra.bin"),
    "manifest unreadable": (lambda v: (v / MANIFEST).write_text("{"), "unreadable manifest"),
    "manifest without files": (
        lambda v: _rewrite_manifest(v, lambda m: m.pop("files")),
        "lists none of its files (no `files`)",
    ),
    "row count disagrees": (_count_off_by_one, "disagree"),
    "NaN in vectors": (_nan_vectors_with_matching_checksums, "NaN or infinity"),
    "a vector missing": (_one_fewer_vector_with_matching_checksums, "inconsistent"),
    "version folder gone": (lambda v: os.rename(v, v.with_name("gone")), "which is missing"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_version_is_refused_in_one_line(published: Path, damage: str) -> None:
    make, expected = DAMAGES[damage]
    make(current_version(published))
    with pytest.raises(IndexUnavailableError) as raised:
        load_store(published, "fake-bow")
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_a_damaged_pointer_is_refused(published: Path) -> None:
    (published / "CURRENT").write_bytes(b"\xff\xfe")
    with pytest.raises(IndexCorruptError, match="cannot read"):
        load_store(published, "fake-bow")


def test_sources_keep_their_metadata_through_a_publication(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    name = sorted(store.sources)[0]
    record = dated(store, name, date(2023, 12, 24))
    store.write_document(
        DocumentRecord(
            source=Source(**(record.source.model_dump() | {"url": "https://example.org/a"})),
            chunks=record.chunks,
            vectors=record.vectors,
            sentence_vectors=record.sentence_vectors,
        )
    )
    publish(store, tmp_path / "index")
    loaded = load_store(tmp_path / "index", "fake-bow").sources[name]
    assert (loaded.published, loaded.url) == (date(2023, 12, 24), "https://example.org/a")
