"""What the issues' routes take and answer: pydantic models, shown in the OpenAPI spec
exactly as they are checked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ..models import Issue
from .lists import NO_NUL

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]

IssueState = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueOut(BaseModel):
    """An issue, its lists (slugs) and where its sending stands."""

    id: int
    subject: str
    preheader: str
    body_markdown: str
    lists: list[str]
    segment: int | None = Field(description="The segment's id; null: the lists alone.")
    public: bool
    status: IssueState
    status_reason: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, issue: Issue) -> IssueOut:
        """The answer for one issue row."""
        return cls(
            id=issue.id,
            subject=issue.subject,
            preheader=issue.preheader,
            body_markdown=issue.body_md,
            lists=sorted(ml.slug for ml in issue.lists),
            segment=issue.segment_id,
            public=issue.is_public,
            status=issue.status.value,  # type: ignore[arg-type]
            status_reason=issue.status_reason,
            scheduled_at=issue.scheduled_at,
            started_at=issue.started_at,
            finished_at=issue.finished_at,
            created_at=issue.created_at,
        )


class IssuesOut(BaseModel):
    """Issues, newest first."""

    items: list[IssueOut]


class IssueQuery(_Strict):
    """How many of the newest issues ``GET /issues`` answers with."""

    limit: int = Field(100, ge=1, le=500)


class _Writable(_Strict):
    preheader: Text | None = Field(None, max_length=300)
    lists: list[Slug] | None = Field(None, max_length=100, description="Lists' slugs.")
    segment: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="A segment's id: only its subscribers (with `lists`, those on the lists who "
        "match; without, those confirmed on any list who match). Null: the lists alone.",
    )
    public: bool | None = Field(None, description="Shown in the archive and feed once sent.")
    publish_private: bool = Field(
        False, description="With `public`: publish it although a list is private (deliberate)."
    )


class IssueIn(_Writable):
    """A new draft, to its lists, its segment, or both (the intersection)."""

    subject: Text = Field(min_length=1, max_length=300)
    body_markdown: Text = Field("", max_length=1_000_000)


class IssuePatch(_Writable):
    """Changes to a draft or a scheduled issue; what is left out stays (`segment: null`
    removes the segment)."""

    subject: Text | None = Field(None, min_length=1, max_length=300)
    body_markdown: Text | None = Field(None, max_length=1_000_000)


class ScheduleIn(_Strict):
    """When to send: ISO 8601 with an offset (`2030-05-01T09:00:00+02:00`)."""

    at: AwareDatetime


class IssueProgress(BaseModel):
    """Delivery counts and pace, as ``newsletter status --json`` prints them."""

    issue_id: int
    status: IssueState
    status_reason: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    unknown: int
    cancelled: int
    skipped: int
    remaining: int
    rate: float
    eta_seconds: int | None
