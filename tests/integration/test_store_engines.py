"""One store contract, three engines: the same behaviour asserted against the embedded store,
the Qdrant store (qdrant-client's local mode) and the PostgreSQL store (a real PostgreSQL with
pgvector, tests/postgres.py), each holding the real articles embedded by the real default
model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pgserver
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexCorruptError
from qa.indexing.build import embed_documents, update_index
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.retrieval.search import CANDIDATES, Searcher
from qa.search.store import DocumentRecord, EmbeddedStore, SearchFilter, Store
from qa.search.store.postgres import PostgresStore
from qa.search.store.qdrant import QdrantStore, open_store
from qa.search.store.qdrant_connection import connect, disconnect
from qa.search.store.qdrant_points import META_ID, documents_alias
from qa.settings import Settings
from tests.conftest import ROOT, make_settings
from tests.postgres import new_database

QUESTIONS = [
    json.loads(line)
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
]
ASCEND = "Combien de puces Ascend 910B ByteDance a-t-il commandées à Huawei ?"
NEW_ARTICLE = (
    "Le port de Marseille inaugure une digue flottante\n\n"
    "Le grand port maritime de Marseille a inauguré mardi une digue flottante de 800 mètres, "
    "construite par le chantier naval de La Ciotat. L'ouvrage protège les navires de croisière "
    "du mistral. Il a coûté 42 millions d'euros, financés par la région.\n"
)
REPLACED_ARTICLE = (
    "Le port de Marseille renonce à sa digue flottante\n\n"
    "Le grand port maritime de Marseille a abandonné le projet de digue flottante : "
    "les goélands nichent sur le chantier, qui sera transformé en réserve ornithologique.\n"
)


def qdrant_copy(built: EmbeddedStore, location: str) -> QdrantStore:
    """A Qdrant store holding exactly what `built` holds, in a collection of its own."""
    store = QdrantStore(connect(location), f"test-{uuid.uuid4().hex[:8]}", location=location)
    store.mirror(built, [], [], full=True)
    return store


@pytest.fixture(scope="session")
def qdrant_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("qdrant"))


@pytest.fixture(scope="session")
def qdrant_index(real_index: EmbeddedStore, qdrant_folder: str) -> Iterator[QdrantStore]:
    yield qdrant_copy(real_index, qdrant_folder)
    disconnect(qdrant_folder)  # the folder's client, closed now rather than at exit


def postgres_copy(built: EmbeddedStore, server: pgserver.PostgresServer) -> PostgresStore:
    """A PostgreSQL store holding exactly what `built` holds, in a database of its own."""
    store = PostgresStore(new_database(server, "store"))
    store.mirror(built, [], [], full=True)
    return store


@pytest.fixture(scope="session")
def postgres_index(real_index: EmbeddedStore, postgres: pgserver.PostgresServer) -> PostgresStore:
    return postgres_copy(real_index, postgres)


ENGINES = ["embedded", "qdrant", "postgres"]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, real_index: EmbeddedStore) -> Store:
    """The real articles' store of each engine (read only)."""
    if request.param == "embedded":
        return real_index
    served: Store = request.getfixturevalue(f"{request.param}_index")
    return served


@pytest.fixture(params=ENGINES)
def writable(request: pytest.FixtureRequest, real_index: EmbeddedStore) -> Iterator[Store]:
    """A fresh store of the real articles, of each engine, for a test to change."""
    records = [r for name in real_index.sources if (r := real_index.document(name)) is not None]
    if request.param == "embedded":
        yield EmbeddedStore(real_index.manifest, records)
        return
    if request.param == "postgres":
        yield postgres_copy(real_index, request.getfixturevalue("postgres"))
        return
    qdrant = qdrant_copy(real_index, ":memory:")
    yield qdrant
    qdrant.client.delete_collection(qdrant.name)
    qdrant.client.delete_collection(f"{qdrant.name}-documents")


def searcher_of(store: Store, encoder: SentenceTransformerEncoder, settings: Settings) -> Searcher:
    return Searcher(store, encoder, settings)


def new_record(
    tmp_path: Path, text: str, encoder: SentenceTransformerEncoder, settings: Settings
) -> DocumentRecord:
    (tmp_path / "marseille.txt").write_text(text, encoding="utf-8")
    (document,) = load_corpus(tmp_path).documents
    (record,) = embed_documents(
        [document], encoder, ChunkingConfig.from_settings(settings), progress=False
    )
    return record


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_questions_find_their_articles(
    store: Store, encoder: SentenceTransformerEncoder, settings: Settings, mode: str
) -> None:
    searcher = searcher_of(store, encoder, settings)
    found = 0
    # All 72: on a quarter of them one near-tie (5th and 6th passage 0.005 apart) was a tenth.
    for question in QUESTIONS:
        results = searcher.search(question["question"], k=5, mode=mode).results
        found += any(p.source in question["relevant"] for p in results)
    assert found >= 0.9 * len(QUESTIONS)


def test_passages_point_into_their_source_with_a_highlight(
    store: Store, encoder: SentenceTransformerEncoder, settings: Settings
) -> None:
    response = searcher_of(store, encoder, settings).search(ASCEND, k=10)
    assert len(response.results) == 10
    top = response.results[0]
    for passage in response.results:
        source = store.sources[passage.source]
        assert source.text[passage.start : passage.end] == passage.text
        assert passage.highlight is not None
        assert passage.start <= passage.highlight.start < passage.highlight.end <= passage.end
    assert top.highlight is not None
    sentence = store.sources[top.source].text[top.highlight.start : top.highlight.end]
    assert "100 000 puces Ascend 910B" in sentence


def test_answerable_tells_in_and_out_of_corpus_questions(
    store: Store, encoder: SentenceTransformerEncoder, settings: Settings
) -> None:
    searcher = searcher_of(store, encoder, settings)
    assert searcher.search(ASCEND).answerable
    assert not searcher.search("Quelle est la recette de la blanquette de veau ?").answerable


def test_dense_score_is_the_best_of_passage_and_sentences(
    store: Store, encoder: SentenceTransformerEncoder
) -> None:
    query = encoder.embed_queries([ASCEND])[0]
    hits = store.search_dense(query, 10)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    scores = store.dense_scores(query, [h.position for h in hits])
    assert scores == pytest.approx([h.score for h in hits], abs=1e-5)
    best_sentence = max(float(store.sentence_scores(query, h.position).max()) for h in hits)
    assert hits[0].score == pytest.approx(max(best_sentence, hits[0].score), abs=1e-5)


def test_count_and_describe(store: Store, real_index: EmbeddedStore) -> None:
    description = store.describe()
    assert store.count() == real_index.count() == description.passages
    assert description.documents == len(real_index.sources) == len(store.sources)
    assert description.sentences == real_index.manifest.sentence_count
    assert set(store.sources) == set(real_index.sources)
    assert store.manifest.model == real_index.manifest.model
    assert sorted(c.chunk_id for c in store.chunks) == sorted(c.chunk_id for c in real_index.chunks)


def test_a_missing_source_is_a_key_error(store: Store) -> None:
    assert store.sources.get("nothing.txt") is None
    with pytest.raises(KeyError):
        store.sources["nothing.txt"]


# --- filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_source_filter_keeps_only_that_article(
    store: Store, encoder: SentenceTransformerEncoder, settings: Settings, mode: str
) -> None:
    name = sorted(store.sources)[2]
    where = SearchFilter(sources=frozenset({name}))
    response = searcher_of(store, encoder, settings).search(ASCEND, k=5, mode=mode, where=where)
    assert response.results
    assert {p.source for p in response.results} == {name}
    nothing = SearchFilter(sources=frozenset())
    assert searcher_of(store, encoder, settings).search(ASCEND, where=nothing).results == []


def test_date_filter_admits_dated_articles_in_range_only(
    writable: Store, encoder: SentenceTransformerEncoder, settings: Settings
) -> None:
    name = sorted(writable.sources)[0]
    record = writable.document(name)
    assert record is not None
    dated = record.source.model_copy(update={"published": date(2025, 3, 14)})
    writable.write_document(replace(record, source=dated))
    searcher = searcher_of(writable, encoder, settings)
    for after, before, expected in [
        (date(2025, 3, 14), date(2025, 3, 14), {name}),  # bounds are inclusive
        (date(2025, 1, 1), None, {name}),  # undated articles never satisfy a date condition
        (None, date(2025, 3, 13), set()),
        (date(2025, 3, 15), None, set()),
    ]:
        where = SearchFilter(published_after=after, published_before=before)
        for mode in ["dense", "lexical"]:
            results = searcher.search("ByteDance Nvidia", k=5, mode=mode, where=where).results
            assert {p.source for p in results} == expected, (after, before, mode)
            assert all(p.published == date(2025, 3, 14) for p in results)


def test_language_and_site_filters_admit_those_articles_only(
    writable: Store, encoder: SentenceTransformerEncoder, settings: Settings
) -> None:
    first, second = sorted(writable.sources)[:2]
    for name, language, site in [(first, "en", "Le Quotidien"), (second, "de", None)]:
        record = writable.document(name)
        assert record is not None
        source = record.source.model_copy(update={"language": language, "site": site})
        writable.write_document(replace(record, source=source))
    searcher = searcher_of(writable, encoder, settings)
    others = set(writable.sources) - {first, second}
    for where, expected in [
        (SearchFilter(languages=frozenset({"en"})), {first}),
        (SearchFilter(languages=frozenset({"en", "de"})), {first, second}),
        (SearchFilter(languages=frozenset({"fr"})), others),  # the seeds' language, detected
        (SearchFilter(sites=frozenset({"Le Quotidien"})), {first}),
        (SearchFilter(sites=frozenset({"Le Monde"})), set()),
        (SearchFilter(languages=frozenset({"de"}), sites=frozenset({"Le Quotidien"})), set()),
    ]:
        for mode in ["dense", "lexical"]:
            results = searcher.search("ByteDance Nvidia", k=50, mode=mode, where=where).results
            assert {p.source for p in results} == expected, (where, mode)
    only_first = SearchFilter(sources=frozenset({first}))
    (top,) = searcher.search("ByteDance", k=1, where=only_first).results
    assert (top.language, top.site) == ("en", "Le Quotidien")


# --- writing -----------------------------------------------------------------------------------


def test_add_replace_and_delete_a_document(
    writable: Store,
    encoder: SentenceTransformerEncoder,
    settings: Settings,
    tmp_path: Path,
) -> None:
    searcher = searcher_of(writable, encoder, settings)
    question = "Combien a coûté la digue flottante du port de Marseille ?"
    before = writable.count()
    assert not searcher.search(question).answerable

    added = new_record(tmp_path, NEW_ARTICLE, encoder, settings)
    writable.write_document(added)
    assert writable.count() == before + len(added.chunks)
    for mode in ["dense", "lexical", "hybrid"]:
        top = searcher.search(question, mode=mode).results[0]
        assert top.source == "marseille.txt", mode
        assert "42 millions" in top.text
    assert searcher.search(question).answerable
    stored = writable.document("marseille.txt")
    assert stored is not None
    assert stored.source.sha256 == added.source.sha256
    assert stored.vectors.shape == added.vectors.shape
    assert stored.sentence_vectors.shape == added.sentence_vectors.shape

    replaced = new_record(tmp_path, REPLACED_ARTICLE, encoder, settings)
    writable.write_document(replaced)
    assert writable.count() == before + len(replaced.chunks)
    texts = [p.text for p in searcher.search(question, k=20, mode="lexical").results]
    assert not any("42 millions" in text for text in texts)
    top = searcher.search("goélands réserve ornithologique", mode="lexical").results[0]
    assert top.source == "marseille.txt"
    assert writable.sources["marseille.txt"].sha256 == replaced.source.sha256

    writable.delete_document("marseille.txt")
    assert writable.count() == before
    assert "marseille.txt" not in writable.sources
    assert writable.document("marseille.txt") is None
    results = searcher.search("goélands réserve ornithologique", k=20, mode="lexical").results
    assert all(p.source != "marseille.txt" for p in results)


# --- the engines agree -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["qdrant", "postgres"])
def test_every_engine_ranks_as_the_embedded_store(
    real_index: EmbeddedStore,
    encoder: SentenceTransformerEncoder,
    request: pytest.FixtureRequest,
    engine: str,
) -> None:
    """Same scores, rank by rank, and the same passages up to the order of equal scores (two
    passages sharing their best sentence, the overlap between chunks, score exactly alike)."""
    other: Store = request.getfixturevalue(f"{engine}_index")
    for question in QUESTIONS:
        text = question["question"]
        query = encoder.embed_queries([text])[0]
        for search in ("search_dense", "search_lexical"):
            args = (query,) if search == "search_dense" else (text,)
            embedded = getattr(real_index, search)(*args, CANDIDATES)
            found = getattr(other, search)(*args, CANDIDATES)
            assert len(found) == len(embedded), (search, text)
            scores = [h.score for h in embedded[:10]]
            assert [h.score for h in found[:10]] == pytest.approx(scores, rel=1e-4), (search, text)
            for hit in found[:10]:
                tied = {
                    real_index.chunks[h.position].chunk_id
                    for h in embedded
                    if abs(h.score - hit.score) <= 1e-4 * abs(hit.score)
                }
                assert other.chunks[hit.position].chunk_id in tied, (search, text)


# --- what the Qdrant store keeps for BM25, checked ---------------------------------------------


@pytest.mark.parametrize("length", [float("nan"), float("inf"), -12.5, "long"])
def test_qdrant_refuses_an_altered_average_passage_length(
    real_index: EmbeddedStore, length: object
) -> None:
    """The average passage length weighs every BM25 term weight written after it: altered, it
    is refused in one line by the readers and the writer, never turned into NaN weights."""
    published = qdrant_copy(real_index, ":memory:")
    try:
        published.client.set_payload(
            documents_alias(published.name), {"average_length": length}, points=[META_ID]
        )

        with pytest.raises(IndexCorruptError) as raised:
            open_store(":memory:", published.name, real_index.manifest.model)
        message = str(raised.value)
        assert f"collection {published.name!r} records an average passage length" in message
        assert "\n" not in message

        writer = QdrantStore(connect(":memory:"), published.name, location=":memory:")
        record = real_index.document(sorted(real_index.sources)[0])
        assert record is not None
        with pytest.raises(IndexCorruptError, match="average passage length"):
            writer.write_document(record)
    finally:
        published.client.delete_collection(published.name)
        published.client.delete_collection(documents_alias(published.name))


def test_qa_index_rebuilds_a_qdrant_store_over_an_altered_average_passage_length(
    real_index: EmbeddedStore, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    """The refusal is the way out too: the writer finds the published store unusable and
    builds it anew, with the average length of the passages it holds."""
    published = qdrant_copy(real_index, ":memory:")
    documents = documents_alias(published.name)
    settings = make_settings(
        tmp_path / "index", store="qdrant", qdrant_url=":memory:", qdrant_collection=published.name
    )
    try:
        published.client.set_payload(documents, {"average_length": float("nan")}, [META_ID])

        report = update_index(settings, encoder)

        assert "average passage length of nan" in (report.changes.full_reason or "")
        rebuilt = open_store(":memory:", published.name, settings.model)
        assert rebuilt.search_lexical("Huawei Ascend 910B", 5)
        (meta,) = published.client.retrieve(documents, [META_ID])
        assert 0 < (meta.payload or {})["average_length"] < float("inf")
    finally:
        published.client.delete_collection(published.name)
        published.client.delete_collection(documents)
