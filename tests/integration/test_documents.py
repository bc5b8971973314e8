"""The document API and `qa add` / `qa remove`, with the real model: each change is published
as a new version and served at once; keys, names and bodies are checked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.indexing.build import update_index
from qa.retrieval.search import Searcher
from qa.serve.app import create_app
from qa.settings import Settings
from qa.store import EmbeddedStore, current_version, load_store, read_manifest
from tests.conftest import SEEDS, assert_one_error_line, make_settings, run_module

ADMIN = {"Authorization": "Bearer s3cret-admin"}
ARTICLE = (
    "La puce Zorg-7 arrive\n\nLa start-up lyonnaise Zorglubium a présenté mardi la puce Zorg-7, "
    "gravée en 5 nanomètres, pour l’inférence des modèles de langue.\n"
)


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
    encoder: SentenceTransformerEncoder,
    real_index: EmbeddedStore,
    settings: Settings,
) -> Settings:
    """The seeds indexed once (the session's real index, copied and brought up to date: nothing
    to embed again); each test works on a copy."""
    folder = tmp_path_factory.mktemp("seeded")
    shutil.copytree(SEEDS, folder / "corpus")
    shutil.copytree(settings.index_dir, folder / "index")
    seeded = make_settings(folder / "index", folder / "corpus")
    update_index(seeded, encoder)
    return seeded


def copy_of(seeded: Settings, tmp_path: Path, **overrides: object) -> Settings:
    shutil.copytree(seeded.corpus_dir, tmp_path / "corpus")
    shutil.copytree(seeded.index_dir, tmp_path / "index")
    return make_settings(tmp_path / "index", tmp_path / "corpus", reload_interval=0, **overrides)


def client_for(settings: Settings, encoder: SentenceTransformerEncoder) -> TestClient:
    index = load_store(settings.index_dir, settings.model)
    return TestClient(create_app(settings, Searcher(index, encoder, settings)))


@pytest.fixture
def editor(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> Iterator[tuple[TestClient, Settings]]:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    with client_for(settings, encoder) as client:
        yield client, settings


def test_put_search_replace_delete_an_article(editor: tuple[TestClient, Settings]) -> None:
    client, settings = editor
    before = client.get("/ready").json()["version"]

    put = client.put(
        "/documents/zorg", content=ARTICLE.encode(), headers=ADMIN | {"Content-Type": "text/plain"}
    )
    assert put.status_code == 200, put.text
    change = put.json()
    assert change["name"] == "zorg.txt"
    assert change["version"] != before
    assert change["passages_embedded"] == 1
    assert (settings.corpus_dir / "zorg.txt").read_text(encoding="utf-8") == ARTICLE
    assert client.get("/ready").json()["version"] == change["version"]
    top = client.get("/search", params={"q": "Quelle puce Zorglubium a-t-il présentée ?"})
    assert top.json()["results"][0]["source"] == "zorg.txt"
    listed = {d["name"]: d for d in client.get("/documents", headers=ADMIN).json()["documents"]}
    assert listed["zorg.txt"]["title"] == "La puce Zorg-7 arrive"
    assert len(listed) == 6

    replaced = client.put(
        "/documents/zorg.txt",
        json={"text": "La puce Zorg-8 succède à la Zorg-7, en 3 nanomètres.", "title": "Zorg-8"},
        headers=ADMIN,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["passages_embedded"] == 1
    source = client.get("/sources/zorg.txt").json()
    assert source["text"].startswith("Zorg-8\n\nLa puce Zorg-8")

    deleted = client.delete("/documents/zorg.txt", headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["action"] == "deleted"
    assert not (settings.corpus_dir / "zorg.txt").exists()
    assert client.get("/sources/zorg.txt").status_code == 404
    assert read_manifest(current_version(settings.index_dir)).version == deleted.json()["version"]
    again = client.delete("/documents/zorg.txt", headers=ADMIN)
    assert (again.status_code, again.json()["error"]) == (404, "unknown_document")


def test_metadata_is_returned_with_passages_and_filters_searches(
    editor: tuple[TestClient, Settings],
) -> None:
    client, settings = editor
    body = {"text": ARTICLE, "url": "https://example.org/zorg", "published": "2024-06-03"}
    assert client.put("/documents/zorg", json=body, headers=ADMIN).status_code == 200
    sidecar = json.loads((settings.corpus_dir / "zorg.meta.json").read_text(encoding="utf-8"))
    assert sidecar == {"url": "https://example.org/zorg", "published": "2024-06-03"}

    question = {"q": "puce Zorg-7 Zorglubium", "k": 10}
    top = client.get("/search", params=question).json()["results"][0]
    assert (top["url"], top["published"]) == ("https://example.org/zorg", "2024-06-03")
    after = client.get("/search", params=question | {"published_after": "2024-06-01"}).json()
    assert {r["source"] for r in after["results"]} == {"zorg.txt"}
    before = client.get("/search", params=question | {"published_before": "2024-06-02"}).json()
    assert before["results"] == []  # the seeds have no date: a date condition excludes them
    seeds = sorted(p.name for p in SEEDS.glob("*.txt"))[:2]
    chosen = client.post(
        "/search", json={"question": "puce Zorg-7", "k": 10, "sources": seeds}
    ).json()
    assert {r["source"] for r in chosen["results"]} == set(seeds)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("...", 422, "invalid_document"),
        ("a..b", 422, "invalid_document"),
        (".env", 422, "invalid_document"),
        ("notes.meta.json", 422, "invalid_document"),
        ("un nom", 422, "invalid_document"),
        ("..%2F..%2Fetc%2Fpasswd", 404, "not_found"),  # decoded to a path: no route matches
        ("%2Ftmp%2Fx", 404, "not_found"),
    ],
)
def test_names_that_could_leave_the_corpus_are_refused(
    editor: tuple[TestClient, Settings], name: str, status: int, code: str
) -> None:
    client, settings = editor
    files = sorted(p.name for p in settings.corpus_dir.parent.rglob("*"))
    response = client.put(
        f"/documents/{name}",
        content=ARTICLE.encode(),
        headers=ADMIN | {"Content-Type": "text/plain"},
    )
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert sorted(p.name for p in settings.corpus_dir.parent.rglob("*")) == files


@pytest.mark.parametrize(
    ("content", "content_type", "status", "fragment"),
    [
        (b"", "text/plain", 422, "empty file"),
        (b"   \n ", "text/plain", 422, "empty file"),
        (b"Titre\n\xff\xfe caf\xe9\n", "text/plain", 422, "not valid UTF-8"),
        (b'{"title": "x"}', "application/json", 422, "text: Field required"),
        (b'{"text": "Une phrase.", "published": "hier"}', "application/json", 422, "published"),
        (b"<p>x</p>", "text/html", 415, "text/plain or application/json"),
    ],
)
def test_bad_articles_are_refused_and_nothing_is_written(
    editor: tuple[TestClient, Settings],
    content: bytes,
    content_type: str,
    status: int,
    fragment: str,
) -> None:
    client, settings = editor
    version = client.get("/ready").json()["version"]
    response = client.put(
        "/documents/bad", content=content, headers=ADMIN | {"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert not (settings.corpus_dir / "bad.txt").exists()
    assert client.get("/ready").json()["version"] == version


def test_an_article_over_the_size_limit_is_refused(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin", max_article_bytes=100)
    with client_for(settings, encoder) as client:
        response = client.put("/documents/long", json={"text": ARTICLE * 2}, headers=ADMIN)
    assert response.status_code == 422
    assert "over the 100-byte limit" in response.json()["detail"]


def test_the_document_api_is_off_without_an_admin_key_and_needs_it_otherwise(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path)
    with client_for(settings, encoder) as client:
        for method in ("GET", "PUT", "DELETE"):
            path = "/documents" if method == "GET" else "/documents/x"
            response = client.request(method, path, headers=ADMIN)
            assert (response.status_code, response.json()["error"]) == (404, "not_found")
    keyed = make_settings(
        settings.index_dir, settings.corpus_dir, reload_interval=0, admin_api_key="s3cret-admin"
    )
    with client_for(keyed, encoder) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-admin"}):
            response = client.get("/documents", headers=headers)
            assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
        listed = client.get("/documents", headers=ADMIN)
        assert listed.status_code == 200
        head = client.head("/documents", headers=ADMIN)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == listed.headers["content-length"]
        assert head.headers["content-type"] == listed.headers["content-type"]
        assert client.head("/documents").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("POST", "/documents", "GET, HEAD"), ("GET", "/documents/x.txt", "DELETE, PUT")],
)
def test_a_wrong_method_is_405_with_allow_naming_every_method_of_the_path(
    editor: tuple[TestClient, Settings], method: str, path: str, allowed: str
) -> None:
    client, _ = editor
    response = client.request(method, path, headers=ADMIN)

    assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def test_read_keys_guard_search_when_set(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(
        seeded, tmp_path, api_keys=["reader-1", "reader-2"], admin_api_key="s3cret-admin"
    )
    with client_for(settings, encoder) as client:
        query = {"q": "Huawei"}
        assert client.get("/search", params=query).status_code == 401
        wrong = {"Authorization": "Bearer reader-3"}
        assert client.get("/search", params=query, headers=wrong).status_code == 401
        for key in ("reader-2", "s3cret-admin"):
            headers = {"Authorization": f"Bearer {key}"}
            assert client.get("/search", params=query, headers=headers).status_code == 200
        assert client.get("/health").status_code == 200


def test_qa_add_and_remove_publish_new_versions(seeded: Settings, tmp_path: Path) -> None:
    settings = copy_of(seeded, tmp_path)
    env = {"QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "zorg.txt").write_text(ARTICLE, encoding="utf-8")
    (drafts / "zorg.meta.json").write_text('{"published": "2024-06-03"}', encoding="utf-8")
    (drafts / "broken.txt").write_bytes(b"\xff\xfe")

    refused = run_module(
        "qa.cli", "add", str(drafts / "zorg.txt"), str(drafts / "broken.txt"), cwd=tmp_path, env=env
    )
    assert_one_error_line(refused, "broken.txt: not valid UTF-8")
    assert not (settings.corpus_dir / "zorg.txt").exists()

    added = run_module("qa.cli", "add", str(drafts / "zorg.txt"), cwd=tmp_path, env=env)
    assert added.returncode == 0, added.stderr
    assert "1 added, 0 changed, 0 removed, 5 unchanged files; 1 passages embedded" in added.stdout
    index = load_store(settings.index_dir, settings.model)
    assert str(index.sources["zorg.txt"].published) == "2024-06-03"

    removed = run_module("qa.cli", "remove", "zorg.txt", cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stderr
    assert "0 added, 0 changed, 1 removed, 5 unchanged files" in removed.stdout
    assert not (settings.corpus_dir / "zorg.meta.json").exists()
    unknown = run_module("qa.cli", "remove", "nothing", cwd=tmp_path, env=env)
    assert_one_error_line(unknown, "no article 'nothing.txt'")
