"""Reader analytics: what readers asked (search events), what they said of the answers
(feedback), where both are kept (an `EventStore`: one SQL implementation, SQLite or PostgreSQL
through SQLAlchemy Core), and the reports an editor reads.

Owns: the event records, the `EventStore` contract and its implementation, the reports and
their exports (a question set `qa eval` reads, the unanswered clusters as CSV).
May import: qa.search.encoders.base (question embeddings for the clusters), qa.settings, qa.errors.
Imported by: qa.serve (records events, takes feedback, answers /analytics) and qa.cli
(`qa report`)."""

from qa.analytics.protocol import EventStore
from qa.analytics.records import (
    FEEDBACK_EVENTS,
    MAX_COMMENT_CHARS,
    Feedback,
    FeedbackEvent,
    SearchEvent,
    ShownResult,
    new_search_id,
)
from qa.analytics.sql import SqlEventStore, open_event_store

__all__ = [
    "FEEDBACK_EVENTS",
    "MAX_COMMENT_CHARS",
    "EventStore",
    "Feedback",
    "FeedbackEvent",
    "SearchEvent",
    "ShownResult",
    "SqlEventStore",
    "new_search_id",
    "open_event_store",
]
