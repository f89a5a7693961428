"""The subscriber lifecycle: signup, confirmation, preferences, unsubscribe. The subscriber's data
rights (export, erase) live in ``privacy``, the purge of unconfirmed signups in ``retention``
and the do-not-mail list in ``suppression``; they are re-exported here so callers have one
place to import from.

Views, the CLI and jobs call these with plain values and ids. Every function that completes
a subscriber's action commits; ``suppress`` joins the caller's transaction instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Executable, bindparam, insert, select

from .. import signing
from ..extensions import db
from ..jobs import queues, writer
from ..models import (
    ConsentEvent,
    FormerLink,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from ..webhooks import outbox
from . import confirmations, jobs, tokens
from .addresses import InvalidInput
from .links import Links, links_for
from .offer import Offered, public_lists, resolve_lists
from .privacy import erase, export_data
from .queries import NoSuchSubscriber, get
from .retention import purge_unconfirmed
from .suppression import (
    blocked_clause,
    email_hash,
    hash_params,
    is_suppressed,
    lift_erasure,
    suppress,
    upsert,
)
from .throttle import allow_attempt, allow_confirmation_mail

__all__ = [
    "Links",
    "NoSuchSubscriber",
    "allow_attempt",
    "allow_confirmation_mail",
    "confirm",
    "email_hash",
    "erase",
    "export_data",
    "get",
    "is_suppressed",
    "links_for",
    "public_lists",
    "purge_unconfirmed",
    "request_new_link",
    "resolve_lists",
    "subscribe",
    "subscriber_for",
    "suppress",
    "unsubscribe",
    "update_preferences",
]

# A subscriber's overall status while they still want mail / after they withdrew it.
_ACTIVE = (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED, SubscriberStatus.UNSUBSCRIBED)


# ---------------------------------------------------------------- signup and confirmation


def subscribe(email: str, name: str, lists: list[Offered], *, source: str, ip: str | None) -> None:
    """Record a signup and queue the confirmation mail.

    The same work happens whatever state the address is in (new, pending, confirmed,
    unsubscribed, blocked); the job alone decides whether a mail goes out. Everything is
    prepared first, then three short statements write: SQLite has one writer, so the write
    lock is held only for those. The first stores nothing for a blocked address.
    """
    consent = _consent(
        "subscribe",
        source,
        [ml.slug for ml in lists],
        ip=ip,
        text=current_app.config["CONSENT_TEXT"],
    )
    hashes = hash_params(email)
    now = utcnow()
    subscriber = {
        "email": email,
        "name": name,
        "status": SubscriberStatus.PENDING,
        "confirmation_due_at": now,  # a mail is promised now; its sending clears this
        "created_at": now,  # comes back unchanged only from a row this statement inserted
        **hashes,
    }
    asked = [{"list_id": ml.id, "status": SubscriptionStatus.PENDING} for ml in lists]
    sql = _signup_sql(db.session.get_bind().dialect.name, len(hashes))
    with writer.turn():
        conn = db.session.connection()
        row = conn.execute(sql.subscriber, subscriber).one_or_none()
        subscriber_id = row.id if row is not None else None
        if subscriber_id is not None:
            if asked:
                conn.execute(sql.lists, [{"subscriber_id": subscriber_id, **a} for a in asked])
            conn.execute(sql.consent, {"subscriber_id": subscriber_id, **consent})
            if row.created_at == now:
                outbox.emit("subscriber.created", {"id": subscriber_id, "email": email})
        db.session.commit()
    confirmations.request(subscriber_id)


def request_new_link(email: str) -> None:
    """Send a fresh confirmation link to a pending subscriber; nothing (silently) otherwise."""
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
    confirmations.request(subscriber.id if subscriber else None)


@dataclass(frozen=True)
class _SignupSQL:
    """The statements a signup writes with, built once per dialect."""

    subscriber: Executable
    lists: Executable
    consent: Executable


@functools.cache
def _signup_sql(dialect: str, keys: int) -> _SignupSQL:
    # The subscriber: inserted as pending if new, in one statement so two simultaneous signups
    # for one address are one row; its id comes back, or nothing when the address is
    # blocked. A later signup never renames a subscriber, pending or confirmed: anyone can sign
    # up any address, so its name would be a stranger's words; the subscriber changes it on the
    # preferences page. ``keys``: how many hashes the address has.
    table = Subscriber.__table__
    columns = [
        table.c.email,
        table.c.name,
        table.c.status,
        table.c.confirmation_due_at,
        table.c.created_at,
    ]
    values = select(*(bindparam(c.name, type_=c.type) for c in columns))
    subscriber = upsert(table, dialect).from_select(columns, values.where(~blocked_clause(keys)))
    subscriber = subscriber.on_conflict_do_update(
        index_elements=[table.c.email],
        set_={"confirmation_due_at": subscriber.excluded.confirmation_due_at},
    ).returning(table.c.id, table.c.created_at)
    # Each list asked for: new ones and ones left earlier become pending; others stay.
    table = Subscription.__table__
    lists = upsert(table, dialect)
    lists = lists.on_conflict_do_update(
        index_elements=[table.c.subscriber_id, table.c.list_id],
        set_={"status": lists.excluded.status, "updated_at": lists.excluded.updated_at},
        where=table.c.status == SubscriptionStatus.UNSUBSCRIBED,
    )
    return _SignupSQL(subscriber, lists, insert(ConsentEvent.__table__))


def _record(
    subscriber: Subscriber,
    action: str,
    source: str,
    lists: list[str],
    *,
    ip: str | None = None,
    text: str = "",
) -> None:
    """Add a consent event: proof of a signup, a confirmation, or its withdrawal."""
    db.session.add(
        ConsentEvent(
            subscriber_id=subscriber.id, **_consent(action, source, lists, ip=ip, text=text)
        )
    )


def _consent(
    action: str, source: str, lists: list[str], *, ip: str | None = None, text: str = ""
) -> dict[str, object]:
    """A consent event's columns (all but the subscriber)."""
    return {
        "action": action,
        "source": source[:500],
        "consent_text": text,
        "ip": _kept_ip(ip),
        "lists": lists,
    }


def _kept_ip(ip: str | None) -> str | None:
    """The visitor's IP as CONSENT_IP says: kept, hashed (keyed, not reversible) or dropped."""
    mode = current_app.config["CONSENT_IP"]
    if not ip or mode == "drop":
        return None
    if mode == "keep":
        return ip[:128]
    return "hmac-sha256:" + signing.sign(ip, 32)


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
    """Confirm the subscriber's pending lists (idempotent); True when something changed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return False
    pending = [s for s in subscriber.subscriptions if s.status == SubscriptionStatus.PENDING]
    if not pending and subscriber.status != SubscriberStatus.PENDING:
        return False
    for subscription in pending:
        subscription.status = SubscriptionStatus.CONFIRMED
    was = subscriber.status
    if subscriber.status in _ACTIVE:
        subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = utcnow()
    slugs = [s.mailing_list.slug for s in pending]
    _record(subscriber, "confirm", "confirmation link", slugs, ip=ip)
    if was != subscriber.status:
        _emit_status(subscriber, lists=slugs)
    lift_erasure(subscriber.email)
    db.session.commit()
    queues.enqueue(jobs.send_welcome, subscriber.id, queue=queues.TRANSACTIONAL)
    return True


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
        _record(subscriber, "unsubscribe", source, [s.mailing_list.slug for s in left])
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
        raise InvalidInput("lists", f"Unknown list: {unknown[0][:64]}.")
    subscriber.name = name
    held = {s.list_id: s for s in subscriber.subscriptions}
    changed = []
    for slug, ml in offered.items():
        want = SubscriptionStatus.CONFIRMED if slug in slugs else SubscriptionStatus.UNSUBSCRIBED
        current = held.get(ml.id)
        if current is None and want == SubscriptionStatus.UNSUBSCRIBED:
            continue
        if current is None:
            subscriber.subscriptions.append(Subscription(list_id=ml.id, status=want))
        elif current.status != want:
            current.status = want
        else:
            continue
        changed.append(slug)
    if changed:
        _settle_status(subscriber, bool(slugs))
        _record(subscriber, "preferences", "preferences page", sorted(slugs), ip=ip)
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
