"""A reader's data rights and retention: export everything, erase everything, and purge
signups that were never confirmed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from ..extensions import db
from ..models import (
    Bounce,
    Delivery,
    Issue,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
    utcnow,
)
from ..retention import delete_deliveries
from .suppression import suppress


def export_data(subscriber_id: int) -> dict[str, Any]:
    """Everything stored about the reader, as plain JSON-ready values (GDPR Art. 15/20)."""
    s = db.session.get(Subscriber, subscriber_id)
    if s is None:
        return {}
    deliveries = db.session.execute(
        select(Delivery, Issue.subject)
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Delivery.subscriber_id == s.id)
        .order_by(Delivery.id)
    )
    bounces = db.session.scalars(select(Bounce).where(Bounce.email == s.email).order_by(Bounce.id))
    return {
        "email": s.email,
        "name": s.name,
        "status": s.status.value,
        "created_at": _iso(s.created_at),
        "confirmed_at": _iso(s.confirmed_at),
        "attributes": s.attributes or {},
        "subscriptions": [
            {
                "list": sub.mailing_list.slug,
                "list_name": sub.mailing_list.name,
                "status": sub.status.value,
                "since": _iso(sub.updated_at),
            }
            for sub in s.subscriptions
        ],
        "consent": [
            {
                "when": _iso(e.created_at),
                "action": e.action,
                "source": e.source,
                "text": e.consent_text,
                "ip": e.ip,
                "lists": e.lists,
            }
            for e in s.consent_events
        ],
        "deliveries": [
            {
                "issue": subject,
                "status": d.status.value,
                "sent_at": _iso(d.sent_at),
                "message_id": d.message_id,
            }
            for d, subject in deliveries
        ],
        "bounces": [
            {"when": _iso(b.received_at), "kind": b.kind.value, "reason": b.reason} for b in bounces
        ],
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def erase(subscriber_id: int) -> None:
    """Delete the reader and everything about them; only a salted hash stays, suppressed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return
    suppress(subscriber.email, SuppressionReason.ERASED, "erased at the reader's request")
    db.session.execute(delete(Bounce).where(Bounce.email == subscriber.email))
    # Their rows go, but what the issues they got add up to stays as the admin saw it.
    delete_deliveries(Delivery.subscriber_id == subscriber.id)
    db.session.delete(subscriber)  # subscriptions and consent events go with it
    db.session.commit()


def purge_unconfirmed() -> int:
    """Delete signups never confirmed within UNCONFIRMED_PURGE_DAYS; returns how many."""
    cutoff = utcnow() - timedelta(days=current_app.config["UNCONFIRMED_PURGE_DAYS"])
    # ON DELETE CASCADE takes their subscriptions and consent events along.
    result = db.session.execute(
        delete(Subscriber).where(
            Subscriber.status == SubscriberStatus.PENDING, Subscriber.created_at < cutoff
        )
    )
    db.session.commit()
    return result.rowcount or 0
