"""Types of the fields that HTTP requests carry, shared by the routes' request models, and the
rules of the schema that pydantic does not enforce itself."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from qa.search.retrieval.search import MAX_K

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# How articles' languages are written (`Language` of `qa.content.corpus.checks`): ISO 639-1, lower
# case.
_LANGUAGE_CODE = "^[a-z]{2,3}$"


def _written_as_iso_date(value: object) -> object:
    """A date as the schema says, YYYY-MM-DD (a `date` passes too, for callers in Python):
    pydantic alone also reads 0 or "0" as 1970-01-01, and a date-time as its date."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_written_as_iso_date)]


def _json_integer(value: object) -> object:
    """A number with no fractional part, as the schema's `integer` reads JSON (1, 1.0 and 1e1 are
    integers there), as an int; a boolean or a string is not one, as pydantic alone would read
    true as 1 and "5" as 5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("must be an integer")


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]
# A result's rank: its bounds before the validator, so that the schema says them as `minimum`
# and `maximum` even where the rank is optional (bounds given on JsonInteger would not be).
Rank = Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(_json_integer)]


def _language_code(value: str) -> str:
    """A language as articles' languages are written: a wrong case or a language's name would
    match no article, silently."""
    if not re.fullmatch(_LANGUAGE_CODE, value):
        raise ValueError(f"must be a language code in lower case, such as fr (got {value!r})")
    return value


# The pattern is the schema's; the validator says what is wrong more plainly than a pattern.
LanguageCode = Annotated[
    str, AfterValidator(_language_code), Field(json_schema_extra={"pattern": _LANGUAGE_CODE})
]


def _letter_and_digit_runs() -> Iterator[tuple[int, int]]:
    """The first and last code points of each run of consecutive characters that `str.isalnum`
    accepts."""
    first: int | None = None
    for code_point in range(sys.maxunicode + 2):
        inside = code_point <= sys.maxunicode and chr(code_point).isalnum()
        if inside and first is None:
            first = code_point
        elif not inside and first is not None:
            yield first, code_point - 1
            first = None


def _in_class(code_point: int) -> str:
    # Past U+FFFF the character itself: `\uXXXX` names a UTF-16 unit, and the validators read
    # patterns by code point (as ECMA-262 does with the `u` flag, Python and Rust always).
    return f"\\u{code_point:04X}" if code_point <= 0xFFFF else chr(code_point)


# A letter or a digit as the search requires one in a question (`validate_query` of
# `qa.search.retrieval.search`: `str.isalnum`, the Unicode general categories L and N of this
# Python), as one character class written out: a validator's `\p{L}` follows its own Unicode version
# and would admit letters this Python does not know yet.
LETTER_OR_DIGIT = "[{}]".format(
    "".join(
        _in_class(first) if first == last else f"{_in_class(first)}-{_in_class(last)}"
        for first, last in _letter_and_digit_runs()
    )
)
