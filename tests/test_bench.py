"""`python -m qa.bench`: bad arguments and settings are one line, never a traceback.

The error cases run as a real process, as `make bench` runs it; they fail before any model load.
The single-pass case runs `main` in this process with the session's encoder and index.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qa import bench
from qa.embed import SentenceTransformerEncoder
from qa.index import Index
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, assert_one_error_line, run_module


def run_bench(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_module("qa.bench", *args, cwd=cwd, env=env)


@pytest.mark.parametrize("repeat", ["0", "-1", "two"])
def test_repeat_below_one_is_refused_when_parsing(repeat: str, tmp_path: Path) -> None:
    result = run_bench("--repeat", repeat, cwd=tmp_path)
    assert_one_error_line(result, "--repeat", "at least 1", repr(repeat), status=2)


def test_a_missing_question_set_is_one_line(tmp_path: Path) -> None:
    result = run_bench("--questions", "missing.jsonl", cwd=tmp_path)
    assert_one_error_line(result, "cannot read question set missing.jsonl")


def test_a_missing_index_is_one_line(tmp_path: Path) -> None:
    result = run_bench(cwd=ROOT, QA_INDEX_DIR=str(tmp_path / "nonexistent"))
    assert_one_error_line(result, "no index in", "qa index")


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    result = run_bench(cwd=ROOT, QA_RRF_K="0")
    assert_one_error_line(result, "QA_RRF_K")


def test_a_single_pass_over_one_question_reports_every_mode(
    real_index: Index,
    encoder: SentenceTransformerEncoder,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One latency per mode: the p90 of a single value must not stop the report."""
    questions = tmp_path / "one.jsonl"
    questions.write_text(
        '{"id": "q", "question": "Combien ByteDance dépense-t-il en puces Nvidia ?", '
        '"relevant": ["000_0afdbc2315d05444.txt"]}\n',
        encoding="utf-8",
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "000_0afdbc2315d05444.txt", corpus)
    for name, value in {
        "QA_INDEX_DIR": settings.index_dir,
        "QA_CORPUS_DIR": corpus,
        "QA_MODEL_CACHE_DIR": MODELS,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(bench, "load_encoder", lambda _settings: encoder)

    assert bench.main(["--questions", str(questions), "--repeat", "1"]) == 0

    out = capsys.readouterr().out
    assert "1 questions x 1" in out
    for mode in bench.MODES:
        assert mode in out
    assert f"{len(real_index.chunks)} passages" in out
