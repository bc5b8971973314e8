"""The rate limits the settings give the limiter: a rate setting that is not a rate is refused,
keys are limited by default, an empty setting lifts that limit (the limits on the real app:
tests/integration/test_rate_limit.py)."""

from __future__ import annotations

import pytest

from qa.errors import QAError, RateLimitedError
from qa.serve.rate_limit import RateLimiter
from qa.settings import load_settings

DEFAULT_KEY_RATE = 600  # per minute


@pytest.mark.parametrize("rate", ["lots", "3 per fortnight", "/minute"])
def test_a_rate_that_is_not_one_is_refused(rate: str) -> None:
    with pytest.raises(QAError, match=r"QA_RATE_LIMIT: .*not a rate"):
        load_settings({"rate_limit": rate})


def limiter_of_the_environment() -> RateLimiter:
    settings = load_settings({})
    return RateLimiter(settings.rate_limit, settings.api_key_rate_limit)


def test_a_key_is_limited_to_600_a_minute_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("QA_RATE_LIMIT", "QA_API_KEY_RATE_LIMIT"):
        monkeypatch.delenv(variable, raising=False)
    limiter = limiter_of_the_environment()

    for _ in range(DEFAULT_KEY_RATE):
        limiter.check("key-one", "192.0.2.7")
    with pytest.raises(RateLimitedError, match="600 per 1 minute per API key") as refused:
        limiter.check("key-one", "192.0.2.7")

    assert 1 <= refused.value.retry_after <= 60
    limiter.check("key-two", "192.0.2.7")  # another key has its own budget
    for _ in range(2 * DEFAULT_KEY_RATE):  # and an address none unless QA_RATE_LIMIT is set
        limiter.check(None, "192.0.2.7")


def test_an_empty_key_rate_lifts_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_API_KEY_RATE_LIMIT", "")
    limiter = limiter_of_the_environment()

    for _ in range(2 * DEFAULT_KEY_RATE):
        limiter.check("key-one", "192.0.2.7")
