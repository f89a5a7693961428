"""Segments: create, change, delete, count. Used by the admin pages, the REST API, the
``newsletter segments`` commands and issue targeting; the rules themselves are
``segments.rules``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from ..accounts import audit
from ..database import for_edit, unique_or
from ..errors import EditConflict, NotAllowed, NotFound
from ..extensions import db
from ..jobs import writer
from ..models import Issue, IssueStatus, MailingList, Segment
from ..subscribers.addresses import InvalidInput, strict_name
from . import counting, indexes
from . import rules as segment_rules
from .rules import RuleError as RuleError  # callers catch service.RuleError too

# An issue in one of these states has not been sent: deleting its segment would change whom
# it goes to, so it is refused. Sent and cancelled issues keep their deliveries as their
# audience and let go of the segment.
UNSENT = (IssueStatus.DRAFT, IssueStatus.SCHEDULED, IssueStatus.SENDING, IssueStatus.PAUSED)


class NameProblem(ValueError):
    """The name cannot be used (empty, too long, control characters); ``field`` is ``name``."""

    field = "name"


class NameTaken(NameProblem, NotAllowed):
    """Another segment has that name (names are unique: the CLI finds segments by name)."""


class NoSuchSegment(NotFound):
    """There is no segment with that id or name."""

    def __init__(self, key: int | str) -> None:
        super().__init__(f"no such segment: {key!r}")


def get(segment_id: int) -> Segment:
    """The segment with this id, or :class:`NoSuchSegment`."""
    found = db.session.get(Segment, segment_id)
    if found is None:
        raise NoSuchSegment(segment_id)
    return found


def by_name(name: str) -> Segment:
    """The segment with this name, or :class:`NoSuchSegment`."""
    found = db.session.scalar(select(Segment).where(Segment.name == name.strip()))
    if found is None:
        raise NoSuchSegment(name)
    return found


def all_segments() -> list[Segment]:
    """Every segment, by name."""
    return list(db.session.scalars(select(Segment).order_by(Segment.name)))


def checked(rules: object) -> dict[str, Any]:
    """``rules.check`` against the lists that exist now: :class:`RuleError` names a rule
    whose list does not exist (a typo would otherwise match no one, silently)."""
    return segment_rules.check(rules, lists=set(db.session.scalars(select(MailingList.slug))))


def create(name: str, rules: object) -> Segment:
    """A new segment; :class:`RuleError`, :class:`NameProblem` or :class:`NameTaken` and
    nothing saved when it cannot be."""
    segment = Segment(name=_name(name), rules=checked(rules))
    with unique_or(_taken(segment.name)):
        db.session.add(segment)
        indexes.ensure_for(segment.rules)
        audit.record("segment.create", segment.name)
        db.session.commit()
    return segment


def update(
    segment_id: int, name: str | None = None, rules: object = None, edited_from: str = ""
) -> Segment:
    """Rename the segment and/or replace its rules (``None``: keep). ``edited_from``: the edit
    stamp its form was opened on; if it was saved since, :class:`EditConflict`, nothing saved."""
    segment = get(segment_id)
    new_name = _name(name, segment.id) if name is not None else segment.name
    new_rules = checked(rules) if rules is not None else segment.rules
    with writer.turn(), unique_or(_taken(new_name)):
        try:
            for_edit(Segment, segment_id, edited_from, "segment")
        except EditConflict:
            db.session.rollback()
            raise
        segment.name, segment.rules = new_name, new_rules
        indexes.ensure_for(new_rules)
        audit.record("segment.update", segment.name)
        db.session.commit()
    return segment


def delete(segment_id: int) -> None:
    """Delete the segment; :class:`NotAllowed` while an issue not yet sent targets it."""
    segment = get(segment_id)
    _refuse_if_waiting(segment)
    # Only sent issues let go of it. A draft that chose it after the check above keeps it, and
    # the database refuses the delete (RESTRICT): cleared, the draft would go to all its lists.
    db.session.execute(
        sql_update(Issue)
        .where(Issue.segment_id == segment.id, Issue.status.not_in(UNSENT))
        .values(segment_id=None)
    )
    try:
        db.session.delete(segment)
        audit.record("segment.delete", segment.name)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _refuse_if_waiting(get(segment_id))
        raise


def _refuse_if_waiting(segment: Segment) -> None:
    waiting = db.session.scalar(
        select(Issue.subject).where(Issue.segment_id == segment.id, Issue.status.in_(UNSENT))
    )
    if waiting is not None:
        raise NotAllowed(
            f"The segment {segment.name!r} is the audience of an issue not yet sent "
            f"({waiting!r}): choose another audience for it first."
        )


def count(rules: object) -> int:
    """How many subscribers (in any state) the rules match now, without saving anything;
    :class:`RuleError` for rules that cannot be used."""
    return _count(checked(rules))


def count_saved(segment_id: int) -> int:
    """How many subscribers the saved segment matches now."""
    return _count(get(segment_id).rules)


def _count(rules: dict[str, Any]) -> int:
    return db.session.scalar(counting.query(rules)) or 0


def _name(name: str, segment_id: int | None = None) -> str:
    try:
        name = strict_name((name or "").strip())
    except InvalidInput as exc:
        raise NameProblem(str(exc)) from None
    if not name:
        raise NameProblem("A segment needs a name.")
    other = db.session.scalar(select(Segment.id).where(Segment.name == name))
    if other is not None and other != segment_id:
        raise _taken(name)
    return name


def _taken(name: str) -> NameTaken:
    return NameTaken(f"A segment {name!r} already exists.")
