"""Readers with a sent delivery, and signed webhook posts, for the bounce tests."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from newsletter.extensions import db
from newsletter.models import Delivery, DeliveryStatus, Issue, IssueStatus, Subscriber

CORPUS = Path(__file__).parent / "data" / "bounces"
SECRET = "webhook-secret-for-tests"


def sent_delivery(email: str, message_id: str = "") -> tuple[int, int]:
    """A confirmed reader who was sent one issue; returns (subscriber_id, delivery_id)."""
    reader = Subscriber(email=email, status="confirmed")
    issue = Issue(subject="Our March issue", status=IssueStatus.SENT)
    db.session.add_all([reader, issue])
    db.session.flush()
    delivery = Delivery(
        issue_id=issue.id,
        subscriber_id=reader.id,
        status=DeliveryStatus.SENT,
        message_id=message_id or None,
    )
    db.session.add(delivery)
    db.session.commit()
    return reader.id, delivery.id


def corpus(name: str, **replace: str) -> bytes:
    """A corpus report with some of its text swapped (e.g. its VERP address for a real one)."""
    raw = (CORPUS / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return raw


def post_report(client, raw: bytes, secret: str = SECRET):
    """POST one raw report to the webhook, signed as the mail server would."""
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/bounce",
        data=raw,
        headers={"X-Newsletter-Signature": signature, "Content-Type": "message/rfc822"},
    )
