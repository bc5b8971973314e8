"""What an article may hold (`qa.content.corpus.checks`): no control characters, a one-line title,
only web URLs; and the schema's patterns say exactly what the checks accept, read as JSON Schema
reads them (jsonschema_rs, the validator schemathesis uses)."""

from __future__ import annotations

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.content.corpus.checks import (
    ARTICLE_PATTERN,
    TITLE_PATTERN,
    URL_PATTERN,
    control_character,
    title_problem,
    url_problem,
)
from qa.content.corpus.ingest import parse_document

SCHEMA_TEXT = f"^{ARTICLE_PATTERN}$"

GOOD_URLS = [
    "https://example.org/zorg",
    "http://example.org",
    "HTTPS://Example.org:8443/a/b?c=d&e=f#g",
    "https://user:pass@example.org/",
    "http://[2001:db8::1]:80/x",
    "https://exemple.fr/économie/puces-ia",
    "http://127.0.0.1/",
]
BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://example.org/file",
    "file:///etc/passwd",
    "//example.org/path",
    "/relative/path",
    "example.org",
    "http://",
    "http:///path",
    "https://:443/",
    "https://@/",
    "http://exa mple.org/",
    "https://example.org/\x00",
    "https://example.org/\n",
    "https://example.org\\@evil.test/",
    "https://example.org/a b",
    "",
]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_a_web_url_with_a_host_is_accepted(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize("url", BAD_URLS)
def test_any_other_url_is_refused_saying_what_is_stored(url: str) -> None:
    problem = url_problem(url)

    assert problem is not None
    assert problem.startswith("only http:// and https:// URLs with a host are stored (got ")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Titre\n\nUne phrase\x00 ici.", "U+0000 at line 3, column 11"),
        ("Un \x1b[31mrouge\x1b[0m.", "U+001B at line 1, column 4"),
        ("Titre\r\nUne\x0cphrase.", "U+000C at line 2, column 4"),
        ("Une phrase\x7f.", "U+007F at line 1, column 11"),
        ("Une\x85phrase.", "U+0085 at line 1, column 4"),
        ("\x9f", "U+009F at line 1, column 1"),
    ],
)
def test_a_control_character_is_named_with_its_line_and_column(text: str, where: str) -> None:
    assert control_character(text) == f"control character {where} (not allowed in an article)"


def test_tabs_line_breaks_and_any_printable_character_are_not_control_characters() -> None:
    assert control_character("Titre\r\n\n\tUne phrase « ici », à 19,4 % \u00a0€ — 漢字 🙂.") is None


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        ("Un titre\nEt une autre ligne", "a line break at column 9: a title is one line"),
        ("Un titre\r", "a line break at column 9: a title is one line"),
        ("Un\x00titre", "control character U+0000 at line 1, column 3"),
    ],
)
def test_a_title_is_one_line_without_control_characters(title: str, problem: str) -> None:
    assert (title_problem(title) or "").startswith(problem)
    assert title_problem("La puce Zorg-7\tarrive") is None


def matches(pattern: str, value: str) -> bool:
    return bool(jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(value))


# Strings near the edges of the rules: URL-like pieces and characters from every class.
PIECES = st.sampled_from(
    ["http", "https", "HTTP", "javascript:", "://", "/", "?", "#", "@", ":", "[", "]", "::1",
     "example.org", "80", " ", "\\", "\x00", "\t", "\n", "\r", "\x7f", "\x85", "\xa0", "é"]
)  # fmt: skip
EDGY = st.lists(PIECES | st.characters(), max_size=12).map("".join)


@settings(max_examples=400, derandomize=True, database=None)
@given(EDGY | st.from_regex(URL_PATTERN, fullmatch=True))
def test_the_url_pattern_of_the_schema_accepts_exactly_what_the_check_accepts(url: str) -> None:
    assert matches(f"^{URL_PATTERN}$", url) == (url_problem(url) is None)


@settings(max_examples=300, derandomize=True, database=None)
@given(EDGY | st.text())
def test_the_title_pattern_of_the_schema_accepts_exactly_what_the_check_accepts(
    title: str,
) -> None:
    assert matches(f"^{TITLE_PATTERN}$", title) == (title_problem(title) is None)


# No deadline: ingest detects each article's language, whose first call loads its profiles.
@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.from_regex(ARTICLE_PATTERN, fullmatch=True).filter(lambda t: matches(SCHEMA_TEXT, t)))
def test_every_text_the_article_pattern_allows_is_an_article_ingest_accepts(text: str) -> None:
    document = parse_document("fuzzed.txt", text.encode("utf-8"))

    assert any(block.kind == "paragraph" for block in document.blocks)


@pytest.mark.parametrize(
    "text",
    [
        "ab cd.",
        "Lire aussi :\nab cd ef 19.\n© Photo",
        "Titre\r\n\r\nab cd.\r\nPartagez cet article",
    ],
)
def test_the_article_pattern_allows_a_paragraph_line_anywhere(text: str) -> None:
    assert matches(SCHEMA_TEXT, text)
    assert parse_document("a.txt", text.encode()).blocks


@pytest.mark.parametrize("text", ["ab cd.\x00", "\x1bab cd.", "ab cd.\n\x85", "ab cd", "Ab."])
def test_the_article_pattern_refuses_control_characters_and_texts_without_the_line(
    text: str,
) -> None:
    assert not matches(SCHEMA_TEXT, text)
