"""Versioned publication in one index folder, and the lock that keeps it to one writer.

    index/
      CURRENT              the name of the version readers load (replaced atomically)
      versions/NAME/       one immutable published version per folder
      versions/.staging-*  a version being written (left by a killed run: removed by the next)
      writer.lock          flock-ed by the one writer; holds its pid

A version is written in a staging folder, flushed to disk, renamed into place, and only then
named in CURRENT (written to a temporary file, flushed, `os.replace`d). A crash at any moment
leaves CURRENT naming a complete version; nothing is ever rewritten in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from qa.errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from qa.search.store.integrity import fsync_path, fsync_tree

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = "writer.lock"
STAGING = ".staging-"
_POINTER_TEMP = ".CURRENT.tmp-"


def read_pointer(index_dir: Path) -> str | None:
    """The name of the published version, or None if nothing was ever published."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise IndexCorruptError(f"cannot read {index_dir / POINTER}: {error}") from error
    if not name or "/" in name or name.startswith("."):
        raise IndexCorruptError(f"{index_dir / POINTER} names no version: rebuild with `qa index`")
    return name


def current_version(index_dir: Path) -> Path:
    """The folder of the published version."""
    name = read_pointer(index_dir)
    if name is None:
        if (index_dir / "manifest.json").is_file():
            raise IndexMismatchError(
                f"the index in {index_dir} was built by an older version of qa: "
                f"rebuild it with `qa index --index-dir {index_dir}`"
            )
        raise IndexMissingError(f"no index in {index_dir}: run `qa index` (or `make index`) first")
    folder = index_dir / VERSIONS / name
    if not folder.is_dir():
        raise IndexCorruptError(f"{index_dir / POINTER} names {name}, which is missing: rebuild")
    return folder


def stage(index_dir: Path) -> Path:
    """A new empty folder to write a version into (invisible to readers)."""
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    folder = versions / f"{STAGING}{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir()
    return folder


def commit(index_dir: Path, staging: Path, keep: int) -> str:
    """Publish a fully written staging folder; returns the new version's name."""
    versions = index_dir / VERSIONS
    fsync_tree(staging)
    name = _next_name(versions)
    staging.rename(versions / name)
    fsync_path(versions)
    temp = index_dir / f"{_POINTER_TEMP}{os.getpid()}"
    with temp.open("w", encoding="utf-8") as file:
        file.write(name + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, index_dir / POINTER)
    fsync_path(index_dir)
    prune(index_dir, keep)
    return name


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what a killed writer left (staging folders, pointer temporaries); the caller
    holds the writer lock, so nothing else is writing them. Returns what was removed."""
    removed = []
    for leftover in [
        *(index_dir / VERSIONS).glob(f"{STAGING}*"),
        *index_dir.glob(f"{_POINTER_TEMP}*"),
    ]:
        removed.append(leftover.name)
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return removed


def prune(index_dir: Path, keep: int) -> None:
    """Remove published versions beyond the newest `keep` (never the current one)."""
    current = read_pointer(index_dir)
    published = sorted(p for p in (index_dir / VERSIONS).iterdir() if not p.name.startswith("."))
    for old in published[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def _next_name(versions: Path) -> str:
    numbers = [
        int(p.name.split("-", 1)[0])
        for p in versions.iterdir()
        if p.name[:6].isdigit() and not p.name.startswith(".")
    ]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{max(numbers, default=0) + 1:06d}-{stamp}"


class WriterLock:
    """One writer per index folder: an exclusive flock on `writer.lock`, which holds the pid.

    The kernel drops the lock when its holder dies, even by `kill -9`, so a lock left by a
    dead writer is never in the way: the pid it wrote is only read to name a live holder.
    """

    def __init__(self, index_dir: Path, wait: float = 0.0) -> None:
        self.index_dir = index_dir
        self.wait = wait
        self._file: int | None = None

    def __enter__(self) -> WriterLock:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip()
                    os.close(descriptor)
                    raise IndexLockedError(self.index_dir, holder or "unknown") from None
                time.sleep(0.1)
        os.ftruncate(descriptor, 0)
        os.pwrite(
            descriptor, f"pid {os.getpid()} since {datetime.now(UTC):%H:%M:%S} UTC\n".encode(), 0
        )
        self._file = descriptor
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file, 0)
            os.close(self._file)  # releases the flock
            self._file = None
