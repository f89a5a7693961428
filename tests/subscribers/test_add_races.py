"""A reader who unsubscribes at the instant an admin (or an API client syncing a CRM) adds
them as confirmed to another list stays unsubscribed: the add is refused as for anyone who left.
Before, the add had checked a moment too early and confirmed them again."""

from __future__ import annotations

import pytest
from helpers.race import meanwhile
from helpers.send import make_list
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.subscribers import editing
from newsletter.subscribers import service as lifecycle


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_reader_unsubscribing_as_an_admin_adds_them_confirmed_stays_unsubscribed(app):
    with app.app_context():
        make_list("weekly", "Weekly")
        make_list("daily", "Daily")
        added = editing.add(
            "ann@example.org", slugs=["weekly"], confirmed=True, consent_note="form", actor="t"
        )
        ann = added.subscriber.id
        db.session.remove()

        def ann_unsubscribes() -> None:
            with app.app_context():  # her one-click request, with its own session
                lifecycle.unsubscribe(ann, source="one-click")

        refused = pytest.raises(editing.AddRefused, match="unsubscribed")
        with meanwhile(Subscriber.__table__, ann_unsubscribes), refused:
            editing.add(
                "ann@example.org", slugs=["daily"], confirmed=True, consent_note="crm", actor="api"
            )

        db.session.rollback()
        assert db.session.get(Subscriber, ann).status == SubscriberStatus.UNSUBSCRIBED
        statuses = db.session.scalars(
            select(Subscription.status).where(Subscription.subscriber_id == ann)
        ).all()
        assert statuses == [SubscriptionStatus.UNSUBSCRIBED]
