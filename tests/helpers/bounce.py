"""Subscribers with a sent delivery, and signed webhook posts, for the bounce tests."""

from __future__ import annotations

import hashlib
import hmac

from helpers.env import ROOT
from newsletter.bounces import verp
from newsletter.extensions import db
from newsletter.mail.bulk import BulkTemplate
from newsletter.models import Delivery, DeliveryStatus, Issue, IssueStatus, Subscriber

CORPUS = ROOT / "tests" / "data" / "bounces"
SECRET = "webhook-secret-for-tests"


def sent_delivery(email: str, message_id: str = "") -> tuple[int, int]:
    """A confirmed subscriber who was sent one issue; returns (subscriber_id, delivery_id)."""
    subscriber = Subscriber(email=email, status="confirmed")
    issue = Issue(subject="Our March issue", status=IssueStatus.SENT)
    db.session.add_all([subscriber, issue])
    db.session.flush()
    delivery = Delivery(
        issue_id=issue.id,
        subscriber_id=subscriber.id,
        status=DeliveryStatus.SENT,
        message_id=message_id or None,
    )
    db.session.add(delivery)
    db.session.commit()
    return subscriber.id, delivery.id


def tagged_delivery(email: str) -> tuple[int, int, str]:
    """A subscriber sent one issue, its Message-ID tagged as sending tags it; returns
    (subscriber_id, delivery_id, message_id)."""
    subscriber_id, delivery_id = sent_delivery(email)
    delivery = db.session.get(Delivery, delivery_id)
    template = BulkTemplate(
        sender="Test Letter <news@news.example.org>",
        subject="Our March issue",
        list_id="weekly.news.example.org",
    )
    delivery.message_id = template.message_id(
        delivery.issue_id, delivery_id, verp.message_tag(delivery_id)
    )
    db.session.commit()
    return subscriber_id, delivery_id, delivery.message_id


def untagged_delivery(email: str) -> tuple[int, int, str]:
    """A subscriber sent one issue before Message-IDs were tagged (``<issue1.delivery4@…>``);
    returns (subscriber_id, delivery_id, message_id)."""
    subscriber_id, delivery_id = sent_delivery(email)
    delivery = db.session.get(Delivery, delivery_id)
    delivery.message_id = f"<issue{delivery.issue_id}.delivery{delivery_id}@news.example.org>"
    db.session.commit()
    return subscriber_id, delivery_id, delivery.message_id


def quoting(name: str, corpus_id: str, message_id: str, **replace: str) -> bytes:
    """A corpus report quoting ``message_id`` where it quoted ``corpus_id``."""
    return corpus(name, **{corpus_id.strip("<>"): message_id.strip("<>")}, **replace)


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
