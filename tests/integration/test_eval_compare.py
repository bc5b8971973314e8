"""`qa eval --compare/--plot/--halves` end to end: real index of seeds/, real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.integration.test_cli import QUESTION_SET, configure, run_main, write_jsonl


@pytest.fixture
def questions(
    monkeypatch: pytest.MonkeyPatch,
    encoder: SentenceTransformerEncoder,
    real_index: EmbeddedStore,
    settings: Settings,
    tmp_path: Path,
) -> Path:
    configure(monkeypatch, encoder, settings.index_dir)
    return write_jsonl(tmp_path / "questions.jsonl", QUESTION_SET)


def test_compare_json_has_every_configuration_with_p_values_and_a_plot(
    questions: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "curves.png"
    configs = ["fusion=rrf", "hybrid", "dense,rrf_k=5", "chunk_max_tokens=128"]

    output = run_main("eval", str(questions), "--json", "--plot", str(plot), "--compare", *configs)

    assert output.status == 0, output.stderr
    report = json.loads(output.stdout)
    assert list(report) == configs
    assert "p_values" not in report["fusion=rrf"]
    for name in configs[1:]:
        assert set(report[name]["p_values"]) == {k for k in report[name] if "@" in k}
        assert all(0.0 <= p <= 1.0 for p in report[name]["p_values"].values())
    # The chunking configuration was indexed again, in memory: its own passages, same files.
    assert "indexing" in output.stderr
    assert report["chunk_max_tokens=128"]["questions"][0]["sources"][0] == (
        "002_5f75a4b7e3170e15.txt"
    )
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_compare_table_prints_the_test_and_both_halves(questions: Path) -> None:
    output = run_main(
        "eval", str(questions), "--compare", "fusion=rrf", "fusion=convex,fusion_dense_weight=0.5",
        "--halves", "--stat-test", "student",
    )  # fmt: skip

    assert output.status == 0, output.stderr
    assert "paired Student's t-test" in output.stdout
    for title in ("all questions", "odd questions", "even questions"):
        assert title in output.stdout
    assert "p=" in output.stdout
    # A configuration's name is printed whole in its table row, not folded over the next lines.
    assert "│ fusion=convex,fusion_dense_weight=0.5 " in output.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "hybird"], "'hybird' is neither a mode"),
        (["--compare", "rrf_k=0"], "QA_RRF_K"),
        (["--plot", "curves.svg"], "must end in .png"),
        (["--compare", "dense", "--mode", "dense"], "not allowed with argument"),
    ],
)
def test_bad_comparisons_are_one_line(questions: Path, args: list[str], message: str) -> None:
    output = run_main("eval", str(questions), *args)

    assert output.status != 0
    assert len(output.stderr.strip().splitlines()) == 1, output.stderr
    assert output.stderr.startswith("qa: error: ")
    assert message in output.stderr
