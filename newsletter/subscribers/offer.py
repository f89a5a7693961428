"""The lists a visitor may sign up for. Every signup names some, and they change rarely, so
the signup path reads them from a copy kept for a moment (``OFFER_SECONDS``); a change made
in this process is seen at once, one made by another process after that moment."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import MailingList
from .addresses import InvalidInput

OFFER_SECONDS = 2.0
_PUBLIC = (MailingList.is_public, MailingList.archived_at.is_(None))
_OFFERED = select(MailingList.id, MailingList.slug, MailingList.name, MailingList.is_default).where(
    *_PUBLIC
)
_ORDER = (MailingList.name, MailingList.id)
_changes = 0  # bumped whenever this process changes a list


@dataclass(frozen=True)
class Offered:
    """A public list as a signup needs it."""

    id: int
    slug: str
    name: str
    is_default: bool


def public_lists() -> list[MailingList]:
    """Lists a visitor may choose on the signup form: public and not archived."""
    query = select(MailingList).where(*_PUBLIC)
    return list(db.session.scalars(query.order_by(*_ORDER)))


def resolve_lists(slugs: list[str] | None) -> list[Offered]:
    """The public lists named by ``slugs``; ``None`` (a form pasted into another site names
    none) means the default lists, see ``_default_lists``."""
    offered = _offered()
    if slugs is None:
        return _default_lists(offered)
    by_slug = {ml.slug: ml for ml in offered}
    unknown = [s for s in slugs if s not in by_slug]
    if unknown:
        raise InvalidInput("lists", _l("Unknown list: %(slug)s.", slug=unknown[0][:64]))
    if offered and not slugs:
        raise InvalidInput("lists", _l("Please choose at least one list."))
    return [by_slug[s] for s in dict.fromkeys(slugs)]


def _default_lists(offered: tuple[Offered, ...]) -> list[Offered]:
    """What a signup that names no list joins: the public lists the admin marked default, or
    the only public list. With several and none marked, guessing could sign the subscriber up
    for mail they never asked for, so the visitor is asked to choose (an
    :class:`InvalidInput` for ``lists``). With no public list at all the signup joins none,
    as it always has on a site that offers no lists."""
    chosen = [ml for ml in offered if ml.is_default]
    if chosen or len(offered) <= 1:
        return chosen or list(offered)
    raise InvalidInput("lists", _l("Please choose the lists you want to join."))


def _offered() -> tuple[Offered, ...]:
    kept = current_app.extensions.get("newsletter.offer")
    now = time.monotonic()
    if kept is None or kept[0] < now or kept[1] != _changes:
        rows = db.session.execute(_OFFERED.order_by(*_ORDER))
        kept = (now + OFFER_SECONDS, _changes, tuple(Offered(*row) for row in rows))
        current_app.extensions["newsletter.offer"] = kept
    return kept[2]


@event.listens_for(Session, "after_flush")
def _lists_changed(session: Session, _context: object) -> None:
    global _changes
    if any(isinstance(o, MailingList) for o in (*session.new, *session.dirty, *session.deleted)):
        _changes += 1
