"""The webhook log is kept as long as delivery records: the tick deletes old messages whose
deliveries have all settled, with their deliveries and attempts; a message still being retried
keeps its body, recent ones stay, and 0 days keeps everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.admin import PASSWORD
from helpers.api import bearer
from helpers.roles import logged_in
from sqlalchemy import func, select

from newsletter.accounts import service as accounts
from newsletter.extensions import db
from newsletter.jobs import tick
from newsletter.models import (
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    utcnow,
)
from newsletter.webhooks import retention, service

PUBLIC = "https://93.184.215.14/hooks/newsletter"  # never called: nothing is due in these tests


def _message(event_type: str, days_ago: int, statuses: dict[int, str]) -> None:
    """A message emitted ``days_ago``, one delivery per endpoint in the given status, each with
    one attempt; a pending one waits for its next retry, an hour from now."""
    emitted = utcnow() - timedelta(days=days_ago)
    message = WebhookMessage(
        msg_id=f"msg_{event_type}", event_type=event_type, body="{}", created_at=emitted
    )
    db.session.add(message)
    db.session.flush()
    for endpoint_id, status in statuses.items():
        delivery = WebhookDelivery(
            message_id=message.id,
            endpoint_id=endpoint_id,
            status=status,
            attempts=1,
            next_attempt_at=utcnow() + timedelta(hours=1) if status == "pending" else None,
            created_at=emitted,
        )
        db.session.add(delivery)
        db.session.flush()
        db.session.add(WebhookAttempt(delivery_id=delivery.id, at=emitted, status_code=500))
    db.session.commit()


def _kept() -> dict[str, tuple[int, int]]:
    """Each message kept: (its deliveries, their attempts)."""
    rows = db.session.execute(
        select(
            WebhookMessage.event_type,
            func.count(WebhookDelivery.id.distinct()),
            func.count(WebhookAttempt.id),
        )
        .outerjoin(WebhookDelivery, WebhookDelivery.message_id == WebhookMessage.id)
        .outerjoin(WebhookAttempt, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .group_by(WebhookMessage.event_type)
    )
    return {event_type: (deliveries, attempts) for event_type, deliveries, attempts in rows}


def _everything() -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (WebhookMessage, WebhookDelivery, WebhookAttempt)
    )


def _endpoints(n: int) -> list[int]:
    return [service.add(PUBLIC, ["subscriber.confirmed"], f"CRM {i}").id for i in range(n)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_old_settled_messages_go_with_their_deliveries_and_attempts(backend, make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=30)
    with app.app_context():
        crm, shop = _endpoints(2)
        _message("old.delivered", 200, {crm: "delivered", shop: "delivered"})
        _message("old.failed", 200, {crm: "failed"})
        _message("old.retrying", 200, {crm: "pending"})
        _message("old.half.retrying", 200, {crm: "delivered", shop: "pending"})
        _message("old.no.endpoint.left", 200, {})
        _message("recent.delivered", 2, {crm: "delivered"})

        tick.tick()

        assert _kept() == {
            "old.retrying": (1, 1),
            "old.half.retrying": (2, 2),
            "recent.delivered": (1, 1),
        }
        assert _everything() == (3, 4, 4)  # nothing of the purged messages is left behind
        assert [d.event_type for d in service.delivery_log(crm)] == [
            "recent.delivered",
            "old.half.retrying",
            "old.retrying",
        ]
        accounts.set_admin("owner@example.org", PASSWORD, role=Role.OWNER)

    owner, _ = logged_in(app, Role.OWNER)
    page = owner.get(f"/admin/webhooks/{crm}")
    assert page.status_code == 200 and "recent.delivered" in page.get_data(as_text=True)
    assert "old.failed" not in page.get_data(as_text=True)
    assert owner.get("/admin/").status_code == 200  # the dashboard's failing endpoints
    answer = app.test_client().get(f"/api/v1/webhooks/{crm}", headers=bearer(app))
    assert answer.status_code == 200 and answer.get_json()["id"] == crm


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_long_log_is_deleted_chunk_by_chunk(backend, make_app, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 2)
    app = make_app(DELIVERY_RETENTION_DAYS=30)
    with app.app_context():
        [crm] = _endpoints(1)
        for n in range(5):
            _message(f"old.{n}", 200, {crm: "delivered"})
        _message("recent", 1, {crm: "delivered"})

        assert retention.purge_messages() == 5
        assert _kept() == {"recent": (1, 1)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_retention_of_zero_days_keeps_the_webhook_log_forever(backend, make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=0)
    with app.app_context():
        [crm] = _endpoints(1)
        _message("ancient.delivered", 4000, {crm: "delivered"})
        _message("ancient.failed", 4000, {crm: "failed"})

        tick.tick()

        assert _kept() == {"ancient.delivered": (1, 1), "ancient.failed": (1, 1)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_short_retention_still_lets_a_failing_endpoint_be_disabled(backend, make_app):
    app = make_app(DELIVERY_RETENTION_DAYS=1)
    with app.app_context():
        [crm] = _endpoints(1)
        db.session.get(WebhookEndpoint, crm).enabled_at = utcnow() - timedelta(days=10)
        _message("long.ago", 8, {crm: "failed"})
        _message("failing.since.four.days", 4, {crm: "failed"})
        _message("failing.still", 1, {crm: "failed"})

        tick.tick()

        assert set(_kept()) == {"failing.since.four.days", "failing.still"}
        assert db.session.get(WebhookEndpoint, crm).disabled_at is not None  # failing 3+ days
