"""The store across processes: a writer of another process is named and waited for, and `qa ask`
on a damaged index says so in one line (the store contract in this process:
tests/unit/search/store/test_store.py). And the real index's BM25 files, altered with their
checksums recomputed: refused on load in one line, and never swapped in by the hot reloader (`qa
serve` on them: tests/integration/test_faults.py)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexCorruptError, IndexLockedError
from qa.indexing.build import build_index
from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import (
    EmbeddedStore,
    WriterLock,
    current_version,
    load_store,
    open_store,
)
from qa.search.store.embedded import MANIFEST
from qa.search.store.integrity import record_files
from qa.search.store.versions import POINTER, VERSIONS
from qa.serve.reload import IndexReloader
from qa.settings import Settings
from tests.conftest import ROOT, SEEDS, FakeEncoder, make_settings, publish, run_module

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


# --- the BM25 arrays: altered with their checksums recomputed, refused on load -----------------

LEXICAL = "lexical"
SCORES, PASSAGES, RUN_STARTS = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
VOCABULARY, PARAMETERS = "vocab.index.json", "params.index.json"


def recompute_checksums(version: Path) -> None:
    """Record every file's size and SHA-256 in the manifest as the writer does, so that only
    the load's own checks stand between the altered files and the searches."""
    path = version / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    written = record_files(version, exclude=MANIFEST)
    manifest["files"] = {name: record.model_dump() for name, record in written.items()}
    path.write_text(json.dumps(manifest), encoding="utf-8")


def edit_array(name: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / LEXICAL / name
        np.save(path, change(np.load(path)), allow_pickle=False)

    return damage


def edit_json(name: str, change: Callable[[dict[str, object]], object]) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / LEXICAL / name
        content = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(change(content)), encoding="utf-8")

    return damage


def setting(array: np.ndarray, position: int, value: object) -> np.ndarray:
    changed = array.copy()
    changed[position] = value
    return changed


def swap_scores_and_passages(version: Path) -> None:
    scores, passages = version / LEXICAL / SCORES, version / LEXICAL / PASSAGES
    scores.rename(version / LEXICAL / "swapping")
    passages.rename(scores)
    (version / LEXICAL / "swapping").rename(passages)


def repeat_a_passage_under_a_term(version: Path) -> None:
    starts = np.load(version / LEXICAL / RUN_STARTS)
    run = int(np.flatnonzero(np.diff(starts) >= 2)[0])  # a term found in two passages or more
    edit_array(PASSAGES, lambda a: setting(a, starts[run] + 1, a[starts[run]]))(version)


def a_passage_past_the_last(version: Path) -> None:
    """The highest passage number (last in its run) becomes the number of passages."""
    count = json.loads((version / LEXICAL / PARAMETERS).read_text(encoding="utf-8"))["num_docs"]
    edit_array(PASSAGES, lambda a: setting(a, int(a.argmax()), count))(version)


def drop_the_last_run(version: Path) -> None:
    """A smaller, well-formed matrix: the vocabulary names one term more than it delimits."""
    folder = version / LEXICAL
    starts = np.load(folder / RUN_STARTS)[:-1]
    np.save(folder / RUN_STARTS, starts)
    for name in (SCORES, PASSAGES):
        np.save(folder / name, np.load(folder / name)[: starts[-1]])


def first_terms(vocabulary: dict[str, object], count: int) -> list[str]:
    return [term for term in vocabulary if term][:count]


def term_id_past_the_end(vocabulary: dict[str, object]) -> dict[str, object]:
    return vocabulary | {first_terms(vocabulary, 1)[0]: len(vocabulary) + 10}


def two_terms_one_id(vocabulary: dict[str, object]) -> dict[str, object]:
    one, other = first_terms(vocabulary, 2)
    return vocabulary | {one: vocabulary[other]}


def a_term_past_the_runs(vocabulary: dict[str, object]) -> dict[str, object]:
    """A term and bm25s's empty term "" (the id past the runs) swap their ids."""
    term = first_terms(vocabulary, 1)[0]
    return vocabulary | {term: vocabulary[""], "": vocabulary[term]}


# kind -> (alteration of a version folder, what the one line says)
LEXICAL_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "NaN score": (
        edit_array(SCORES, lambda a: setting(a, len(a) // 2, np.nan)),
        "damaged: lexical/data.csc.index.npy holds NaN or infinity",
    ),
    "infinite score": (
        edit_array(SCORES, lambda a: setting(a, 0, np.inf)),
        "damaged: lexical/data.csc.index.npy holds NaN or infinity",
    ),
    "negative score": (
        edit_array(SCORES, lambda a: setting(a, 1, -a[1])),
        "damaged: lexical/data.csc.index.npy holds negative scores",
    ),
    "scores and passages swapped": (
        swap_scores_and_passages,
        "inconsistent: lexical/data.csc.index.npy holds int32",
    ),
    "passage number past the last passage": (
        a_passage_past_the_last,
        "damaged: lexical/indices.csc.index.npy holds passage numbers outside 0 to",
    ),
    "negative passage number": (
        edit_array(PASSAGES, lambda a: setting(a, 0, -1)),
        "damaged: lexical/indices.csc.index.npy holds passage numbers outside 0 to",
    ),
    "passage listed twice under a term": (
        repeat_a_passage_under_a_term,
        "damaged: lexical/indices.csc.index.npy lists a term's passages out of order or twice",
    ),
    "run starts past the scores": (
        edit_array(RUN_STARTS, lambda a: setting(a, -1, a[-1] + 1)),
        "inconsistent: lexical/indptr.csc.index.npy does not cut the",
    ),
    "one term fewer than the vocabulary": (
        drop_the_last_run,
        "inconsistent: lexical/vocab.index.json names",
    ),
    "passage count off by one": (
        edit_json(PARAMETERS, lambda p: p | {"num_docs": int(p["num_docs"]) - 1}),  # type: ignore[call-overload]
        "inconsistent: lexical/params.index.json counts",
    ),
    "whole-number score type": (
        edit_json(PARAMETERS, lambda p: p | {"dtype": "int8"}),
        "damaged: lexical/params.index.json declares score and id types ('int8', 'int32')",
    ),
    "term id past the last term": (
        edit_json(VOCABULARY, term_id_past_the_end),
        "damaged: lexical/vocab.index.json holds term ids outside 0 to",
    ),
    "two terms with one id": (
        edit_json(VOCABULARY, two_terms_one_id),
        "damaged: lexical/vocab.index.json gives two terms the same id",
    ),
    "a term past the runs": (
        edit_json(VOCABULARY, a_term_past_the_runs),
        "damaged: lexical/vocab.index.json gives a term the id",
    ),
    "vocabulary not an object": (
        edit_json(VOCABULARY, lambda v: list(v)),
        "cannot read the lexical index in",
    ),
}


def damage_lexical(version: Path, kind: str) -> str:
    """Alter `version`'s BM25 files as `kind` says, checksums recomputed; returns what the
    refusal must say."""
    alter, expected = LEXICAL_DAMAGE[kind]
    alter(version)
    recompute_checksums(version)
    return expected


@pytest.fixture
def index_copy(real_index: EmbeddedStore, settings: Settings, tmp_path: Path) -> Path:
    """A copy of the session's real index of the seeds, to alter."""
    copy = tmp_path / "index"
    shutil.copytree(settings.index_dir, copy)
    return copy


@pytest.mark.parametrize("kind", LEXICAL_DAMAGE)
def test_altered_bm25_files_are_refused_on_load_in_one_line(index_copy: Path, kind: str) -> None:
    version = current_version(index_copy)
    expected = damage_lexical(version, kind)
    with pytest.raises(IndexCorruptError) as raised:
        open_store(make_settings(index_copy))
    message = str(raised.value)
    assert expected in message
    assert str(version) in message
    assert "\n" not in message


def test_the_real_bm25_files_pass_their_checks(index_copy: Path, settings: Settings) -> None:
    version = current_version(index_copy)
    recompute_checksums(version)  # the alteration's own step, alone: nothing to refuse
    store = open_store(make_settings(index_copy))
    assert store.search_lexical("Huawei Ascend 910B", 5)


@pytest.mark.parametrize("kind", LEXICAL_DAMAGE)
def test_the_reloader_keeps_serving_the_previous_version_over_altered_bm25_files(
    index_copy: Path, encoder: Encoder, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(index_copy)
    previous = load_store(index_copy, settings.model)
    served = Searcher(previous, encoder, settings)
    state = SimpleNamespace(searcher=served)
    reloader = IndexReloader(state, settings)
    damaged = publish_altered_version(index_copy, kind)

    with caplog.at_level(logging.ERROR, logger="qa.serve.reload"):
        reloader.check()
        reloader.check()  # refused once, logged once

    assert state.searcher is served
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 1, refusals
    assert f"not serving {damaged}" in refusals[0]
    assert LEXICAL_DAMAGE[kind][1] in refusals[0]
    assert f"still serving version {previous.manifest.version}" in refusals[0]
    hits = state.searcher.search("Combien de puces Ascend 910B ?", k=3, mode="lexical")
    assert hits.results


def publish_altered_version(index_dir: Path, kind: str) -> str:
    """A copy of the published version, altered as `kind` says, published after it."""
    published = current_version(index_dir)
    name = f"{int(published.name.split('-')[0]) + 1:06d}-altered"
    shutil.copytree(published, index_dir / VERSIONS / name)
    damage_lexical(index_dir / VERSIONS / name, kind)
    (index_dir / POINTER).write_text(name + "\n", encoding="utf-8")
    return name
