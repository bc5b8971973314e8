"""What an article may hold: no control characters in its text, a one-line title, and only web
links as its URL. Corpus files, `qa add` and the document API follow these rules alike; the
patterns here are also what the API's schema states, so that schema and service agree.

The patterns are written to mean the same in Python and in the ECMA dialect of JSON Schema:
explicit character ranges only (no `\\s`, `\\w` or `.`, whose meaning differs), anchored by
the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# C0 but tab, line feed and carriage return; DEL; C1. Invisible in an article, they would reach
# answers and the widget as they are (a NUL, a terminal escape), and a form feed or a C1 "next
# line" breaks a line that ingest does not see as broken.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_LINE_BREAK = re.compile(r"[\r\n]")

MAX_URL_CHARS = 2000
# Only web links are stored: the widget links to an article's URL, and a `javascript:`,
# `data:` or `vbscript:` one would run or show whatever it holds. http or https, a host (a
# name, or an IPv6 address in brackets), then an optional port, path, query and fragment;
# no space or control character anywhere, no backslash before the path (browsers read it as
# a slash, and the host would not be the one shown).
_NOT_IN_URL = r"\x00-\x20\x7f-\x9f"
URL_PATTERN = (
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    rf"(?:[^{_NOT_IN_URL}/?#@\\]*@)?"
    rf"(?:[^{_NOT_IN_URL}/?#@:\\\[\]]+|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]{0,5})?"
    rf"(?:[/?#][^{_NOT_IN_URL}]*)?"
)
_URL = re.compile(URL_PATTERN)
# A title: one line, no control character (a tab is allowed, as in the text).
TITLE_PATTERN = rf"[^{CONTROL_CHARACTERS}\r\n]*"
# What the schema promises an article always is: a line that ingest keeps as a paragraph,
# anywhere, and no control character. The line is two-letter words and numbers, ending with
# a full stop: no boilerplate rule can match it (each names a longer word or a line start
# such as "Photo"), and it is no heading (it ends like a sentence). Ingest accepts much more
# (`qa.content.corpus.ingest.parse_document`), and says why it refuses.
_ANY = f"[^{CONTROL_CHARACTERS}]*"
PARAGRAPH_LINE = r"[A-Za-z]{2}(?: [A-Za-z]{2})+[ 0-9]*\."
ARTICLE_PATTERN = rf"(?:{_ANY}[\r\n])?{PARAGRAPH_LINE}(?:[\r\n]{_ANY})?"


def control_character(text: str) -> str | None:
    """Where the first control character of `text` is, for a person; None if it has none."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    line, column = _position(text, found.start())
    return (
        f"control character U+{ord(found.group()):04X} at line {line}, column {column} "
        "(not allowed in an article)"
    )


def title_problem(title: str) -> str | None:
    """Why `title` cannot be an article's title (its headline line); None if it can."""
    found = _LINE_BREAK.search(title)
    if found is not None:
        return f"a line break at column {found.start() + 1}: a title is one line"
    return control_character(title)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be stored as an article's URL; None if it can."""
    if _URL.fullmatch(url):
        return None
    return f"only http:// and https:// URLs with a host are stored (got {url[:80]!r})"


def _position(text: str, offset: int) -> tuple[int, int]:
    """The line and column (from 1) of `offset` in `text`."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _refusing(problem_of: Callable[[str], str | None], kind: str) -> AfterValidator:
    """A pydantic validator raising `problem_of(value)` as the error's message, as it is."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise PydanticCustomError(kind, problem)
        return value

    return AfterValidator(check)


# The fields of request and sidecar models: checked with a readable message, the same rule
# stated as a pattern in the schema.
WebUrl = Annotated[
    str,
    Field(max_length=MAX_URL_CHARS, json_schema_extra={"pattern": f"^{URL_PATTERN}$"}),
    _refusing(url_problem, "url"),
]
TitleLine = Annotated[
    str,
    Field(max_length=500, json_schema_extra={"pattern": f"^{TITLE_PATTERN}$"}),
    _refusing(title_problem, "title"),
]
ArticleText = Annotated[str, _refusing(control_character, "control_character")]
# An ISO 639 language code, as the language detection gives them ("fr", "en").
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
