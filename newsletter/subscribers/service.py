"""The subscriber lifecycle after signing up (which is in ``signup``): confirmation,
preferences, unsubscribe. The subscriber's data rights (export, erase) live in ``privacy``,
the purge of unconfirmed signups in ``retention`` and the do-not-mail list in
``suppression``; they are re-exported here so callers have one place to import from.

Views, the CLI and jobs call these with plain values and ids. Every function that completes
a subscriber's action commits; ``suppress`` joins the caller's transaction instead.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..jobs import queues
from ..models import (
    FormerLink,
    MailingList,
    Subscriber,
    SubscriberStatus,
    SubscriptionStatus,
    utcnow,
)
from ..webhooks import outbox
from . import consent, jobs, tokens
from .addresses import InvalidInput
from .links import Links, links_for
from .memberships import confirm_membership
from .offer import public_lists, resolve_lists
from .privacy import erase, export_data
from .queries import NoSuchSubscriber, get
from .retention import purge_unconfirmed
from .suppression import (
    email_hash,
    is_suppressed,
    lift_erasure,
    suppress,
)
from .throttle import allow_attempt, allow_signup

__all__ = [
    "Links",
    "NoSuchSubscriber",
    "allow_attempt",
    "allow_signup",
    "confirm",
    "email_hash",
    "erase",
    "export_data",
    "get",
    "is_suppressed",
    "links_for",
    "public_lists",
    "purge_unconfirmed",
    "resolve_lists",
    "subscriber_for",
    "suppress",
    "unsubscribe",
    "update_preferences",
]

# A subscriber's overall status while they still want mail / after they withdrew it.
_ACTIVE = (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED, SubscriberStatus.UNSUBSCRIBED)


# ---------------------------------------------------------------- confirmation


def subscriber_for(purpose: str, token: str) -> Subscriber:
    """The subscriber a link token is for; TokenInvalid when they are gone or their address changed
    (or the row is not the one the link was made for)."""
    claim = tokens.read(purpose, token)
    found = db.session.get(Subscriber, claim.subscriber_id)
    if found is not None and tokens.vouches_for(claim, found.email, found.created_at):
        return found
    # A link from before upgrade 0009, whose subscriber it lowercased or merged into another.
    kept = db.session.scalar(
        select(FormerLink.subscriber_id).where(
            FormerLink.former_id == claim.subscriber_id,
            FormerLink.address_hash == claim.address_hash,
        )
    )
    if kept is None:
        raise tokens.TokenInvalid("no such subscriber")
    return db.session.get_one(Subscriber, kept)


def confirm(subscriber_id: int, *, ip: str | None) -> bool:
    """Confirm the subscriber's pending lists (idempotent); True when a welcome mail is on its
    way (the confirmation page promises one only then)."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return False
    pending = [s for s in subscriber.subscriptions if s.status == SubscriptionStatus.PENDING]
    if not pending and subscriber.status != SubscriberStatus.PENDING:
        return False
    now = utcnow()
    for subscription in pending:
        confirm_membership(subscriber, subscription.list_id, now)
    was = subscriber.status
    if subscriber.status in _ACTIVE:
        subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = now
    slugs = [s.mailing_list.slug for s in pending]
    consent.record(subscriber, "confirm", "confirmation link", slugs, ip=ip)
    if was != subscriber.status:
        _emit_status(subscriber, lists=slugs)
    lift_erasure(subscriber.email)
    db.session.commit()
    # The built-in welcome is step 0 of a list's sequence; a list may leave it to its own steps.
    welcome = not pending or any(s.mailing_list.sends_welcome for s in pending)
    if welcome:
        queues.enqueue(jobs.send_welcome, subscriber.id, queue=queues.TRANSACTIONAL)
    return welcome


# ---------------------------------------------------------------- preferences and leaving


def unsubscribe(subscriber_id: int, source: str) -> None:
    """Unsubscribe the subscriber from every list (idempotent); ``source`` says how."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return
    left = [s for s in subscriber.subscriptions if s.status != SubscriptionStatus.UNSUBSCRIBED]
    for subscription in left:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
    was_active = subscriber.status in (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED)
    if was_active:
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
    if left or was_active:
        consent.record(subscriber, "unsubscribe", source, [s.mailing_list.slug for s in left])
    if was_active:
        _emit_status(subscriber)
    db.session.commit()


def preference_lists(subscriber: Subscriber) -> list[tuple[MailingList, bool]]:
    """Lists the subscriber may choose on their preferences page, with whether each is chosen."""
    chosen = {
        s.list_id: s.status != SubscriptionStatus.UNSUBSCRIBED for s in subscriber.subscriptions
    }
    offered = {ml.id: ml for ml in public_lists()}
    for s in subscriber.subscriptions:
        if s.mailing_list.archived_at is None:
            offered.setdefault(s.list_id, s.mailing_list)
    return [(ml, chosen.get(ml.id, False)) for ml in offered.values()]


def update_preferences(subscriber_id: int, *, name: str, slugs: list[str], ip: str | None) -> None:
    """Set the subscriber's name and lists. The link came to their inbox, so a list chosen here
    is confirmed at once (this is how someone who unsubscribed comes back)."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return
    offered = {ml.slug: ml for ml, _ in preference_lists(subscriber)}
    unknown = [s for s in slugs if s not in offered]
    if unknown:
        raise InvalidInput("lists", _l("Unknown list: %(slug)s.", slug=unknown[0][:64]))
    subscriber.name = name
    held = {s.list_id: s for s in subscriber.subscriptions}
    changed = []
    for slug, ml in offered.items():
        want = SubscriptionStatus.CONFIRMED if slug in slugs else SubscriptionStatus.UNSUBSCRIBED
        current = held.get(ml.id)
        if (current.status if current else SubscriptionStatus.UNSUBSCRIBED) == want:
            continue
        if want == SubscriptionStatus.CONFIRMED:
            confirm_membership(subscriber, ml.id)
        else:
            current.status = want
        changed.append(slug)
    if changed:
        _settle_status(subscriber, bool(slugs))
        consent.record(subscriber, "preferences", "preferences page", sorted(slugs), ip=ip)
    db.session.commit()


def _settle_status(subscriber: Subscriber, wants_mail: bool) -> None:
    if subscriber.status not in _ACTIVE:
        return  # bounced or complained: only the admin lifts that
    was = subscriber.status
    if wants_mail:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    else:
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
    if was != subscriber.status:
        _emit_status(subscriber)


def _emit_status(subscriber: Subscriber, **extra: object) -> None:
    """Tell webhooks the subscriber is now confirmed or unsubscribed (caller commits)."""
    status = SubscriberStatus(subscriber.status).value
    data = {"id": subscriber.id, "email": subscriber.email, **extra}
    outbox.emit(f"subscriber.{status}", data)
