"""The learned answerability flag with the real model on the real seeds index: the flag
object on the issue's questions and on answerable ones, and `confidence` in the API response
of a real server (the features and the model file by hand: tests/unit/search/retrieval/
test_answerability.py). The flag is off by default (its figures: docs/evaluation.md), so it is
tested directly rather than through the default service."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qa.evaluation.evaluate import load_questions
from qa.search.encoders.base import Encoder
from qa.search.retrieval.answerability import AnswerabilityFlag, question_features
from qa.search.retrieval.search import CANDIDATES, Searcher
from qa.search.store import EmbeddedStore
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import ROOT, uvicorn_on_loopback

OFF_TOPIC = "Comment faire une pâte à crêpes ?"


def probability(index: EmbeddedStore, encoder: Encoder, question: str) -> float:
    query = encoder.embed_queries([question])[0]
    features = question_features(
        index, question, "fr", query, index.search_dense(query, CANDIDATES)
    )
    assert features is not None
    return AnswerabilityFlag.load().probability(features)


def test_the_learned_flag_refuses_off_topic_questions_and_keeps_answerable_ones(
    real_index: EmbeddedStore, encoder: Encoder
) -> None:
    flag = AnswerabilityFlag.load()
    off_topic = load_questions(ROOT / "eval" / "unanswerable_off_topic.jsonl")
    answerable = load_questions(ROOT / "eval" / "questions.jsonl")[:10]

    refused = [
        q for q in off_topic if not flag.answerable(probability(real_index, encoder, q.question))
    ]
    kept = [q for q in answerable if flag.answerable(probability(real_index, encoder, q.question))]

    assert OFF_TOPIC in {q.question for q in refused}
    assert len(refused) >= 0.9 * len(off_topic)
    assert len(kept) >= 9


def test_the_flag_decides_a_search_when_the_setting_asks_for_it(
    real_index: EmbeddedStore, encoder: Encoder, settings: Settings
) -> None:
    learned = Searcher(
        real_index, encoder, settings.model_copy(update={"answerable_flag": "learned"})
    )
    default = Searcher(real_index, encoder, settings)

    response = learned.search(OFF_TOPIC)
    assert response.confidence is not None
    assert 0.0 <= response.confidence <= 1.0
    assert response.answerable is False
    assert response.best_score >= settings.answerable_threshold  # the cosine alone says yes
    assert default.search(OFF_TOPIC).confidence is None


@pytest.fixture(scope="module")
def learned_server(real_index: EmbeddedStore, settings: Settings) -> Iterator[str]:
    """A real uvicorn server over the saved real index, with the learned flag on."""
    app = api.create_app(settings.model_copy(update={"answerable_flag": "learned"}))
    with uvicorn_on_loopback(app, "uvicorn-answerability") as url:
        yield url


@pytest.mark.parametrize(
    "question", [OFF_TOPIC, "Quel est le nom de la puce IA développée par ByteDance ?"]
)
def test_the_api_response_carries_the_confidence(learned_server: str, question: str) -> None:
    response = httpx.post(f"{learned_server}/search", json={"question": question}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0.0 <= body["confidence"] <= 1.0
    threshold = AnswerabilityFlag.load().model.threshold
    assert body["answerable"] is (body["confidence"] >= threshold)
