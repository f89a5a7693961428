"""What the segments' routes take and answer: pydantic models, shown in the OpenAPI spec.

``rules`` is free JSON to pydantic (any object): the rule tree's grammar is checked by
``segments.rules.check``, whose message names the rule at fault (``rule 2: unknown field
'citty'``); the route answers that as a 422 on the field ``rules``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..models import Segment
from .schemas_subscribers import NO_CONTROL

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
RULES = (
    'A group {"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"} and '
    "further groups (at most 5 deep, 50 conditions). Fields: list (a slug), status, email, "
    "name, attributes.KEY, signed_up_at, confirmed_at. Ops: eq, ne, contains, in (a list), "
    "exists (true/false); for dates before, after (YYYY-MM-DD) and within_days (days)."
)
EXAMPLE = {"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentOut(BaseModel):
    """A segment, with how many subscribers (in any state) it matches now."""

    id: int
    name: str
    rules: dict[str, Any] = Field(description=RULES, examples=[EXAMPLE])
    count: int = Field(description="Subscribers the rules match now, whatever their state.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, segment: Segment, count: int | None) -> SegmentOut:
        """The answer for a saved segment and its live count."""
        return cls(
            id=segment.id,
            name=segment.name,
            rules=segment.rules,
            count=count,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )


class ListedSegment(SegmentOut):
    """A segment in the listing: its count only when asked for (``?count=true``)."""

    count: int | None = Field(
        None,
        description="With ?count=true, subscribers the rules match now; null without "
        "(each count reads the subscribers: GET /segments/{id} has it for one).",
    )


class SegmentsOut(BaseModel):
    """Every segment, by name."""

    items: list[ListedSegment]


class SegmentsQuery(_Strict):
    """Whether ``GET /segments`` counts every segment too."""

    count: bool = False


class SegmentIn(_Strict):
    """A new segment."""

    name: Name = Field(description="Unique; the CLI finds a segment by its name.")
    rules: dict[str, Any] = Field(description=RULES, examples=[EXAMPLE])


class SegmentPatch(_Strict):
    """The fields to change; those left out (or null) stay as they are."""

    name: Name | None = None
    rules: dict[str, Any] | None = Field(None, description=RULES)


class RulesIn(_Strict):
    """Rules to count, not saved."""

    rules: dict[str, Any] = Field(description=RULES, examples=[EXAMPLE])


class CountOut(BaseModel):
    """How many subscribers (in any state) the rules match now."""

    count: int


class Deleted(BaseModel):
    """The segment is gone."""

    id: int
    deleted: bool
