"""The question is in the log only when the setting allows it, on the real app (the metrics
hooks: tests/unit/serve/test_metrics.py)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from qa.search.retrieval.search import Searcher
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import make_settings


@pytest.mark.parametrize("allowed", [True, False])
def test_the_question_is_logged_only_when_the_setting_allows_it(
    settings: Settings, searcher: Searcher, caplog: pytest.LogCaptureFixture, allowed: bool
) -> None:
    app = api.create_app(
        make_settings(settings.index_dir, log_questions=allowed), searcher=searcher
    )
    with caplog.at_level(logging.DEBUG, logger="qa"), TestClient(app) as client:
        assert client.get("/search", params={"q": "Zanzibarique puce", "k": 1}).status_code == 200

    searches = [record for record in caplog.records if record.getMessage() == "search"]
    assert len(searches) == 1
    assert searches[0].levelno == logging.INFO
    assert searches[0].question_chars == len("Zanzibarique puce")
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert ("Zanzibarique" in logged) is allowed
    assert getattr(searches[0], "question", None) == ("Zanzibarique puce" if allowed else None)
