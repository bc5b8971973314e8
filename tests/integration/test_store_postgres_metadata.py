"""The metadata tests of every store (tests/unit/search/store/test_metadata.py), unchanged, on the
PostgreSQL store in a real PostgreSQL (tests/postgres.py): a `Source` kept whole, the language
and site filters in both retrievers, a changed sidecar carried by `qa index` without embedding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pgserver
import pytest

from qa.indexing.build import update_index
from qa.search.store import EmbeddedStore
from qa.search.store.postgres import PostgresStore
from qa.settings import Settings
from tests.conftest import SEEDS, FakeEncoder, make_settings
from tests.postgres import new_database
from tests.unit.search.store.test_metadata import (  # noqa: F401  (run here on PostgreSQL)
    built,
    test_a_changed_sidecar_reaches_the_published_store_without_embedding,
    test_every_store_keeps_and_returns_the_metadata,
    test_language_and_site_filters_in_both_retrievers,
)


@pytest.fixture
def store(built: EmbeddedStore, postgres: pgserver.PostgresServer) -> PostgresStore:  # noqa: F811
    copy = PostgresStore(new_database(postgres, "metadata"))
    copy.mirror(built, [], [], full=True)
    return copy


@pytest.fixture
def indexed(
    tmp_path: Path, fake_encoder: FakeEncoder, postgres: pgserver.PostgresServer
) -> Settings:
    """Three seeds, indexed and published into a PostgreSQL store by `update_index`."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted(SEEDS.glob("*.txt"))[:3]:
        shutil.copy(seed, corpus)
    settings = make_settings(
        tmp_path / "index",
        corpus,
        model="fake-bow",
        store="postgres",
        postgres_url=new_database(postgres, "metadata"),
    )
    update_index(settings, fake_encoder)
    return settings
