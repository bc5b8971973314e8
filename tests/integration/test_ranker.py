"""The learned ranker with the real model, the real index and the shipped model file: on and
off change the order, explanations add up, an altered model file is refused in one line, and
`qa train-ranker` trains and writes a model as a process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import RankerError
from qa.search.encoders.base import Encoder
from qa.search.retrieval.ranker import PACKAGED_MODEL, Ranker, card_path
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore, SearchFilter
from qa.settings import Settings
from tests.conftest import ROOT, SEEDS, assert_one_error_line, run_module

QUESTIONS = [
    "Combien de puces Ascend 910B ByteDance a-t-il commandées ?",
    "Comment s'appelle la puce IA que développe ByteDance ?",
    "En quelle année SeedChip sera-t-elle produite ?",
    "Qui fabrique les puces de ByteDance ?",
    "How many Ascend chips did ByteDance order from Huawei?",
]


@pytest.fixture(scope="module")
def ranked(real_index: EmbeddedStore, encoder: Encoder, settings: Settings) -> Searcher:
    return Searcher(real_index, encoder, settings.model_copy(update={"ranker": True}))


def test_the_ranker_changes_the_order_of_real_searches(
    searcher: Searcher, ranked: Searcher
) -> None:
    assert searcher.reranker.model is None
    assert ranked.reranker.model is not None
    changed = 0
    for question in QUESTIONS:
        off = searcher.search(question, k=10, mode="hybrid")
        on = ranked.search(question, k=10, mode="hybrid")
        assert all(p.scores.ranker is None for p in off.results)
        scores = [p.scores.ranker for p in on.results]
        assert None not in scores
        assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
        changed += [p.chunk_id for p in off.results] != [p.chunk_id for p in on.results]
    assert changed > 0


def test_every_result_carries_its_scores(searcher: Searcher) -> None:
    for mode, lexical in (("hybrid", True), ("dense", False)):
        for passage in searcher.search(QUESTIONS[0], k=5, mode=mode).results:
            assert passage.scores.dense == passage.score
            assert passage.scores.sentence is not None
            assert -1 <= passage.scores.sentence <= 1
            assert (passage.scores.lexical is not None) == lexical or passage.scores.lexical is None
    top = searcher.search(QUESTIONS[0], k=1, mode="hybrid").results[0]
    assert top.scores.lexical is not None
    assert top.scores.lexical > 0


def test_explained_contributions_sum_to_the_ranker_score(ranked: Searcher) -> None:
    response = ranked.search(QUESTIONS[0], k=10, mode="hybrid", explain=True)
    for passage in response.results:
        explanation = passage.explanation
        assert explanation is not None
        assert explanation.contributions is not None
        assert set(explanation.contributions) == {*explanation.features, "bias"}
        assert sum(explanation.contributions.values()) == pytest.approx(passage.scores.ranker)
    assert response.results[0].explanation.features["coverage"] > 0  # type: ignore[union-attr]
    assert all(p.explanation is None for p in ranked.search(QUESTIONS[0], k=3).results)


def test_explain_with_the_ranker_off_gives_the_features_only(searcher: Searcher) -> None:
    passage = searcher.search(QUESTIONS[0], k=1, mode="hybrid", explain=True).results[0]
    assert passage.explanation is not None
    assert passage.explanation.contributions is None
    assert passage.explanation.features["expects_number"] == 1.0


@pytest.mark.parametrize("on", [False, True])
def test_explain_with_a_filter_that_admits_nothing_finds_nothing(
    searcher: Searcher, ranked: Searcher, on: bool
) -> None:
    # Found by fuzzing: no candidate at all used to fail the features (a 500).
    nobody = SearchFilter(sources=frozenset())
    response = (ranked if on else searcher).search(
        QUESTIONS[0], k=5, mode="hybrid", where=nobody, explain=True
    )
    assert response.results == []


def test_an_altered_model_file_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "ranker.txt"
    shutil.copy(PACKAGED_MODEL, model)
    shutil.copy(card_path(PACKAGED_MODEL), card_path(model))
    Ranker(model)  # the copy loads
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace("leaf_value=", "leaf_value=1", 1), encoding="utf-8")
    with pytest.raises(RankerError, match="does not match the checksum"):
        Ranker(model)
    scores = np.asarray(Ranker(PACKAGED_MODEL).score(np.zeros((2, 42))))
    assert scores.shape == (2,)


def test_a_service_given_an_altered_model_says_so_in_one_line(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    model = tmp_path / "ranker.txt"
    shutil.copy(PACKAGED_MODEL, model)
    card = json.loads(card_path(PACKAGED_MODEL).read_text(encoding="utf-8"))
    card_path(model).write_text(json.dumps({**card, "sha256": "0" * 64}), encoding="utf-8")
    result = run_module(
        "qa.cli",
        "ask",
        QUESTIONS[0],
        cwd=tmp_path,
        env={
            "QA_INDEX_DIR": str(settings.index_dir),
            "QA_CORPUS_DIR": str(SEEDS),
            "QA_RANKER": "true",
            "QA_RANKER_MODEL": str(model),
        },
    )
    assert_one_error_line(result, "does not match the checksum", str(model))


def test_train_ranker_trains_measures_and_writes_a_model(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    # Five answerable questions of each seed article: grouped folds need several articles.
    by_article: dict[str, list[str]] = {}
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        relevant = json.loads(line)["relevant"]
        if relevant and len(by_article.setdefault(relevant[0], [])) < 5:
            by_article[relevant[0]].append(line)
    questions = tmp_path / "small.jsonl"
    questions.write_text(
        "\n".join(line for lines in by_article.values() for line in lines) + "\n", encoding="utf-8"
    )
    out = tmp_path / "models" / "ranker.txt"
    result = run_module(
        "qa.cli",
        "train-ranker",
        "--quick",
        "--folds",
        "2",
        "--set",
        str(questions),
        str(SEEDS),
        str(settings.index_dir),
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "held out" in result.stdout
    assert "p=" in result.stdout
    card = json.loads(card_path(out).read_text(encoding="utf-8"))
    assert card["data"][f"{tmp_path.name}/small.jsonl"]["answerable"] > 0
    assert "answer@1" in card["metrics"]["held_out"][0]["p_values"]
    Ranker(out)  # its checksum and features check out
