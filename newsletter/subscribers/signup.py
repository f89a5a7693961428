"""Signing up: a visitor's (or an admin's or an import's) request to join lists, written
in three short statements built once per dialect, then the confirmation mail queued.

Confirmation, preferences and unsubscribing are in :mod:`newsletter.subscribers.service`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Executable, bindparam, insert, select

from ..extensions import db
from ..jobs import writer
from ..languages import consent_text
from ..models import (
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from ..webhooks import outbox
from . import confirmations, consent
from .offer import Offered
from .suppression import blocked_clause, hash_params, upsert


def subscribe(
    email: str,
    name: str,
    lists: list[Offered],
    *,
    source: str,
    ip: str | None,
    language: str | None = None,
) -> None:
    """Record a signup and queue the confirmation mail; a new subscriber keeps ``language``
    (the signup page's) for every system mail to them.

    The same work happens whatever state the address is in (new, pending, confirmed,
    unsubscribed, blocked); the job alone decides whether a mail goes out. Everything is
    prepared first, then three short statements write: SQLite has one writer, so the write
    lock is held only for those. The first stores nothing for a blocked address.
    """
    event = consent.columns(
        "subscribe",
        source,
        [ml.slug for ml in lists],
        ip=ip,
        text=consent_text(),  # as the visitor read it, in the page's language
    )
    hashes = hash_params(email)
    now = utcnow()
    subscriber = {
        "email": email,
        "name": name,
        "status": SubscriberStatus.PENDING,
        "language": language,
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
            conn.execute(sql.consent, {"subscriber_id": subscriber_id, **event})
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
    # preferences page; nor changes their language, for the same reason. ``keys``: how many
    # hashes the address has.
    table = Subscriber.__table__
    columns = [
        table.c.email,
        table.c.name,
        table.c.status,
        table.c.language,
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
