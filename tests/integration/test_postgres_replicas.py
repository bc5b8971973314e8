"""Stateless `qa serve` replicas on PostgreSQL, as real processes on a real server: the seeds
indexed once with `qa index` and the real model, replicas that answer alike, hear each other's
publications at once (LISTEN, polling off), lose nothing acknowledged when one is killed with
`kill -9` (even in the middle of a PUT), and refuse in one line a database of another model or
schema. The hot standby's test is in test_postgres_standby.py.

The replicas share one corpus folder: the document API edits it before indexing it.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from pgserver.postgres_server import PostgresServer

from tests.conftest import ROOT, SEEDS, assert_one_error_line, free_port, run_module
from tests.postgres import new_database
from tests.qa_process import Service, qa_serve

ADMIN_KEY = "replicas-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "text/plain"}
DIGUE = "Combien a coûté la digue flottante du port de Marseille ?"
PHARE = "Quelle hauteur mesure le nouveau phare de Brest ?"
ARTICLES = {
    "marseille.txt": (
        "Le port de Marseille inaugure une digue flottante\n\n"
        "Le grand port maritime de Marseille a inauguré mardi une digue flottante de 800 "
        "mètres, construite par le chantier naval de La Ciotat. Elle a coûté 42 millions "
        "d'euros.\n"
    ),
    "brest.txt": (
        "Brest allume son nouveau phare\n\n"
        "Le nouveau phare de l'entrée du goulet de Brest, haut de 57 mètres, a été allumé "
        "samedi soir devant un millier de curieux. Il remplace une tour de 1848.\n"
    ),
}
# Seconds within which an article PUT through one replica must be found through the other.
VISIBLE_WITHIN_S = 1.0
# Seconds a test waits for a log line or a database state before failing.
WAIT_S = 60


@dataclass
class Indexed:
    """A database the seeds were indexed into, and the corpus folder they came from."""

    url: str
    corpus: Path
    index_dir: Path


def index_seeds(url: str, folder: Path) -> Indexed:
    """The seeds copied into `folder` and indexed into `url` with `qa index`, as a user does."""
    corpus, index_dir = folder / "corpus", folder / "index"
    shutil.copytree(SEEDS, corpus)
    env = {
        "QA_STORE": "postgres",
        "QA_POSTGRES_URL": url,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index_dir),
    }
    indexed = run_module("qa.cli", "index", cwd=ROOT, env=env)
    assert indexed.returncode == 0, indexed.stderr
    return Indexed(url, corpus, index_dir)


@pytest.fixture
def indexed(postgres: PostgresServer, tmp_path: Path) -> Indexed:
    return index_seeds(new_database(postgres, "replicas"), tmp_path)


def replica(indexed: Indexed, log: Path, **settings: str) -> AbstractContextManager[Service]:
    """`qa serve` on the database, polling off: a new version reaches it through LISTEN only."""
    return qa_serve(
        indexed.index_dir,
        indexed.corpus,
        log,
        store="postgres",
        postgres_url=indexed.url,
        admin_api_key=ADMIN_KEY,
        analytics="false",
        reload_interval="0",
        **settings,
    )


def search(service: Service, question: str, k: int = 5) -> list[dict[str, object]]:
    response = httpx.get(f"{service.url}/search", params={"q": question, "k": k}, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def put(service: Service, name: str) -> httpx.Response:
    return httpx.put(
        f"{service.url}/documents/{name}",
        content=ARTICLES[name].encode(),
        headers=ADMIN,
        timeout=300,
    )


def top_source(service: Service, question: str) -> object:
    return search(service, question, k=1)[0]["source"]


def found_within(service: Service, question: str, source: str, seconds: float) -> bool:
    """Whether a search started within `seconds` from now finds `source` first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() <= deadline:
        if top_source(service, question) == source:
            return True
    return False


def wait_for_log(service: Service, line: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while line not in service.output():
        assert time.monotonic() < deadline, f"no {line!r} in:\n{service.output()}"
        time.sleep(0.05)


def questions() -> list[str]:
    with (ROOT / "eval" / "questions.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["question"] for line in lines][:8]


def test_two_replicas_answer_alike_and_hear_each_others_publications(
    indexed: Indexed, tmp_path: Path
) -> None:
    with (
        replica(indexed, tmp_path / "first.log") as first,
        replica(indexed, tmp_path / "second.log") as second,
    ):
        for question in questions():
            assert search(first, question) == search(second, question), question

        assert top_source(second, DIGUE) != "marseille.txt"
        written = put(first, "marseille.txt")
        assert written.status_code == 200, written.text
        assert found_within(second, DIGUE, "marseille.txt", VISIBLE_WITHIN_S)
        # Polling is off: only the NOTIFY of the publication can have told it.
        wait_for_log(second, f"now serving index version {written.json()['version']}")
        assert httpx.get(f"{second.url}/ready").json()["version"] == written.json()["version"]

        # The listening connections dropped (as by a database restart): they are made again.
        with psycopg.connect(indexed.url, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'qa listener'"
            )
        wait_for_log(second, "listening for new index versions again")
        again = put(first, "brest.txt")
        assert again.status_code == 200, again.text
        wait_for_log(second, f"now serving index version {again.json()['version']}")


def writer_pid(url: str) -> int | None:
    """The process holding the store's writer lock, by its connection's name."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE application_name LIKE 'qa writer pid %'"
        ).fetchone()
    return int(row[0].split()[3]) if row else None


def test_kill_9_of_a_replica_even_mid_put_loses_nothing_acknowledged(
    indexed: Indexed, tmp_path: Path
) -> None:
    with replica(indexed, tmp_path / "second.log") as second:
        with replica(indexed, tmp_path / "first.log") as first:
            acknowledged = put(first, "marseille.txt")
            assert acknowledged.status_code == 200, acknowledged.text
            # A second PUT, killed while it holds the writer lock: never acknowledged.
            answers: list[object] = []
            writing = threading.Thread(
                target=lambda: answers.append(_put_or_error(first, "brest.txt"))
            )
            writing.start()
            deadline = time.monotonic() + WAIT_S
            while writer_pid(indexed.url) != first.process.pid:
                assert time.monotonic() < deadline, "the PUT never took the writer lock"
            first.process.kill()
            writing.join()
            assert isinstance(answers[0], httpx.TransportError), answers

        # What was acknowledged is still served; the killed PUT is all there or not at all.
        assert top_source(second, DIGUE) == "marseille.txt"
        brest = httpx.get(f"{second.url}/sources/brest.txt")
        if brest.status_code == 200:
            assert top_source(second, PHARE) == "brest.txt"
        else:
            assert brest.status_code == 404, brest.text
        # The dead writer's lock went with its connection: the survivor writes.
        rewritten = put(second, "brest.txt")
        assert rewritten.status_code == 200, rewritten.text
        assert top_source(second, PHARE) == "brest.txt"
        assert top_source(second, DIGUE) == "marseille.txt"

    # The survivor killed too; a new replica serves everything acknowledged.
    with replica(indexed, tmp_path / "third.log") as third:
        assert top_source(third, DIGUE) == "marseille.txt"
        assert top_source(third, PHARE) == "brest.txt"


def _put_or_error(service: Service, name: str) -> httpx.Response | httpx.TransportError:
    try:
        return put(service, name)
    except httpx.TransportError as error:
        return error


def refused(indexed: Indexed, **env: str) -> str:
    """`qa serve` on the database, expected to exit: its one error line."""
    result = run_module(
        "qa.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        cwd=ROOT,
        env={
            "QA_STORE": "postgres",
            "QA_POSTGRES_URL": indexed.url,
            "QA_CORPUS_DIR": str(indexed.corpus),
            "QA_INDEX_DIR": str(indexed.index_dir),
            **env,
        },
    )
    return assert_one_error_line(result, "the PostgreSQL store replicas_", "`qa index`")


def test_a_replica_on_another_model_or_schema_exits_in_one_line(indexed: Indexed) -> None:
    model = refused(indexed, QA_MODEL="another/model")
    assert "the configured model is 'another/model'" in model
    with psycopg.connect(indexed.url, autocommit=True) as connection:
        connection.execute("UPDATE qa_meta SET schema_version = 99")
    schema = refused(indexed)
    assert "has schema 99, this version reads schema 1" in schema
