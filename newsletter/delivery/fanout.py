"""Fan-out: an issue's audience, snapshotted as one queued Delivery per subscriber.

The audience is decided by one query (:func:`audience`): subscribers confirmed overall and
confirmed on at least one of the issue's lists, each once however many of those lists they
are on. An issue with a segment goes to those of them who also match the segment's rules (the
intersection); one with a segment and no list goes to every subscriber confirmed overall who
matches and is confirmed on at least one list, whichever (so nobody who never confirmed a
list, or left them all, is mailed).

One ``INSERT ... SELECT`` copies it into ``delivery`` with batch numbers, so a million
subscribers cost one statement, not a million round trips. It runs in a job (a million rows
take a while on PostgreSQL), so the snapshot is taken as of the moment sending started: a
membership confirmed (or changed) after that is left out. A segment's rules are read when the
fan-out job runs, a moment after the start (``within_days`` counts from then). The unique
(issue, subscriber) constraint plus ``ON CONFLICT DO NOTHING`` make a repeated fan-out harmless.

Suppressed addresses are not filtered here: ``suppression`` keeps only keyed hashes of
addresses (so an erased subscriber leaves nothing readable), which SQL cannot compute. The batch
job checks its few hundred subscribers against the suppression list just before sending
(``batch._suppressed``), which also honours a bounce or complaint that arrives mid-send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import (
    Delivery,
    DeliveryStatus,
    Issue,
    Segment,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    issue_list,
)
from ..segments import rules, sql

# Who a send reaches, in two halves so each query puts them where its indexes help: the
# subscriber is confirmed overall (so not bounced, complained or unsubscribed), and confirmed on
# the list. The admin's list counts use the same two (``subscribers.tallies.list_counts``).
SUBSCRIBER_REACHED = Subscriber.status == SubscriberStatus.CONFIRMED
MEMBER_REACHED = Subscription.status == SubscriptionStatus.CONFIRMED


def audience(issue_id: int, cutoff: datetime | None = None) -> Select:
    """Ids of the subscribers an issue goes to: confirmed, on a target list (any list when it
    has only a segment), matching its segment if it has one, once each; with ``cutoff``, only
    memberships last changed by then (the moment sending started)."""
    targets = select(issue_list.c.list_id).where(issue_list.c.issue_id == issue_id)
    segment = db.session.scalar(
        select(Segment).join(Issue, Issue.segment_id == Segment.id).where(Issue.id == issue_id)
    )
    any_list = segment is not None and not db.session.scalar(select(exists(targets)))
    on_target_list = exists().where(
        Subscription.subscriber_id == Subscriber.id,
        MEMBER_REACHED,
        *([] if any_list else [sql.among_values(Subscription.list_id, targets)]),
        *([Subscription.updated_at <= cutoff] if cutoff else []),
    )
    matching = [rules.where(segment.rules)] if segment is not None else []
    return select(Subscriber.id).where(SUBSCRIBER_REACHED, on_target_list, *matching)


# Said wherever an issue that names no recipients is refused (compose, send, the scheduler).
NO_TARGET = "Choose at least one list or a segment to send to."


def has_target(issue: Issue) -> bool:
    """Whether the issue names whom it goes to: lists, a segment, or both."""
    return bool(issue.lists) or issue.segment_id is not None


def audience_size(issue_id: int) -> int:
    """How many subscribers the issue would go to now."""
    return db.session.scalar(select(func.count()).select_from(audience(issue_id).subquery())) or 0


def fan_out(issue_id: int, batch_size: int, cutoff: datetime | None = None) -> int:
    """Create the issue's deliveries in batches of ``batch_size``; return how many it has."""
    insert_deliveries(issue_id, audience(issue_id, cutoff), batch_size)
    # Counted rather than taken from rowcount, which psycopg reports as -1 for INSERT…SELECT.
    table = Delivery.__table__
    return db.session.scalar(select(func.count()).where(table.c.issue_id == issue_id)) or 0


def insert_deliveries(issue_id: int, subscribers: Select, batch_size: int, first: int = 0) -> None:
    """Queued deliveries of the issue for ``subscribers`` (a query of ids) that have none yet,
    in batches of ``batch_size`` numbered from ``first`` (a sequence step's later readers)."""
    ids = subscribers.subquery()
    # Subscribers in id order, numbered 0, 1, 2…; integer division gives the batch.
    batch_no = first + (func.row_number().over(order_by=ids.c.id) - 1) // batch_size
    rows = select(
        literal(issue_id),
        ids.c.id,
        batch_no,
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(""),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    table = Delivery.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = insert.from_select(
        ["issue_id", "subscriber_id", "batch_no", "status", "attempts", "error"], rows
    ).on_conflict_do_nothing(index_elements=["issue_id", "subscriber_id"])
    db.session.execute(statement)
