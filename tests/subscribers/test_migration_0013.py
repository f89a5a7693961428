"""Upgrade 0013 on a database that already has subscribers: the dashboard's kept counts start
from the data as it stands, and from then on follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from helpers.migrations import app_at
from sqlalchemy import insert, update

from newsletter.extensions import db
from newsletter.models import MailingList, Subscriber, Subscription
from newsletter.subscribers import figures, tallies


@pytest.fixture
def old_app(tmp_path, database_url, redis_prefix):
    """An app whose database stands at 0012, the release before this one."""
    with app_at("0012", tmp_path, database_url, redis_prefix) as app:
        yield app


def _subscriber(email: str, status: str, created: datetime) -> int:
    values = {
        "email": email,
        "name": "",
        "attributes": {},
        "status": status,
        "created_at": created,
        "updated_at": created,
        "soft_bounces": 0,
        "hard_bounces": 0,
    }
    return db.session.execute(insert(Subscriber.__table__).values(values)).inserted_primary_key[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_counts_the_subscribers_already_there(backend, old_app):
    now = datetime.now(UTC)
    news = db.session.execute(
        insert(MailingList.__table__).values(
            slug="news", name="News", description="", is_public=True, created_at=now
        )
    ).inserted_primary_key[0]
    statuses = ["confirmed", "confirmed", "confirmed", "pending", "unsubscribed", "bounced"]
    for i, status in enumerate(statuses):
        sid = _subscriber(f"r{i}@example.org", status, now)
        member = {"confirmed": "confirmed", "bounced": "confirmed"}.get(status, status)
        db.session.execute(
            insert(Subscription.__table__).values(
                subscriber_id=sid, list_id=news, status=member, created_at=now, updated_at=now
            )
        )
    db.session.commit()

    upgrade(revision="0013")

    counts = tallies.status_counts()
    assert (counts["confirmed"], counts["pending"], counts["unsubscribed"]) == (3, 1, 1)
    assert counts["bounced"] == 1
    assert tallies.list_counts()[news] == {
        "audience": 3,
        "confirmed": 4,
        "pending": 1,
        "unsubscribed": 1,
    }
    assert figures.growth(now.date()).total == 6
    # The triggers carry on from there.
    db.session.execute(
        update(Subscriber).where(Subscriber.email == "r0@example.org").values(status="bounced")
    )
    db.session.commit()
    assert tallies.status_counts()["bounced"] == 2
    assert tallies.list_counts()[news]["audience"] == 2
