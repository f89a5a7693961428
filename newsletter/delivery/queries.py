"""Read-only questions about issues and deliveries, for the engine, the reaper and pages.

Nothing here changes a row; the changes are all in :mod:`newsletter.delivery.state`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, and_, func, or_, select

from ..extensions import db
from ..models import Delivery, DeliveryStatus, Issue, IssueKind, IssueStatus, Subscriber, utcnow
from . import retention

D = Delivery.__table__
I = Issue.__table__  # noqa: E741 - the table, as in SQL
S = Subscriber.__table__
Q, SENDING = DeliveryStatus.QUEUED, DeliveryStatus.SENDING


def due_now(now: datetime):  # type: ignore[no-untyped-def]
    """Deliveries not waiting out a retry backoff at ``now``."""
    return or_(D.c.next_attempt_at.is_(None), D.c.next_attempt_at <= now)


def has_deliveries(issue_id: int) -> bool:
    """Whether the issue's fan-out has made its delivery rows."""
    return (
        db.session.execute(select(D.c.id).where(D.c.issue_id == issue_id).limit(1)).first()
        is not None
    )


def started_at(issue_id: int) -> datetime | None:
    """When sending started (the audience snapshot's moment)."""
    return db.session.execute(select(Issue.started_at).where(Issue.id == issue_id)).scalar()


def is_step(issue_id: int) -> bool:
    """Whether the issue is a sequence step: it never finishes, and its deliveries are added
    by the sequence tick (``sequences.tick``) as readers come due, not by a fan-out."""
    kind = db.session.execute(select(I.c.kind).where(I.c.id == issue_id)).scalar()
    return kind == IssueKind.STEP


def issue_status(issue_id: int) -> IssueStatus | None:
    """The issue's current status, read fresh (workers poll this between messages)."""
    value = db.session.execute(select(I.c.status).where(I.c.id == issue_id)).scalar()
    return IssueStatus(value) if value is not None else None


def claims_in_use() -> list[str]:
    """Claim ids holding any delivery (a small partial index: only held rows are in it)."""
    return list(
        db.session.execute(
            select(D.c.claimed_by).where(D.c.claimed_by.is_not(None)).distinct()
        ).scalars()
    )


def due_retries() -> list[tuple[int, int]]:
    """(issue, batch) pairs with a retry come due that nobody holds (a small index)."""
    rows = db.session.execute(
        select(D.c.issue_id, D.c.batch_no)
        .where(D.c.next_attempt_at.is_not(None), D.c.next_attempt_at <= utcnow())
        .where(D.c.status == Q, D.c.claimed_by.is_(None))
        .distinct()
    )
    return [(issue_id, batch_no) for issue_id, batch_no in rows]


def due_batches(issue_id: int) -> list[int]:
    """Batches of an issue with queued deliveries nobody holds that may be sent now."""
    return list(
        db.session.execute(
            select(D.c.batch_no)
            .where(
                D.c.issue_id == issue_id,
                D.c.status == Q,
                D.c.claimed_by.is_(None),
                due_now(utcnow()),
            )
            .distinct()
            .order_by(D.c.batch_no)
        ).scalars()
    )


def counts(issue_id: int) -> dict[str, int]:
    """Deliveries of an issue by status, every status present (zeros included)."""
    return {s.value: 0 for s in DeliveryStatus} | figures([issue_id])[issue_id]


def figures(issue_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per issue, its deliveries counted by state (one grouped count query); states with
    none are left out."""
    found: dict[int, dict[str, int]] = {i: {} for i in issue_ids}
    if issue_ids:
        rows = db.session.execute(
            select(Delivery.issue_id, Delivery.status, func.count())
            .where(Delivery.issue_id.in_(issue_ids))
            .group_by(Delivery.issue_id, Delivery.status)
        )
        for issue_id, status, n in rows:
            found[issue_id][DeliveryStatus(status).value] = n
        # Rows the retention policy purged still count: their totals were kept per issue.
        for issue_id, purged in retention.purged_counts(issue_ids).items():
            for status, n in purged.items():
                found[issue_id][status] = found[issue_id].get(status, 0) + n
    return found


def recent_issues(limit: int = 5) -> list[tuple[Issue, dict[str, int]]]:
    """The latest issues with their delivery counts by state (the dashboard's table)."""
    newest = select(Issue).where(Issue.kind == IssueKind.ISSUE).order_by(Issue.id.desc())
    latest = list(db.session.scalars(newest.limit(limit)))
    counted = figures([i.id for i in latest])
    return [(i, counted[i.id]) for i in latest]


def issues_in(*statuses: IssueStatus) -> list[int]:
    """Ids of issues in any of ``statuses``."""
    return list(db.session.execute(select(I.c.id).where(I.c.status.in_(statuses))).scalars())


def due_scheduled(now: datetime) -> list[int]:
    """Scheduled issues whose time has come."""
    return list(
        db.session.execute(
            select(I.c.id).where(and_(I.c.status == IssueStatus.SCHEDULED, I.c.scheduled_at <= now))
        ).scalars()
    )


def listed(issue_id: int, status: DeliveryStatus, limit: int) -> list[tuple[str, str]]:
    """(address, error) of deliveries in ``status``, oldest first."""
    rows = db.session.execute(
        select(S.c.email, D.c.error)
        .join(S, S.c.id == D.c.subscriber_id)
        .where(D.c.issue_id == issue_id, D.c.status == status)
        .order_by(D.c.id)
        .limit(limit)
    )
    return [(email, error) for email, error in rows]


# A failed delivery the server refused for good: transports write its reply first
# ("550 5.1.1 …"), while a temporary failure that ran out of attempts reads "gave up after…".
REFUSED = D.c.error.like("5__ %")


def retry_candidates(issue_id: int, after: int, limit: int) -> list[Row[tuple[int, str]]]:
    """(id, email) of failed deliveries the server did not refuse for good, by id after
    ``after``: the ones a retry may get through."""
    return list(
        db.session.execute(
            select(D.c.id, S.c.email)
            .join(S, S.c.id == D.c.subscriber_id)
            .where(D.c.issue_id == issue_id, D.c.status == DeliveryStatus.FAILED, ~REFUSED)
            .where(D.c.id > after)
            .order_by(D.c.id)
            .limit(limit)
        )
    )
