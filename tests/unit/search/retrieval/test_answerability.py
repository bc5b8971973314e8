"""The learned answerability flag's pieces by hand: its question-level features on hand-made
questions over the seeds (fake encoder), and its model file, refused when altered (the real
model on the real index: tests/integration/test_answerability.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.errors import AnswerabilityModelError
from qa.indexing.build import build_index
from qa.search.retrieval.answerability import (
    FEATURE_NAMES,
    PACKAGED_MODEL,
    AnswerabilityFlag,
    FlagModel,
    QuestionFeatures,
    question_features,
    read_model,
    write_model,
)
from qa.search.retrieval.search import CANDIDATES
from qa.search.store import Store
from qa.settings import Settings
from tests.conftest import SEEDS, FakeEncoder


@pytest.fixture(scope="module")
def seeds_index() -> tuple[Store, FakeEncoder]:
    encoder = FakeEncoder()
    config = ChunkingConfig(max_tokens=256, overlap_sentences=1, prefix="passage: ")
    return build_index(load_corpus(SEEDS), encoder, config), encoder


def features_of(
    seeds_index: tuple[Store, FakeEncoder], question: str, hidden: frozenset[int] = frozenset()
) -> QuestionFeatures:
    index, encoder = seeds_index
    query = encoder.embed_queries([question])[0]
    dense = index.search_dense(query, CANDIDATES)
    features = question_features(index, question, "fr", query, dense, hidden=hidden)
    assert features is not None
    return features


def test_a_question_copied_from_a_sentence_is_covered_and_its_answer_type_found(
    seeds_index: tuple[Store, FakeEncoder],
) -> None:
    # "ByteDance aurait commandé 100 000 puces Ascend 910B à Huawei cette année."
    features = features_of(seeds_index, "Combien de puces Ascend 910B ByteDance a-t-il commandé ?")
    assert features.coverage == pytest.approx(5 / 6)  # all its stems but "combien"
    assert features.unseen_terms == pytest.approx(1 / 6)
    assert features.names_missing == 0.0
    assert features.numbers_missing == 0.0
    assert features.expects_answer_type == 1.0
    assert features.answer_type_match == 1.0  # a number: "100 000"
    assert 0.0 < features.agreement <= 1.0
    assert features.lexical_rank_of_best > 0.0
    assert features.question_french == 1.0


def test_an_off_topic_question_is_neither_covered_nor_seen(
    seeds_index: tuple[Store, FakeEncoder],
) -> None:
    features = features_of(seeds_index, "Comment faire une pâte à crêpes ?")
    # "comment" and "faire" are in the articles; "pâte" and "crêpes" in none of the top passages.
    assert features.unseen_terms == 0.5
    assert features.coverage <= 0.5
    assert features.expects_answer_type == 0.0
    assert features.answer_type_match == 0.0


def test_names_and_numbers_of_the_question_missing_from_the_best_passage_are_counted(
    seeds_index: tuple[Store, FakeEncoder],
) -> None:
    features = features_of(seeds_index, "Combien Zorglub a-t-il payé Huawei en 1987 ?")
    assert features.names_missing >= 1.0  # Zorglub is in no article
    assert features.numbers_missing == 1.0
    assert 0.0 < features.unseen_terms < 1.0


def test_the_margin_is_between_the_first_two_passages_and_hidden_passages_are_absent(
    seeds_index: tuple[Store, FakeEncoder],
) -> None:
    index, encoder = seeds_index
    question = "Combien de puces Ascend 910B ByteDance a-t-il commandé ?"
    dense = index.search_dense(encoder.embed_queries([question])[0], CANDIDATES)
    features = features_of(seeds_index, question)
    assert features.best_score == pytest.approx(dense[0].score)
    assert features.margin == pytest.approx(dense[0].score - dense[1].score)
    without_best = features_of(seeds_index, question, hidden=frozenset({dense[0].position}))
    assert without_best.best_score == pytest.approx(dense[1].score)


def test_nothing_found_has_no_features(seeds_index: tuple[Store, FakeEncoder]) -> None:
    index, encoder = seeds_index
    query = encoder.embed_queries(["Huawei"])[0]
    assert question_features(index, "Huawei", "fr", query, []) is None


# --- the model file -------------------------------------------------------------------------


def a_model(**changes: object) -> FlagModel:
    count = len(FEATURE_NAMES)
    coefficients = [0.0] * count
    coefficients[FEATURE_NAMES.index("best_score")] = 2.0
    fields: dict[str, object] = {
        "features": list(FEATURE_NAMES),
        "mean": [0.8] * count,
        "scale": [0.1] * count,
        "coefficients": coefficients,
        "intercept": 0.0,
        "threshold": 0.5,
        "default_on": False,
        "command": "by hand",
    }
    return FlagModel.model_validate({**fields, **changes})


def features_with_best_score(score: float) -> QuestionFeatures:
    values = dict.fromkeys(FEATURE_NAMES, 0.8)
    values["best_score"] = score
    return QuestionFeatures(**values)


def test_the_probability_rises_with_a_positive_coefficient_and_stays_in_0_1() -> None:
    flag = AnswerabilityFlag(a_model())
    low, middle, high = (flag.probability(features_with_best_score(s)) for s in (-1.0, 0.8, 1e6))
    assert 0.0 <= low < middle < high <= 1.0
    assert middle == pytest.approx(0.5)
    assert flag.answerable(middle)
    assert not flag.answerable(low)


def test_a_written_model_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "flag.json"
    write_model(a_model(), path)
    assert read_model(path) == a_model()


def test_an_altered_model_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "flag.json"
    write_model(a_model(), path)
    content = json.loads(path.read_text())
    content["coefficients"][0] = 5.0
    path.write_text(json.dumps(content))
    with pytest.raises(AnswerabilityModelError, match="does not match its sha256") as error:
        read_model(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]"])
def test_a_truncated_or_foreign_model_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "flag.json"
    path.write_text(text)
    with pytest.raises(AnswerabilityModelError, match="answerability model"):
        read_model(path)


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flag.json"
    count = len(FEATURE_NAMES)
    write_model(a_model(features=["x"] * count), path)
    with pytest.raises(AnswerabilityModelError, match="other features"):
        read_model(path)


def test_the_shipped_model_loads_and_its_default_is_the_settings_default() -> None:
    model = read_model(PACKAGED_MODEL)
    assert model.metrics["splits"]
    assert model.metrics["sets"]
    expected = "learned" if model.default_on else "threshold"
    assert Settings().answerable_flag == expected
    rows = np.asarray([features_with_best_score(s).row() for s in (0.7, 0.95)])
    low, high = AnswerabilityFlag(model).probabilities(rows)
    assert 0.0 <= low < high <= 1.0  # a better best passage, a likelier answer
