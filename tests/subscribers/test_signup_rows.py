"""A signup's rows are written on the driver's cursor, past SQLAlchemy's execution: they must be
the rows the ORM would store, the same stored form and the same values read back, and a refusal
must still be SQLAlchemy's error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers.subscribe import make_list
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscribers import signup
from newsletter.subscribers.offer import Offered

# A whole second: SQLite's stored text keeps its ".000000", where isoformat() would drop it.
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _stored(table: str, order: str, *unlike: str) -> list[dict[str, object]]:
    """The table's rows as the driver reads them (SQLite: the stored text), less ``unlike``."""
    rows = db.session.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
    return [{k: v for k, v in row.items() if k not in unlike} for row in rows]


def _read_back(row: db.Model, *unlike: str) -> dict[str, tuple[type, object]]:
    """The row's columns as the ORM reads them, each with its type."""
    values = {c.key: getattr(row, c.key) for c in row.__table__.c if c.key not in unlike}
    return {key: (type(value), value) for key, value in values.items()}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_signup_stores_the_rows_the_orm_would(app, client, monkeypatch):
    make_list(app)
    monkeypatch.setattr(signup, "utcnow", lambda: AT)
    # No confirmation mail: sending it would change the row before it is compared.
    monkeypatch.setattr(signup.confirmations, "request", lambda subscriber_id: None)
    payload = {"email": "ann@example.org", "name": "Ann", "lists": ["news"], "language": "de"}
    assert client.post("/subscribe", json=payload).status_code == 200

    with app.app_context():
        signed = db.session.scalars(select(Subscriber)).one()
        event = signed.consent_events[0]
        # The same signup through the ORM, each column left to it that it fills itself.
        news = db.session.scalars(select(MailingList)).one()
        twin = Subscriber(
            email="twin@example.org",
            name="Ann",
            language="de",
            confirmation_due_at=AT,
            created_at=AT,
            updated_at=AT,
        )
        twin.subscriptions.append(Subscription(list_id=news.id, created_at=AT, updated_at=AT))
        twin.consent_events.append(
            ConsentEvent(
                created_at=AT,
                action="subscribe",
                source=event.source,
                consent_text=event.consent_text,
                ip=event.ip,
                lists=["news"],
            )
        )
        db.session.add(twin)
        db.session.commit()

        subscribers = _stored("subscriber", "id", "id", "email")
        assert subscribers[0] == subscribers[1]
        subscriptions = _stored("subscription", "subscriber_id", "subscriber_id")
        assert subscriptions[0] == subscriptions[1]
        events = _stored("consent_event", "id", "id", "subscriber_id")
        assert events[0] == events[1]

        db.session.expire_all()
        assert _read_back(signed, "id", "email") == _read_back(twin, "id", "email")
        pair = (signed.subscriptions[0], twin.subscriptions[0])
        assert _read_back(pair[0], "subscriber_id") == _read_back(pair[1], "subscriber_id")
        pair = (signed.consent_events[0], twin.consent_events[0])
        assert _read_back(pair[0], "id", "subscriber_id") == _read_back(
            pair[1], "id", "subscriber_id"
        )
        assert signed.status is SubscriberStatus.PENDING and signed.attributes == {}
        assert signed.created_at == AT and signed.subscriptions[0].created_at == AT
        assert signed.subscriptions[0].status is SubscriptionStatus.PENDING
        assert event.lists == ["news"] and event.created_at == AT


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_refused_signup_raises_sqlalchemys_error_and_stores_nothing(app):
    make_list(app)
    with app.test_request_context():
        gone = Offered(999, "gone", "A list deleted meanwhile", False)
        with pytest.raises(IntegrityError):  # what callers catch, not the driver's own error
            signup.subscribe("ann@example.org", "", [gone], source="test", ip=None)
        db.session.rollback()
        assert db.session.scalars(select(Subscriber)).all() == []
