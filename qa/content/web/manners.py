"""A crawler's manners: each host's robots.txt, read once per run, and a pace per host."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from qa.content.web.outcomes import SkipReason

# A robots.txt's Crawl-delay is obeyed up to this many seconds; a larger one would stall a run
# for hours on one host (the politer choice then is to leave the host to a later run).
MAX_CRAWL_DELAY_S = 60.0


@dataclass(frozen=True)
class RobotsAnswer:
    """A host's robots.txt as fetched: its rules (`text`), or none (a 4xx: anything goes), or
    `blocked`: nothing goes for now, and why (a 5xx or a timeout, as Google does; a private
    address)."""

    text: str | None = None
    blocked: tuple[SkipReason, str] | None = None


class Robots:
    """Each origin's robots.txt, fetched by `fetch_robots(origin)` on first use and kept for
    the life of this object (one run). Thread-safe: one fetch per origin."""

    def __init__(self, user_agent: str, fetch_robots: Callable[[str], RobotsAnswer]) -> None:
        self.user_agent = user_agent
        self._fetch = fetch_robots
        self._answers: dict[str, tuple[RobotsAnswer, Protego | None]] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def refusal(self, url: str) -> tuple[SkipReason, str] | None:
        """Why `url` may not be fetched, or None when it may."""
        origin = origin_of(url)
        answer, rules = self._answer_of(origin)
        if answer.blocked:
            return answer.blocked
        if rules is not None and not rules.can_fetch(url, self.user_agent):
            return SkipReason.ROBOTS, f"disallowed by {origin}/robots.txt"
        return None

    def crawl_delay(self, url: str) -> float:
        """The host's Crawl-delay for this user agent, in seconds (0 without one)."""
        _, rules = self._answer_of(origin_of(url))
        delay = rules.crawl_delay(self.user_agent) if rules is not None else None
        return min(float(delay or 0.0), MAX_CRAWL_DELAY_S)

    def _answer_of(self, origin: str) -> tuple[RobotsAnswer, Protego | None]:
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            if origin not in self._answers:
                answer = self._fetch(origin)
                rules = Protego.parse(answer.text) if answer.text else None
                self._answers[origin] = answer, rules
            return self._answers[origin]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostPacer:
    """At most one request per `interval` seconds to each host, across threads: a caller
    reserves the host's next free moment, then sleeps until it."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, *, at_least: float = 0.0) -> None:
        with self._lock:
            now = time.monotonic()
            moment = max(now, self._next.get(host, now))
            self._next[host] = moment + max(self.interval, at_least)
        time.sleep(moment - now)
