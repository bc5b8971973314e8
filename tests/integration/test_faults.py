"""Fault tests with real processes: damaged index files are refused when `qa serve` starts, with
one line and no traceback (so never a 500 at request time), and a disk that fills up while
indexing leaves the last good index (a real tmpfs)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qa.settings import Settings
from qa.store import EmbeddedStore, current_version
from tests.conftest import ROOT, SEEDS, assert_one_error_line, free_port, run_module


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def garble_start(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(b"\xff" * 16 + data[16:])


def lexical_file(index_dir: Path) -> Path:
    return max((index_dir / "lexical").iterdir(), key=lambda file: file.stat().st_size)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated manifest": lambda d: truncate(d / "manifest.json"),
    "garbled manifest": lambda d: garble(d / "manifest.json"),
    "truncated passages": lambda d: truncate(d / "chunks.jsonl"),
    "garbled passages": lambda d: garble(d / "chunks.jsonl"),
    "truncated sources": lambda d: truncate(d / "sources.jsonl"),
    "truncated dense vectors": lambda d: truncate(d / "passages.npy"),
    "garbled dense vectors header": lambda d: garble_start(d / "passages.npy"),
    "truncated sentence vectors": lambda d: truncate(d / "sentences.npy"),
    "empty dense vectors": lambda d: (d / "passages.npy").write_bytes(b""),
    "truncated lexical index": lambda d: truncate(lexical_file(d)),
    "missing lexical index": lambda d: shutil.rmtree(d / "lexical"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_serve_refuses_a_damaged_index_with_one_line(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path, damage: str
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    DAMAGE[damage](current_version(index_dir))

    result = run_module(
        "qa.cli",
        "serve",
        "--port",
        str(free_port()),
        "--index-dir",
        str(index_dir),
        cwd=ROOT,
        env={"QA_CORPUS_DIR": str(SEEDS)},
    )

    assert_one_error_line(result, str(index_dir))


# --- a full disk while indexing -------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (root only; this suite runs as root in CI)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path, leave_bytes: int) -> None:
    """Fills the disk but for about `leave_bytes`."""
    free = shutil.disk_usage(disk).free
    with (disk / "filler").open("wb") as filler:
        filler.write(b"\0" * max(0, free - leave_bytes))


def test_a_full_disk_while_indexing_leaves_the_last_good_index(
    real_index: EmbeddedStore, settings: Settings, small_disk: Path, tmp_path: Path
) -> None:
    index_dir = small_disk / "index"
    shutil.copytree(settings.index_dir, index_dir)
    before = current_version(index_dir)
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "extra.txt").write_text("Un article de plus sur les puces.\n" * 50, "utf-8")
    fill(small_disk, leave_bytes=64 * 1024)

    indexing = run_module(
        "qa.cli", "index", "--corpus", str(corpus), "--index-dir", str(index_dir), cwd=ROOT
    )

    assert indexing.returncode != 0
    assert "Traceback" not in indexing.stderr
    (small_disk / "filler").unlink()
    assert current_version(index_dir) == before
    assert (before / "manifest.json").is_file()
    asked = run_module(
        "qa.cli",
        "ask",
        "puce",
        "--json",
        "--index-dir",
        str(index_dir),
        cwd=ROOT,
        env={"QA_CORPUS_DIR": str(SEEDS)},
    )
    assert asked.returncode == 0, asked.stderr
