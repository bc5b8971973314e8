"""Articles' metadata in every store, on a fake encoder: a `Source` keeps its author, language,
site and tags through writing, publishing and loading; searches filter by language and site in
both retrievers; an index written before those fields still loads; and `update_index` carries a
changed sidecar to the published store without embedding anything again (the HTTP side, on the
real model: tests/integration/test_search_metadata.py)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.indexing.build import build_index, update_index
from qa.search.store import EmbeddedStore, SearchFilter, Source, Store, current_version, load_store
from qa.search.store.choice import open_store
from qa.search.store.embedded import MANIFEST, SOURCES
from qa.search.store.integrity import record_files
from qa.search.store.qdrant import QdrantStore
from qa.search.store.qdrant import open_store as open_qdrant
from qa.search.store.qdrant_connection import connect
from qa.search.store.qdrant_points import document_id, documents_alias
from qa.settings import Settings
from tests.conftest import SEEDS, FakeEncoder, make_settings, publish

CHUNKING = ChunkingConfig(max_tokens=128, overlap_sentences=1, prefix="passage: ")
QUESTION = "Huawei puces ByteDance IA"
METADATA = {
    "published": date(2025, 3, 14),
    "author": "Camille Martin",
    "language": "en",
    "site": "La Gazette du Numérique",
    "tags": ("Tech", "Puces"),
}
NEW_FIELDS = ("author", "language", "site", "tags")


@pytest.fixture
def built(fake_encoder: FakeEncoder) -> EmbeddedStore:
    """The seeds, with their first article given every metadata field and their second
    another language and site (all are French, detected, and of no known site)."""
    store = build_index(load_corpus(SEEDS), fake_encoder, CHUNKING)
    first, second = sorted(store.sources)[:2]
    given(store, first, **METADATA)
    given(store, second, language="de", site="Le Quotidien")
    return store


def given(store: Store, name: str, **fields: object) -> Source:
    record = store.document(name)
    assert record is not None
    source = record.source.model_copy(update=fields)
    store.write_document(replace(record, source=source))
    return source


def qdrant_copy(built: EmbeddedStore) -> QdrantStore:
    store = QdrantStore(connect(":memory:"), f"test-{uuid.uuid4().hex[:8]}", location=":memory:")
    store.mirror(built, [], [], full=True)
    return store


def drop(store: QdrantStore) -> None:
    store.client.delete_collection(store.name)
    store.client.delete_collection(documents_alias(store.name))


@pytest.fixture(params=["embedded", "qdrant"])
def store(request: pytest.FixtureRequest, built: EmbeddedStore) -> Iterator[Store]:
    if request.param == "embedded":
        yield built
        return
    qdrant = qdrant_copy(built)
    yield qdrant
    drop(qdrant)


def found(store: Store, where: SearchFilter) -> set[str]:
    """The articles the passages found by either retriever belong to."""
    query = FakeEncoder().embed_queries([QUESTION])[0]
    hits = store.search_dense(query, 200, where) + store.search_lexical(QUESTION, 200, where)
    return {store.chunks[hit.position].source for hit in hits}


# --- a Source, kept whole ------------------------------------------------------------------------


def test_every_store_keeps_and_returns_the_metadata(store: Store, built: EmbeddedStore) -> None:
    first = sorted(built.sources)[0]
    expected = built.sources[first]
    assert expected.model_dump(include=set(NEW_FIELDS)) == {
        k: v for k, v in METADATA.items() if k in NEW_FIELDS
    }

    assert store.sources[first] == expected
    record = store.document(first)
    assert record is not None
    assert record.source == expected


def test_the_metadata_survive_a_publication_and_a_load(
    built: EmbeddedStore, tmp_path: Path
) -> None:
    first = sorted(built.sources)[0]
    publish(built, tmp_path / "index")
    assert load_store(tmp_path / "index", "fake-bow").sources[first] == built.sources[first]

    qdrant = qdrant_copy(built)
    try:
        reopened = open_qdrant(":memory:", qdrant.name, "fake-bow")
        assert reopened.sources[first] == built.sources[first]
    finally:
        drop(qdrant)


def test_an_embedded_index_written_before_the_metadata_fields_still_loads(
    built: EmbeddedStore, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    publish(built, index_dir)
    version = current_version(index_dir)
    lines = (version / SOURCES).read_text(encoding="utf-8").splitlines()
    old = [{k: v for k, v in json.loads(line).items() if k not in NEW_FIELDS} for line in lines]
    (version / SOURCES).write_text("".join(json.dumps(s) + "\n" for s in old), encoding="utf-8")
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    files = record_files(version, exclude=MANIFEST)
    manifest["files"] = {name: record.model_dump() for name, record in files.items()}
    (version / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    loaded = load_store(index_dir, "fake-bow").sources[sorted(built.sources)[0]]

    assert (loaded.author, loaded.language, loaded.site, loaded.tags) == (None, None, None, ())
    assert loaded.published == METADATA["published"]  # the fields it had are kept


def test_a_qdrant_article_written_before_the_metadata_fields_still_reads(
    built: EmbeddedStore,
) -> None:
    first = sorted(built.sources)[0]
    qdrant = qdrant_copy(built)
    try:
        old = built.sources[first].model_dump(mode="json", exclude=set(NEW_FIELDS))
        qdrant.client.overwrite_payload(
            documents_alias(qdrant.name), {"name": first, "source": old}, [document_id(first)]
        )

        loaded = qdrant.sources[first]

        assert (loaded.author, loaded.language, loaded.site, loaded.tags) == (None, None, None, ())
    finally:
        drop(qdrant)


# --- the filters ---------------------------------------------------------------------------------


def test_language_and_site_filters_in_both_retrievers(store: Store) -> None:
    names = sorted(store.sources)
    first, second, rest = names[0], names[1], set(names[2:])

    assert found(store, SearchFilter(languages=frozenset({"en"}))) == {first}
    assert found(store, SearchFilter(languages=frozenset({"en", "de"}))) == {first, second}
    assert found(store, SearchFilter(languages=frozenset({"fr"}))) == rest
    assert found(store, SearchFilter(sites=frozenset({"Le Quotidien"}))) == {second}
    # Unknown sites satisfy no condition on the site; an empty set admits nothing.
    assert found(store, SearchFilter(sites=frozenset({"Le Monde"}))) == set()
    assert found(store, SearchFilter(languages=frozenset())) == set()
    # Conditions add up.
    both = SearchFilter(
        languages=frozenset({"en", "de"}),
        sites=frozenset({"La Gazette du Numérique"}),
        published_after=date(2025, 1, 1),
    )
    assert found(store, both) == {first}
    assert found(store, replace(both, published_after=date(2026, 1, 1))) == set()
    assert found(store, replace(both, sources=frozenset({second}))) == set()


# --- `qa index` carries changed metadata, without embedding again --------------------------------


@pytest.fixture(params=["embedded", "qdrant"])
def indexed(
    request: pytest.FixtureRequest, tmp_path: Path, fake_encoder: FakeEncoder
) -> Iterator[Settings]:
    """Three seeds, indexed and published into each store."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:3]:
        shutil.copy(seed, corpus)
    qdrant = {
        "store": "qdrant",
        "qdrant_url": ":memory:",
        "qdrant_collection": f"test-{uuid.uuid4().hex[:8]}",
    }
    extra = qdrant if request.param == "qdrant" else {}
    settings = make_settings(tmp_path / "index", corpus, model="fake-bow", **extra)
    update_index(settings, fake_encoder)
    yield settings
    if request.param == "qdrant":
        drop(QdrantStore(connect(":memory:"), settings.qdrant_collection))


def test_a_changed_sidecar_reaches_the_published_store_without_embedding(
    indexed: Settings, fake_encoder: FakeEncoder
) -> None:
    name = sorted(p.name for p in indexed.corpus_dir.glob("*.txt"))[1]
    sidecar = {"language": "en", "site": "Le Quotidien", "author": "Karim Benali"}
    (indexed.corpus_dir / name.replace(".txt", ".meta.json")).write_text(
        json.dumps(sidecar), encoding="utf-8"
    )

    report = update_index(indexed, fake_encoder)

    assert report.changes.passages_embedded == 0
    assert name in report.changes.unchanged
    published = open_store(indexed)
    source = published.sources[name]
    assert (source.language, source.site, source.author) == ("en", "Le Quotidien", "Karim Benali")
    assert found(published, SearchFilter(languages=frozenset({"en"}))) == {name}
    assert found(published, SearchFilter(sites=frozenset({"Le Quotidien"}))) == {name}
