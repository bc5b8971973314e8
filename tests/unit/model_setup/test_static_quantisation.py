"""What `int8-static` quantises, what it calibrates on, and how the calibration texts are fed
(the quantised model's vectors: tests/integration/test_encoders.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.evaluation import load_questions
from qa.model_setup.calibration import calibration_texts, corpus_texts
from qa.model_setup.static_quantisation import (
    MAX_TOKENS,
    WORD_EMBEDDINGS,
    default_selection,
    kind_of,
    quantisable_nodes,
    token_feeds,
)
from tests.conftest import ROOT

LAYER = "/transformer/encoder/layer.3"
NODES = [
    (WORD_EMBEDDINGS, "Gather"),
    ("/transformer/embeddings/position_embeddings/Gather", "Gather"),
    (f"{LAYER}/attention/self/query/MatMul", "MatMul"),
    (f"{LAYER}/attention/self/key/MatMul", "MatMul"),
    (f"{LAYER}/attention/self/value/MatMul", "MatMul"),
    (f"{LAYER}/attention/self/MatMul", "MatMul"),
    (f"{LAYER}/attention/self/MatMul_1", "MatMul"),
    (f"{LAYER}/attention/output/dense/MatMul", "MatMul"),
    (f"{LAYER}/intermediate/dense/MatMul", "MatMul"),
    (f"{LAYER}/output/dense/MatMul", "MatMul"),
    (f"{LAYER}/output/LayerNorm/LayerNormalization", "LayerNormalization"),
]


def test_each_linear_layer_is_told_by_its_kind() -> None:
    kinds = {name: kind_of(name) for name, op in NODES if op == "MatMul"}
    assert kinds == {
        f"{LAYER}/attention/self/query/MatMul": "query",
        f"{LAYER}/attention/self/key/MatMul": "key",
        f"{LAYER}/attention/self/value/MatMul": "value",
        f"{LAYER}/attention/self/MatMul": None,  # query x key: no weights
        f"{LAYER}/attention/self/MatMul_1": None,
        f"{LAYER}/attention/output/dense/MatMul": "attention output",
        f"{LAYER}/intermediate/dense/MatMul": "intermediate",
        f"{LAYER}/output/dense/MatMul": "output",
    }


def test_the_feed_forward_output_stays_float32_and_the_rest_of_the_weights_are_quantised() -> None:
    chosen = default_selection(quantisable_nodes(NODES))
    assert chosen == [
        WORD_EMBEDDINGS,
        f"{LAYER}/attention/self/query/MatMul",
        f"{LAYER}/attention/self/key/MatMul",
        f"{LAYER}/attention/self/value/MatMul",
        f"{LAYER}/attention/output/dense/MatMul",
        f"{LAYER}/intermediate/dense/MatMul",
    ]


def test_calibration_holds_the_project_questions_and_passages_and_no_piaf_dev_question() -> None:
    texts = calibration_texts()
    assert all(text.startswith(("query: ", "passage: ")) for text in texts)
    assert len(texts) == len(set(texts))
    questions = {text.removeprefix("query: ") for text in texts if text.startswith("query: ")}
    project = {q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")}
    held_out = {q.question for q in load_questions(ROOT / "eval" / "piaf-dev" / "questions.jsonl")}
    assert project <= questions
    assert not questions & held_out
    assert sum(text.startswith("passage: ") for text in texts) > len(project)


def test_corpus_texts_prompts_each_distinct_text_once() -> None:
    texts = corpus_texts(
        ["P1", "P2"], ["S1", "P1"], ["Q1", "Q1"], passage_prompt="passage: ", query_prompt="query: "
    )
    assert texts == ["passage: P1", "passage: P2", "passage: S1", "query: Q1"]


def test_an_unreadable_calibration_file_is_one_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "calibration.jsonl"
    broken.write_text(json.dumps({"txt": "query: x"}) + "\n", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read the calibration texts"):
        calibration_texts(broken)


class Ids:
    pad_id = 1

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [[0, *range(5, 5 + len(text)), 2] for text in texts]

    def count(self, text: str) -> int:
        return len(text)


def test_each_text_is_fed_alone_unpadded_and_cut_as_the_encoder_cuts() -> None:
    feeds = list(token_feeds(["abc", "x" * 600], Ids()))
    assert [feed["input_ids"].shape for feed in feeds] == [(1, 5), (1, MAX_TOKENS)]
    assert all(feed["attention_mask"].all() for feed in feeds)
    assert feeds[1]["input_ids"][0, -1] == 2  # the end token kept after the cut
