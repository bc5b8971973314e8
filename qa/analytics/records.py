"""What is recorded: a search as it was answered, and a reader's feedback on it. Nothing that
identifies a reader: no address, user agent or cookie; an API key only by its name."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

FeedbackEvent = Literal["helpful", "not_helpful", "open"]
FEEDBACK_EVENTS: tuple[str, ...] = get_args(FeedbackEvent)
MAX_COMMENT_CHARS = 1_000


def new_search_id() -> str:
    """A search's id: random (it says nothing of who asked or when), 32 hex digits."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ShownResult:
    """A passage a search returned, at its rank (1 first)."""

    rank: int
    source: str
    chunk_id: int
    score: float


@dataclass(frozen=True)
class SearchEvent:
    """A search as answered. `filters` holds the conditions it was given, JSON-ready (lists of
    strings, ISO dates), absent ones left out; `api_key` is the asking key's name, None when
    the service is open or the key has none."""

    search_id: str
    at: datetime  # aware, UTC
    question: str
    language: str
    mode: str
    k: int
    filters: Mapping[str, object]
    answerable: bool
    best_score: float
    results: tuple[ShownResult, ...]
    latency_ms: float
    api_key: str | None = None


@dataclass(frozen=True)
class Feedback:
    """A reader's judgment of a search (`helpful`, `not_helpful`: `rank` optional) or the
    opening of one of its results' articles (`open`: `rank` required)."""

    search_id: str
    at: datetime  # aware, UTC
    event: FeedbackEvent
    rank: int | None = None
    comment: str | None = None
