"""Admission control as pure logic: blocking work stands for searches (the real service under
load is in tests/integration/test_ops.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from qa.errors import ClientGoneError, OverloadedError
from qa.serve.admission import Admission, AdmissionLimits, is_costly


async def present() -> bool:
    return False


async def gone() -> bool:
    return True


def blocker(release: threading.Event, log: list[str], name: str) -> Callable[[], str]:
    def work() -> str:
        log.append(f"start {name}")
        release.wait(10)
        return name

    return work


async def settle() -> None:
    """Lets the event loop run the tasks just created up to their first wait."""
    for _ in range(5):
        await asyncio.sleep(0.01)


def test_search_beyond_workers_and_queue_is_refused_at_once() -> None:
    async def scenario() -> None:
        admission = Admission(AdmissionLimits(workers=1, max_queued=1, deadline_s=30))
        release, log = threading.Event(), []
        running = asyncio.create_task(
            admission.run(blocker(release, log, "a"), costly=False, client_gone=present)
        )
        queued = asyncio.create_task(
            admission.run(blocker(release, log, "b"), costly=False, client_gone=present)
        )
        await settle()
        started = time.monotonic()
        with pytest.raises(OverloadedError, match="busy") as refused:
            await admission.run(blocker(release, log, "c"), costly=False, client_gone=present)
        assert time.monotonic() - started < 0.1
        assert refused.value.retry_after >= 1
        release.set()
        assert [await running, await queued] == ["a", "b"]
        assert "start c" not in log
        assert admission.admitted == 0
        admission.close()

    asyncio.run(scenario())


def test_search_waiting_past_its_deadline_is_dropped_without_running() -> None:
    async def scenario() -> None:
        admission = Admission(AdmissionLimits(workers=1, max_queued=5, deadline_s=0.3))
        release, log = threading.Event(), []
        running = asyncio.create_task(
            admission.run(blocker(release, log, "a"), costly=False, client_gone=present)
        )
        await settle()
        started = time.monotonic()
        with pytest.raises(OverloadedError, match=r"waited 0\.3 s"):
            await admission.run(blocker(release, log, "late"), costly=False, client_gone=present)
        assert 0.25 < time.monotonic() - started < 2
        release.set()
        await running
        assert log == ["start a"]
        admission.close()

    asyncio.run(scenario())


def test_search_whose_client_has_gone_is_not_computed() -> None:
    async def scenario() -> None:
        admission = Admission(AdmissionLimits(workers=1, max_queued=5, deadline_s=5))
        release, log = threading.Event(), []
        release.set()
        with pytest.raises(ClientGoneError):
            await admission.run(blocker(release, log, "a"), costly=False, client_gone=gone)
        assert log == []
        admission.close()

    asyncio.run(scenario())


def test_costly_searches_leave_a_worker_to_ordinary_ones() -> None:
    async def scenario() -> None:
        admission = Admission(AdmissionLimits(workers=2, max_queued=10, deadline_s=30))
        release, log = threading.Event(), []
        costly = [
            asyncio.create_task(
                admission.run(blocker(release, log, f"costly{i}"), costly=True, client_gone=present)
            )
            for i in range(3)
        ]
        await settle()
        ordinary = asyncio.create_task(
            admission.run(lambda: "ordinary", costly=False, client_gone=present)
        )
        # One costly search computes; the ordinary one gets the other worker at once.
        assert await asyncio.wait_for(ordinary, 2) == "ordinary"
        assert log == ["start costly0"]
        release.set()
        assert await asyncio.gather(*costly) == ["costly0", "costly1", "costly2"]
        admission.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("question", "k", "costly"),
    [("puce", 5, False), ("puce", 20, False), ("puce", 21, True), ("a" * 501, 1, True)],
)
def test_a_long_question_or_a_large_k_is_costly(question: str, k: int, costly: bool) -> None:
    assert is_costly(question, k) is costly
