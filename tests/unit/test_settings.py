"""Settings refuse values that would silently mean something else, or normalise them.

Each case goes through `Settings(...)`, as the tests and the server build it, and through the
`QA_*` environment, as a user sets it.
"""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from qa.settings import Settings

FOLDER_AND_MODEL_FIELDS = ["corpus_dir", "index_dir", "model_cache_dir", "model"]


@pytest.fixture(autouse=True)
def _no_qa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the variables a test sets: none inherited from the shell running the suite."""
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)


def refused_fields(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    return [e["loc"] for e in error.value.errors()]


def test_cors_origins_lose_a_trailing_slash_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_CORS_ORIGINS", "https://example.org, https://www.example.org/")
    assert Settings().cors_origins == ["https://example.org", "https://www.example.org"]


def test_cors_origins_lose_a_trailing_slash_when_given_as_a_list() -> None:
    settings = Settings(cors_origins=["https://example.org/", " http://localhost:5173 ", "*"])
    assert settings.cors_origins == ["https://example.org", "http://localhost:5173", "*"]


@pytest.mark.parametrize("value", ["/", "https://example.org,/"])
def test_a_cors_origin_that_is_only_a_slash_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_CORS_ORIGINS", value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert refused_fields(error) == [("cors_origins",)]


@pytest.mark.parametrize("field", FOLDER_AND_MODEL_FIELDS)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_folder_or_model_is_refused_from_the_environment(
    field: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"QA_{field.upper()}", value)
    with pytest.raises(ValidationError, match="must not be empty") as error:
        Settings()
    assert refused_fields(error) == [(field,)]


@pytest.mark.parametrize("field", FOLDER_AND_MODEL_FIELDS)
def test_an_empty_folder_or_model_is_refused_by_the_constructor(field: str) -> None:
    with pytest.raises(ValidationError, match="must not be empty") as error:
        Settings(**{field: ""})
    assert refused_fields(error) == [(field,)]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf"])
def test_a_threshold_that_is_not_a_finite_number_is_refused_from_the_environment(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_ANSWERABLE_THRESHOLD", value)
    with pytest.raises(ValidationError, match="finite number") as error:
        Settings()
    assert refused_fields(error) == [("answerable_threshold",)]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_threshold_that_is_not_a_finite_number_is_refused_by_the_constructor(
    value: float,
) -> None:
    with pytest.raises(ValidationError, match="finite number") as error:
        Settings(answerable_threshold=value)
    assert refused_fields(error) == [("answerable_threshold",)]


def test_valid_values_still_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CORPUS_DIR", "articles")
    monkeypatch.setenv("QA_MODEL", "intfloat/multilingual-e5-small")
    monkeypatch.setenv("QA_ANSWERABLE_THRESHOLD", "-0.5")
    settings = Settings()
    assert str(settings.corpus_dir) == "articles"
    assert settings.model == "intfloat/multilingual-e5-small"
    assert settings.answerable_threshold == -0.5
    assert Settings().cors_origins == []
