"""schemathesis against the real app on a real uvicorn server (real model, real index of
`seeds/`): generated requests, valid and invalid, for every operation of the schema. No answer
may be a server error, and every answer must be what the schema says (status, content type,
body, headers). Bounded: MAX_EXAMPLES per operation and mode, a fixed seed (derandomize)."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa.serve import app as api
from qa.settings import Settings
from qa.store import EmbeddedStore
from tests.conftest import free_port

MAX_EXAMPLES = 150
# Each accepted document call embeds an article and publishes an index version (about a second).
MAX_DOCUMENT_EXAMPLES = 40
ADMIN_KEY = "fuzz-admin-key"
OPERATIONS = [
    ("POST", "/search"),
    ("GET", "/search"),
    ("GET", "/sources"),
    ("GET", "/sources/{name}"),
    ("GET", "/health"),
    ("GET", "/ready"),
]
# The document API (on with an admin key) writes the corpus and publishes an index version on
# every accepted call: fuzzed on copies of the corpus and index, fewer cases.
DOCUMENT_OPERATIONS = [
    ("GET", "/documents"),
    ("PUT", "/documents/{name}"),
    ("DELETE", "/documents/{name}"),
]
# Any string is a valid source name: only the searches have input that can be made invalid.
WITH_INPUT = [("POST", "/search"), ("GET", "/search")]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # what the schema forbids is refused with a 4xx
]
CASES: Counter[str] = Counter()


def bounded(examples: int) -> settings:
    """Hypothesis settings of a fuzzing run: `examples` cases, a fixed seed, no time limit."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


@contextmanager
def serving(app: FastAPI, name: str) -> Iterator[str]:
    """`app` on a real uvicorn server on a free loopback port, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        assert thread.is_alive(), "the server stopped during start-up"
        assert time.monotonic() < deadline, "the server did not start within 180 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def fuzzed_url(real_index: EmbeddedStore, settings: Settings) -> Iterator[str]:
    with serving(api.create_app(settings), "uvicorn-fuzz") as url:
        yield url
    print(f"\nschemathesis cases per operation: {dict(sorted(CASES.items()))}")


@pytest.fixture(scope="module")
def editable_url(
    real_index: EmbeddedStore, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app with the document API on, over copies of the corpus and index that it edits."""
    folder = tmp_path_factory.mktemp("fuzz-documents")
    shutil.copytree(settings.corpus_dir, folder / "corpus")
    shutil.copytree(settings.index_dir, folder / "index")
    editable = settings.model_copy(
        update={
            "corpus_dir": folder / "corpus",
            "index_dir": folder / "index",
            "admin_api_key": SecretStr(ADMIN_KEY),
            "reload_interval": 0,
        }
    )
    with serving(api.create_app(editable), "uvicorn-fuzz-documents") as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(fuzzed_url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_url}/openapi.json")


def test_the_schema_lists_the_operations_fuzzed_here(api_schema: BaseSchema) -> None:
    listed = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}

    assert listed == {f"{method} {path}" for method, path in OPERATIONS + DOCUMENT_OPERATIONS}


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS]
    # Invalid input needs an input: the operations without parameters have none to break.
    + [(method, path, GenerationMode.NEGATIVE) for method, path in WITH_INPUT],
)
def test_generated_requests_get_documented_answers_and_no_server_error(
    api_schema: BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    cases = 0
    checks = CHECKS
    if (method, path, mode) == ("GET", "/search", GenerationMode.NEGATIVE):
        # schemathesis "breaks" an optional query parameter (the date filters) into an empty
        # array, which is the request without it: valid, so answered. Every other check stays.
        checks = [check for check in CHECKS if check is not negative_data_rejection]

    @given(case=operation.as_strategy(generation_mode=mode))
    @bounded(MAX_EXAMPLES)
    def call(case: schemathesis.Case) -> None:
        nonlocal cases
        cases += 1
        case.call_and_validate(checks=checks, timeout=60)

    call()
    CASES[f"{method} {path} ({mode})"] = cases
    # A few operations have fewer distinct inputs than MAX_EXAMPLES (/health has none).
    assert cases >= (1 if path in ("/health", "/ready", "/sources") else 50), cases


@pytest.fixture(scope="module")
def documents_schema(editable_url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{editable_url}/openapi.json")


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, GenerationMode.POSITIVE) for method, path in DOCUMENT_OPERATIONS]
    + [("PUT", "/documents/{name}", GenerationMode.NEGATIVE)],
)
def test_generated_document_requests_get_documented_answers_and_no_server_error(
    documents_schema: BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = documents_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @bounded(MAX_DOCUMENT_EXAMPLES)
    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS, timeout=120
        )
        statuses[response.status_code] += 1

    statuses: Counter[int] = Counter()
    call()
    CASES[f"{method} {path} ({mode})"] = statuses.total()
    assert statuses.total() >= (1 if path == "/documents" else 20), statuses
    if (method, mode) in (("PUT", GenerationMode.POSITIVE), ("GET", GenerationMode.POSITIVE)):
        assert statuses[200] > 0, statuses  # articles really written and published
