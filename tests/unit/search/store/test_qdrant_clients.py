"""Qdrant clients are closed by this process (`disconnect_all`, at exit), not by the
interpreter's shutdown, where closing a local-mode folder fails with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.search.store import qdrant_connection as qdrant


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
