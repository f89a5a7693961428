"""Sequence tests' readers and clock: a reader confirmed on a list now, and time passing for
every sequence at once (confirmation moments and step reach moved back), so a test of a
three-day series waits for nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.models import (
    SequenceStep,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.sequences import tick


def confirmed_reader(list_id: int, email: str, name: str = "") -> int:
    """A subscriber confirmed overall and on the list as of now; returns their id."""
    now = utcnow()
    subscriber = Subscriber(
        email=email, name=name, status=SubscriberStatus.CONFIRMED, confirmed_at=now
    )
    subscriber.subscriptions.append(
        Subscription(list_id=list_id, status=SubscriptionStatus.CONFIRMED, confirmed_at=now)
    )
    db.session.add(subscriber)
    db.session.commit()
    return subscriber.id


def travel(minutes: float) -> None:
    """Let ``minutes`` pass for every sequence: confirmations and steps' reach move back."""
    by = timedelta(minutes=minutes)
    table = Subscription.__table__
    for sid, lid, at, updated in db.session.execute(
        select(
            table.c.subscriber_id, table.c.list_id, table.c.confirmed_at, table.c.updated_at
        ).where(table.c.confirmed_at.is_not(None))
    ).all():
        db.session.execute(
            update(table)
            .where(table.c.subscriber_id == sid, table.c.list_id == lid)
            .values(confirmed_at=at - by, updated_at=updated)
        )
    for step in db.session.scalars(select(SequenceStep)):
        if step.reaches_confirmed_since is not None:
            step.reaches_confirmed_since -= by
    db.session.commit()
    tick.ask_full_scan()  # that long, the ticks have read every list whole at least once


def subjects_to(smtp_server, address: str) -> list[str]:
    """The subjects of the mails the SMTP server received for ``address``, in order."""
    return [m.message["Subject"] for m in smtp_server.to(address)]


def confirmed_at(email: str, list_id: int):  # type: ignore[no-untyped-def]
    """When the subscriber with this address confirmed on the list (fresh read)."""
    db.session.commit()
    return db.session.scalar(
        select(Subscription.confirmed_at)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.email == email, Subscription.list_id == list_id)
    )


def confirm_all_now(list_id: int) -> None:
    """Every confirmed membership of the list confirmed as of now (``helpers.send``'s bulk
    readers carry no moment), so the list's sequence starts for all of them."""
    db.session.execute(
        update(Subscription)
        .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.CONFIRMED)
        .values(confirmed_at=utcnow())
    )
    db.session.commit()
