"""A small population whose segment counts a person can work out by hand (the table in
``PEOPLE``), for the segment tests on SQLite and PostgreSQL. Dates are days before now, so
"joined this year" reads ``within_days 365``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import (
    MailingList,
    Segment,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)

C, P, U = SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING, SubscriptionStatus.UNSUBSCRIBED
# email, name, overall status, {list: state}, attributes, signed up / confirmed (days ago)
PEOPLE = [
    (
        "ann@example.org",
        "Ann Berg",
        "confirmed",
        {"weekly": C},
        {"city": "Oslo", "plan": "pro", "age": 34},
        3,
        3,
    ),
    (
        "bob@example.org",
        "Bob Olsen",
        "confirmed",
        {"weekly": C, "daily": C},
        {"city": "oslo", "plan": "free"},
        40,
        39,
    ),
    ("cat@example.com", "Cat Hansen", "pending", {"weekly": P}, {"city": "Bergen"}, 1, None),
    ("dan@example.com", "Dan", "unsubscribed", {"weekly": U}, {"city": "Oslo"}, 400, 400),
    (
        "eve@sample.net",
        "Eve 50% O'Brien",
        "bounced",
        {"daily": C},
        {"plan": "pro", "note": "", "region": "Østfold"},
        10,
        10,
    ),
    ("fay@sample.net", "", "confirmed", {}, {}, 800, 800),
]


def add_people() -> None:
    """The lists weekly and daily and the six people of ``PEOPLE``."""
    lists = {slug: MailingList(slug=slug, name=slug.title()) for slug in ("weekly", "daily")}
    db.session.add_all(lists.values())
    now = utcnow()
    for email, name, status, memberships, attributes, signed_up, confirmed in PEOPLE:
        subscriber = Subscriber(
            email=email,
            name=name,
            status=SubscriberStatus(status),
            attributes=attributes,
            created_at=now - timedelta(days=signed_up),
            confirmed_at=None if confirmed is None else now - timedelta(days=confirmed),
        )
        subscriber.subscriptions = [
            Subscription(mailing_list=lists[slug], status=state)
            for slug, state in memberships.items()
        ]
        db.session.add(subscriber)
    db.session.commit()


@pytest.fixture
def people(app):
    """``add_people`` on the test's app: the segment tests' population."""
    with app.app_context():
        add_people()


def segments_saved(app) -> int:
    """How many segments are saved now (a refused or counting call must not add one)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Segment))


def emails(subscriber_ids: list[int]) -> set[str]:
    """The addresses of these subscribers, by the first letters (``{"ann", "bob"}``)."""
    rows = db.session.query(Subscriber.email).filter(Subscriber.id.in_(subscriber_ids))
    return {email.split("@")[0] for (email,) in rows}
