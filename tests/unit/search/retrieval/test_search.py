"""Search on a fake encoder: query validation, language detection, and each retrieval mode's
ranked passages (highlights, scores and languages with the real model:
tests/integration/test_search.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import InvalidQueryError
from qa.indexing.build import build_index
from qa.search.retrieval.search import (
    MAX_K,
    MAX_QUESTION_CHARS,
    Searcher,
    detect_language,
    validate_query,
)
from qa.settings import Settings
from tests.conftest import SEEDS, FakeEncoder


@pytest.mark.parametrize(
    ("question", "k", "problem"),
    [
        ("", 5, "blank"),
        ("   \n ", 5, "blank"),
        ("x" * (MAX_QUESTION_CHARS + 1), 5, "2000"),
        ("?", 5, "a letter or a digit"),
        ("... !", 5, "a letter or a digit"),
        ("\U0001f600", 5, "a letter or a digit"),
        ("\u200b", 5, "a letter or a digit"),
        ("ok", 0, "k"),
        ("ok", MAX_K + 1, "k"),
    ],
)
def test_invalid_queries_say_what_is_wrong(question: str, k: int, problem: str) -> None:
    with pytest.raises(InvalidQueryError, match=problem):
        validate_query(question, k)


def test_valid_query_is_stripped() -> None:
    assert validate_query("  Qui ?  ", 1) == "Qui ?"
    assert validate_query("910B ?", 1) == "910B ?"
    assert validate_query("字节跳动?", 1) == "字节跳动?"
    assert validate_query("x" * MAX_QUESTION_CHARS, MAX_K) == "x" * MAX_QUESTION_CHARS


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Quelle puce ByteDance développe-t-il pour l'intelligence artificielle ?", "fr"),
        ("Which company is developing its own artificial intelligence chip?", "en"),
        ("¿Qué empresa está desarrollando su propio chip de inteligencia artificial?", "es"),
        ("Welches Unternehmen entwickelt einen eigenen Chip für künstliche Intelligenz?", "de"),
        ("12345 ???", "unknown"),
    ],
)
def test_language_is_detected_or_unknown(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_language_detection_is_repeatable() -> None:
    question = "ByteDance Nvidia H20"
    assert len({detect_language(question) for _ in range(20)}) == 1


@pytest.fixture
def fake_searcher(fake_encoder: FakeEncoder) -> Searcher:
    chunking = ChunkingConfig(max_tokens=96, overlap_sentences=1, prefix="passage: ")
    index = build_index(load_corpus(SEEDS), fake_encoder, chunking)
    return Searcher(index, fake_encoder, Settings(answerable_threshold=0.5))


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_returns_k_ranked_passages(fake_searcher: Searcher, mode: str) -> None:
    response = fake_searcher.search("Ascend 910B Huawei", k=7, mode=mode)  # type: ignore[arg-type]
    assert response.mode == mode
    assert [p.rank for p in response.results] == list(range(1, 8))
    assert len({p.chunk_id for p in response.results}) == 7


def test_lexical_mode_finds_exact_names_first(fake_searcher: Searcher) -> None:
    response = fake_searcher.search("SeedChip", k=3, mode="lexical")
    assert "SeedChip" in response.results[0].text


def test_each_result_carries_its_articles_metadata(fake_searcher: Searcher) -> None:
    index = fake_searcher.index
    name = fake_searcher.search("SeedChip", k=1, mode="lexical").results[0].source
    record = index.document(name)
    assert record is not None
    metadata = {"author": "Camille Martin", "language": "en", "site": "Le Quotidien"}
    index.write_document(replace(record, source=record.source.model_copy(update=metadata)))

    top = fake_searcher.search("SeedChip", k=1, mode="lexical").results[0]

    assert (top.source, top.author, top.language, top.site) == (name, *metadata.values())
