"""The one module that changes a Delivery's or an Issue's sending state.

A delivery moves queued -> sending -> sent | failed | unknown (or cancelled). Every move is
a conditional UPDATE (compare-and-set on the current status and claim), so two workers can
never both move the same row to "sending": that single rule is what makes sending exactly
once. Callers own the transaction: they commit after a step (the batch loop's Journal commits
one message's result together with the next message's "sending" mark). Questions that change
nothing are in :mod:`newsletter.delivery.queries`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, literal, select, update

from ..extensions import db
from ..jobs import writer
from ..models import Delivery, DeliveryStatus, Issue, IssueStatus, Subscriber, utcnow
from ..webhooks import outbox
from . import queries
from .queries import due_now

D = Delivery.__table__
I = Issue.__table__  # noqa: E741 - the table, as in SQL
S = Subscriber.__table__

Q, SENDING, SENT = DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT
FAILED, UNKNOWN, CANCELLED = DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.CANCELLED

# States an issue may be started from, and the states in which its deliveries still move.
STARTABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)
ACTIVE = (IssueStatus.SENDING, IssueStatus.PAUSED)


def _set_issue(issue_id: int, allowed: Iterable[IssueStatus], **values: object) -> bool:
    result = db.session.execute(
        update(I)
        .where(I.c.id == issue_id, I.c.status.in_(list(allowed)))
        .values(updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def begin(issue_id: int) -> bool:
    """Draft or scheduled -> sending. False when it already started (so fan-out runs once)."""
    return _set_issue(
        issue_id, STARTABLE, status=IssueStatus.SENDING, status_reason="", started_at=utcnow()
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
    is only finished by its fan-out (``fanned_out``): until then they may be still to come."""
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
            select(D.c.id, D.c.subscriber_id, D.c.attempts, S.c.email, S.c.name, S.c.attributes)
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


# The batch loop's statements, as plain SQL for the driver: at ~1,000 messages/s even
# SQLAlchemy's cached-statement path would cost more than the database work itself.
# {p} marks a named parameter in the driver's style. "sent" also wins over "unknown", in
# case a reaper judged this worker dead too early.
_JOURNAL_SQL = {
    "sending": "UPDATE delivery SET status = 'sending', claimed_at = {now}, "
    "attempts = attempts + 1 WHERE id = {did} AND status = 'queued' AND claimed_by = {claim}",
    "sent": "UPDATE delivery SET status = 'sent', sent_at = {now}, message_id = {mid}, "
    "claimed_by = NULL, next_attempt_at = NULL, error = '' "
    "WHERE id = {did} AND status IN ('sending', 'unknown')",
    "failed": "UPDATE delivery SET status = 'failed', claimed_by = NULL, next_attempt_at = NULL,"
    " error = {error} WHERE id = {did} AND status IN ('queued', 'sending')",
    "retry": "UPDATE delivery SET status = 'queued', claimed_by = NULL, next_attempt_at = {due},"
    " error = {error} WHERE id = {did} AND status = 'sending'",
    "unknown": "UPDATE delivery SET status = 'unknown', claimed_by = NULL, "
    "next_attempt_at = NULL, error = {error} WHERE id = {did} AND status = 'sending'",
    "issue_status": "SELECT status FROM issue WHERE id = {iid}",
}
_NAMES = ("now", "did", "claim", "mid", "error", "due", "iid")


class Journal:
    """The batch loop's own database connection, one short transaction per message.

    ``sending`` commits a delivery's "sending" mark before its SMTP transaction starts; the
    result (``sent``/``failed``/``retry``/``unknown``) is held back and written in the same
    transaction as the next message's mark (or by ``flush``): one commit per message, and a
    killed worker leaves at most one delivery in "sending".
    """

    def __init__(self, claim_id: str) -> None:
        self.claim_id = claim_id
        engine = db.engine
        style = "%({})s" if engine.dialect.paramstyle == "pyformat" else ":{}"
        marks = {name: style.format(name) for name in _NAMES}
        self._sql = {key: sql.format(**marks) for key, sql in _JOURNAL_SQL.items()}
        when = D.c.sent_at.type.bind_processor(engine.dialect)
        self._when = when or (lambda value: value)
        self._raw = engine.raw_connection()
        self._cursor = self._raw.cursor()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._engine = engine

    def sending(self, delivery_id: int) -> bool:
        """Queued (claimed by us) -> sending, committed. False when someone else holds it."""
        params = {"did": delivery_id, "claim": self.claim_id, "now": self._when(utcnow())}
        with writer.raw_turn(self._engine):
            self._write_pending()
            self._cursor.execute(self._sql["sending"], params)
            won = self._cursor.rowcount == 1
            self._raw.commit()
        return won

    def sent(self, delivery_id: int, message_id: str) -> None:
        """The server accepted it."""
        now = self._when(utcnow())
        self._pending.append(("sent", {"did": delivery_id, "now": now, "mid": message_id}))

    def failed(self, delivery_id: int, error: str) -> None:
        """Refused for good (5xx) or unrenderable: never retried unless an admin asks."""
        self._pending.append(("failed", {"did": delivery_id, "error": error[:2000]}))

    def retry(self, delivery_id: int, error: str, due: datetime) -> None:
        """Temporary failure: back to queued, due again at ``due``."""
        params = {"did": delivery_id, "due": self._when(due), "error": error[:2000]}
        self._pending.append(("retry", params))

    def unknown(self, delivery_id: int, error: str) -> None:
        """The server may or may not have taken it: the admin decides whether to resend."""
        self._pending.append(("unknown", {"did": delivery_id, "error": error[:2000]}))

    def issue_status(self, issue_id: int) -> IssueStatus | None:
        """The issue's status, read fresh; also writes any held-back result."""
        with writer.raw_turn(self._engine):
            self._write_pending()
            self._cursor.execute(self._sql["issue_status"], {"iid": issue_id})
            row = self._cursor.fetchone()
            self._raw.commit()
        return IssueStatus(row[0]) if row else None

    def flush(self) -> None:
        """Write any held-back result now."""
        with writer.raw_turn(self._engine):
            self._write_pending()
            self._raw.commit()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._cursor.close()
            self._raw.close()  # back to the pool

    def _write_pending(self) -> None:
        for key, params in self._pending:
            self._cursor.execute(self._sql[key], params)
        self._pending.clear()


def mark_skipped(delivery_ids: list[int], reason: str) -> None:
    """Deliveries that must not go out (the address was suppressed after the fan-out)."""
    if delivery_ids:
        db.session.execute(
            update(D)
            .where(D.c.id.in_(delivery_ids), D.c.status == Q)
            .values(status=CANCELLED, claimed_by=None, error=_noted(reason))
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
