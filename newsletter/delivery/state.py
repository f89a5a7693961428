"""The one module that changes a Delivery's or an Issue's sending state.

A delivery moves queued -> sending -> sent | failed | unknown (or cancelled). Every move is
a conditional UPDATE (compare-and-set on the current status and claim), so two workers can
never both move the same row to "sending": that single rule is what makes sending exactly
once. Callers own the transaction: they commit after a step. The batch loop's own per-message
writes (the Journal, which commits one message's result together with the next message's
"sending" mark) are in :mod:`newsletter.delivery.state_journal`, the only other module that
changes a delivery. Questions that change nothing are in :mod:`newsletter.delivery.queries`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, literal, select, update

from ..extensions import db
from ..models import Delivery, DeliveryStatus, Issue, IssueKind, IssueStatus, Subscriber, utcnow
from ..webhooks import outbox
from . import queries
from .queries import due_now

D = Delivery.__table__
I = Issue.__table__  # noqa: E741 - the table, as in SQL
S = Subscriber.__table__

Q, SENDING, SENT = DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT
FAILED, UNKNOWN, CANCELLED = DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.CANCELLED
SKIPPED = DeliveryStatus.SKIPPED

# States an issue may be started from, and the states in which its deliveries still move.
STARTABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)
ACTIVE = (IssueStatus.SENDING, IssueStatus.PAUSED)


def _set_issue(
    issue_id: int,
    allowed: Iterable[IssueStatus],
    *also: ColumnElement[bool],
    **values: object,
) -> bool:
    result = db.session.execute(
        update(I)
        .where(I.c.id == issue_id, I.c.status.in_(list(allowed)), *also)
        .values(updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def begin(issue_id: int, due_by: datetime | None = None) -> bool:
    """Draft or scheduled -> sending. False when it already started (so fan-out runs once).
    With ``due_by`` (the scheduler's), only an issue still scheduled for then or earlier: one
    an admin unscheduled or moved later since the tick found it due stays as they left it."""
    allowed, due = STARTABLE, []
    if due_by is not None:
        allowed, due = (IssueStatus.SCHEDULED,), [I.c.scheduled_at <= due_by]
    return _set_issue(
        issue_id, allowed, *due, status=IssueStatus.SENDING, status_reason="", started_at=utcnow()
    )


def schedule(issue_id: int, when: datetime) -> bool:
    """Draft or scheduled -> scheduled for ``when``. False when it has started meanwhile."""
    return _set_issue(issue_id, STARTABLE, status=IssueStatus.SCHEDULED, scheduled_at=when)


def unschedule(issue_id: int) -> bool:
    """Scheduled -> draft. False when it is not scheduled (a draft already, or started)."""
    return _set_issue(
        issue_id, (IssueStatus.SCHEDULED,), status=IssueStatus.DRAFT, scheduled_at=None
    )


def pause(issue_id: int, reason: str) -> bool:
    """Sending -> paused, with the reason the admin will see."""
    return _set_issue(
        issue_id, (IssueStatus.SENDING,), status=IssueStatus.PAUSED, status_reason=reason
    )


def resume(issue_id: int) -> bool:
    """Paused -> sending; messages waiting out a backoff become due now."""
    if not _set_issue(
        issue_id, (IssueStatus.PAUSED,), status=IssueStatus.SENDING, status_reason=""
    ):
        return False
    db.session.execute(
        update(D).where(D.c.issue_id == issue_id, D.c.status == Q).values(next_attempt_at=None)
    )
    return True


def _noted(reason: str) -> ColumnElement[str]:
    """``reason`` as a delivery's error, keeping the server's last reply if it gave one: a
    retry cancelled later must not lose the 451 that made it wait."""
    return case((D.c.error == "", reason), else_=literal(f"{reason}; last reply: ") + D.c.error)


def cancel(issue_id: int) -> bool:
    """Stop for good: every delivery not yet handed to the SMTP server becomes cancelled."""
    allowed = (*STARTABLE, *ACTIVE)
    if not _set_issue(
        issue_id, allowed, status=IssueStatus.CANCELLED, status_reason="Cancelled by an admin."
    ):
        return False
    db.session.execute(
        update(D)
        .where(D.c.issue_id == issue_id, D.c.status == Q)
        .values(status=CANCELLED, claimed_by=None, error=_noted("cancelled"))
    )
    return True


def requeue(issue_id: int, from_status: DeliveryStatus, ids: list[int] | None = None) -> int:
    """Failed or unknown deliveries (only ``ids`` of them, when given) -> queued again, an
    admin's explicit decision; the issue goes back to sending if it had finished. The last
    reply stays in ``error`` until the next attempt's own replaces it. Returns how many."""
    where = [D.c.issue_id == issue_id, D.c.status == from_status]
    if ids is not None:
        where.append(D.c.id.in_(ids))
    count = db.session.execute(
        update(D).where(*where).values(status=Q, claimed_by=None, next_attempt_at=None, attempts=0)
    ).rowcount
    if count:
        _set_issue(
            issue_id,
            (IssueStatus.SENT, IssueStatus.SENDING),
            status=IssueStatus.SENDING,
            status_reason="",
            finished_at=None,
        )
    return count


def finish_if_done(issue_id: int, fanned_out: bool = False) -> bool:
    """Sending -> sent once no delivery is queued or in flight. An issue without deliveries
    is only finished by its fan-out (``fanned_out``): until then they may be still to come.
    A sequence step never finishes: readers keep coming due."""
    if queries.is_step(issue_id):
        return False
    open_rows = (
        select(D.c.id).where(D.c.issue_id == issue_id, D.c.status.in_([Q, SENDING])).limit(1)
    )
    if db.session.execute(open_rows).first() is not None:
        return False
    if not fanned_out and not queries.has_deliveries(issue_id):
        return False
    finished = _set_issue(
        issue_id, (IssueStatus.SENDING,), status=IssueStatus.SENT, finished_at=utcnow()
    )
    if finished:  # told in the same transaction, with the counts the progress page shows
        counts = queries.counts(issue_id)
        data = {"id": issue_id, "total": sum(counts.values()), **counts}
        outbox.emit("issue.sent", data)
    return finished


# ---------------------------------------------------------------- deliveries


class Claimed(NamedTuple):
    """A claimed delivery with its subscriber. A plain tuple: the batch loop reads its fields
    some twenty times per message, and a SQLAlchemy Row's attribute access costs ten times
    as much."""

    id: int
    subscriber_id: int
    attempts: int
    email: str
    name: str | None
    attributes: dict[str, Any] | None
    language: str | None  # of their mail's footer (None: the site's)


def claim_batch(issue_id: int, batch_no: int, claim_id: str) -> list[Claimed]:
    """Claim the due, unclaimed queued deliveries of one batch; return them with their subscribers.

    PostgreSQL locks the rows with SKIP LOCKED so concurrent claimers never wait on each
    other; SQLite serialises writers, which gives the same result.
    """
    now = utcnow()
    candidates = (
        select(D.c.id)
        .where(
            D.c.issue_id == issue_id,
            D.c.batch_no == batch_no,
            D.c.status == Q,
            D.c.claimed_by.is_(None),
            due_now(now),
        )
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        update(D)
        .where(D.c.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=claim_id, claimed_at=now)
    )
    return [
        Claimed(*row)
        for row in db.session.execute(
            select(
                D.c.id,
                D.c.subscriber_id,
                D.c.attempts,
                S.c.email,
                S.c.name,
                S.c.attributes,
                S.c.language,
            )
            .join(S, S.c.id == D.c.subscriber_id)
            # batch_no as well: with it SQLite reads this batch's rows by index, without it
            # every queued delivery of the issue (it keeps no statistics to know better).
            .where(
                D.c.issue_id == issue_id,
                D.c.batch_no == batch_no,
                D.c.claimed_by == claim_id,
                D.c.status == Q,
            )
            .order_by(D.c.id)
        )
    ]


def mark_skipped(delivery_ids: list[int], reason: str) -> None:
    """Deliveries that must not go out (the address was suppressed after the fan-out, or a
    sequence step's reader left the list after it came due): cancelled, or for a step skipped."""
    if delivery_ids:
        step = D.c.issue_id.in_(select(I.c.id).where(I.c.kind == IssueKind.STEP))
        db.session.execute(
            update(D)
            .where(D.c.id.in_(delivery_ids), D.c.status == Q)
            .values(
                status=case((step, SKIPPED.value), else_=CANCELLED.value),
                claimed_by=None,
                error=_noted(reason),
            )
        )


def release(claim_id: str) -> None:
    """Give back the queued deliveries we claimed but did not start (paused, stopped early)."""
    db.session.execute(
        update(D).where(D.c.claimed_by == claim_id, D.c.status == Q).values(claimed_by=None)
    )


# ---------------------------------------------------------------- crash recovery


def orphan(claim_id: str, grace: timedelta) -> tuple[int, set[int]]:
    """A dead claim's rows: "sending" ones older than ``grace`` -> unknown (they may or may not
    have reached the server, so they are never resent silently); queued ones are released.
    Returns how many became unknown and the issues whose deliveries were released."""
    cutoff = utcnow() - grace
    unknown = db.session.execute(
        update(D)
        .where(D.c.claimed_by == claim_id, D.c.status == SENDING, D.c.claimed_at < cutoff)
        .values(
            status=UNKNOWN,
            claimed_by=None,
            error="The worker stopped while handing this message to the SMTP server.",
        )
    ).rowcount
    held = (D.c.claimed_by == claim_id, D.c.status == Q, D.c.claimed_at < cutoff)
    issues = set(db.session.execute(select(D.c.issue_id).where(*held).distinct()).scalars())
    db.session.execute(update(D).where(*held).values(claimed_by=None))
    return unknown, issues
