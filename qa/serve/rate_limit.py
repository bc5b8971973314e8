"""Rate limits per API key or client address, with the `limits` library (moving window, kept in
this process's memory: one limit per server process).

A request carrying a configured API key (`Authorization: Bearer KEY`, checked by `qa.serve.access`)
counts against its key's limit (600 a minute unless set, so that one leaked key cannot take the
whole service); any other request, an unknown key included, counts against its client address
(no limit unless set), so that inventing keys buys nothing. The address is the connection's, or
the one a trusted proxy forwarded (`ProxyHeadersMiddleware`, configured with the trusted
proxies, sets it before this runs).

The routes that read the index are limited (`READERS` in `qa.serve.deps`); the admin key reads
under the same rule, with a budget of its own. The document API is not: only the admin key
reaches it, and its writes go one at a time through the index's writer lock.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from qa.errors import RateLimitedError


class RateLimiter:
    def __init__(self, per_address: str | None, per_key: str | None) -> None:
        """`per_address` and `per_key` in the `limits` notation ("60/minute", "10/second");
        None for no limit."""
        self._per_address = parse(per_address) if per_address else None
        self._per_key = parse(per_key) if per_key else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, api_key: str | None, address: str) -> None:
        """Counts one request, against `api_key` (a configured key) if given, else against the
        address; RateLimitedError if it is over its limit."""
        if api_key is not None:
            self._hit(self._per_key, "key", api_key)
        else:
            self._hit(self._per_address, "address", address)

    def _hit(self, limit: RateLimitItem | None, kind: str, identity: str) -> None:
        if limit is None or self._limiter.hit(limit, kind, identity):
            return
        reset_at = self._limiter.get_window_stats(limit, kind, identity).reset_time
        raise RateLimitedError(
            f"rate limit of {limit} per {'API key' if kind == 'key' else 'client'} reached",
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )
