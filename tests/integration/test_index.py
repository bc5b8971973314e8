"""The real index (real model, real articles) keeps its searches through a save and a load (the
build and the checks made when loading, on a fake encoder: tests/unit/indexing/test_build.py)."""

from __future__ import annotations

import numpy as np

from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.store import EmbeddedStore, load_store
from qa.settings import Settings


def test_real_index_round_trip(
    real_index: EmbeddedStore, settings: Settings, encoder: SentenceTransformerEncoder
) -> None:
    loaded = load_store(settings.index_dir, settings.model)
    query = encoder.embed_queries(["Quelle puce ByteDance développe-t-il ?"])[0]
    assert loaded.search_dense(query, 5) == real_index.search_dense(query, 5)
    for position in range(len(loaded.chunks)):
        np.testing.assert_allclose(
            loaded.sentence_scores(query, position), real_index.sentence_scores(query, position)
        )
