"""Calibration of `answerable`: the splits, threshold choice and error rates by hand (a real run
with the real model: tests/integration/test_calibrate.py)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.content.corpus.ingest import load_corpus
from qa.evaluation.calibrate import (
    Scored,
    choose_threshold,
    error_rates,
    roc_auc,
    split_corpus,
    split_questions,
)
from qa.evaluation.evaluate import Question
from tests.conftest import SEEDS


def test_questions_split_by_whether_their_articles_are_indexed() -> None:
    inside = Question(id="a", question="Qui ?", relevant=["x.txt"])
    outside = Question(id="b", question="Qui ?", relevant=["y.txt"])
    straddling = Question(id="c", question="Qui ?", relevant=["x.txt", "y.txt"])
    nothing = Question(id="d", question="Qui ?")

    assert split_questions([inside, outside, straddling, nothing], {"x.txt"}) == (
        [inside],
        [outside],
    )


def test_threshold_error_rates_and_auc_by_hand() -> None:
    scored = Scored(answerable=np.array([0.9, 0.85, 0.8]), unanswerable=np.array([0.82, 0.7]))

    assert choose_threshold(scored) == 0.85  # refuses 1/3 answerable, answers 0/2 unanswerable
    rates = error_rates(scored, 0.82)
    assert (rates.false_refusals, rates.false_answers) == (pytest.approx(1 / 3), 0.5)
    assert roc_auc(scored) == pytest.approx(5 / 6)  # 5 of the 6 pairs ordered right


def test_halves_alternate_in_name_order_and_cover_the_corpus() -> None:
    corpus = load_corpus(SEEDS)
    first, second = split_corpus(corpus)
    names = sorted(document.name for document in corpus.documents)

    assert [d.name for d in first.documents] == names[0::2]
    assert [d.name for d in second.documents] == names[1::2]
