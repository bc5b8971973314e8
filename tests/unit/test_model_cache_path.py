"""The default model lives in the user's cache folder, never in the current folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from qa.settings import Settings
from tests.conftest import MODELS, ROOT


@pytest.fixture(autouse=True)
def _no_qa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)


def test_default_model_cache_is_the_users_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")

    cache = Settings().model_cache_dir

    assert cache == Path(user_cache_dir("qa")) == Path("/somewhere/cache/qa")
    assert cache.is_absolute()


def test_model_cache_variable_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", "/srv/qa-models")

    assert Settings().model_cache_dir == Path("/srv/qa-models")


def test_makefile_and_tests_use_the_repository_models_folder() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert "export QA_MODEL_CACHE_DIR ?= $(CURDIR)/models" in makefile
    assert MODELS == ROOT / "models"
