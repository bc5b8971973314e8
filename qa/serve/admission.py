"""Admission control: how many searches are computed and wait at once, and for how long.

Searches run on their own small thread pool (`workers` threads), never on the event loop nor on
the pool that other routes share. At most `workers + max_queued` searches are admitted at a
time; the next one is refused at once (`OverloadedError`, a 503 with `Retry-After`) rather than
left to time out. An admitted search that has not started within `deadline_s` is dropped, and
one whose client has gone by the time it would start is dropped too: no work is done for
nobody. Costly searches (a long question or a large k) take one of `costly_workers` lanes as
well as a worker, so a flood of them keeps the remaining workers for ordinary questions.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TypeVar

from qa.errors import ClientGoneError, OverloadedError

Result = TypeVar("Result")

# Above these a search is costly: measured on this machine (docs/measurements.md, "Costly
# searches"), a
# 2,000-character question costs about 6x a one-line one and k = 50 about 3.4x k = 5; 500
# characters is about 125 model tokens, a long paragraph, and 20 passages fill a screen.
COSTLY_QUESTION_CHARS = 500
COSTLY_K = 20
# Weight of the newest duration in the running mean that estimates Retry-After.
DURATION_SMOOTHING = 0.2


@dataclass(frozen=True)
class AdmissionLimits:
    workers: int
    max_queued: int
    deadline_s: float
    costly_workers: int = 1


class AdmissionHooks:
    """What admission tells the outside (metrics); does nothing by default."""

    def queued(self, delta: int) -> None:
        """`delta` searches joined (+) or left (-) the queue."""

    def running(self, delta: int) -> None:
        """`delta` searches started (+) or finished (-) computing."""

    def refused(self, reason: str) -> None:
        """A search was refused: "queue_full", "deadline" or "client_gone"."""


def is_costly(question: str, k: int) -> bool:
    return len(question) > COSTLY_QUESTION_CHARS or k > COSTLY_K


class Admission:
    """Admits, queues, runs or refuses searches. Create it inside the running event loop."""

    def __init__(self, limits: AdmissionLimits, hooks: AdmissionHooks | None = None) -> None:
        self.limits = limits
        self.hooks = hooks or AdmissionHooks()
        self._workers = asyncio.Semaphore(limits.workers)
        self._costly = asyncio.Semaphore(min(limits.costly_workers, limits.workers))
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="search")
        self._admitted = 0
        self._mean_duration_s = 0.05

    @property
    def admitted(self) -> int:
        """Searches waiting or being computed."""
        return self._admitted

    async def run(
        self,
        work: Callable[[], Result],
        *,
        costly: bool,
        client_gone: Callable[[], Awaitable[bool]],
    ) -> Result:
        """`work()` on the search pool once a worker is free, unless refused."""
        self.refuse_if_full()
        self._admitted += 1
        try:
            async with AsyncExitStack() as slots:
                await self._wait_for_slots(slots, costly)
                if await client_gone():
                    self.hooks.refused("client_gone")
                    raise ClientGoneError("the client closed the connection before its search")
                return await self._compute(work)
        finally:
            self._admitted -= 1

    def refuse_if_full(self) -> None:
        """OverloadedError if every worker and waiting place is taken: what `run` would say,
        asked before the request is even read (`qa.serve.shedding`)."""
        if self._admitted >= self.limits.workers + self.limits.max_queued:
            self.hooks.refused("queue_full")
            raise OverloadedError(
                f"the service is busy ({self._admitted} searches in progress or waiting); "
                "try again shortly",
                retry_after=self._retry_after(),
            )

    async def _wait_for_slots(self, slots: AsyncExitStack, costly: bool) -> None:
        loop = asyncio.get_running_loop()
        self.hooks.queued(1)
        try:
            async with asyncio.timeout_at(loop.time() + self.limits.deadline_s):
                if costly:
                    await self._costly.acquire()
                    slots.callback(self._costly.release)
                await self._workers.acquire()
                slots.callback(self._workers.release)
        except TimeoutError:
            self.hooks.refused("deadline")
            raise OverloadedError(
                f"the search waited {self.limits.deadline_s:g} s without starting and was "
                "dropped; try again shortly",
                retry_after=self._retry_after(),
            ) from None
        finally:
            self.hooks.queued(-1)

    async def _compute(self, work: Callable[[], Result]) -> Result:
        loop = asyncio.get_running_loop()
        self.hooks.running(1)
        started = loop.time()
        try:
            return await loop.run_in_executor(self._pool, work)
        finally:
            self.hooks.running(-1)
            duration = loop.time() - started
            self._mean_duration_s += DURATION_SMOOTHING * (duration - self._mean_duration_s)

    def _retry_after(self) -> int:
        """Seconds until the searches admitted now are likely done: at least 1."""
        backlog_s = self._admitted * self._mean_duration_s / self.limits.workers
        return max(1, math.ceil(backlog_s))

    def close(self) -> None:
        """Waits for the searches being computed, then frees the pool's threads."""
        self._pool.shutdown(wait=True)
