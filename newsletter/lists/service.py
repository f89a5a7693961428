"""Mailing lists: create, change, archive, count their members. Used by the admin pages,
the REST API and the ``newsletter lists`` commands."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from ..accounts import audit
from ..database import unique_or
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..models import MailingList, SubscriptionStatus, utcnow
from ..subscribers import tallies

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class ListProblem(ValueError):
    """The list cannot be created or changed as asked; ``str(exc)`` says why, ``field`` names
    the form field it is about when it is about one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class SlugTaken(ListProblem, NotAllowed):
    """Another list, archived or not, already has that slug."""


class NoSuchList(NotFound):
    """There is no list with that id or slug."""

    def __init__(self, key: int | str) -> None:
        super().__init__(f"no such list: {key!r}")


def get(list_id: int) -> MailingList:
    """The list with this id, or :class:`NoSuchList`."""
    found = db.session.get(MailingList, list_id)
    if found is None:
        raise NoSuchList(list_id)
    return found


def all_lists(include_archived: bool = True) -> list[MailingList]:
    """Every list, active ones first, then by name."""
    query = select(MailingList).order_by(MailingList.archived_at.is_not(None), MailingList.name)
    if not include_archived:
        query = query.where(MailingList.archived_at.is_(None))
    return list(db.session.scalars(query))


def choosable(chosen: set[int]) -> list[MailingList]:
    """The lists compose offers an issue: the active ones, and archived ones in ``chosen``
    (those the issue already goes to, so that saving it again keeps them)."""
    return [lst for lst in all_lists() if lst.archived_at is None or lst.id in chosen]


def by_slug(slug: str) -> MailingList:
    """The list with this slug, or :class:`NoSuchList`."""
    # Not a slug's shape, so no list's (and a NUL would fail the query on PostgreSQL).
    found = None
    if _SLUG.match(slug):
        found = db.session.scalar(select(MailingList).where(MailingList.slug == slug))
    if found is None:
        raise NoSuchList(slug)
    return found


def create(
    slug: str,
    name: str,
    description: str = "",
    is_public: bool = False,
    is_default: bool = False,
) -> MailingList:
    """A new list; the slug is fixed from here on."""
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise ListProblem(
            "A slug is lowercase letters, digits and dashes (at most 64).", field="slug"
        )
    taken = SlugTaken(f"A list {slug!r} already exists.", field="slug")
    if db.session.scalar(select(MailingList.id).where(MailingList.slug == slug)):
        raise taken
    if not name.strip():
        raise ListProblem("A list needs a name.", field="name")
    _check_default(is_public, is_default)
    mailing_list = MailingList(
        slug=slug,
        name=name.strip(),
        description=description.strip(),
        is_public=is_public,
        is_default=is_default,
    )
    with unique_or(taken):
        db.session.add(mailing_list)
        audit.record("list.create", slug)
        db.session.commit()
    return mailing_list


def update(
    list_id: int, *, name: str, description: str, is_public: bool, is_default: bool
) -> MailingList:
    """Rename, describe, make public/private, make a default list or not."""
    mailing_list = get(list_id)
    if not name.strip():
        raise ListProblem("A list needs a name.", field="name")
    _check_default(is_public, is_default)
    mailing_list.name = name.strip()
    mailing_list.description = description.strip()
    mailing_list.is_public = is_public
    mailing_list.is_default = is_default
    audit.record("list.update", mailing_list.slug)
    db.session.commit()
    return mailing_list


def _check_default(is_public: bool, is_default: bool) -> None:
    # A signup that names no list joins the default lists; a private list is never offered
    # to visitors, so it cannot be one.
    if is_default and not is_public:
        raise ListProblem(
            "Only a public list can be a default list: make it public too, or not default.",
            field="is_default",
        )


def set_archived(list_id: int, archived: bool) -> MailingList:
    """Archive (hide from signup and compose; subscriptions kept) or restore a list."""
    mailing_list = get(list_id)
    mailing_list.archived_at = utcnow() if archived else None
    audit.record("list.archive" if archived else "list.restore", mailing_list.slug)
    db.session.commit()
    return mailing_list


def change(list_id: int, changes: dict[str, Any]) -> MailingList:
    """Change only the fields given (``name``, ``description``, ``is_public``, ``is_default``,
    ``archived``), keeping the rest: the API's PATCH and DELETE."""
    mailing_list = get(list_id)
    fields = dict(changes)
    archived = fields.pop("archived", None)
    if fields:
        kept = {
            "name": mailing_list.name,
            "description": mailing_list.description,
            "is_public": mailing_list.is_public,
            "is_default": mailing_list.is_default,
        }
        update(list_id, **(kept | fields))
    if archived is not None and archived != (mailing_list.archived_at is not None):
        set_archived(list_id, archived)
    return mailing_list


def member_counts() -> dict[int, dict[str, int]]:
    """Per list id, how many subscriptions are in each state, and ``audience``: how many
    subscribers a send to the list would reach now, by the sending code's own rule (a confirmed
    subscription whose subscriber has since bounced or complained is not in it)."""
    return tallies.list_counts()  # kept by the database's triggers, not counted per view


def zero_counts() -> dict[str, int]:
    """The counts of a list nobody has joined."""
    return {"audience": 0, **{s.value: 0 for s in SubscriptionStatus}}
