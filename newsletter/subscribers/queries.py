"""Read-only questions about one subscriber, for the admin's pages and the commands: the
subscriber by id (or :class:`NoSuchSubscriber`), their latest deliveries and their consent
record. Nothing here changes a row."""

from __future__ import annotations

from sqlalchemy import Row, select

from ..errors import NotFound
from ..extensions import db
from ..models import ConsentEvent, Delivery, Issue, Subscriber


class NoSuchSubscriber(NotFound):
    """There is no subscriber with that id (never was, or erased)."""

    def __init__(self, subscriber_id: int) -> None:
        super().__init__(f"no such subscriber: {subscriber_id!r}")


def get(subscriber_id: int) -> Subscriber:
    """The subscriber with this id, or :class:`NoSuchSubscriber`."""
    found = db.session.get(Subscriber, subscriber_id)
    if found is None:
        raise NoSuchSubscriber(subscriber_id)
    return found


def deliveries(subscriber_id: int, limit: int = 100) -> list[Row[tuple[Delivery, str]]]:
    """The subscriber's latest deliveries, newest first, each with its issue's subject."""
    return list(
        db.session.execute(
            select(Delivery, Issue.subject)
            .join(Issue, Issue.id == Delivery.issue_id)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )


def consent_record(subscriber_id: int) -> list[ConsentEvent]:
    """Every consent event of the subscriber, oldest first."""
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.subscriber_id == subscriber_id)
            .order_by(ConsentEvent.id)
        )
    )
