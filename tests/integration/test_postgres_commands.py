"""`qa index`, `qa ask`, `qa eval` and `qa serve` with QA_STORE=postgres, as a user runs them:
real processes, the real model, a real PostgreSQL (tests/postgres.py). Two `qa serve` replicas on
one database answer alike, and an article PUT through one is found through the other."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pgserver

from tests.conftest import ROOT, SEEDS, assert_one_error_line, run_module
from tests.postgres import new_database
from tests.qa_process import qa_serve

ASCEND = "Combien de puces Ascend 910B ByteDance a-t-il commandées ?"
ARTICLE = (
    "Le port de Marseille inaugure une digue flottante\n\n"
    "Le grand port maritime de Marseille a inauguré mardi une digue flottante de 800 mètres, "
    "construite par le chantier naval de La Ciotat. Elle a coûté 42 millions d'euros.\n"
)
ADMIN = "admin-key-for-the-test"


def test_the_commands_and_two_replicas_on_one_database(
    postgres: pgserver.PostgresServer, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    url = new_database(postgres, "commands")
    env = {
        "QA_STORE": "postgres",
        "QA_POSTGRES_URL": url,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(tmp_path / "index"),
    }

    indexed = run_module("qa.cli", "index", cwd=ROOT, env=env)
    assert indexed.returncode == 0, indexed.stderr
    assert "into the PostgreSQL store commands_" in indexed.stdout
    assert "5 added" in indexed.stdout

    asked = run_module("qa.cli", "ask", "--json", "-k", "3", ASCEND, cwd=ROOT, env=env)
    assert asked.returncode == 0, asked.stderr
    top = json.loads(asked.stdout)["results"][0]
    assert top["source"] == "003_8a499cfd293259c1.txt"
    assert "100 000 puces Ascend 910B" in top["text"]

    evaluated = run_module("qa.cli", "eval", "eval/questions.jsonl", "--json", cwd=ROOT, env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["hit@5"] >= 0.9

    settings = {"store": "postgres", "postgres_url": url, "admin_api_key": ADMIN}
    settings["analytics"] = "false"
    with (
        qa_serve(tmp_path / "index", corpus, tmp_path / "first.log", **settings) as first,
        qa_serve(tmp_path / "index", corpus, tmp_path / "second.log", **settings) as second,
    ):
        answers = [
            httpx.get(f"{s.url}/search", params={"q": ASCEND, "k": 5}, timeout=60).json()
            for s in (first, second)
        ]
        assert [r["chunk_id"] for r in answers[0]["results"]] == [
            r["chunk_id"] for r in answers[1]["results"]
        ]
        put = httpx.put(
            f"{first.url}/documents/marseille.txt",
            content=ARTICLE.encode(),
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/plain"},
            timeout=120,
        )
        assert put.status_code == 200, put.text
        found = httpx.get(
            f"{second.url}/search",
            params={"q": "Combien a coûté la digue flottante de Marseille ?", "k": 1},
            timeout=60,
        ).json()
        assert found["results"][0]["source"] == "marseille.txt"


def test_a_database_without_an_index_is_one_line(
    postgres: pgserver.PostgresServer, tmp_path: Path
) -> None:
    env = {"QA_STORE": "postgres", "QA_POSTGRES_URL": new_database(postgres, "empty")}
    result = run_module("qa.cli", "ask", ASCEND, cwd=tmp_path, env=env)
    assert_one_error_line(
        result, "no published index in the PostgreSQL store empty_", "run `qa index`"
    )
