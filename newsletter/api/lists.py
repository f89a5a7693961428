"""``/api/v1/lists``: the mailing lists, as the admin's lists page offers them.

``DELETE`` archives, as the admin does (the admin has no delete): the list leaves signup and
compose, its subscriptions are kept, and ``PATCH {"archived": false}`` restores it.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.roles import requires
from ..lists import service
from ..models import MailingList, Role
from . import bp
from .errors import problem
from .spec import Answers, spec

TAGS = ["lists"]
# The service's names for fields the API calls otherwise.
FIELDS = {"is_public": "public", "is_default": "default"}
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


class ListOut(BaseModel):
    """A mailing list."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    slug: str
    name: str
    description: str
    is_public: bool = Field(alias="public", description="Offered on the signup form.")
    is_default: bool = Field(alias="default", description="Joined by a signup naming no list.")
    archived_at: datetime | None = Field(description="Set while archived (DELETE).")
    members: dict[str, int] = Field(
        description="Subscriptions per state (pending, confirmed, unsubscribed), and "
        "audience: whom a send would reach now."
    )


class ListsOut(BaseModel):
    """Every list, active ones first, then by name."""

    items: list[ListOut]


class ListIn(BaseModel):
    """A new list."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="Fixed once made.")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field("", max_length=10_000, pattern=NO_NUL)
    is_public: bool = Field(False, alias="public")
    is_default: bool = Field(False, alias="default", description="Needs public too.")


class ListPatch(BaseModel):
    """The fields to change; those left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    description: str | None = Field(None, max_length=10_000, pattern=NO_NUL)
    is_public: bool | None = Field(None, alias="public")
    is_default: bool | None = Field(None, alias="default")
    archived: bool | None = Field(None, description="false restores an archived list.")


def _out(mailing_list: MailingList, counts: dict[int, dict[str, int]]) -> ListOut:
    members = counts.get(mailing_list.id) or service.zero_counts()
    return ListOut.model_validate(
        {
            "id": mailing_list.id,
            "slug": mailing_list.slug,
            "name": mailing_list.name,
            "description": mailing_list.description,
            "public": mailing_list.is_public,
            "default": mailing_list.is_default,
            "archived_at": mailing_list.archived_at,
            "members": members,
        }
    )


def _one(mailing_list: MailingList) -> ListOut:
    return _out(mailing_list, service.member_counts())


@bp.errorhandler(service.ListProblem)
def _refused(exc: service.ListProblem) -> Response:
    if isinstance(exc, service.SlugTaken):
        return problem(409, str(exc))
    field = FIELDS.get(exc.field, exc.field) or "body"
    return problem(422, str(exc), errors=[{"field": field, "message": str(exc)}])


@bp.get("/lists")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(HTTP_200=ListsOut), tags=TAGS)
def list_lists() -> ListsOut:
    """Every list, with its member counts."""
    counts = service.member_counts()
    return ListsOut(items=[_out(lst, counts) for lst in service.all_lists()])


@bp.post("/lists")
@requires(Role.EDITOR)
@spec.validate(json=ListIn, resp=Answers(409, 415, HTTP_201=ListOut), tags=TAGS)
def create_list(json: ListIn) -> tuple[ListOut, int]:
    """Make a list; its slug is fixed from then on."""
    made = service.create(json.slug, json.name, json.description, json.is_public, json.is_default)
    return _one(made), 201


@bp.get("/lists/<slug>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=ListOut), tags=TAGS)
def show_list(slug: str) -> ListOut:
    """One list, with its member counts."""
    return _one(service.by_slug(slug))


@bp.patch("/lists/<slug>")
@requires(Role.EDITOR)
@spec.validate(json=ListPatch, resp=Answers(404, 415, HTTP_200=ListOut), tags=TAGS)
def change_list(slug: str, json: ListPatch) -> ListOut:
    """Rename, describe, make public or private, default or not; archive or restore."""
    found = service.by_slug(slug)
    return _one(service.change(found.id, json.model_dump(exclude_none=True)))


@bp.delete("/lists/<slug>")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, HTTP_200=ListOut), tags=TAGS)
def archive_list(slug: str) -> ListOut:
    """Archive the list (the admin's archive: subscriptions kept; PATCH restores it)."""
    found = service.by_slug(slug)
    return _one(service.change(found.id, {"archived": True}))
