"""The analytics databases the tests run on: an SQLite file, and a real PostgreSQL 18 (the
session's server of tests/postgres.py), with a fresh database for each test."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pgserver
import pytest

from tests.postgres import new_database as new_postgres_database

ENGINES = ("sqlite", "postgresql")
_numbers = itertools.count()


@pytest.fixture
def new_database(postgres: pgserver.PostgresServer, tmp_path: Path) -> Callable[[str], str]:
    """engine -> the URL of an empty database of that engine."""

    def make(engine: str) -> str:
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / f'analytics_{next(_numbers)}'}.sqlite3"
        return new_postgres_database(postgres, "analytics")

    return make


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> str:
    return new_database(request.param)
