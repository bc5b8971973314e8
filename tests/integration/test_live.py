"""The live corpus with the real model: incremental indexing, kill -9 at any moment, one writer,
hot reload under load. Slow by nature (real embedding, real processes), bounded in time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from qa.content.corpus.chunk import ChunkingConfig
from qa.content.corpus.ingest import load_corpus
from qa.indexing.build import build_index, update_index
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.retrieval.search import Searcher
from qa.search.store import load_store, read_pointer
from qa.search.store.versions import LOCK, STAGING, VERSIONS
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, assert_one_error_line, free_port, make_settings

QUESTION = "Combien de puces Ascend 910B ByteDance a-t-il commandées ?"

DEV_DOCS = ROOT / "eval" / "piaf-dev" / "docs"


def live_settings(tmp_path: Path, **overrides: object) -> Settings:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(SEEDS, corpus)
    return make_settings(tmp_path / "index", corpus, **overrides)


def qa_process(settings: Settings, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m qa.cli ARGS` on the given folders, in its own process group."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    clean |= {
        "QA_MODEL_CACHE_DIR": str(MODELS),
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_INDEX_DIR": str(settings.index_dir),
        "PYTHONUTF8": "1",
        "COLUMNS": "300",
    } | env
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(
    process: subprocess.Popen[str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_for(condition: object, timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def change_every_article(settings: Settings, mark: str) -> None:
    """Append a sentence to every article, so the next indexing embeds them all again."""
    for path in settings.corpus_dir.glob("*.txt"):
        with path.open("a", encoding="utf-8") as file:
            file.write(f"\nCette dépêche a été mise à jour ({mark}).\n")


def change_one_article(settings: Settings, mark: str) -> None:
    with (settings.corpus_dir / "003_8a499cfd293259c1.txt").open("a", encoding="utf-8") as file:
        file.write(f"\nCette dépêche a été mise à jour ({mark}).\n")


def lock_holder(settings: Settings) -> str:
    try:
        return (settings.index_dir / LOCK).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


# --- incremental indexing --------------------------------------------------------------------


def test_incremental_indexing_embeds_only_what_changed(
    encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = live_settings(tmp_path)
    names = sorted(p.name for p in settings.corpus_dir.glob("*.txt"))
    first = update_index(settings, encoder)
    assert first.changes.full_reason == "no previous index"
    assert first.changes.added == names
    assert first.changes.passages_embedded == first.passages

    again = update_index(settings, encoder)
    assert (again.changes.passages_embedded, again.changes.unchanged) == (0, names)
    assert again.version != first.version

    changed, removed = names[0], names[1]
    with (settings.corpus_dir / changed).open("a", encoding="utf-8") as file:
        file.write("\nHuawei a livré les premières puces en décembre, selon Reuters.\n")
    (settings.corpus_dir / removed).unlink()
    (settings.corpus_dir / "zz_new.txt").write_text(
        "Le Zorglubium débarque\n\nLa start-up lyonnaise Zorglubium a présenté mardi une "
        "puce d’inférence gravée en 5 nanomètres.\n",
        encoding="utf-8",
    )
    third = update_index(settings, encoder)
    changes = third.changes
    assert (changes.added, changes.changed, changes.removed) == (
        ["zz_new.txt"],
        [changed],
        [removed],
    )
    assert changes.unchanged == names[2:]
    loaded = load_store(settings.index_dir, settings.model)
    embedded = [c for c in loaded.chunks if c.source in {changed, "zz_new.txt"}]
    assert changes.passages_embedded == len(embedded)

    # Reused and new vectors together are what a full build of the same corpus gives.
    chunking = ChunkingConfig.from_settings(settings)
    full = build_index(load_corpus(settings.corpus_dir), encoder, chunking)
    assert list(loaded.chunks) == list(full.chunks)
    query = encoder.embed_queries([QUESTION])[0]
    got, want = loaded.search_dense(query, 10), full.search_dense(query, 10)
    assert [h.position for h in got] == [h.position for h in want]
    np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
    top = Searcher(loaded, encoder, settings).search("Zorglubium puce 5 nanomètres", 1)
    assert top.results[0].source == "zz_new.txt"


def test_a_chunking_change_embeds_everything_and_says_why(
    encoder: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    settings = live_settings(tmp_path)
    for path in sorted(settings.corpus_dir.glob("*.txt"))[1:]:
        path.unlink()
    update_index(settings, encoder)
    other = settings.model_copy(update={"chunk_max_tokens": 200})
    report = update_index(other, encoder)
    assert report.changes.full_reason == "chunking settings changed (max_tokens 256 -> 200)"
    assert report.changes.passages_embedded == report.passages


# --- kill -9 and one writer ------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_once(
    encoder: SentenceTransformerEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The seeds and the dev set's 41 articles indexed and published once for the module,
    in-process: enough to write that a run can be caught while it writes its version."""
    settings = live_settings(tmp_path_factory.mktemp("published"))
    for article in DEV_DOCS.glob("*.txt"):
        shutil.copy(article, settings.corpus_dir)
    update_index(settings, encoder)
    return settings


@pytest.fixture
def published(published_once: Settings, tmp_path: Path) -> Settings:
    """A copy of that corpus and its index for one test, which may change both."""
    shutil.copytree(published_once.corpus_dir, tmp_path / "corpus")
    shutil.copytree(published_once.index_dir, tmp_path / "index")
    return live_settings(tmp_path)


def assert_serves(settings: Settings, encoder: SentenceTransformerEncoder, version: str) -> None:
    index = load_store(settings.index_dir, settings.model)
    assert index.manifest.version == version
    response = Searcher(index, encoder, settings).search(QUESTION, 1)
    assert response.results[0].source == "003_8a499cfd293259c1.txt"


def test_kill_9_at_any_moment_leaves_the_previous_version_servable(
    published: Settings, encoder: SentenceTransformerEncoder
) -> None:
    good = read_pointer(published.index_dir)
    assert good is not None
    change_every_article(published, "kill")
    moments = {
        "just started": lambda: True,
        "holding the lock": lambda: f"pid {process.pid}" in lock_holder(published),
        "embedding": lambda: f"pid {process.pid}" in lock_holder(published),
        "writing the new version": lambda: any(
            (published.index_dir / VERSIONS).glob(f"{STAGING}{process.pid}-*")
        ),
    }
    for moment, reached in moments.items():
        for attempt in range(5):
            process = qa_process(published, "index")
            wait_for(lambda: reached() or process.poll() is not None, 300, moment, every=0.002)  # noqa: B023
            if moment == "embedding":
                time.sleep(1)
            if process.poll() is None:
                break
            # Writing a version takes milliseconds: a run may finish before it is caught. It
            # published a good version; change one article and try again.
            assert finish(process).returncode == 0
            good = read_pointer(published.index_dir)
            change_one_article(published, f"kill {attempt}")
        else:
            pytest.fail(f"no run could be caught {moment}")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert_serves(published, encoder, good)

    done = finish(qa_process(published, "index"))
    assert done.returncode == 0, done.stderr
    assert "removed what a stopped run left" in done.stdout
    assert not list((published.index_dir / VERSIONS).glob(f"{STAGING}*"))
    assert read_pointer(published.index_dir) != good
    text = load_store(published.index_dir, published.model).sources
    assert all("(kill)" in source.text for source in text.values())


def test_a_second_writer_exits_naming_the_first_or_waits_for_it(published: Settings) -> None:
    change_every_article(published, "two writers")
    first = qa_process(published, "index")
    try:
        wait_for(
            lambda: f"pid {first.pid}" in lock_holder(published) or first.poll() is not None,
            300,
            "the first writer to take the lock",
        )
        refused = finish(qa_process(published, "index"))
        assert_one_error_line(refused, f"pid {first.pid}", "being written by another process")
        waiting = qa_process(published, "index", "--wait", "600")
        first_done = finish(first)
        assert first_done.returncode == 0, first_done.stderr
        second_done = finish(waiting)
    finally:
        first.kill()
    assert second_done.returncode == 0, second_done.stderr
    assert "0 passages embedded" in second_done.stdout  # the first one did the work
    articles = len(list(published.corpus_dir.glob("*.txt")))
    assert f"{articles} unchanged files" in second_done.stdout


# --- hot reload under load -------------------------------------------------------------------


@pytest.fixture
def server(published: Settings) -> Iterator[str]:
    port = free_port()
    process = qa_process(published, "serve", "--port", str(port), QA_RELOAD_INTERVAL="0.3")
    base = f"http://127.0.0.1:{port}"
    until_ready(process, base)
    try:
        yield base
    finally:
        stop(process)


def until_ready(process: subprocess.Popen[str], base: str) -> None:
    """Waits for `qa serve` (`process`, at `base`) to answer /ready; stops it if it never does."""

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"qa serve ended: {finish(process)}")
        try:
            return httpx.get(f"{base}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 300, "qa serve to be ready")
    except BaseException:
        stop(process)
        raise


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_republishing_under_load_swaps_versions_with_zero_failed_requests(
    published: Settings, encoder: SentenceTransformerEncoder, server: str
) -> None:
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def search_in_a_loop() -> None:
        # Generous timeout: on a shared 2-core machine a search can wait long for the CPU; a
        # slow answer is not a failed one, an error status or a dropped connection is.
        with httpx.Client(base_url=server, timeout=900) as client:
            while not stop.wait(0.5):
                try:
                    response = client.get("/search", params={"q": QUESTION, "k": 3})
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                answered[0] += 1

    clients = [threading.Thread(target=search_in_a_loop) for _ in range(2)]  # overlapping
    for client in clients:
        client.start()
    try:
        for number in range(4):
            (published.corpus_dir / f"zz_{number}.txt").write_text(
                f"Le Zorglubium {number}\n\nLa start-up Zorglubium a présenté sa puce numéro "
                f"{number}, baptisée Zorg-{number}X, gravée en {number + 3} nanomètres.\n",
                encoding="utf-8",
            )
            if number == 2:
                (published.corpus_dir / "zz_0.txt").unlink()
            version = update_index(published, encoder).version
            wait_for(
                lambda: served_version(server) == version,  # noqa: B023
                300,
                f"the service to serve {version}",
            )
            body = httpx.get(
                f"{server}/search", params={"q": f"puce Zorg-{number}X", "k": 5}, timeout=900
            ).json()
            assert body["results"][0]["source"] == f"zz_{number}.txt"
            sources = {r["source"] for r in body["results"]}
            assert ("zz_0.txt" in sources) == (number < 2)
            assert httpx.get(f"{server}/ready", timeout=300).json()["corpus_changed"] is False
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=600)
    assert failures == []
    assert answered[0] >= 4


def served_version(server: str) -> str:
    return str(httpx.get(f"{server}/ready", timeout=300).json()["version"])


def test_a_damaged_new_version_is_not_swapped_in(
    published: Settings, encoder: SentenceTransformerEncoder, server: str
) -> None:
    served = served_version(server)
    (published.corpus_dir / "zz_bad.txt").write_text(
        "Un article\n\nUn article de plus pour une nouvelle version.\n", encoding="utf-8"
    )
    damaged = update_index(published, encoder).version
    path = published.index_dir / VERSIONS / damaged / "chunks.jsonl"
    path.write_bytes(path.read_bytes()[:-10])
    time.sleep(2)  # several polls
    ready = httpx.get(f"{server}/ready", timeout=300).json()
    assert ready["version"] == served
    assert ready["corpus_changed"] is True  # zz_bad.txt is not in the served version
    answer = httpx.get(f"{server}/search", params={"q": QUESTION}, timeout=300)
    assert answer.status_code == 200
