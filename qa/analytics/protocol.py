"""The contract every event store keeps (as `qa.search.store.protocol.Store` for passages): one
implementation per engine, each running the conformance tests in tests/integration/analytics/."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from qa.analytics.records import Feedback, SearchEvent


class EventStore(Protocol):
    def record_searches(self, events: Sequence[SearchEvent]) -> None:
        """Insert these searches in one transaction (a batch of the background writer)."""
        ...

    def record_feedback(self, feedback: Feedback) -> None:
        """Insert a feedback durably (committed when this returns); `UnknownSearchError` if
        its search was never recorded, `InvalidFeedbackError` if its rank is past the
        search's results."""
        ...

    def purge(self, before: datetime) -> int:
        """Delete the searches (and their feedback) older than `before`; how many went."""
        ...

    def close(self) -> None: ...
