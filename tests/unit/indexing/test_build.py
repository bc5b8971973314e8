"""Index build, save/load round trip, and the checks made when loading, on a fake encoder (the
real index's round trip: tests/integration/test_index.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import fingerprint, load_corpus
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from qa.indexing.build import build_index
from qa.indexing.staleness import stale_reasons
from qa.search.store import EmbeddedStore, current_version, load_store, read_manifest
from qa.search.store.embedded import MANIFEST
from tests.conftest import SEEDS, FakeEncoder, publish

CHUNKING = ChunkingConfig(max_tokens=128, overlap_sentences=1, prefix="passage: ")


@pytest.fixture
def fake_index(fake_encoder: FakeEncoder) -> EmbeddedStore:
    return build_index(load_corpus(SEEDS), fake_encoder, CHUNKING)


def test_round_trip_keeps_everything(
    fake_index: EmbeddedStore, fake_encoder: FakeEncoder, tmp_path: Path
) -> None:
    publish(fake_index, tmp_path)
    loaded = load_store(tmp_path, fake_encoder.model_id)
    assert loaded.manifest.model_dump(exclude={"files"}) == fake_index.manifest.model_dump(
        exclude={"files"}
    )
    assert loaded.chunks == fake_index.chunks
    assert loaded.sources == fake_index.sources
    query = fake_encoder.embed_queries(["puces Huawei Ascend"])[0]
    assert loaded.search_dense(query, 5) == fake_index.search_dense(query, 5)
    assert loaded.lexical.search("Huawei", 5) == fake_index.lexical.search("Huawei", 5)


def test_manifest_records_model_chunking_and_corpus(fake_index: EmbeddedStore) -> None:
    manifest = fake_index.manifest
    assert manifest.model == "fake-bow"
    assert manifest.dimension == 64
    assert manifest.chunking == CHUNKING
    assert manifest.corpus == fingerprint(SEEDS)
    assert manifest.chunk_count == len(fake_index.chunks)


def test_sources_keep_the_original_text(fake_index: EmbeddedStore) -> None:
    for name, source in fake_index.sources.items():
        assert source.text == (SEEDS / name).read_text(encoding="utf-8")


def test_missing_index_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="qa index"):
        load_store(tmp_path, "any-model")


def test_index_of_another_model_is_refused(fake_index: EmbeddedStore, tmp_path: Path) -> None:
    publish(fake_index, tmp_path)
    with pytest.raises(IndexMismatchError) as error:
        load_store(tmp_path, "intfloat/multilingual-e5-base")
    message = str(error.value)
    assert "fake-bow" in message
    assert "intfloat/multilingual-e5-base" in message
    assert "qa index" in message


def test_damaged_index_is_reported(fake_index: EmbeddedStore, tmp_path: Path) -> None:
    publish(fake_index, tmp_path)
    (current_version(tmp_path) / "passages.npy").write_bytes(b"not vectors")
    with pytest.raises(IndexCorruptError):
        load_store(tmp_path, "fake-bow")


@pytest.mark.parametrize("damaged", ["chunks.jsonl", "sources.jsonl"])
def test_a_damaged_record_file_is_one_line_naming_the_folder(
    fake_index: EmbeddedStore, tmp_path: Path, damaged: str
) -> None:
    publish(fake_index, tmp_path)
    path = current_version(tmp_path) / damaged
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")  # cut short

    with pytest.raises(IndexCorruptError) as raised:
        load_store(tmp_path, "fake-bow")

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"the index in {path.parent} is damaged: {damaged} has ")


def test_unreadable_manifest_is_reported(fake_index: EmbeddedStore, tmp_path: Path) -> None:
    publish(fake_index, tmp_path)
    (current_version(tmp_path) / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="qa index"):
        read_manifest(current_version(tmp_path))


def test_saving_over_an_index_replaces_it(
    fake_index: EmbeddedStore, fake_encoder: FakeEncoder, tmp_path: Path
) -> None:
    publish(fake_index, tmp_path)
    smaller = build_index(
        load_corpus(SEEDS), fake_encoder, CHUNKING.model_copy(update={"max_tokens": 64})
    )
    publish(smaller, tmp_path)
    assert len(load_store(tmp_path, "fake-bow").chunks) == len(smaller.chunks)


def test_stale_reasons_name_each_corpus_change(fake_index: EmbeddedStore, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    manifest = fake_index.manifest
    assert stale_reasons(manifest, fingerprint(corpus), CHUNKING) == []

    first, second = sorted(corpus.glob("*.txt"))[:2]
    first.write_text(first.read_text(encoding="utf-8") + "\nUne phrase de plus.", encoding="utf-8")
    second.unlink()
    (corpus / "999_new.txt").write_text("Un nouvel article.", encoding="utf-8")
    reasons = stale_reasons(manifest, fingerprint(corpus), CHUNKING)
    assert reasons == [
        "new file 999_new.txt",
        f"removed file {second.name}",
        f"changed file {first.name}",
    ]


def test_changed_chunking_makes_the_index_stale(fake_index: EmbeddedStore) -> None:
    other = CHUNKING.model_copy(update={"max_tokens": 200})
    assert stale_reasons(fake_index.manifest, fingerprint(SEEDS), other) == [
        "chunking settings changed"
    ]


def test_skipped_files_are_recorded_and_not_stale(
    fake_encoder: FakeEncoder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "broken.txt").write_bytes(b"\xff\xfe caf\xe9")
    index = build_index(load_corpus(corpus), fake_encoder, CHUNKING)
    assert "broken.txt" in index.manifest.skipped
    assert "broken.txt" not in index.sources
    assert stale_reasons(index.manifest, fingerprint(corpus), CHUNKING) == []
    saved = tmp_path / "index"
    publish(index, saved)
    assert json.loads((current_version(saved) / MANIFEST).read_text())["skipped"]["broken.txt"]
