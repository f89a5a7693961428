"""What the sequences' routes take and answer: pydantic models, shown in the OpenAPI spec
exactly as they are checked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .lists import NO_NUL

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
# As ``newsletter sequences add-step --after`` takes it: whole minutes, hours or days.
Delay = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,6}[mhd]$"),
    Field(
        description="How long after the reader confirmed on the list: `0m`, `90m`, `3h`, "
        "`2d` (at most ten years)."
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepOut(BaseModel):
    """A sequence step: its mail, when it goes out, and how far it has gone."""

    id: int
    list: str = Field(description="The slug of the list whose sequence it is in.")
    position: int = Field(description="1 for the first step (the built-in welcome mail is 0).")
    subject: str
    body_markdown: str
    after_seconds: int = Field(description="The delay after confirming (`after`), in seconds.")
    catch_up: bool = Field(
        description="It reaches every reader confirmed on the list, not only those not yet "
        "past its delay when it was added."
    )
    sent: int
    due: int = Field(description="Readers past its delay who have not had it yet.")
    skipped: int = Field(description="Readers who had left or could not be mailed when due.")
    failed: int
    unknown: int
    created_at: datetime
    updated_at: datetime


class StepsOut(BaseModel):
    """Steps, by list and then in their order."""

    items: list[StepOut]


class StepQuery(_Strict):
    """Which list's steps ``GET /sequences`` answers with (every list's without)."""

    list: Slug | None = None


class StepIn(_Strict):
    """A new step, added at the end of the list's sequence."""

    list: Slug = Field(description="The list's slug.")
    subject: Text = Field(min_length=1, max_length=300)
    body_markdown: Text = Field("", max_length=1_000_000)
    after: Delay
    catch_up: bool = Field(
        False,
        description="Send it to every reader confirmed on the list, also those already past "
        "its delay (at the next tick). Without it, only readers not yet past the delay.",
    )


class StepPatch(_Strict):
    """Changes to a step; what is left out stays. Nobody who got it is sent it again."""

    subject: Text | None = Field(None, min_length=1, max_length=300)
    body_markdown: Text | None = Field(None, max_length=1_000_000)
    after: Delay | None = None
    position: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Move it to this place (1: first; past the end: last). A reader gets a "
        "step only once the ones before it went out to them.",
    )


class StepDeleted(BaseModel):
    """The step is gone; copies already sent stay sent, those waiting are cancelled."""

    id: int
    deleted: bool


class SequenceOut(BaseModel):
    """A list's sequence as a whole: whether it runs, the welcome mail, and its steps."""

    list: str
    paused: bool
    paused_at: datetime | None
    welcome: bool = Field(description="The built-in welcome mail goes out on confirmation.")
    steps: list[StepOut]


class SequencePatch(_Strict):
    """Pause or resume the list's sequence; turn its welcome mail on or off."""

    paused: bool | None = Field(None, description="true pauses every step; false resumes.")
    welcome: bool | None = Field(None, description="false: readers get step 1 first.")
