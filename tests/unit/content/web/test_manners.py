"""A crawler's manners (`qa.content.web.manners`): robots.txt read once per origin and obeyed,
unreachable ones blocking their host, and the pace per host across threads."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from qa.content.web import SkipReason
from qa.content.web.manners import MAX_CRAWL_DELAY_S, HostPacer, Robots, RobotsAnswer

RULES = """User-agent: *
Disallow: /brouillons/
Crawl-delay: 2

User-agent: qa-news-search
Disallow: /prive/
Crawl-delay: 3600
"""


def robots(
    answers: dict[str, RobotsAnswer], user_agent: str = "qa-news-search/0.1"
) -> tuple[Robots, list[str]]:
    asked: list[str] = []

    def fetch(origin: str) -> RobotsAnswer:
        asked.append(origin)
        return answers[origin]

    return Robots(user_agent, fetch), asked


def test_rules_are_matched_on_the_user_agents_first_word_and_read_once_per_origin() -> None:
    rules, asked = robots(
        {"https://a.example": RobotsAnswer(text=RULES), "http://b.example:8080": RobotsAnswer()}
    )
    assert rules.refusal("https://a.example/2025/article") is None
    assert rules.refusal("https://a.example/brouillons/x") is None  # its own group wins
    assert rules.refusal("https://A.example/prive/x") == (
        SkipReason.ROBOTS,
        "disallowed by https://a.example/robots.txt",
    )
    assert rules.crawl_delay("https://a.example/") == MAX_CRAWL_DELAY_S  # 3600 s, bounded
    assert rules.refusal("http://b.example:8080/prive/x") is None  # no robots.txt: all allowed
    assert rules.crawl_delay("http://b.example:8080/") == 0.0
    assert asked == ["https://a.example", "http://b.example:8080"]


def test_another_user_agent_gets_the_star_group() -> None:
    rules, _ = robots({"https://a.example": RobotsAnswer(text=RULES)}, user_agent="other-bot/2")
    assert rules.refusal("https://a.example/brouillons/x") is not None
    assert rules.refusal("https://a.example/prive/x") is None
    assert rules.crawl_delay("https://a.example/x") == 2.0


def test_a_blocked_origin_allows_nothing() -> None:
    why = (SkipReason.ROBOTS, "https://a.example/robots.txt unavailable (HTTP 503)")
    rules, _ = robots({"https://a.example": RobotsAnswer(blocked=why)})
    assert rules.refusal("https://a.example/") == why
    assert rules.refusal("https://a.example/anything") == why


def test_threads_asking_at_once_fetch_robots_txt_once() -> None:
    asked: list[str] = []

    def slow_fetch(origin: str) -> RobotsAnswer:
        asked.append(origin)
        time.sleep(0.2)
        return RobotsAnswer(text=RULES)

    rules = Robots("qa-news-search", slow_fetch)
    threads = [
        threading.Thread(target=rules.refusal, args=("https://a.example/x",)) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert asked == ["https://a.example"]


def test_the_pace_holds_per_host_across_threads() -> None:
    # Intervals long against a loaded machine's scheduling jitter (moments are taken after
    # `wait` returns), bounds far from what a pacer shared by both hosts would give.
    interval = 0.3
    pacer = HostPacer(interval)
    moments: dict[str, list[float]] = {"a": [], "b": []}
    lock = threading.Lock()

    def ask(host: str) -> None:
        pacer.wait(host)
        with lock:
            moments[host].append(time.monotonic())

    start = time.monotonic()
    threads = [threading.Thread(target=ask, args=(host,)) for host in "ababab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    for times in moments.values():
        times.sort()
        assert len(times) == 3
        assert (
            min(later - earlier for earlier, later in itertools.pairwise(times)) >= interval * 0.9
        )
    # The two hosts run side by side: three requests each take two intervals, not five.
    assert time.monotonic() - start < interval * 4


@pytest.mark.parametrize("longer", [0.0, 0.25])
def test_a_longer_interval_asked_for_wins(longer: float) -> None:
    pacer = HostPacer(0.05)
    pacer.wait("a", at_least=longer)
    start = time.monotonic()
    pacer.wait("a", at_least=longer)
    assert time.monotonic() - start >= max(0.05, longer) * 0.9
