"""Work on several hosts at once (`qa.content.web.parallel`): each host's items in order on one
thread, every result once, an early stop, a worker's error passed on."""

from __future__ import annotations

import threading
import time

import pytest

from qa.content.web.parallel import per_host

URLS = [f"https://{host}.example/{n}" for n in range(4) for host in "abc"]


def test_every_item_once_each_host_in_order_on_one_thread() -> None:
    seen: list[tuple[str, str]] = []

    def work(url: str) -> str:
        seen.append((url, threading.current_thread().name))
        time.sleep(0.01)
        return url.upper()

    results = list(per_host(URLS, lambda url: url, work, hosts=3))
    assert sorted(results) == sorted(url.upper() for url in URLS)
    for host in "abc":
        mine = [(url, thread) for url, thread in seen if f"//{host}." in url]
        assert [url for url, _ in mine] == [url for url in URLS if f"//{host}." in url]
        assert len({thread for _, thread in mine}) == 1


def test_hosts_run_side_by_side() -> None:
    start = time.monotonic()
    list(per_host(URLS, lambda url: url, lambda url: time.sleep(0.1), hosts=3))
    assert time.monotonic() - start < 0.8  # 12 x 0.1 s one after the other: 1.2 s


def test_one_host_or_one_thread_needs_no_thread() -> None:
    caller = threading.current_thread().name
    assert set(
        per_host(URLS, lambda url: url, lambda url: threading.current_thread().name, hosts=1)
    ) == {caller}


def test_stopping_early_stops_the_workers() -> None:
    done: list[str] = []

    def work(url: str) -> str:
        time.sleep(0.05)
        done.append(url)
        return url

    results = per_host(URLS * 5, lambda url: url, work, hosts=3)
    next(results)
    results.close()
    assert len(done) < len(URLS)
    assert not any(t.name.startswith("qa-fetch") for t in threading.enumerate())


def test_a_workers_error_reaches_the_caller() -> None:
    def work(url: str) -> str:
        if url.endswith("b.example/2"):
            raise RuntimeError("bug")
        return url

    with pytest.raises(RuntimeError, match="bug"):
        list(per_host(URLS, lambda url: url, work, hosts=3))
