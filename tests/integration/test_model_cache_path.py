"""The default model lives in the user's cache folder, never in the current folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODELS, ROOT


@pytest.fixture(autouse=True)
def _no_qa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)


def test_qa_model_from_another_folder_uses_the_cache_not_the_current_folder(
    tmp_path: Path,
) -> None:
    cache_home = tmp_path / "cache"
    cache_home.mkdir()
    (cache_home / "qa").symlink_to(MODELS.resolve())  # the generated model, already there
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "model"],
        cwd=elsewhere,
        env=env | {"XDG_CACHE_HOME": str(cache_home), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert f"ready in {cache_home / 'qa'}" in result.stdout
    assert list(elsewhere.iterdir()) == []
