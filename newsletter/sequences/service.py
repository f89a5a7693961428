"""A list's sequence (welcome series, drip): its steps, their progress, pausing, catch-up.

Used by the ``newsletter sequences`` commands, the REST API and the admin pages. A step is an
issue of kind ``step`` (its subject and body live there) sent to the step's list, so it is
rendered, previewed, test-sent and delivered like any issue; the tick
(:mod:`newsletter.sequences.tick`) adds its deliveries as readers come due. The step's issue
is "sending" while the list's sequence runs and "paused" while it is paused; it never
becomes "sent".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..accounts import audit
from ..delivery import jobs, queries, state
from ..errors import NotFound
from ..extensions import db
from ..issues.preview import compiled
from ..issues.service import EditConflict, for_edit
from ..jobs import writer
from ..lists import service as lists
from ..models import (
    DeliveryStatus,
    Issue,
    IssueKind,
    IssueStatus,
    MailingList,
    SequenceStep,
    utcnow,
)
from . import due, tick

_DELAY = re.compile(r"^\s*(\d{1,6})\s*([mhd])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_DELAY_SECONDS = 3650 * 86400  # ten years: anything longer is a typo
PAUSED_REASON = "The list's sequence is paused."


class NoSuchStep(NotFound):
    """There is no sequence step with that id."""

    def __init__(self, step_id: int) -> None:
        super().__init__(f"no such sequence step: {step_id}")


@dataclass
class StepProgress:
    """One step as the status command, the API and the admin show it. ``due``: readers it is
    due for and not yet sent (queued, in flight, or waiting for the next tick)."""

    id: int
    issue_id: int
    position: int
    subject: str
    after_seconds: int
    catch_up: bool
    sent: int
    due: int
    skipped: int
    failed: int
    unknown: int

    def as_dict(self) -> dict[str, object]:
        """The step as JSON-ready values."""
        return asdict(self)


def parse_delay(text: str) -> int:
    """``"90m"``, ``"3h"``, ``"2d"`` (``"0m"`` too) as seconds; ValueError otherwise."""
    found = _DELAY.match(text or "")
    if not found:
        raise ValueError(
            f"Not a delay: {text!r}. Give a whole number of minutes, hours or days, "
            "like 0m, 90m, 3h or 2d."
        )
    return _checked_delay(int(found.group(1)) * _UNIT_SECONDS[found.group(2)])


def format_delay(seconds: int) -> str:
    """A delay the way :func:`parse_delay` reads it: the largest whole unit (``90m``, ``2d``)."""
    for unit in ("d", "h"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _checked_delay(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError("The delay must be a whole number of seconds, 0 or more.")
    if seconds > MAX_DELAY_SECONDS:
        raise ValueError("The delay must be at most ten years.")
    return seconds


def get(step_id: int) -> SequenceStep:
    """The step with this id, or :class:`NoSuchStep`."""
    found = db.session.get(SequenceStep, step_id)
    if found is None:
        raise NoSuchStep(step_id)
    return found


def _steps_of(list_id: int) -> list[SequenceStep]:
    return list(
        db.session.scalars(
            select(SequenceStep)
            .where(SequenceStep.list_id == list_id)
            .order_by(SequenceStep.position, SequenceStep.id)
        )
    )


def _fill(issue: Issue, subject: str | None, body_md: str | None) -> None:
    """Set the step's mail; refuse an empty subject or a body whose expressions do not compile
    (TemplateProblem, a ValueError) before anything is saved."""
    if subject is not None:
        if not subject.strip():
            raise ValueError("A step needs a subject.")
        issue.subject = subject.strip()[:300]
    if body_md is not None:
        issue.body_md = body_md
    try:
        compiled(issue)
    except ValueError:
        db.session.rollback()  # the refused text must not ride along with a later commit
        raise


def add_step(
    list_slug: str, subject: str, body_md: str, after_seconds: int, catch_up: bool = False
) -> SequenceStep:
    """Add a step at the end of the list's sequence. It reaches readers who have not yet
    passed its delay; with ``catch_up``, every reader confirmed on the list."""
    mailing_list = lists.by_slug(list_slug)
    delay = _checked_delay(after_seconds)
    now = utcnow()
    paused = mailing_list.sequence_paused_at is not None
    issue = Issue(
        kind=IssueKind.STEP,
        preheader="",
        status=IssueStatus.PAUSED if paused else IssueStatus.SENDING,
        status_reason=PAUSED_REASON if paused else "",
        started_at=now,
        lists=[mailing_list],
    )
    _fill(issue, subject, body_md)
    step = SequenceStep(
        mailing_list=mailing_list,
        issue=issue,
        delay_seconds=delay,
        reaches_confirmed_since=None if catch_up else now - timedelta(seconds=delay),
    )
    db.session.add(step)
    # Two steps added at the same instant must not both take the place after the last: ours is
    # written (on SQLite this transaction holds the write lock from here) and the list's row
    # locked (PostgreSQL) before the last place is read, so the other waits and counts ours.
    db.session.flush()
    db.session.execute(
        select(MailingList.id)
        .where(MailingList.id == mailing_list.id)
        .with_for_update(key_share=True)
    )
    last = db.session.scalar(
        select(func.max(SequenceStep.position)).where(
            SequenceStep.list_id == mailing_list.id, SequenceStep.id != step.id
        )
    )
    step.position = (last or 0) + 1
    audit.record("sequence.add_step", f"list {list_slug}: step {step.id}, after {delay} s")
    db.session.commit()
    if catch_up:
        tick.ask_full_scan()
    return step


def update_step(
    step_id: int,
    subject: str | None = None,
    body_md: str | None = None,
    after_seconds: int | None = None,
    edited_from: str = "",
) -> SequenceStep:
    """Change a step's mail or delay. Nothing is sent again: readers who have it keep their
    copy; a new delay applies to readers not yet sent the step. ``edited_from``: the step's
    edit stamp its form was opened on, refused as ``issues.service.for_edit`` says."""
    step = get(step_id)
    delay = _checked_delay(after_seconds) if after_seconds is not None else None
    with writer.turn():
        try:
            for_edit(step.issue_id, edited_from, what="step")
        except EditConflict:
            db.session.rollback()
            raise
        _fill(step.issue, subject, body_md)
        if delay is not None:
            step.delay_seconds = delay
        step.issue.updated_at = utcnow()  # a worker's prepared copy of the old text is dropped
        audit.record("sequence.update_step", f"step {step_id}")
        db.session.commit()
    if after_seconds is not None:
        tick.ask_full_scan()  # a shorter delay makes readers due who are long past it
    return step


def delete_step(step_id: int) -> None:
    """Remove a step: deliveries not yet handed over are cancelled, then the step, its issue
    and its delivery history are deleted."""
    step = get(step_id)
    list_id, issue_id = step.list_id, step.issue_id
    state.cancel(issue_id)
    db.session.delete(step)
    db.session.flush()
    db.session.execute(Issue.__table__.delete().where(Issue.id == issue_id))
    _renumber(_steps_of(list_id))
    audit.record("sequence.delete_step", f"step {step_id}")
    db.session.commit()


def move_step(step_id: int, position: int) -> SequenceStep:
    """Move a step to ``position`` (1 = first) in its list's sequence."""
    step = get(step_id)
    ordered = [s for s in _steps_of(step.list_id) if s.id != step.id]
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise ValueError("The position must be 1 or more.")
    ordered.insert(min(position, len(ordered) + 1) - 1, step)
    _renumber(ordered)
    audit.record("sequence.move_step", f"step {step_id} to {position}")
    db.session.commit()
    return step


def _renumber(ordered: list[SequenceStep]) -> None:
    for number, step in enumerate(ordered, start=1):
        step.position = number


def catch_up(step_id: int) -> SequenceStep:
    """Send the step to every reader confirmed on the list past its delay too (a deliberate
    action: readers long past the step get it at the next tick)."""
    step = get(step_id)
    step.reaches_confirmed_since = None
    audit.record("sequence.catch_up", f"step {step_id}")
    db.session.commit()
    tick.ask_full_scan()
    return step


def steps(list_slug: str) -> list[StepProgress]:
    """The list's steps in order, each with its progress."""
    mailing_list = lists.by_slug(list_slug)
    ordered = _steps_of(mailing_list.id)
    counted = queries.figures([s.issue_id for s in ordered])
    waiting = due.counts(ordered, utcnow())
    return [_progress(step, counted[step.issue_id], waiting[step.id]) for step in ordered]


def _progress(step: SequenceStep, figures: dict[str, int], waiting: int) -> StepProgress:
    def n(status: DeliveryStatus) -> int:
        return figures.get(status.value, 0)

    in_engine = n(DeliveryStatus.QUEUED) + n(DeliveryStatus.SENDING)
    return StepProgress(
        id=step.id,
        issue_id=step.issue_id,
        position=step.position,
        subject=step.issue.subject,
        after_seconds=step.delay_seconds,
        catch_up=step.reaches_confirmed_since is None,
        sent=n(DeliveryStatus.SENT),
        due=in_engine + waiting,
        skipped=n(DeliveryStatus.SKIPPED) + n(DeliveryStatus.CANCELLED),
        failed=n(DeliveryStatus.FAILED),
        unknown=n(DeliveryStatus.UNKNOWN),
    )


def pause(list_slug: str) -> MailingList:
    """Stop the list's sequence: no step is sent until :func:`resume` (workers stop between
    two messages, as for a paused issue)."""
    mailing_list = lists.by_slug(list_slug)
    mailing_list.sequence_paused_at = mailing_list.sequence_paused_at or utcnow()
    for step in _steps_of(mailing_list.id):
        state.pause(step.issue_id, PAUSED_REASON)
    audit.record("sequence.pause", f"list {list_slug}")
    db.session.commit()
    return mailing_list


def resume(list_slug: str) -> MailingList:
    """Carry on with the list's sequence (also a step the engine paused for failures); what
    came due meanwhile goes out now."""
    mailing_list = lists.by_slug(list_slug)
    mailing_list.sequence_paused_at = None
    issue_ids = [step.issue_id for step in _steps_of(mailing_list.id)]
    for issue_id in issue_ids:
        state.resume(issue_id)
    audit.record("sequence.resume", f"list {list_slug}")
    db.session.commit()
    tick.ask_full_scan()
    for issue_id in issue_ids:
        jobs.dispatch_issue(issue_id)
    return mailing_list


def set_welcome(list_slug: str, enabled: bool) -> MailingList:
    """Whether the built-in welcome mail goes out on confirmation (step 0 of the sequence)."""
    mailing_list = lists.by_slug(list_slug)
    mailing_list.sends_welcome = bool(enabled)
    audit.record("sequence.welcome", f"list {list_slug}: {'on' if enabled else 'off'}")
    db.session.commit()
    return mailing_list
