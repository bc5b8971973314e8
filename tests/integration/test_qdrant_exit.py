"""A process that leaves Qdrant clients open exits without qdrant-client's `__del__` traceback:
`qa.search.store.qdrant_connection` closes them at exit, while imports still work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_a_process_that_leaves_clients_open_exits_without_a_traceback(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from qdrant_client import models\n"
        "from qa.search.store.qdrant_connection import connect\n"
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
