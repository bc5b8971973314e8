"""Work on URLs of several hosts at once, each host's in order on one thread: a host is never
asked faster than its pace allows, and a slow host does not hold the others up."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from qa.content.web.manners import host_of

Item = TypeVar("Item")
Result = TypeVar("Result")
_POLL_S = 0.1


def per_host(
    items: Sequence[Item],
    url_of: Callable[[Item], str],
    work: Callable[[Item], Result],
    hosts: int,
) -> Iterator[Result]:
    """`work(item)` for every item, up to `hosts` hosts at once, results as they come. Closing
    the iterator early stops the workers after the item each is on."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(host_of(url_of(item)), []).append(item)
    if hosts == 1 or len(groups) <= 1:
        yield from (work(item) for item in items)
        return
    results: queue.Queue[tuple[Result] | None] = queue.Queue(maxsize=2 * hosts)
    stop = threading.Event()

    def hand_over(result: tuple[Result] | None) -> None:
        while not stop.is_set():
            try:
                results.put(result, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def run(group: list[Item]) -> None:
        try:
            for item in group:
                if stop.is_set():
                    return
                hand_over((work(item),))
        finally:
            hand_over(None)  # this group is done (or failed: its future holds why)

    with ThreadPoolExecutor(min(hosts, len(groups)), thread_name_prefix="qa-fetch") as pool:
        futures = [pool.submit(run, group) for group in groups.values()]
        try:
            running = len(futures)
            while running:
                if (result := results.get()) is None:
                    running -= 1
                else:
                    yield result[0]
        finally:
            stop.set()
    for future in futures:
        future.result()  # a worker's unexpected exception is the caller's
