"""The store across processes: a writer of another process is named and waited for, and `qa ask`
on a damaged index says so in one line (the store contract in this process:
tests/unit/store/test_store.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.corpus.chunk import ChunkingConfig
from qa.corpus.ingest import load_corpus
from qa.errors import IndexLockedError
from qa.indexing.build import build_index
from qa.store import (
    EmbeddedStore,
    WriterLock,
    current_version,
)
from tests.conftest import ROOT, SEEDS, FakeEncoder, publish, run_module

CHUNKING = ChunkingConfig(max_tokens=128, overlap_sentences=1, prefix="passage: ")


@pytest.fixture
def store(fake_encoder: FakeEncoder) -> EmbeddedStore:
    return build_index(load_corpus(SEEDS), fake_encoder, CHUNKING)


@pytest.fixture
def published(store: EmbeddedStore, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    publish(store, index_dir)
    return index_dir


def test_a_writer_of_another_process_is_named_and_waited_for(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        ["flock", str(tmp_path / "writer.lock"), "sleep", "2"], start_new_session=True
    )
    try:
        deadline = 50
        while deadline and not _locked(tmp_path):
            deadline -= 1
            subprocess.run(["sleep", "0.1"], check=True)
        with pytest.raises(IndexLockedError, match="being written by another process"):
            WriterLock(tmp_path).__enter__()
        with WriterLock(tmp_path, wait=30):  # waits for `flock` to let go
            assert holder.poll() is not None
    finally:
        holder.kill()
        holder.wait()


def _locked(folder: Path) -> bool:
    try:
        with WriterLock(folder):
            return False
    except IndexLockedError:
        return True


# --- integrity: a damaged index is refused in one line ---------------------------------------


def _flip_byte(name: str) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / name
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def test_qa_ask_on_a_damaged_index_is_one_line(published: Path, tmp_path: Path) -> None:
    _flip_byte("passages.npy")(current_version(published))
    # The fake-bow index names a model qa cannot load: the integrity check must come first.
    result = run_module(
        "qa.cli",
        "ask",
        "Huawei ?",
        cwd=ROOT,
        env={"QA_INDEX_DIR": str(published), "QA_MODEL": "fake-bow"},
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]]
    assert lines[0].startswith("qa: error: the index in ")
    assert "passages.npy does not match its checksum" in lines[0]
