"""Qdrant clients are closed by this process, not by the interpreter's shutdown: closing a
local-mode folder then fails with a traceback (`QdrantClient.__del__`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.store import qdrant
from tests.conftest import ROOT


def test_disconnect_all_closes_every_client_and_releases_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qdrant, "_clients", {})  # this test's clients only, not the session's
    folder = str(tmp_path / "qdrant")
    first = qdrant.connect(folder)

    qdrant.disconnect_all()

    assert qdrant._clients == {}
    assert first._client.closed
    again = qdrant.connect(folder)  # the folder's lock was released: a new client opens it
    assert again is not first
    qdrant.disconnect(folder)


def test_a_process_that_leaves_clients_open_exits_without_a_traceback(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from qdrant_client import models\n"
        "from qa.store.qdrant import connect\n"
        "for location in (sys.argv[1], ':memory:'):\n"
        "    connect(location).create_collection(\n"
        "        'x', vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)\n"
        "    )\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "qdrant")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
