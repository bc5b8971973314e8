"""Configurations to compare, the paired tests and the plot: hand-made reports, no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import QAError
from qa.evaluation.compare import (
    Config,
    compare,
    config_settings,
    needs_own_index,
    opens_own_store,
    parse_config,
    parse_configs,
    plot,
)
from qa.evaluation.evaluate import Outcome, Question, Report, score
from qa.settings import Settings


def test_a_configuration_is_a_mode_and_settings_joined_by_commas() -> None:
    assert parse_config("hybrid") == Config(name="hybrid", mode="hybrid")
    assert parse_config(" hybrid, fusion=rrf ,rrf_k=20") == Config(
        name="hybrid, fusion=rrf ,rrf_k=20",
        mode="hybrid",
        values={"fusion": "rrf", "rrf_k": "20"},
    )
    assert parse_config("chunk_max_tokens=128") == Config(
        name="chunk_max_tokens=128", values={"chunk_max_tokens": "128"}
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hybird", "neither a mode"),
        ("dense,hybrid", "two modes"),
        ("fusion_k=3", "no setting 'fusion_k'"),
        ("index_dir=/tmp", "no setting 'index_dir'"),
        ("rrf_k=1,rrf_k=2", "rrf_k given twice"),
        ("hybrid,", "neither a mode"),
    ],
)
def test_bad_configurations_are_one_line_naming_the_part(text: str, problem: str) -> None:
    with pytest.raises(QAError, match=problem):
        parse_config(text)


def test_the_same_configuration_twice_is_refused() -> None:
    with pytest.raises(QAError, match="twice"):
        parse_configs(["hybrid", "hybrid"])


def test_configuration_settings_are_validated_like_the_environment() -> None:
    base = Settings()
    chosen = config_settings(base, parse_config("dense,fusion_dense_weight=0.5"))
    assert (chosen.search_mode, chosen.fusion_dense_weight) == ("dense", 0.5)
    assert not needs_own_index(base, chosen)
    assert needs_own_index(base, config_settings(base, parse_config("chunk_max_tokens=128")))
    # Passages embedded by another precision are other vectors: the index is built again.
    assert needs_own_index(base, config_settings(base, parse_config("encoder_precision=int8")))
    # So are those of another encoder: the old path must not be measured with the new encoder.
    assert needs_own_index(base, config_settings(base, parse_config("encoder_backend=torch")))
    # Another store, or another way of searching one, is opened as it is; the mode is not one.
    postgres = Settings(store="postgres", postgres_url="postgresql://qa@db/qa")
    for text in ["store=embedded", "postgres_lexical=french-fts", "postgres_ef_search=64"]:
        assert opens_own_store(postgres, config_settings(postgres, parse_config(text))), text
    assert opens_own_store(base, config_settings(base, parse_config("store=postgres")))
    assert not opens_own_store(base, chosen)
    with pytest.raises(QAError, match="QA_FUSION_DENSE_WEIGHT"):
        config_settings(base, parse_config("fusion_dense_weight=2"))
    with pytest.raises(QAError, match="QA_FUSION"):
        config_settings(base, parse_config("fusion=sum"))


def report(name: str, hits: list[bool]) -> Report:
    """A report where question i finds its file (and answer) at rank 1 or not at all."""
    outcomes = [
        Outcome(
            Question(id=f"q{i}", question="Qui ?", relevant=["x.txt"], answers=["X"]),
            "fr",
            ["x.txt"] if hit else ["y.txt"],
            1 if hit else None,
            0.9,
            True,
            [],
        )
        for i, hit in enumerate(hits)
    ]
    return Report(name, "hybrid", 10, score(outcomes, 10), {}, outcomes, [])


def test_a_large_paired_gain_is_significant_and_a_tie_is_not() -> None:
    base = report("base", [True] * 20 + [False] * 20)
    better = report("better", [True] * 38 + [False] * 2)
    same = report("same", [True] * 20 + [False] * 20)

    for stat_test in ("fisher", "student"):
        comparison = compare([base, better, same], stat_test)
        assert comparison.p_values["better"]["hit@1"] < 0.01
        assert comparison.p_values["better"]["answer@1"] < 0.01
        assert comparison.p_values["same"]["hit@1"] == 1.0
        assert set(comparison.p_values) == {"better", "same"}


def test_halves_take_every_other_question() -> None:
    full = report("base", [True, False] * 10)

    assert full.half(0).metrics["hit@1"] == 1.0
    assert full.half(1).metrics["hit@1"] == 0.0


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "curves.png"
    plot([report("a", [True, False]), report("b", [True, True])], path, title="set")

    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(QAError, match="cannot write the plot"):
        plot([report("a", [True])], tmp_path / "missing" / "x.png", title="set")
