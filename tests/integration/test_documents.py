"""The document API and `qa add` / `qa remove`, with the real model: each change is published
as a new version and served at once; keys, names and bodies are checked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.indexing.build import update_index
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore, current_version, load_store, read_manifest
from qa.serve.app import create_app
from qa.settings import Settings
from tests.conftest import (
    SEEDS,
    assert_error,
    assert_one_error_line,
    make_settings,
    run_module,
    uvicorn_on_loopback,
)
from tests.integration.test_faults import fill, small_disk  # noqa: F401 (a fixture)

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
        (b"\x89PNG\r\n", "image/png", 415, "text/plain, application/json, text/html"),
        (b"<p>x</p>", "text/html", 422, "no article text in the page"),
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
    # The document routes read bodies up to the article size limit: 413 before any reading.
    assert response.status_code == 413
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
    assert_one_error_line(unknown, "no article 'nothing'")


# --- on a real server: the last article, a failed publication, input refused ------------------


@contextmanager
def serving(settings: Settings, encoder: SentenceTransformerEncoder) -> Iterator[httpx.Client]:
    """The app over `settings` on a real uvicorn server on a free loopback port, and a client
    of it carrying the admin key, until the block ends."""
    index = load_store(settings.index_dir, settings.model)
    app = create_app(settings, Searcher(index, encoder, settings))
    with (
        uvicorn_on_loopback(app, "uvicorn-documents") as url,
        httpx.Client(base_url=url, headers=ADMIN, timeout=120) as client,
    ):
        yield client


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of a corpus folder, hidden ones too, with its bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_deleting_the_last_article_is_refused_and_it_stays_served(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    last, *others = sorted(p.name for p in settings.corpus_dir.glob("*.txt"))
    for name in others:
        (settings.corpus_dir / name).unlink()
    update_index(settings, encoder)  # one article, indexed and published
    before = snapshot(settings.corpus_dir)

    with serving(settings, encoder) as client:
        version = client.get("/ready").json()["version"]
        for _ in range(2):  # a retry is refused the same way
            refused = client.delete(f"/documents/{last}")
            assert_error(refused, 409, "last_document", f"removing {last} would leave no")
            assert snapshot(settings.corpus_dir) == before
            assert [s["name"] for s in client.get("/sources").json()["sources"]] == [last]
            assert client.get(f"/sources/{last}").status_code == 200
            results = client.get("/search", params={"q": "ByteDance Nvidia"}).json()["results"]
            assert {r["source"] for r in results} == {last}
            ready = client.get("/ready").json()
            assert (ready["version"], ready["stale"], ready["corpus_changed"]) == (
                version,
                [],
                False,
            )


def test_a_publication_that_fails_leaves_the_corpus_folder_as_it_was(
    seeded: Settings,
    encoder: SentenceTransformerEncoder,
    small_disk: Path,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    settings = copy_of(seeded, tmp_path, admin_api_key="s3cret-admin")
    shutil.move(settings.index_dir, small_disk / "index")
    settings = make_settings(
        small_disk / "index", settings.corpus_dir, reload_interval=0, admin_api_key="s3cret-admin"
    )
    seed = sorted(p.name for p in settings.corpus_dir.glob("*.txt"))[0]
    before = snapshot(settings.corpus_dir)

    with serving(settings, encoder) as client:
        version = client.get("/ready").json()["version"]
        fill(small_disk, leave_bytes=16 * 1024)  # room for an article, not for a version
        attempts = [
            lambda: client.put(
                "/documents/zorg",
                json={
                    "text": ARTICLE,
                    "url": "https://example.org/zorg",
                    "published": "2024-06-03",
                },
            ),
            lambda: client.put(
                f"/documents/{seed}",
                content=ARTICLE.encode(),
                headers={"Content-Type": "text/plain"},
            ),
            lambda: client.delete(f"/documents/{seed}"),
        ]
        for attempt in attempts:
            assert_error(attempt(), 507, "index_write_failed", "the published version is unchanged")
            assert snapshot(settings.corpus_dir) == before
            assert client.get("/ready").json()["version"] == version
            assert client.get(f"/sources/{seed}").json()["text"] == before[seed].decode()

        (small_disk / "filler").unlink()
        deleted = client.delete(f"/documents/{seed}")
        assert deleted.status_code == 200, deleted.text
        assert seed not in snapshot(settings.corpus_dir)


REFUSED_INPUT = {
    "javascript url": (
        {"json": {"text": ARTICLE, "url": "javascript:alert(document.cookie)"}},
        422,
        "url: only http:// and https:// URLs with a host are stored",
    ),
    "data url": (
        {"json": {"text": ARTICLE, "url": "data:text/html,<script>alert(1)</script>"}},
        422,
        "url: only http:// and https://",
    ),
    "vbscript url": (
        {"json": {"text": ARTICLE, "url": "vbscript:msgbox(1)"}},
        422,
        "url: only http:// and https://",
    ),
    "url without a host": ({"json": {"text": ARTICLE, "url": "https:///x"}}, 422, "url: only"),
    "NUL in JSON text": (
        {"json": {"text": "La puce Zorg-7\n\nElle est gravée\x00 en 5 nm."}},
        422,
        "text: control character U+0000 at line 3, column 16",
    ),
    "escape in a plain text file": (
        {
            "content": ARTICLE.replace("La start-up", "\x1b[2JLa start-up").encode(),
            "headers": {"Content-Type": "text/plain"},
        },
        422,
        "bad.txt: control character U+001B at line 3, column 1",
    ),
    "title on two lines": (
        {"json": {"text": ARTICLE, "title": "Zorg-7\nUne autre ligne"}},
        422,
        "title: a line break at column 7: a title is one line",
    ),
    "C1 control in a title": (
        {"json": {"text": ARTICLE, "title": "Zorg\x857"}},
        422,
        "title: control character U+0085",
    ),
    "unknown charset": (
        {"content": ARTICLE.encode(), "headers": {"Content-Type": "text/plain; charset=klingon"}},
        415,
        "unknown charset 'klingon'",
    ),
    "a codec that is no text encoding": (
        {"content": ARTICLE.encode(), "headers": {"Content-Type": "text/plain; charset=rot13"}},
        415,
        "unknown charset 'rot13'",
    ),
    "bytes the charset does not have": (
        {
            "content": "Société".encode("latin-1"),
            "headers": {"Content-Type": "text/plain; charset=ascii"},
        },
        422,
        "not valid ascii (byte 4)",
    ),
    "JSON in another charset": (
        {
            "content": json.dumps({"text": ARTICLE}).encode("utf-16"),
            "headers": {"Content-Type": "application/json; charset=utf-16"},
        },
        415,
        "application/json must be UTF-8 (got charset 'utf-16')",
    ),
}


@pytest.fixture(scope="module")
def refusing(
    seeded: Settings, encoder: SentenceTransformerEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Settings]]:
    """One real server for the refusals: nothing they send is written."""
    settings = copy_of(seeded, tmp_path_factory.mktemp("refusing"), admin_api_key="s3cret-admin")
    with serving(settings, encoder) as client:
        yield client, settings


@pytest.mark.parametrize("case", list(REFUSED_INPUT))
def test_input_that_cannot_be_stored_is_refused_saying_why(
    refusing: tuple[httpx.Client, Settings], case: str
) -> None:
    client, settings = refusing
    request, status, detail = REFUSED_INPUT[case]
    before = snapshot(settings.corpus_dir)
    version = client.get("/ready").json()["version"]

    response = client.put("/documents/bad", **request)  # type: ignore[arg-type]

    code = "invalid_document" if status == 422 else "unsupported_media_type"
    assert_error(response, status, code, detail)
    assert snapshot(settings.corpus_dir) == before
    assert client.get("/ready").json()["version"] == version


def test_a_plain_text_article_in_another_charset_is_stored_in_utf8(
    editor: tuple[TestClient, Settings], encoder: SentenceTransformerEncoder
) -> None:
    _, settings = editor
    text = "Société Zorglubium\n\nLa société lyonnaise présente sa puce à Noël.\n"
    with serving(settings, encoder) as client:
        for name, charset in [("latin", "ISO-8859-1"), ("utf16", "utf-16"), ("plain", "utf-8")]:
            response = client.put(
                f"/documents/{name}",
                content=text.encode(charset),
                headers={"Content-Type": f'text/plain; charset="{charset}"'},
            )
            assert response.status_code == 200, response.text
            assert (settings.corpus_dir / f"{name}.txt").read_bytes() == text.encode("utf-8")
            assert client.get(f"/sources/{name}.txt").json()["text"] == text
        json_utf8 = client.put(
            "/documents/json",
            content=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        assert json_utf8.status_code == 200, json_utf8.text
