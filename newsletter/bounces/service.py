"""What a bounce or complaint does: find the delivery it is about, keep it for the admin,
and put the address on the do-not-mail list when the report calls for it. A mail sent to a
reader's unsubscribe address (the mailto of List-Unsubscribe) unsubscribes that reader.

Hard bounce (past ``HARD_BOUNCE_LIMIT``, default 1) or complaint: suppressed at once. Soft
bounces (full mailbox, deferrals, spam blocks): suppressed once ``SOFT_BOUNCE_LIMIT`` of
them have come in. A report seen twice for the same delivery counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Bounce,
    BounceKind,
    Delivery,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
)
from ..subscribers import service as subscribers
from ..subscribers import suppression
from . import verp
from .parse import Failure, Report, parse

# The reasons an admin may lift from the bounce page (an erasure is the reader's own wish).
LIFTABLE = (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED)


@dataclass(frozen=True)
class Outcome:
    """What one report led to, for the webhook's answer and the command's summary."""

    recorded: list[tuple[BounceKind, bool]]  # (kind, suppressed now) per recorded bounce
    ignored: int  # failures about no reader of ours, or already recorded
    unsubscribed: int = 0  # readers unsubscribed by a mail to their unsubscribe address

    @property
    def unmatched(self) -> bool:
        """The message changed nothing: no report about a reader, no valid unsubscribe tag."""
        return not self.recorded and not self.unsubscribed


def process(raw: bytes) -> Outcome:
    """Record one raw report (or unsubscribe request) and apply what it says; the caller commits."""
    report = parse(raw)
    claims = dict.fromkeys(c for c in map(verp.unsubscribe_claim, report.recipients) if c)
    if claims:
        # Whatever the body says: the address alone is the request, as RFC 2369 intends.
        return Outcome([], 0, unsubscribed=sum(_unsubscribe(*claim) for claim in claims))
    recorded, ignored = [], 0
    matched = _delivery_for(report) if report.failures else None
    for failure in report.failures:
        # Our mails have one recipient each; a report about several names the delivery's
        # reader only in the failure that is about that reader.
        delivery = matched if len(report.failures) == 1 or _about(matched, failure) else None
        subscriber = (
            db.session.get(Subscriber, delivery.subscriber_id)
            if delivery is not None
            else _subscriber_at(failure.recipient)
        )
        if subscriber is None or (delivery is not None and _seen(delivery.id, failure.kind)):
            ignored += 1
            continue
        db.session.add(
            Bounce(
                kind=failure.kind,
                email=subscriber.email,
                delivery_id=delivery.id if delivery is not None else None,
                reason=_reason(failure),
            )
        )
        recorded.append((failure.kind, _apply(subscriber, failure)))
    db.session.flush()
    return Outcome(recorded, ignored)


def _unsubscribe(subscriber_id: int, signature: str) -> bool:
    """Unsubscribe the reader a signed tag names, as the one-click link does."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or not verp.unsubscribe_signed(
        subscriber.id, subscriber.email, signature
    ):
        return False  # forged, or for an address the reader no longer has (or erased)
    subscribers.unsubscribe(subscriber.id, source="mail to the unsubscribe address")
    return True


def _delivery_for(report: Report) -> Delivery | None:
    """The delivery named by a signed VERP address, else by the quoted Message-ID."""
    for address in report.addresses:
        found = verp.delivery_id(address)
        if found is not None and (delivery := db.session.get(Delivery, found)) is not None:
            return delivery
    ids = [*report.message_ids, *(i.strip("<>") for i in report.message_ids)]
    if not ids:
        return None
    return db.session.scalar(select(Delivery).where(Delivery.message_id.in_(ids)).limit(1))


def _about(delivery: Delivery | None, failure: Failure) -> bool:
    if delivery is None:
        return False
    reader = db.session.get(Subscriber, delivery.subscriber_id)
    return reader is not None and reader.email.lower() == failure.recipient


def _subscriber_at(address: str) -> Subscriber | None:
    if not address:
        return None
    return db.session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == address))


def _seen(delivery_id: int, kind: BounceKind) -> bool:
    found = select(Bounce.id).where(Bounce.delivery_id == delivery_id, Bounce.kind == kind)
    return db.session.scalar(found.limit(1)) is not None


def _reason(failure: Failure) -> str:
    """The server's words, led by the status code unless they already quote it."""
    status = "" if failure.status in failure.reason else failure.status
    return " ".join(filter(None, [status, failure.reason]))[:2000] or failure.kind.value


def _apply(subscriber: Subscriber, failure: Failure) -> bool:
    """Count the bounce on the reader; True when it put the address on the suppression list."""
    config = current_app.config
    if failure.kind is BounceKind.COMPLAINT:
        suppression.suppress(subscriber.email, SuppressionReason.COMPLAINED, _reason(failure))
        return True
    if failure.kind is BounceKind.HARD:
        subscriber.hard_bounces += 1
        over = subscriber.hard_bounces >= config["HARD_BOUNCE_LIMIT"]
    else:
        subscriber.soft_bounces += 1
        over = subscriber.soft_bounces >= config["SOFT_BOUNCE_LIMIT"]
    if over:
        suppression.suppress(subscriber.email, SuppressionReason.BOUNCED, _reason(failure))
    return over


def lift(subscriber_id: int) -> bool:
    """Take a bounced or complaining reader off the suppression list (an admin's decision).

    The reader's lists are untouched; the bounce counts start again from zero.
    """
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return False
    lifted = suppression.lift(subscriber.email, LIFTABLE)
    if subscriber.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
        subscriber.status = (
            SubscriberStatus.CONFIRMED if subscriber.confirmed_at else SubscriberStatus.PENDING
        )
    subscriber.soft_bounces = subscriber.hard_bounces = 0
    return bool(lifted)
