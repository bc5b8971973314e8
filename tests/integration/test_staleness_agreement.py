"""`/ready` and `qa index --if-stale` give one answer to "is the index stale?": both ask
`qa.indexing.staleness`, so they cannot disagree."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa import cli
from qa.indexing.staleness import published_index_problems
from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore, load_store
from qa.serve.app import create_app
from qa.settings import Settings
from tests.conftest import MODELS, SEEDS, make_settings

ARTICLE = "000_0afdbc2315d05444.txt"


@pytest.fixture
def copied(real_index: EmbeddedStore, settings: Settings, tmp_path: Path) -> Settings:
    """Settings over copies of the seeds and of their real index, free to change."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    shutil.copytree(settings.index_dir, index_dir)
    return make_settings(index_dir, corpus)


@pytest.fixture
def as_a_user(monkeypatch: pytest.MonkeyPatch, encoder: Encoder, copied: Settings) -> None:
    """`qa.cli.main` configured by its environment over the copies, with the session's encoder
    instead of a second load of the same model."""
    for name in [name for name in os.environ if name.startswith("QA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", str(MODELS))
    monkeypatch.setenv("QA_INDEX_DIR", str(copied.index_dir))
    monkeypatch.setenv("QA_CORPUS_DIR", str(copied.corpus_dir))
    monkeypatch.setattr("qa.search.encoders.loading.load_encoder", lambda _settings: encoder)


@pytest.fixture
def client(copied: Settings, encoder: Encoder) -> Iterator[TestClient]:
    searcher = Searcher(load_store(copied.index_dir, copied.model), encoder, copied)
    with TestClient(create_app(copied, searcher)) as client:
        yield client


def qa_index_if_stale() -> str:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["index", "--if-stale"]) == 0
    return stdout.getvalue()


def stale(client: TestClient) -> list[str]:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    reasons: list[str] = response.json()["stale"]
    return reasons


@pytest.mark.usefixtures("as_a_user")
def test_the_cli_and_ready_agree_before_and_after_the_corpus_changes(
    client: TestClient, copied: Settings
) -> None:
    assert stale(client) == published_index_problems(copied) == []
    assert "is up to date" in qa_index_if_stale()

    article = copied.corpus_dir / ARTICLE
    article.write_text(article.read_text(encoding="utf-8") + "\nUne phrase ajoutée.\n", "utf-8")

    assert stale(client) == published_index_problems(copied) == [f"changed file {ARTICLE}"]
    rebuilt = qa_index_if_stale()
    assert "is up to date" not in rebuilt
    assert "1 changed" in rebuilt

    client.app.state.reloader.check()  # type: ignore[attr-defined]  # serve the new version now
    assert stale(client) == published_index_problems(copied) == []
    assert "is up to date" in qa_index_if_stale()


def test_another_encoder_precision_is_stale_for_both(copied: Settings, encoder: Encoder) -> None:
    """The check `/ready` made before knew only the corpus and chunking: an index of another
    encoder precision was stale for `qa index --if-stale` and fresh for `/ready`."""
    other = copied.model_copy(update={"encoder_precision": "fp32"})
    searcher = Searcher(load_store(other.index_dir, other.model), encoder, other)
    with TestClient(create_app(other, searcher)) as client:
        reasons = stale(client)

    assert reasons == published_index_problems(other)
    assert reasons == [f"built with encoder precision {encoder.precision}"]
