"""The serving process freezes its long-lived objects out of the cyclic collector's reach while
it serves, and gives them back when it stops (`qa.serve.heap`; the pauses it avoids are in the
README, "Health under load")."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from qa.search.encoders.base import Encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore
from qa.serve import heap
from qa.serve.app import create_app
from qa.settings import Settings


def test_serving_freezes_the_loaded_index_and_stopping_thaws_it(
    real_index: EmbeddedStore, encoder: Encoder, settings: Settings
) -> None:
    heap.thaw()  # whatever an earlier test's application left frozen
    app = create_app(settings, Searcher(real_index, encoder, settings))
    with TestClient(app) as client:
        # The index, the tokenizer, the language identifier (loaded by the warm-up search).
        assert gc.get_freeze_count() > 100_000
        assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() == 0
