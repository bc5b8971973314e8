"""QA_API_KEYS: `name:key` entries and bare keys (named by position); the name is what the
analytics record, and no error message ever shows a key."""

from __future__ import annotations

import pytest

from qa.errors import QAError
from qa.settings import load_settings


def names_and_keys(value: str) -> list[tuple[str, str]]:
    keys = load_settings({"api_keys": value}).api_keys
    return [(named.name, named.key.get_secret_value()) for named in keys]


def test_named_and_bare_keys_mix() -> None:
    assert names_and_keys("site-a:alpha-key, bare-key ,mobile_app.v2:with:colons") == [
        ("site-a", "alpha-key"),
        ("key-2", "bare-key"),
        ("mobile_app.v2", "with:colons"),  # split at the first colon only
    ]


def test_the_existing_form_still_works() -> None:
    assert names_and_keys("one,two") == [("key-1", "one"), ("key-2", "two")]
    assert load_settings({}).api_keys == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("bad name:secret-one", "entry 1 is not name:key"),
        (":secret-one", "entry 1 is not name:key"),
        ("name:", "entry 1 is not name:key"),
        ("x:secret-one,x:secret-two", "two keys are named x"),
        ("secret-one,key-1:secret-two", "two keys are named key-1"),
        ("admin:secret-one", "admin is the name of QA_ADMIN_API_KEY"),
    ],
)
def test_a_bad_entry_is_one_error_that_never_shows_a_key(value: str, said: str) -> None:
    with pytest.raises(QAError) as refused:
        load_settings({"api_keys": value})
    message = str(refused.value)
    assert message.startswith("invalid setting: QA_API_KEYS: ")
    assert said in message
    assert "secret" not in message
