"""What a bounce or complaint does: find the delivery it is about, keep it for the admin,
and put the address on the do-not-mail list when the report calls for it. A mail sent to a
subscriber's unsubscribe address (the mailto of List-Unsubscribe) unsubscribes that subscriber.

Anyone can write to the bounce mailbox, so a report acts only on evidence its sender could
not forge: our signed VERP return path (a delivery's, or a transactional mail's naming its
subscriber), or a Message-ID with our keyed tag (see
:mod:`.verp`), or our own SMTP server's 5xx while sending. A report tied to a subscriber only by
an address, or by an untagged Message-ID (anyone can count ``<issue1.delivery4@…>`` up), is
kept for the admin as unverified and acts on nobody.

Hard bounce (past ``HARD_BOUNCE_LIMIT``, default 1) or complaint: suppressed at once. Soft
bounces (full mailbox, deferrals, spam blocks): suppressed once ``SOFT_BOUNCE_LIMIT`` of
them have come in. A report seen twice for the same delivery counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Row, select, update

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
from ..subscribers.addresses import InvalidAddress, normalise_address
from ..webhooks import outbox
from . import verp
from .parse import BounceReport, Failure, parse

# The reasons an admin may lift from the bounce page (an erasure is the subscriber's own wish).
LIFTABLE = (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED)


@dataclass(frozen=True)
class BounceOutcome:
    """What one report led to, for the webhook's answer and the command's summary."""

    recorded: list[tuple[BounceKind, bool]]  # (kind, suppressed now) per verified bounce
    ignored: int  # failures about no subscriber of ours, or already recorded
    unsubscribed: int = 0  # subscribers unsubscribed by a mail to their unsubscribe address
    unverified: int = 0  # failures kept for the admin that nothing we signed vouches for

    @property
    def unmatched(self) -> bool:
        """The message names no subscriber of ours: no report on one, no valid unsubscribe tag."""
        return not self.recorded and not self.unsubscribed and not self.unverified


def process(raw: bytes, source: str = "mailbox") -> BounceOutcome:
    """Record one raw report (or unsubscribe request) and apply what it says; the caller commits.

    ``source`` names where it came from on the bounce page ("mailbox", "webhook", …)."""
    report = parse(raw)
    claims = dict.fromkeys(c for c in map(verp.unsubscribe_claim, report.recipients) if c)
    if claims:
        # Whatever the body says: the address alone is the request, as RFC 2369 intends.
        return BounceOutcome([], 0, unsubscribed=sum(_unsubscribe(*claim) for claim in claims))
    recorded, ignored, unverified = [], 0, 0
    matched, signed = _delivery_for(report) if report.failures else (None, False)
    for failure in report.failures:
        # Our mails have one recipient each; a report about several names the delivery's
        # subscriber only in the failure that is about that subscriber.
        delivery = matched if len(report.failures) == 1 or _about(matched, failure) else None
        if delivery is not None:
            subscriber = db.session.get(Subscriber, delivery.subscriber_id)
            verified = signed
        else:
            subscriber = _signed_subscriber(report, failure)
            verified = subscriber is not None
            subscriber = subscriber or _subscriber_at(failure.recipient)
        if subscriber is None or (
            delivery is not None and _seen(delivery.id, failure.kind, verified)
        ):
            ignored += 1
            continue
        suppressed = _record(subscriber, delivery, failure, verified, source)
        if verified:
            recorded.append((failure.kind, suppressed))
        else:
            unverified += 1
    db.session.flush()
    return BounceOutcome(recorded, ignored, unverified=unverified)


def record_refusal(delivery_id: int, subscriber_id: int, reply: str) -> bool:
    """Our SMTP server refused a delivery's recipient for good (5xx) while sending: a hard
    bounce we heard ourselves, so verified, and kept on the bounce page like any other (with
    its lift button once it suppresses). True when it put the address on the list."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    delivery = db.session.get(Delivery, delivery_id)
    if subscriber is None or delivery is None:
        return False
    return _record(subscriber, delivery, Failure(BounceKind.HARD, "", "", reply), True, "smtp")


def record_provider_report(provider: str, email: str, kind: BounceKind, reason: str) -> bool | None:
    """A sending provider's verified report (its webhook's signature checked) that mail to
    ``email`` bounced or drew a complaint: kept for the admin as verified, with the provider
    as its source, and counted by the same rules as our own reports. True when it suppressed
    the address, False when it only counted, None when the address is no subscriber's."""
    subscriber = _subscriber_at(email)
    if subscriber is None:
        return None
    failure = Failure(kind, email, "", reason.strip() or kind.value)
    return _record(subscriber, None, failure, True, provider)


def _record(
    subscriber: Subscriber,
    delivery: Delivery | None,
    failure: Failure,
    verified: bool,
    source: str,
) -> bool:
    """Keep the bounce for the admin; act on it only when verified. True when it suppressed."""
    db.session.add(
        Bounce(
            kind=failure.kind,
            email=subscriber.email,
            delivery_id=delivery.id if delivery is not None else None,
            reason=_reason(failure),
            verified=verified,
            source=source,
        )
    )
    return _apply(subscriber, failure) if verified else False


def _unsubscribe(subscriber_id: int, signature: str) -> bool:
    """Unsubscribe the subscriber a signed tag names, as the one-click link does."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or not verp.unsubscribe_signed(
        subscriber.id, subscriber.email, signature
    ):
        return False  # forged, or for an address the subscriber no longer has (or erased)
    subscribers.unsubscribe(subscriber.id, source="mail to the unsubscribe address")
    return True


def _delivery_for(report: BounceReport) -> tuple[Delivery | None, bool]:
    """The delivery the report is about, and whether something we signed says so.

    Signed: a VERP return path, or a Message-ID with a valid tag. An untagged Message-ID (a
    mail sent before tags) still finds its delivery, for the admin to see, but proves nothing.
    """
    signed = [verp.delivery_id(a) for a in report.addresses]
    signed += [verp.delivery_in_message_id(i) for i in report.message_ids]
    for found in filter(None, signed):
        if (delivery := db.session.get(Delivery, found)) is not None:
            return delivery, True
    ids = [*report.message_ids, *(i.strip("<>") for i in report.message_ids)]
    if not ids:
        return None, False
    quoted = select(Delivery).where(Delivery.message_id.in_(ids)).limit(1)
    return db.session.scalar(quoted), False


def _signed_subscriber(report: BounceReport, failure: Failure) -> Subscriber | None:
    """The subscriber a transactional mail's signed return path names (a bounced confirmation or
    welcome), when the failure is about them; None for no tag, a forged one, or an address
    the subscriber no longer has."""
    for subscriber_id, signature in filter(None, map(verp.subscriber_claim, report.addresses)):
        subscriber = db.session.get(Subscriber, subscriber_id)
        if (
            subscriber is not None
            and verp.subscriber_signed(subscriber.id, subscriber.email, signature)
            and (len(report.failures) == 1 or subscriber.email == _normalised(failure.recipient))
        ):
            return subscriber
    return None


def _about(delivery: Delivery | None, failure: Failure) -> bool:
    if delivery is None:
        return False
    subscriber = db.session.get(Subscriber, delivery.subscriber_id)
    return subscriber is not None and subscriber.email == _normalised(failure.recipient)


def _subscriber_at(address: str) -> Subscriber | None:
    normalised = _normalised(address)
    if not normalised:
        return None
    return db.session.scalar(select(Subscriber).where(Subscriber.email == normalised))


def _normalised(address: str) -> str:
    """The address as stored, or "" for none (redacted) or one no subscriber could have."""
    try:
        return normalise_address(address) if address else ""
    except InvalidAddress:
        return ""


def _seen(delivery_id: int, kind: BounceKind, verified: bool) -> bool:
    # Per evidence: a forged report about a delivery must not shadow the genuine one after it.
    found = select(Bounce.id).where(
        Bounce.delivery_id == delivery_id, Bounce.kind == kind, Bounce.verified == verified
    )
    return db.session.scalar(found.limit(1)) is not None


def _reason(failure: Failure) -> str:
    """The server's words, led by the status code unless they already quote it."""
    status = "" if failure.status in failure.reason else failure.status
    return " ".join(filter(None, [status, failure.reason]))[:2000] or failure.kind.value


def _apply(subscriber: Subscriber, failure: Failure) -> bool:
    """Count the bounce on the subscriber; True when it put the address on the suppression list."""
    config = current_app.config
    if failure.kind is BounceKind.COMPLAINT:
        _suppress(subscriber, SuppressionReason.COMPLAINED, failure)
        return True
    if failure.kind is BounceKind.HARD:
        over = _count(subscriber, Subscriber.hard_bounces) >= config["HARD_BOUNCE_LIMIT"]
    else:
        over = _count(subscriber, Subscriber.soft_bounces) >= config["SOFT_BOUNCE_LIMIT"]
    if over:
        _suppress(subscriber, SuppressionReason.BOUNCED, failure)
    return over


def _suppress(subscriber: Subscriber, reason: SuppressionReason, failure: Failure) -> None:
    """Suppress the address; webhooks hear of it when the subscriber's status changes."""
    was = subscriber.status
    suppression.suppress(subscriber.email, reason, _reason(failure))
    if subscriber.status != was:
        data = {"id": subscriber.id, "email": subscriber.email}
        outbox.emit(f"subscriber.{SubscriberStatus(subscriber.status).value}", data)


def _count(subscriber: Subscriber, column) -> int:  # type: ignore[no-untyped-def]
    """Add one to a bounce counter in SQL (workers and reports may count the same subscriber at
    once) and return the new value."""
    db.session.execute(
        update(Subscriber).where(Subscriber.id == subscriber.id).values({column: column + 1})
    )
    return db.session.scalar(select(column).where(Subscriber.id == subscriber.id)) or 0


def lift(subscriber_id: int) -> bool:
    """Take a bounced or complaining subscriber off the suppression list (an admin's decision).

    The subscriber's lists are untouched; the bounce counts start again from zero.
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


def reports(
    kind: str, before: int | None, limit: int
) -> list[Row[tuple[Bounce, Subscriber | None]]]:
    """Bounces and complaints newest first, each with its subscriber as they are now (None when
    the address is no subscriber's); ``kind`` filters when it names a :class:`BounceKind`,
    ``before`` is the keyset cursor (ids below it)."""
    query = (
        select(Bounce, Subscriber)
        .outerjoin(Subscriber, Subscriber.email == Bounce.email)
        .order_by(Bounce.id.desc())
        .limit(limit)
    )
    if kind in {k.value for k in BounceKind}:
        query = query.where(Bounce.kind == kind)
    if before is not None:
        query = query.where(Bounce.id < before)
    return list(db.session.execute(query))
