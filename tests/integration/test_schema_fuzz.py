"""schemathesis against the real app on a real uvicorn server (real model, real index of
`seeds/`): generated requests, valid and invalid, for every operation of the schema. No answer
may be a server error, every answer must be what the schema says (status, content type, body,
headers), what the schema forbids is refused and what it allows is accepted. Then `schemathesis
run` itself over the whole API with the admin key, every check and every phase (the coverage
phase's unlisted methods and missing headers, the stateful phase's PUT / GET / DELETE
sequences). Bounded: a number of cases per operation and mode, a fixed seed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa.search.store import EmbeddedStore
from qa.serve import app as api
from qa.settings import Settings
from tests.conftest import assert_error, uvicorn_on_loopback

MAX_EXAMPLES = 150
# Each invalid search drawn builds the question's strategy again, and its pattern spells out every
# letter and digit of Unicode (about a second a case): fewer.
MAX_NEGATIVE_EXAMPLES = 40
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
    ("POST", "/feedback"),
]
# The document API (on with an admin key) writes the corpus and publishes an index version on
# every accepted call: fuzzed on copies of the corpus and index, fewer cases. The report needs
# the admin key too.
DOCUMENT_OPERATIONS = [
    ("GET", "/documents"),
    ("PUT", "/documents/{name}"),
    ("DELETE", "/documents/{name}"),
    ("GET", "/analytics"),
]
# Any string is a valid source name: only the searches have input that can be made invalid.
WITH_INPUT = [("POST", "/search"), ("GET", "/search"), ("POST", "/feedback")]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # what the schema forbids is refused with a 4xx
    positive_data_acceptance,  # what it allows is not refused (a 404 for an unknown name aside)
]
# `schemathesis run` over the whole API: cases per operation in each phase, and its own time.
CLI_EXAMPLES = 30
CLI_TIMEOUT_S = 300
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


def serving(app: FastAPI, name: str) -> AbstractContextManager[str]:
    """`app` on a real uvicorn server on a free loopback port, until the block ends."""
    return uvicorn_on_loopback(app, name)


@pytest.fixture(scope="module")
def fuzzed_url(real_index: EmbeddedStore, settings: Settings) -> Iterator[str]:
    with serving(api.create_app(settings), "uvicorn-fuzz") as url:
        yield url
    print(f"\nschemathesis cases per operation: {dict(sorted(CASES.items()))}")


def editable_app(settings: Settings, folder: Path) -> FastAPI:
    """The app with the document API on, over copies in `folder` of the corpus and index that
    it edits."""
    shutil.copytree(settings.corpus_dir, folder / "corpus")
    shutil.copytree(settings.index_dir, folder / "index")
    editable = settings.model_copy(
        update={
            "corpus_dir": folder / "corpus",
            "index_dir": folder / "index",
            "admin_api_key": SecretStr(ADMIN_KEY),
            "reload_interval": 0,
            # Every request carries the admin key: the default per-key limit (600/minute) would
            # answer 429 part of the way through a run.
            "api_key_rate_limit": None,
        }
    )
    return api.create_app(editable)


@pytest.fixture(scope="module")
def editable_url(
    real_index: EmbeddedStore, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    app = editable_app(settings, tmp_path_factory.mktemp("fuzz-documents"))
    with serving(app, "uvicorn-fuzz-documents") as url:
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

    examples = MAX_EXAMPLES if mode == GenerationMode.POSITIVE else MAX_NEGATIVE_EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @bounded(examples)
    def call(case: schemathesis.Case) -> None:
        nonlocal cases
        cases += 1
        case.call_and_validate(checks=checks, timeout=60)

    call()
    CASES[f"{method} {path} ({mode})"] = cases
    # A few operations have fewer distinct inputs than `examples` (/health has none).
    assert cases >= (1 if path in ("/health", "/ready", "/sources") else examples // 3), cases


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
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            checks=_document_checks(case, mode),
            timeout=120,
        )
        statuses[response.status_code] += 1

    statuses: Counter[int] = Counter()
    call()
    CASES[f"{method} {path} ({mode})"] = statuses.total()
    assert statuses.total() >= (1 if path == "/documents" else 20), statuses
    if (method, mode) in (("PUT", GenerationMode.POSITIVE), ("GET", GenerationMode.POSITIVE)):
        assert statuses[200] > 0, statuses  # articles really written and published


# The body schemas of a text, a page and a Markdown document are patterns of what always holds
# an article: sufficient, not necessary (an article is what the extractor finds), so a body
# outside them may well be accepted. Whether a PDF holds an article no schema can state: generated
# bytes are refused (422 with the extractor's reason). Every other check holds for every case.
SUFFICIENT_ONLY = ("text/plain", "text/html", "text/markdown")


def _document_checks(case: schemathesis.Case, mode: GenerationMode) -> list[Any]:
    if case.operation.path == "/analytics":
        # Two valid days with `until` before `since` are refused (422), which no schema states.
        return [check for check in CHECKS if check is not positive_data_acceptance]
    media_type = (case.media_type or "").split(";")[0]
    if media_type == "application/pdf":
        return [check for check in CHECKS if check is not positive_data_acceptance]
    if mode == GenerationMode.NEGATIVE and media_type in SUFFICIENT_ONLY:
        return [check for check in CHECKS if check is not negative_data_rejection]
    return list(CHECKS)


# --- the question: what the schema allows, the server accepts ----------------------------------

# Refused: control characters alone (C0, C1: U+008D), zero-width characters, white space,
# punctuation, an emoji. Accepted: one letter or digit among them, of any script.
FORBIDDEN_QUESTIONS = [
    "\x8d",
    "\x00\x1b\x7f",
    "\x80\x9f",
    "\u200b\u200d\ufeff",
    " \t\n\xa0\u3000",
    "?!",
    "\U0001f600",
]
ALLOWED_QUESTIONS = ["\x8dpuce\x8d", "\u200bpuce", "910B", "٣", "中", "\U0001d400"]


@pytest.fixture(scope="module")
def question_schema(fuzzed_url: str) -> jsonschema_rs.Validator:
    """The question's schema as the server publishes it (the body's and the query string's)."""
    schema = httpx.get(f"{fuzzed_url}/openapi.json").json()
    body = schema["components"]["schemas"]["SearchRequest"]["properties"]["question"]
    query = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")
    assert body["pattern"] == query["schema"]["pattern"]
    return jsonschema_rs.Draft202012Validator(body)


@pytest.mark.parametrize(
    ("question", "allowed"),
    [(question, False) for question in FORBIDDEN_QUESTIONS]
    + [(question, True) for question in ALLOWED_QUESTIONS],
)
def test_a_question_is_accepted_exactly_when_the_schema_allows_it(
    fuzzed_url: str, question_schema: jsonschema_rs.Validator, question: str, allowed: bool
) -> None:
    with httpx.Client(base_url=fuzzed_url, timeout=60) as client:
        answers = [
            client.post("/search", json={"question": question, "k": 1}),
            client.get("/search", params={"q": question, "k": 1}),
        ]

    assert question_schema.is_valid(question) is allowed
    if allowed:
        assert [answer.status_code for answer in answers] == [200, 200]
    else:
        for answer in answers:
            assert_error(answer, 422, "invalid_request", "question:")


@pytest.mark.parametrize(
    ("k", "allowed"),
    [("2", True), ("2.0", True), ("2e0", True), ("true", False), ('"2"', False), ("2.5", False)],
)
def test_k_is_accepted_exactly_when_the_schema_calls_it_an_integer(
    fuzzed_url: str, k: str, allowed: bool
) -> None:
    body = f'{{"question": "puce", "k": {k}}}'
    response = httpx.post(
        f"{fuzzed_url}/search", content=body, headers={"Content-Type": "application/json"}
    )

    assert jsonschema_rs.validator_for({"type": "integer"}).is_valid(json.loads(k)) is allowed
    if allowed:
        assert response.status_code == 200, response.text
        assert len(response.json()["results"]) == 2
    else:
        assert_error(response, 422, "invalid_request", "k:", "integer")


# --- `schemathesis run` over the whole API ---------------------------------------------------


@pytest.fixture(scope="module")
def whole_api_url(
    real_index: EmbeddedStore, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The whole API, document routes on, over copies of its own (the stateful phase deletes)."""
    app = editable_app(settings, tmp_path_factory.mktemp("fuzz-whole-api"))
    with serving(app, "uvicorn-fuzz-whole-api") as url:
        yield url


def test_schemathesis_run_with_every_check_and_phase_finds_nothing(
    whole_api_url: str, tmp_path: Path
) -> None:
    # As in the document test above (`_document_checks`), for PUT /documents/{name}: a valid
    # request may be refused (422: a generated PDF holds no text; a name ending in .txt given a
    # page), and a body outside the sufficient-only patterns may be accepted. Its negative cases
    # with a JSON body are checked by the test above. Every other check stays on.
    (tmp_path / "schemathesis.toml").write_text(
        "[[operations]]\n"
        'include-path = "/documents/{name}"\n'
        'include-method = "PUT"\n'
        "checks.positive_data_acceptance.expected-statuses = "
        '["2XX", 401, 404, 409, 413, 422, 429]\n'
        "checks.negative_data_rejection.enabled = false\n"
        # As in `_document_checks`: a period whose `until` is before its `since` is refused.
        "[[operations]]\n"
        'include-path = "/analytics"\n'
        "checks.positive_data_acceptance.expected-statuses = "
        '["2XX", 401, 404, 422, 429]\n'
        # The stateful phase sends feedback on the searches it made: a rank past the results
        # that search showed is refused (422), which no schema can state.
        "[[operations]]\n"
        'include-path = "/feedback"\n'
        "checks.positive_data_acceptance.expected-statuses = "
        '["2XX", 401, 404, 422, 429]\n',
        encoding="utf-8",
    )
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{whole_api_url}/openapi.json"),
        *("--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(CLI_EXAMPLES), "--seed", "21", "--workers", "1"),
        *("--header", f"Authorization: Bearer {ADMIN_KEY}", "--request-timeout", "60"),
        *("--generation-database", "none", "--no-color"),
    ]
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False
    )

    assert run.returncode == 0, run.stdout + run.stderr
