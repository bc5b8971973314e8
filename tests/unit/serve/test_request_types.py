"""The question's pattern in the schema says exactly what the search refuses, and `k` reads
JSON integers as the schema does (the same on a real server: tests/integration/test_schema_fuzz.py).
"""

from __future__ import annotations

import re
import sys

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field, ValidationError

from qa.errors import InvalidQueryError
from qa.search.retrieval.search import validate_query
from qa.serve.request_types import LETTER_OR_DIGIT, JsonInteger

# Questions the search refuses, and so must the schema: control characters alone (C0 and C1,
# U+008D among them), zero-width characters, white space, punctuation, an emoji.
REFUSED = [
    "\x8d",
    "\x00\x01\x1b\x7f",
    "\x80\x85\x9f",
    "\u200b\u200c\u200d\u2060\ufeff",
    " \t\n\r\x0b\x0c\x1c",
    "\xa0\u2003\u3000",
    "?! … «»",
    "\U0001f600",
    "\U000e0001",
]
# Questions it accepts: one letter or digit is enough, of any script, past U+FFFF too.
ACCEPTED = ["a", "\x8da\x8d", "\u200bé", "٣", "Ⅻ", "½", "中", "\U0001d400", "\U00020000", "? 7 ?"]
# The validator schemathesis checks answers with, of the dialect of OpenAPI 3.1's schemas.
VALIDATOR = jsonschema_rs.Draft202012Validator({"type": "string", "pattern": LETTER_OR_DIGIT})


def schema_allows(question: str) -> bool:
    return bool(VALIDATOR.is_valid(question))


def search_accepts(question: str) -> bool:
    try:
        validate_query(question, 5)
    except InvalidQueryError:
        return False
    return True


@pytest.mark.parametrize("question", REFUSED)
def test_a_question_the_search_refuses_is_one_the_schema_forbids(question: str) -> None:
    assert not search_accepts(question)
    assert not schema_allows(question)


@pytest.mark.parametrize("question", ACCEPTED)
def test_a_question_the_search_accepts_is_one_the_schema_allows(question: str) -> None:
    assert search_accepts(question)
    assert schema_allows(question)


def test_the_pattern_and_the_search_agree_on_every_character() -> None:
    # Surrogates are not characters a JSON text can carry; every other code point is tried, as
    # the validator reads the pattern and as Python (schemathesis's generator) does.
    python = re.compile(LETTER_OR_DIGIT)
    disagree = [
        hex(code_point)
        for code_point in range(sys.maxunicode + 1)
        if not 0xD800 <= code_point <= 0xDFFF
        and not (
            search_accepts(chr(code_point))
            == schema_allows(chr(code_point))
            == bool(python.search(chr(code_point)))
        )
    ]

    assert disagree == []


class WithK(BaseModel):
    k: JsonInteger = Field(5, ge=1, le=50)


@pytest.mark.parametrize(("sent", "read"), [(3, 3), (3.0, 3), (1e1, 10), (50.0, 50)])
def test_k_is_any_json_integer(sent: object, read: int) -> None:
    assert WithK.model_validate({"k": sent}).k == read


@pytest.mark.parametrize("sent", [True, False, "5", None, 2.5, [5]])
def test_k_is_nothing_else(sent: object) -> None:
    with pytest.raises(ValidationError, match="must be an integer"):
        WithK.model_validate({"k": sent})
