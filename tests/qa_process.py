"""A real `qa serve` process for the operations tests: started on a free port with the test
model, stopped (SIGTERM, then SIGKILL) at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import MODELS, ROOT, free_port

READY_TIMEOUT_S = 180


@dataclass
class Service:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def serve_env(index_dir: Path, corpus_dir: Path, **settings: str) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("QA_")}
    return clean | {
        "QA_MODEL_CACHE_DIR": str(MODELS),
        "QA_INDEX_DIR": str(index_dir),
        "QA_CORPUS_DIR": str(corpus_dir),
        "PYTHONUTF8": "1",
        **{f"QA_{name.upper()}": value for name, value in settings.items()},
    }


def is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def qa_serve(
    index_dir: Path, corpus_dir: Path, log: Path, *args: str, **settings: str
) -> Iterator[Service]:
    """`qa serve` on a free loopback port, yielded once /health answers."""
    port = free_port()
    command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # Output goes to a file, not a pipe: a pipe nobody reads would block the server when full.
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env=serve_env(index_dir, corpus_dir, **settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = Service(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not is_up(service.url):
            if process.poll() is not None:
                pytest.fail(f"`qa serve` exited with {process.returncode}:\n{service.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"`qa serve` not up after {READY_TIMEOUT_S} s:\n{service.output()}")
            time.sleep(0.2)
        yield service
    finally:
        service.stop()
