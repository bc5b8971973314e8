"""Fault tests with real processes: damaged index files are refused when `qa serve` starts, with
one line and no traceback (so never a 500 at request time), BM25 files altered with their
checksums recomputed too, and never swapped in by a running service; and a disk that fills up
while indexing leaves the last good index (a real tmpfs)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from qa.search.store import EmbeddedStore, current_version
from qa.settings import Settings
from tests.conftest import ROOT, SEEDS, assert_one_error_line, free_port, make_settings, run_module
from tests.integration.test_live import finish, qa_process, stop, until_ready, wait_for
from tests.integration.test_store import LEXICAL_DAMAGE, damage_lexical, publish_altered_version


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


@pytest.mark.parametrize("kind", LEXICAL_DAMAGE)
def test_serve_refuses_altered_bm25_files_with_one_line(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path, kind: str
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    version = current_version(index_dir)
    expected = damage_lexical(version, kind)

    result = serve_until_it_exits(make_settings(index_dir), within=60)

    assert_one_error_line(result, str(version), expected)


def serve_until_it_exits(settings: Settings, within: float) -> subprocess.CompletedProcess[str]:
    """`qa serve` on `settings`' folders, expected to give up at start: a service that is still
    running after `within` seconds is stopped, and the test fails."""
    process = qa_process(settings, "serve", "--port", str(free_port()))
    try:
        return finish(process, timeout=within)
    except subprocess.TimeoutExpired:
        stop(process)
        pytest.fail(f"qa serve started on {settings.index_dir} and was still running")


def test_a_running_service_keeps_its_version_over_altered_bm25_files(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    served = current_version(index_dir).name
    port = free_port()
    process = qa_process(
        make_settings(index_dir), "serve", "--port", str(port), QA_RELOAD_INTERVAL="0.2"
    )
    base = f"http://127.0.0.1:{port}"
    until_ready(process, base)
    logged: list[str] = []

    def read_the_log() -> None:  # the service logs to stderr: its lines, as they come
        for line in process.stderr or []:
            logged.append(line)

    reader = threading.Thread(target=read_the_log, daemon=True)
    reader.start()
    try:
        altered = publish_altered_version(index_dir, "passage number past the last passage")
        wait_for(
            lambda: any(f"not serving {altered}" in line for line in logged),
            60,
            "the service to refuse the altered version",
        )
        assert httpx.get(f"{base}/ready", timeout=60).json()["version"] == served
        for mode in ("lexical", "hybrid"):
            answer = httpx.get(
                f"{base}/search", params={"q": "puces Ascend 910B", "mode": mode}, timeout=60
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["results"]
    finally:
        stop(process)
        reader.join(timeout=10)


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
