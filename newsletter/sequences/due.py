"""Which readers a sequence step is due for: one set-based query per step (the tick's), and
how many, for every step of a list in one query (the status's).

A step is due for a reader when all of these hold:

- the reader is confirmed overall and confirmed on the step's list (the issue audience's two
  halves, ``fanout.SUBSCRIBER_REACHED`` and ``fanout.MEMBER_REACHED``);
- they confirmed on the list at least the step's delay ago (``subscription.confirmed_at``);
- the step reaches them: they confirmed at or after ``reaches_confirmed_since`` (a step added
  later reaches only readers not yet past its delay), or that is None (catch-up);
- they have no delivery of the step yet (one row per step and reader, ever);
- every earlier step (lower position) of the list that reaches them has settled for them: its
  delivery exists and is no longer queued or sending. Sent, skipped, failed, unknown and
  cancelled all count as settled, so the series keeps its order but one failed mail does not
  hold a reader back for good. Earlier steps that are no longer active (their issue cancelled)
  are not waited for.

Pausing is not decided here: the tick only asks about steps whose list is not paused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import aliased

from ..delivery.fanout import MEMBER_REACHED, SUBSCRIBER_REACHED
from ..delivery.state import ACTIVE
from ..extensions import db
from ..models import (
    Delivery,
    DeliveryStatus,
    Issue,
    SequenceStep,
    Subscriber,
    Subscription,
)

OPEN = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


def _reaches(step: type[SequenceStep], confirmed_at: ColumnElement) -> ColumnElement[bool]:
    """The step reaches a reader who confirmed at ``confirmed_at`` (a column)."""
    return or_(step.reaches_confirmed_since.is_(None), confirmed_at >= step.reaches_confirmed_since)


def readers(step: SequenceStep, now: datetime, window: timedelta | None = None) -> Select:
    """Ids of the subscribers ``step`` is due for at ``now``; with ``window``, only those who
    came due within it (a slice of the list its confirmation index reads quickly)."""
    cutoff = now - timedelta(seconds=step.delay_seconds)
    earlier = aliased(SequenceStep)
    earlier_issue = aliased(Issue)
    settled = aliased(Delivery)
    waiting_on_earlier = exists().where(
        earlier.list_id == step.list_id,
        earlier.position < step.position,
        earlier_issue.id == earlier.issue_id,
        earlier_issue.status.in_(ACTIVE),
        _reaches(earlier, Subscription.confirmed_at),
        # Two levels down, SQLAlchemy would not correlate the subscription by itself.
        ~exists()
        .where(
            settled.issue_id == earlier.issue_id,
            settled.subscriber_id == Subscription.subscriber_id,
            settled.status.not_in(OPEN),
        )
        .correlate_except(settled),
    )
    has_row = exists().where(
        Delivery.issue_id == step.issue_id, Delivery.subscriber_id == Subscription.subscriber_id
    )
    since = step.reaches_confirmed_since
    if window is not None:
        since = max(since, cutoff - window) if since is not None else cutoff - window
    return (
        select(Subscription.subscriber_id.label("id"))
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.list_id == step.list_id,
            MEMBER_REACHED,
            SUBSCRIBER_REACHED,
            Subscription.confirmed_at <= cutoff,
            *([Subscription.confirmed_at >= since] if since is not None else []),
            ~has_row,
            ~waiting_on_earlier,
        )
    )


def departed(issue_id: int, delivery_ids: list[int]) -> set[int]:
    """Of these deliveries, those of a sequence step whose reader is no longer confirmed,
    overall or on the step's list (they unsubscribed, bounced or complained after the step
    came due). Always empty for an issue: its audience was fixed when sending started."""
    if not delivery_ids:
        return set()
    on_list = exists().where(
        Subscription.subscriber_id == Delivery.subscriber_id,
        Subscription.list_id == SequenceStep.list_id,
        MEMBER_REACHED,
    )
    return set(
        db.session.scalars(
            select(Delivery.id)
            .join(SequenceStep, SequenceStep.issue_id == Delivery.issue_id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(
                Delivery.issue_id == issue_id,
                Delivery.id.in_(delivery_ids),
                or_(~SUBSCRIBER_REACHED, ~on_list),
            )
        )
    )


def count(step: SequenceStep, now: datetime) -> int:
    """How many readers the step is due for and not yet handed to the sending engine."""
    return db.session.scalar(select(func.count()).select_from(readers(step, now).subquery())) or 0


def counts(steps: list[SequenceStep], now: datetime) -> dict[int, int]:
    """Per step id, what :func:`count` says, for every step of one list (``steps``, all of
    them) in one pass over the list: each reader's delivery of each step is looked up once
    (a join per step), instead of the whole list read once per step and every earlier step's
    delivery looked up again for each later step (``bench/sequences.py``: a few times faster)."""
    if not steps:
        return {}
    confirmed_at = Subscription.confirmed_at
    rows = {step.id: aliased(Delivery) for step in steps}
    active = [step for step in steps if step.issue.status in ACTIVE]

    def reaches(step: SequenceStep) -> ColumnElement[bool]:
        since = step.reaches_confirmed_since
        return true() if since is None else confirmed_at >= since

    def unsettled(step: SequenceStep) -> ColumnElement[bool]:
        row = rows[step.id]
        return or_(row.id.is_(None), row.status.in_(OPEN))

    def is_due(step: SequenceStep) -> ColumnElement[bool]:
        waiting = [
            and_(reaches(earlier), unsettled(earlier))
            for earlier in active
            if earlier.position < step.position
        ]
        return and_(
            confirmed_at <= now - timedelta(seconds=step.delay_seconds),
            reaches(step),
            rows[step.id].id.is_(None),
            *[~w for w in waiting],
        )

    query = select(*[func.count(case((is_due(step), 1))) for step in steps]).join(
        Subscriber, Subscriber.id == Subscription.subscriber_id
    )
    for step in steps:
        row = rows[step.id]
        query = query.outerjoin(
            row,
            and_(row.issue_id == step.issue_id, row.subscriber_id == Subscription.subscriber_id),
        )
    # No condition on confirmed_at here: SQLite then walks the list's members in subscriber
    # order (ix_subscription_list_status), so every lookup by subscriber goes in key order.
    found = db.session.execute(
        query.where(Subscription.list_id == steps[0].list_id, MEMBER_REACHED, SUBSCRIBER_REACHED)
    ).one()
    return {step.id: n for step, n in zip(steps, found, strict=True)}


def next_batch(issue_id: int) -> int:
    """The first batch number no delivery of the step's issue uses yet."""
    highest = db.session.scalar(
        select(func.max(Delivery.batch_no)).where(Delivery.issue_id == issue_id)
    )
    return 0 if highest is None else highest + 1
