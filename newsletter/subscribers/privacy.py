"""A subscriber's data rights: export everything, erase everything (GDPR Art. 15, 17, 20).
Retention (unconfirmed signups, consent IPs) is in ``retention``."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, select, update

from ..delivery.retention import delete_deliveries
from ..extensions import db
from ..models import (
    AuditEvent,
    Bounce,
    Delivery,
    ImportJob,
    Issue,
    Subscriber,
    Suppression,
    SuppressionReason,
    WebhookMessage,
)
from ..webhooks import outbox
from .suppression import hash_params, suppress

ERASED = "[erased]"  # what an erased address becomes inside text that is kept


def export_data(subscriber_id: int) -> dict[str, Any]:
    """Everything stored about the subscriber, as plain JSON-ready values (GDPR Art. 15/20)."""
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
        "language": s.language,  # of their system mails; null: the site's default
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
    """Delete the subscriber and everything about them; only a salted hash stays, suppressed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return
    address = subscriber.email
    suppress(address, SuppressionReason.ERASED, "erased")
    theirs = select(Delivery.id).where(Delivery.subscriber_id == subscriber.id)
    db.session.execute(
        delete(Bounce).where(
            or_(
                Bounce.email == address,
                Bounce.delivery_id.in_(theirs),
                _names(Bounce.reason, address),
            )
        )
    )
    # Their rows go, but what the issues they got add up to stays as the admin saw it.
    delete_deliveries(Delivery.subscriber_id == subscriber.id)
    _scrub(address)
    db.session.delete(subscriber)  # subscriptions and consent events go with it
    outbox.emit("subscriber.erased", {"id": subscriber_id})  # the id alone: the address is gone
    db.session.commit()


def _names(column: ColumnElement[Any], address: str) -> ColumnElement[bool]:
    """The column's text mentions the address, in any case (a scan: these tables are small
    next to the subscribers, and an erasure is rare)."""
    return func.lower(cast(column, Text)).contains(address.lower(), autoescape=True)


def _scrub(address: str) -> None:
    """Replace the address in the text kept about others' actions: the server's words on the
    suppression entry (``550 5.1.1 <dave@…>``), audit entries (a test mail sent to it) and
    import reports (a row rejected). What the entries say stays; whom they named goes."""
    spelled = re.compile(re.escape(address), re.IGNORECASE)
    hashes = list(hash_params(address).values())
    kept = [
        (Suppression, Suppression.detail, Suppression.email_hash.in_(hashes)),
        (AuditEvent, AuditEvent.detail, None),
        (ImportJob, ImportJob.report, None),
        (ImportJob, ImportJob.filename, None),
        (ImportJob, ImportJob.note, None),
        (WebhookMessage, WebhookMessage.body, None),  # a retry then sends "[erased]"
    ]
    for model, column, where in kept:
        found = select(model.id, column).where(_names(column, address))
        for row_id, value in db.session.execute(found if where is None else found.where(where)):
            if isinstance(value, str):
                scrubbed: Any = spelled.sub(ERASED, value)
            else:  # JSON (an import's report): the address only ever sits inside its strings
                scrubbed = json.loads(spelled.sub(ERASED, json.dumps(value)))
            db.session.execute(
                update(model).where(model.id == row_id).values({column.key: scrubbed})
            )
