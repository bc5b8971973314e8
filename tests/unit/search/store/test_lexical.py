"""Lexical retrieval: French analysis (folding, stemming, stop words) and the BM25 index."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig, chunk_document
from qa.content.corpus.ingest import load_corpus
from qa.errors import IndexCorruptError
from qa.search.store.lexical import LexicalIndex, analyze, fold, term_overlap
from tests.conftest import SEEDS, FakeEncoder

TEXTS = [
    "ByteDance développe sa propre puce d’IA, baptisée SeedChip.",
    "ByteDance achète des puces H20 de Nvidia malgré les États-Unis.",
    "Le modèle H200 de Nvidia reste interdit à l’exportation.",
    "L’investissement atteint 19,4 milliards d’euros cette année.",
    "Huawei livre 100 000 processeurs Ascend 910B à ByteDance.",
    "Samsung fabriquera les premières unités en mars.",
]


def unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# --- analysis --------------------------------------------------------------------------------


def test_fold_lowers_strips_accents_and_splits_apostrophes() -> None:
    assert fold("L’État") == "l etat"


@pytest.mark.parametrize("variant", ["l’IA", "l'IA", "lʼIA", "L’ia", "IA"])
def test_apostrophes_and_elisions_give_the_same_term(variant: str) -> None:
    assert analyze(variant) == analyze("IA")
    assert len(analyze(variant)) == 1


@pytest.mark.parametrize(
    ("accented", "plain"),
    [
        ("États", "etats"),
        ("données", "donnees"),
        ("sécurité", "securite"),
        ("Pékin", "pekin"),
        ("américaines", "americaines"),
        ("développement", "developpement"),
        ("entraînerait", "entrainerait"),
    ],
)
def test_accents_do_not_matter(accented: str, plain: str) -> None:
    assert analyze(accented) == analyze(plain)
    assert analyze(accented)


def test_every_seed_word_matches_its_spelling_without_accents() -> None:
    words = {w for path in SEEDS.glob("*.txt") for w in re.findall(r"\w+", path.read_text())}
    mismatched = [w for w in sorted(words) if analyze(w) != analyze(unaccented(w))]
    assert mismatched == []


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("puces", "puce"),
        ("sociétés", "société"),
        ("restrictions", "restriction"),
        ("américaines", "américaine"),
        ("investissements", "investissement"),
        ("États", "État"),
    ],
)
def test_plurals_match_their_singular(plural: str, singular: str) -> None:
    assert analyze(plural) == analyze(singular)


def test_case_does_not_matter() -> None:
    assert analyze("NVIDIA ByteDance") == analyze("nvidia bytedance")


def test_stop_words_are_removed() -> None:
    assert analyze("le la les de des du et à en pour que qui") == []
    assert analyze("what is the") == []
    assert analyze("la puce de ByteDance") == analyze("puce ByteDance")


@pytest.mark.parametrize("name", ["SeedChip", "910B", "19,4", "H20", "H200", "Zhenwu"])
def test_names_and_numbers_are_single_terms(name: str) -> None:
    assert len(analyze(name)) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [("H20", "H200"), ("19,4", "19"), ("19,4", "4"), ("910B", "910"), ("A100", "H100")],
)
def test_close_names_and_numbers_do_not_collide(one: str, other: str) -> None:
    assert not set(analyze(one)) & set(analyze(other))


# --- the BM25 index --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(TEXTS)


def positions(index: LexicalIndex, query: str, k: int = 10) -> list[int]:
    return [hit.position for hit in index.search(query, k)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SeedChip", [0]),
        ("seedchip", [0]),
        ("H20", [1]),
        ("H200", [2]),
        ("19,4 milliards", [3]),
        ("910B", [4]),
        ("l'IA", [0]),
        ("IA", [0]),
        ("etats unis", [1]),
    ],
)
def test_search_finds_exact_names_and_numbers(
    index: LexicalIndex, query: str, expected: list[int]
) -> None:
    assert positions(index, query) == expected


def test_search_matches_plurals(index: LexicalIndex) -> None:
    assert set(positions(index, "puce")) == {0, 1}
    assert set(positions(index, "la première unité")) == {5}


def test_search_ranks_by_score_and_honours_k(index: LexicalIndex) -> None:
    hits = index.search("ByteDance Nvidia", 10)
    assert {hit.position for hit in hits} == {0, 1, 2, 4}
    assert hits[0].position == 1  # the only text with both terms
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
    assert len(index.search("ByteDance Nvidia", 2)) == 2


@pytest.mark.parametrize("query", ["météo à Paris ce week-end", "le la les de", "", "?!"])
def test_query_sharing_no_term_returns_nothing(index: LexicalIndex, query: str) -> None:
    assert index.search(query, 5) == []


def test_save_and_load_give_the_same_results(index: LexicalIndex, tmp_path: Path) -> None:
    folder = tmp_path / "lexical"
    index.save(folder)
    loaded = LexicalIndex.load(folder, len(TEXTS))
    assert loaded.size == len(TEXTS)
    for query in ["SeedChip", "puces Nvidia", "19,4", "etats"]:
        assert loaded.search(query, 10) == index.search(query, 10)


def test_loading_a_missing_index_raises(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError):
        LexicalIndex.load(tmp_path / "absent", 3)


def test_search_over_the_real_articles_finds_names_exactly(fake_encoder: FakeEncoder) -> None:
    config = ChunkingConfig(max_tokens=128, overlap_sentences=1, prefix="passage: ")
    chunks = [
        chunk
        for document in load_corpus(SEEDS).documents
        for chunk in chunk_document(document, fake_encoder.count_tokens, config)
    ]
    index = LexicalIndex.build([chunk.match_text for chunk in chunks])
    for name in ["SeedChip", "910B", "H20", "H200", "19,4"]:
        pattern = re.compile(rf"(?<![\w,.]){re.escape(name)}(?!\w)", re.IGNORECASE)
        expected = {i for i, chunk in enumerate(chunks) if pattern.search(chunk.match_text)}
        assert expected, name
        assert set(positions(index, name, k=len(chunks))) == expected, name


# --- term overlap ----------------------------------------------------------------------------


def test_term_overlap_is_the_share_of_query_terms_found() -> None:
    texts = ["Nvidia vend des puces.", "Nvidia grandit.", "Rien à voir."]
    overlap = term_overlap("les puces de Nvidia", texts)
    assert overlap.dtype == np.float32
    assert overlap.tolist() == [1.0, 0.5, 0.0]


def test_term_overlap_folds_like_the_index() -> None:
    overlap = term_overlap("securite des donnees", ["La sécurité des données."])
    assert overlap.tolist() == [1.0]


def test_term_overlap_of_a_query_without_terms_is_zero() -> None:
    overlap = term_overlap("le la les", ["Nvidia vend des puces.", "Rien."])
    assert overlap.tolist() == [0.0, 0.0]
