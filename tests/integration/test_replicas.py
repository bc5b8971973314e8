"""Stateless replicas on the Qdrant store: a `qa serve` keeps nothing another one needs.

qdrant-client's local mode lets one process open a folder, and no Qdrant server can be installed
on this machine, so two replicas run at once only inside one process here (sharing a `:memory:`
engine); between real processes, the test shows the handover: what one replica wrote is served by
the next one, started with no local index of its own, and a second process on the same folder
is refused in one line.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore
from qa.search.store.choice import open_store, qdrant_writer
from qa.search.store.qdrant import QdrantStore
from qa.search.store.qdrant_connection import connect, disconnect
from qa.serve.app import create_app
from qa.settings import Settings
from tests.conftest import SEEDS, free_port, make_settings
from tests.integration.test_live import finish, qa_process, stop, until_ready

ADMIN_KEY = "replica-admin-key"
ARTICLE = (
    "Le port de Marseille inaugure une digue flottante\n\n"
    "Le grand port maritime de Marseille a inauguré mardi une digue flottante de 800 mètres. "
    "L'ouvrage, qui protège les navires de croisière du mistral, a coûté 42 millions d'euros.\n"
)
QUESTION = "Combien a coûté la digue flottante du port de Marseille ?"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def qdrant_settings(tmp_path: Path, name: str, url: str, collection: str) -> Settings:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(SEEDS, corpus)
    return make_settings(
        tmp_path / f"index-{name}",
        corpus,
        store="qdrant",
        qdrant_url=url,
        qdrant_collection=collection,
        admin_api_key=ADMIN_KEY,
        reload_interval=0,
    )


def top_source(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["results"][0]["source"])


def test_two_replicas_in_one_process_share_one_qdrant_engine(
    real_index: EmbeddedStore, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    """Each replica has its own application, searcher and store object; only Qdrant is shared:
    what one writes, the other serves at once, and a deletion through the other is seen too."""
    one = qdrant_settings(tmp_path, "one", ":memory:", "replicas")
    two = qdrant_settings(tmp_path, "two", ":memory:", "replicas")
    qdrant_writer(one).mirror(real_index, [], [], full=True)
    apps = [create_app(s, searcher=Searcher(open_store(s), encoder, s)) for s in (one, two)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        assert first.app.state.searcher.index is not second.app.state.searcher.index
        assert top_source(second.get("/search", params={"q": QUESTION})) != "marseille.txt"
        put = first.put(
            "/documents/marseille.txt",
            content=ARTICLE.encode(),
            headers=ADMIN | {"Content-Type": "text/plain"},
        )
        assert put.status_code == 200, put.text
        found = second.get("/search", params={"q": QUESTION})
        assert top_source(found) == "marseille.txt"
        assert "42 millions" in found.json()["results"][0]["text"]
        assert second.get("/sources/marseille.txt").status_code == 200
        version = put.json()["version"]
        assert second.get("/ready").json()["version"] == version
        assert second.delete("/documents/marseille.txt", headers=ADMIN).status_code == 200
        assert top_source(first.get("/search", params={"q": QUESTION})) != "marseille.txt"
        assert first.get("/sources/marseille.txt").status_code == 404


@pytest.fixture
def qdrant_folder(real_index: EmbeddedStore, tmp_path: Path) -> str:
    """A Qdrant local-mode folder holding the real articles, closed again for processes."""
    folder = str(tmp_path / "qdrant")
    QdrantStore(connect(folder), "qa", location=folder).mirror(real_index, [], [], full=True)
    disconnect(folder)
    return folder


def serve(settings: Settings, port: int) -> subprocess.Popen[str]:
    return qa_process(
        settings,
        "serve",
        "--port",
        str(port),
        QA_STORE="qdrant",
        QA_QDRANT_URL=settings.qdrant_url,
        QA_ADMIN_API_KEY=ADMIN_KEY,
        QA_RELOAD_INTERVAL="0",
    )


def start(settings: Settings, port: int) -> tuple[subprocess.Popen[str], str]:
    process = serve(settings, port)
    base = f"http://127.0.0.1:{port}"
    until_ready(process, base)
    return process, base


def test_replica_processes_hand_over_one_qdrant_folder(qdrant_folder: str, tmp_path: Path) -> None:
    a = qdrant_settings(tmp_path, "a", qdrant_folder, "qa")
    b = qdrant_settings(tmp_path, "b", qdrant_folder, "qa")
    first, base_a = start(a, free_port())
    try:
        # Local mode is one process per folder: a second replica is refused in one line.
        refused = finish(serve(b, free_port()), timeout=300)
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("qa: error: ")
        assert "already accessed by another instance" in lines[0]

        put = httpx.put(
            f"{base_a}/documents/marseille.txt",
            content=ARTICLE.encode(),
            headers=ADMIN | {"Content-Type": "text/plain"},
            timeout=300,
        )
        assert put.status_code == 200, put.text
        assert top_source(httpx.get(f"{base_a}/search", params={"q": QUESTION})) == (
            "marseille.txt"
        )
    finally:
        stop(first)
    # The next replica has an empty index folder of its own: all it serves comes from Qdrant.
    assert not b.index_dir.exists() or not any(b.index_dir.iterdir())
    second, base_b = start(b, free_port())
    try:
        assert top_source(httpx.get(f"{base_b}/search", params={"q": QUESTION})) == (
            "marseille.txt"
        )
        assert httpx.get(f"{base_b}/ready").json()["version"] == put.json()["version"]
    finally:
        stop(second)
