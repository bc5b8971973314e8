"""A replica reading from a hot standby and writing to its primary, on a real primary and a real
streaming-replication standby (tests/postgres_cluster.py): with the primary stopped, searches
keep answering from the standby and writes answer 503 `writes_unavailable`; once the standby is
promoted and the replica restarted with it as its write URL, writes resume."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.integration.test_postgres_replicas import (
    DIGUE,
    PHARE,
    WAIT_S,
    Indexed,
    index_seeds,
    put,
    questions,
    replica,
    search,
    top_source,
)
from tests.postgres_cluster import Cluster
from tests.qa_process import Service


def until_found(service: Service, question: str, source: str) -> None:
    """The standby replays the primary's publication a moment after it commits."""
    deadline = time.monotonic() + WAIT_S
    while top_source(service, question) != source:
        assert time.monotonic() < deadline, f"{source} never served from the standby"
        time.sleep(0.1)


def test_searches_survive_the_primary_and_writes_resume_after_promotion(
    cluster: Cluster, tmp_path: Path
) -> None:
    database = cluster.new_database("standby")
    indexed = index_seeds(cluster.primary_url(database), tmp_path)
    cluster.wait_for_standby(database)

    reading_standby = {"postgres_read_url": cluster.standby_url(database)}
    with replica(indexed, tmp_path / "replica.log", **reading_standby) as service:
        written = put(service, "marseille.txt")
        assert written.status_code == 200, written.text
        until_found(service, DIGUE, "marseille.txt")

        cluster.stop_primary()
        assert top_source(service, DIGUE) == "marseille.txt"
        for question in questions():
            assert search(service, question), question
        refused = put(service, "brest.txt")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "writes_unavailable"
        assert refused.json()["detail"].startswith("writes are unavailable: cannot connect")
        assert httpx.get(f"{service.url}/ready").status_code == 200

    # A write URL on the standby before its promotion: refused as well, the corpus untouched.
    early = Indexed(cluster.standby_url(database), indexed.corpus, indexed.index_dir)
    with replica(early, tmp_path / "early.log") as service:
        refused = put(service, "brest.txt")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "writes_unavailable"
        assert "is read-only (a hot standby?)" in refused.json()["detail"]
    assert not (indexed.corpus / "brest.txt").exists()

    cluster.promote_standby()
    promoted = Indexed(cluster.standby_url(database), indexed.corpus, indexed.index_dir)
    with replica(promoted, tmp_path / "promoted.log") as service:
        resumed = put(service, "brest.txt")
        assert resumed.status_code == 200, resumed.text
        assert top_source(service, PHARE) == "brest.txt"
        assert top_source(service, DIGUE) == "marseille.txt"
