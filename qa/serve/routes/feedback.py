"""`POST /feedback`: a reader's judgment of a search (helpful, not helpful) or the opening of one
of its results, written to the analytics database before the answer (a click survives a crash
right after). Readers send it: the read keys, rate limits, body limit and CORS of `/search`
apply, not the admin key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from qa.analytics import MAX_COMMENT_CHARS, Feedback, FeedbackEvent
from qa.serve.deps import READER_RESPONSES, READERS, RecorderDep
from qa.serve.http_errors import ErrorBody
from qa.serve.request_types import Rank
from qa.serve.routes.search import require_json

router = APIRouter()

SEARCH_ID_CHARS = 64  # ids are 32 hex digits; longer is no id at all


class FeedbackFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search_id: str = Field(
        min_length=1,
        max_length=SEARCH_ID_CHARS,
        description="The `search_id` a search answered.",
        examples=["3f2c9a6b0e8d4f1a9c7b5e3d2f1a0b9c"],
    )
    comment: str | None = Field(
        None, max_length=MAX_COMMENT_CHARS, description="What the reader wrote, if anything."
    )


class Judgment(FeedbackFields):
    """The reader's judgment of the answer; the last one of a search counts."""

    event: Literal["helpful", "not_helpful"]
    rank: Rank | None = Field(None, description="The result judged (1 first), if one was.")


class Opening(FeedbackFields):
    """The reader opened the article of result `rank`."""

    event: Literal["open"]
    rank: Rank = Field(description="The result opened (1 first).")


# One of the two, told apart by `event` (the schema says that `open` needs a rank).
FeedbackRequest = Annotated[Judgment | Opening, Body(discriminator="event")]


class FeedbackReceipt(BaseModel):
    search_id: str
    event: FeedbackEvent
    rank: int | None
    recorded_at: datetime = Field(description="When it was written (UTC).")


@router.post(
    "/feedback",
    status_code=201,
    dependencies=[*READERS, Depends(require_json)],
    responses={
        **{code: {"model": ErrorBody} for code in (404, 413, 415, 503)},
        **READER_RESPONSES,
    },
)
async def post_feedback(body: FeedbackRequest, recorder: RecorderDep) -> FeedbackReceipt:
    """Record a reader's feedback on a search; answered once it is in the database. 404
    `unknown_search` for an id no search answered (or purged); 404 `not_found` when analytics
    are off; 503 when the analytics database cannot be reached."""
    feedback = Feedback(
        search_id=body.search_id,
        at=datetime.now(UTC),
        event=body.event,
        rank=body.rank,
        comment=body.comment,
    )
    # The database's commit blocks: on a thread, not the event loop.
    await asyncio.to_thread(recorder.record_feedback, feedback)
    return FeedbackReceipt(
        search_id=feedback.search_id,
        event=feedback.event,
        rank=feedback.rank,
        recorded_at=feedback.at,
    )
