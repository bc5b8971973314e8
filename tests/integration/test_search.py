"""Search with the real model: passages point into their source, the highlight is the sentence
that answers, scores are cosines, an English question finds French articles, and a question
asked again keeps its language (validation, language detection and each mode on a fake
encoder: tests/unit/search/retrieval/test_search.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa.search.retrieval.search as search_module
from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import (
    Searcher,
    detect_language,
)
from qa.search.store import EmbeddedStore
from tests.conftest import make_settings


def test_passages_point_into_their_source(searcher: Searcher) -> None:
    response = searcher.search("Combien de puces Ascend 910B ByteDance a-t-il commandées ?", k=10)
    for passage in response.results:
        source = searcher.index.sources[passage.source]
        assert source.text[passage.start : passage.end] == passage.text
        assert passage.title == source.title
        assert passage.highlight is not None
        assert passage.start <= passage.highlight.start < passage.highlight.end <= passage.end


def test_highlight_is_the_sentence_that_answers(searcher: Searcher) -> None:
    response = searcher.search(
        "Combien de puces Ascend 910B ByteDance a-t-il commandées à Huawei ?"
    )
    top = response.results[0]
    assert top.highlight is not None
    sentence = searcher.index.sources[top.source].text[top.highlight.start : top.highlight.end]
    assert "100 000 puces Ascend 910B" in sentence


def test_scores_are_cosines(searcher: Searcher) -> None:
    response = searcher.search("Doubao", k=10, mode="dense")
    scores = [p.score for p in response.results]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_english_question_about_french_articles(searcher: Searcher) -> None:
    response = searcher.search("How many Ascend 910B chips did ByteDance order from Huawei?")
    assert response.language == "en"
    assert response.answerable
    assert response.results[0].source.startswith("003_")


@pytest.mark.parametrize(("cache_size", "detections"), [(16, 2), (0, 4)])
def test_a_question_asked_again_has_its_language_remembered_as_long_as_vectors_are(
    real_index: EmbeddedStore,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
    cache_size: int,
    detections: int,
) -> None:
    seen: list[str] = []

    def counted(text: str) -> str:
        seen.append(text)
        return detect_language(text)

    monkeypatch.setattr(search_module, "detect_language", counted)  # before the Searcher wraps it
    searcher = Searcher(
        real_index, encoder, make_settings(Path("unused"), query_cache_size=cache_size)
    )
    french = "Quelle puce ByteDance développe-t-il ?"
    english = "Which company is developing its own artificial intelligence chip?"
    languages = [searcher.search(question).language for question in (french, english) * 2]
    assert languages == ["fr", "en", "fr", "en"]
    assert len(seen) == detections
