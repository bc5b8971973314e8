"""A rate limit setting that is not a rate is refused (the limits on the real app:
tests/integration/test_rate_limit.py)."""

from __future__ import annotations

import pytest

from qa.errors import QAError
from qa.settings import load_settings


@pytest.mark.parametrize("rate", ["lots", "3 per fortnight", "/minute"])
def test_a_rate_that_is_not_one_is_refused(rate: str) -> None:
    with pytest.raises(QAError, match=r"QA_RATE_LIMIT: .*not a rate"):
        load_settings({"rate_limit": rate})
