"""The PostgreSQL store on a real PostgreSQL (tests/postgres.py): the store tests written for the
embedded store (tests/unit/search/store/test_store.py) run unchanged on it; its manifest is checked
on open with one-line errors; and what only a server allows: a reader during a publication sees
the version before or after, never part of one; writers take turns on the advisory lock, which a
killed writer does not keep; a publication is announced to listeners."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import pgserver
import psycopg
import pytest

from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexLockedError, IndexMismatchError, IndexMissingError, QAError
from qa.indexing.build import build_index
from qa.search.store import DocumentRecord, EmbeddedStore, Manifest, Source, StoreDescription, ann
from qa.search.store import postgres as postgres_store
from qa.search.store.choice import open_store
from qa.search.store.postgres import PostgresStore, listen_for_versions
from qa.search.store.postgres import open_store as open_postgres
from qa.search.store.postgres_writes import AdvisoryWriterLock
from tests.conftest import SEEDS, FakeEncoder, make_settings
from tests.postgres import new_database
from tests.unit.search.store.test_store import (  # noqa: F401  (run here on PostgreSQL)
    CHUNKING,
    test_filters_by_source_and_date_in_both_retrievers,
    test_filters_hold_on_the_approximate_index,
    test_past_the_exact_size_passages_go_to_hnsw_and_keep_their_sentence_scores,
    test_the_embedded_store_follows_the_contract,
    test_write_replaces_and_delete_removes_a_document,
)


def postgres_copy(built: EmbeddedStore, server: pgserver.PostgresServer) -> PostgresStore:
    store = PostgresStore(new_database(server, "contract"))
    store.mirror(built, [], [], full=True)
    return store


@pytest.fixture
def built(fake_encoder: FakeEncoder) -> EmbeddedStore:
    return build_index(load_corpus(SEEDS), fake_encoder, CHUNKING)


@pytest.fixture
def store(built: EmbeddedStore, postgres: pgserver.PostgresServer) -> PostgresStore:
    """The seeds (fake encoder) in a database of their own: the unit tests' `store`."""
    return postgres_copy(built, postgres)


@pytest.fixture
def approximate(
    built: EmbeddedStore, postgres: pgserver.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> PostgresStore:
    """The same articles, published as past the exact size: with an HNSW index."""
    monkeypatch.setattr(ann, "EXACT_MAX_ROWS", 10)
    return postgres_copy(built, postgres)


# --- the manifest, checked on open ---------------------------------------------------------------


def test_another_model_format_or_schema_is_refused_in_one_line(store: PostgresStore) -> None:
    with pytest.raises(IndexMismatchError) as raised:
        open_postgres(store.url, "intfloat/some-other-model")
    assert "built with model 'fake-bow' but the configured model is" in str(raised.value)

    with psycopg.connect(store.url, autocommit=True) as connection:
        connection.execute("UPDATE qa_meta SET manifest = jsonb_set(manifest, '{format}', '1')")
    with pytest.raises(IndexMismatchError, match="has format 1, this version reads"):
        open_postgres(store.url, "fake-bow")

    with psycopg.connect(store.url, autocommit=True) as connection:
        connection.execute("UPDATE qa_meta SET schema_version = 99")
    with pytest.raises(IndexMismatchError) as raised:
        open_postgres(store.url, "fake-bow")
    message = str(raised.value)
    assert "has schema 99, this version reads schema 1: rebuild it with `qa index`" in message
    assert "\n" not in message


def test_an_empty_database_has_no_index_and_an_unreachable_one_is_one_line(
    postgres: pgserver.PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(IndexMissingError, match="run `qa index` with QA_STORE=postgres first"):
        open_postgres(new_database(postgres, "empty"), "fake-bow")
    nowhere = f"postgresql://qa:secret@/qa?host={tmp_path}&connect_timeout=2"
    with pytest.raises(QAError) as raised:
        open_postgres(nowhere, "fake-bow")
    message = str(raised.value)
    assert message.startswith("cannot connect to the PostgreSQL store qa on")
    assert "\n" not in message
    assert "secret" not in message


def test_the_settings_choose_the_store_and_need_its_url(store: PostgresStore) -> None:
    chosen = make_settings(
        Path("unused"), store="postgres", postgres_url=store.url, model="fake-bow"
    )
    assert open_store(chosen).count() == store.count()
    with pytest.raises(QAError, match="QA_STORE=postgres needs QA_POSTGRES_URL"):
        open_store(make_settings(Path("unused"), store="postgres", model="fake-bow"))


# --- a publication is all or nothing for readers -------------------------------------------------


class PausedBuild:
    """A built store whose articles are handed to the writer one by one: the second waits
    until `go` is set, so that the publishing transaction is caught half written."""

    def __init__(self, built: EmbeddedStore) -> None:
        self._built = built
        self.manifest: Manifest = built.manifest
        self.sources: Mapping[str, Source] = built.sources
        self.halfway = threading.Event()
        self.go = threading.Event()
        self._handed = 0

    def document(self, name: str) -> DocumentRecord | None:
        self._handed += 1
        if self._handed == 2:
            self.halfway.set()
            assert self.go.wait(60)
        return self._built.document(name)


def state(store: PostgresStore) -> tuple[str, int, int]:
    description: StoreDescription = store.describe()
    return description.version, description.documents, description.passages


def test_a_reader_sees_the_version_before_a_publication_until_it_commits(
    store: PostgresStore, built: EmbeddedStore
) -> None:
    before = state(store)
    smaller = EmbeddedStore(
        built.manifest,
        [r for name in sorted(built.sources)[:2] if (r := built.document(name)) is not None],
    )
    paused = PausedBuild(smaller)
    published: list[str] = []
    writer = threading.Thread(
        target=lambda: published.append(store.mirror(paused, [], [], full=True))  # type: ignore[arg-type]
    )
    writer.start()
    try:
        assert paused.halfway.wait(60)
        # Everything deleted and one article written, uncommitted: readers see none of it.
        assert state(store) == before
        assert set(store.sources) == set(built.sources)
        query = FakeEncoder().embed_queries(["Huawei puces ByteDance"])[0]
        assert {store.chunks[h.position].source for h in store.search_dense(query, 50)} == set(
            built.sources
        )
    finally:
        paused.go.set()
        writer.join(60)
    assert published
    assert state(store) == (published[0], 2, smaller.count())
    assert set(store.sources) == set(sorted(built.sources)[:2])


def test_readers_during_publications_see_whole_versions_only(
    store: PostgresStore, built: EmbeddedStore
) -> None:
    """Publications alternating two contents, a reader describing the store meanwhile: every
    description is one of the two, never a mix (a bounded number of rounds, no timing)."""
    names = sorted(built.sources)
    halves = [
        EmbeddedStore(built.manifest, [r for n in part if (r := built.document(n)) is not None])
        for part in (names[:2], names[2:])
    ]
    shapes = {(len(h.sources), h.count()) for h in halves} | {(len(names), built.count())}
    seen: list[tuple[str, int, int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set() and len(seen) < 2000:
            seen.append(state(store))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(6):
            store.mirror(halves[round_ % 2], [], [], full=True)
    finally:
        done.set()
        reader.join(60)
    assert seen
    assert {(documents, passages) for _, documents, passages in seen} <= shapes
    by_version: dict[str, set[tuple[int, int]]] = {}
    for version, documents, passages in seen:
        by_version.setdefault(version, set()).add((documents, passages))
    assert all(len(shape) == 1 for shape in by_version.values())


# --- one writer at a time ------------------------------------------------------------------------


def test_two_writers_take_turns_on_the_advisory_lock(store: PostgresStore) -> None:
    events: list[str] = []
    acquired = threading.Event()

    def second_writer() -> None:
        with AdvisoryWriterLock(store.url, wait=60):
            events.append("second writes")
            acquired.set()

    with AdvisoryWriterLock(store.url):
        with pytest.raises(IndexLockedError) as raised:
            AdvisoryWriterLock(store.url).__enter__()
        assert f"(qa writer pid {os.getpid()} since" in str(raised.value)
        waiting = threading.Thread(target=second_writer)
        waiting.start()
        events.append("first done")
    assert acquired.wait(60)
    waiting.join(60)
    assert events == ["first done", "second writes"]


def test_a_writer_killed_with_sigkill_leaves_the_lock_free(store: PostgresStore) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from qa.search.store.postgres_writes import AdvisoryWriterLock\n"
            "with AdvisoryWriterLock(sys.argv[1]):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(600)\n",
            store.url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match=f"qa writer pid {holder.pid} since"):
            AdvisoryWriterLock(store.url).__enter__()
        holder.kill()
        holder.wait(60)
        with AdvisoryWriterLock(store.url, wait=60):  # the server saw the session end
            pass
    finally:
        holder.kill()
        holder.wait()


# --- replicas hear of each publication -----------------------------------------------------------


def test_a_listener_hears_each_published_version(
    store: PostgresStore, built: EmbeddedStore
) -> None:
    listening = listen_for_versions(store.url, timeout=60)  # listening from here on
    heard: list[str] = []

    def listen() -> None:
        for version in listening:
            heard.append(version)
            if len(heard) == 3:
                return

    listener = threading.Thread(target=listen)
    listener.start()
    published = [
        store.publish(built.manifest),
        store.mirror(built, [], [], full=True),
        store.mirror(built, [sorted(built.sources)[0]], [], full=False),
    ]
    listener.join(60)
    listening.close()
    assert heard == published
    assert store.manifest.version == published[-1]


def test_the_hnsw_build_has_the_memory_of_its_setting_for_its_transaction_only(
    built: EmbeddedStore, postgres: pgserver.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's 64 MB maintenance_work_mem holds the graph of ~30k passages; a larger one
    would be finished on disk. The publication raises it where it builds the index, and only
    there (`SET LOCAL`): other sessions and later transactions keep the server's."""
    monkeypatch.setattr(ann, "EXACT_MAX_ROWS", 10)
    store = PostgresStore(new_database(postgres, "memory"), build_memory_mb=321)
    during: list[str] = []
    real_has_dense_index = postgres_store.has_dense_index

    def has_dense_index(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
        during.append(str(scalar(connection, "SHOW maintenance_work_mem")))
        return real_has_dense_index(connection)

    monkeypatch.setattr(postgres_store, "has_dense_index", has_dense_index)
    store.mirror(built, [], [], full=True)
    assert during == ["321MB"]
    with psycopg.connect(store.url) as connection:
        assert real_has_dense_index(connection)
        assert scalar(connection, "SHOW maintenance_work_mem") == "64MB"


def scalar(connection: psycopg.Connection[tuple[object, ...]], query: str) -> object:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]
