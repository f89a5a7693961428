"""An admin's changes to one subscriber (the REST API calls these): add an address with its
consent, or through the signup's double opt-in; change a name, attributes or lists; unsubscribe.

Adding never brings back an address silently. One on the do-not-mail list (bounced,
complained, blocked; with ``confirmed`` also erased) or one that unsubscribed is refused
with :class:`AddRefused`, as the CSV import rejects its row. A ``pending`` add goes the
signup's way, so an erased or unsubscribed person comes back only by clicking the link
mailed to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts import audit
from ..errors import NotAllowed
from ..extensions import db
from ..jobs import queues, writer
from ..languages import available, chosen_language
from ..models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from ..webhooks import outbox
from . import jobs, service, signup
from .addresses import InvalidInput, normalise_address, strict_name
from .memberships import confirm_membership
from .offer import Offered
from .queries import get
from .suppression import is_blocked, is_suppressed

# Import's words for the same refusals (``imports.importer.REASONS``).
SUPPRESSED = "The address is on the do-not-mail list (bounced, complained, erased or blocked)."
LEFT = "The subscriber unsubscribed earlier{where}; only they can subscribe again."
_BLOCKED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


class AddRefused(NotAllowed):
    """The address may not be added: it is suppressed, or its owner unsubscribed."""


class NothingToConfirm(NotAllowed):
    """The subscriber has no pending subscription: there is no confirmation to resend."""


@dataclass(frozen=True)
class Added:
    """The subscriber after an add, and whether the add created them."""

    subscriber: Subscriber
    created: bool


def add(
    email: str,
    *,
    name: str = "",
    slugs: list[str],
    attributes: dict[str, Any] | None = None,
    confirmed: bool,
    consent_note: str = "",
    language: str | None = None,
    actor: str,
) -> Added:
    """Add the address to the lists: ``confirmed`` on the admin's word, recorded with
    ``consent_note`` as the consent's source, or else pending, with the confirmation mail
    sent as for a signup. A known address keeps its row; the lists are added to it. ``language``
    (one there is a catalogue for) is the one every system mail to them is written in."""
    address = normalise_address(email)
    language = _language(language)
    name = strict_name(name or "")
    if confirmed and not consent_note.strip():
        raise InvalidInput("consent_note", "Adding a confirmed subscriber needs a consent note.")
    lists = _lists(slugs)
    existing = db.session.scalar(select(Subscriber).where(Subscriber.email == address))
    if existing is not None and existing.status in _BLOCKED:
        raise AddRefused(SUPPRESSED)
    if confirmed:
        subscriber = _add_confirmed(address, name, lists, existing, consent_note.strip())
    else:
        if is_blocked(address):
            raise AddRefused(SUPPRESSED)
        offered = [Offered(ml.id, ml.slug, ml.name, ml.is_default) for ml in lists]
        source = consent_note.strip() or f"added by {actor}"
        signup.subscribe(address, name, offered, source=source, ip=None, language=language)
        db.session.expire_all()
        subscriber = db.session.scalars(select(Subscriber).where(Subscriber.email == address)).one()
        if name and existing is not None:
            subscriber.name = name  # the signup never renames; an admin may
    if attributes:
        subscriber.attributes = _merged(subscriber.attributes, attributes)
    if language:
        subscriber.language = language
    how = "confirmed" if confirmed else "pending"
    audit.record("subscriber.add", f"subscriber {subscriber.id} ({how})", actor=actor)
    db.session.commit()
    return Added(subscriber, created=existing is None)


def _lists(slugs: list[str]) -> list[MailingList]:
    """The lists named, in order; an unknown or archived one is an :class:`InvalidInput`."""
    wanted = list(dict.fromkeys(slugs))
    found = {
        ml.slug: ml
        for ml in db.session.scalars(select(MailingList).where(MailingList.slug.in_(wanted)))
    }
    for slug in wanted:
        if slug not in found or found[slug].archived_at is not None:
            raise InvalidInput("lists", f"Unknown list: {slug[:64]}.")
    return [found[slug] for slug in wanted]


def _add_confirmed(
    address: str, name: str, lists: list[MailingList], existing: Subscriber | None, note: str
) -> Subscriber:
    if is_suppressed(address):
        raise AddRefused(SUPPRESSED)
    try:
        return _write_confirmed(existing or Subscriber(email=address, name=name), name, lists, note)
    except IntegrityError:
        if existing is not None:
            raise
        db.session.rollback()  # a signup created the address a moment ago: confirm that row
        found = db.session.scalars(select(Subscriber).where(Subscriber.email == address)).one()
        return _write_confirmed(found, name, lists, note)


def _left(subscription: Subscription | None) -> bool:
    return subscription is not None and subscription.status == SubscriptionStatus.UNSUBSCRIBED


def _write_confirmed(
    subscriber: Subscriber, name: str, lists: list[MailingList], note: str
) -> Subscriber:
    """Confirm the subscriber on the lists, with the consent event that says on whose word,
    in one write turn; :class:`AddRefused` for a known one who left. Checked on their rows as
    they are now, locked until the commit: a reader who unsubscribes at the same instant
    stays unsubscribed."""
    with writer.turn():
        if subscriber.id is not None:
            try:
                _refuse_if_left(_locked(subscriber), lists)
            except AddRefused:
                db.session.rollback()
                raise
        _confirm_on(subscriber, name, lists, note)
        db.session.commit()
    return subscriber


def _locked(subscriber: Subscriber) -> Subscriber:
    """The subscriber and their memberships read again, locked until the transaction ends."""
    for query in (
        select(Subscriber).where(Subscriber.id == subscriber.id),
        select(Subscription).where(Subscription.subscriber_id == subscriber.id),
    ):
        db.session.scalars(query.with_for_update().execution_options(populate_existing=True)).all()
    db.session.expire(subscriber, ["subscriptions"])  # memberships begun meanwhile too
    return subscriber


def _refuse_if_left(subscriber: Subscriber, lists: list[MailingList]) -> None:
    held = {s.list_id: s for s in subscriber.subscriptions}
    left = [ml.slug for ml in lists if _left(held.get(ml.id))]
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED or left:
        raise AddRefused(LEFT.format(where=f" from {', '.join(left)}" if left else ""))


def _confirm_on(subscriber: Subscriber, name: str, lists: list[MailingList], note: str) -> None:
    now = utcnow()
    db.session.add(subscriber)
    if name:
        subscriber.name = name
    was = subscriber.status
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = subscriber.confirmed_at or now
    for ml in lists:
        confirm_membership(subscriber, ml.id, now)
    subscriber.consent_events.append(
        ConsentEvent(action="add-confirmed", source=note[:500], lists=[ml.slug for ml in lists])
    )
    if was != SubscriberStatus.CONFIRMED:
        db.session.flush()  # a new subscriber's id
        data = {"id": subscriber.id, "email": subscriber.email, "lists": [ml.slug for ml in lists]}
        outbox.emit("subscriber.confirmed", data)


def change(
    subscriber_id: int,
    *,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
    slugs: list[str] | None = None,
    unsubscribe: bool = False,
    language: str | None = None,
    actor: str,
) -> Subscriber:
    """Change what an admin may change: the name, attributes (merged; a ``None`` value
    removes the key), the lists they stay on (only leaving: joining one takes their consent,
    see :func:`add`), or unsubscribe them from everything; ``language`` sets the language of
    their system mails (``""``: back to the site's default)."""
    subscriber = get(subscriber_id)
    if language is not None:
        subscriber.language = _language(language)
    if name is not None:
        subscriber.name = strict_name(name)
    if attributes is not None:
        subscriber.attributes = _merged(subscriber.attributes, attributes)
    if slugs is not None:
        _keep_only(subscriber, set(slugs), actor)
    audit.record("subscriber.change", f"subscriber {subscriber_id}", actor=actor)
    db.session.commit()
    if unsubscribe:
        service.unsubscribe(subscriber_id, source=actor)
    return get(subscriber_id)


def _language(asked: str | None) -> str | None:
    """A language asked for, as stored: one there is a catalogue for, or None for the default."""
    if not asked:
        return None
    code = chosen_language(asked)
    if code is None:
        raise InvalidInput(
            "language", f"Unknown language: {asked[:35]}. One of {', '.join(available())}."
        )
    return code


def _keep_only(subscriber: Subscriber, slugs: set[str], actor: str) -> None:
    active = {
        s.mailing_list.slug: s
        for s in subscriber.subscriptions
        if s.status != SubscriptionStatus.UNSUBSCRIBED
    }
    joining = sorted(slugs - active.keys())
    if joining:
        raise InvalidInput(
            "lists",
            f"Not on {joining[0][:64]}: joining a list takes the subscriber's consent "
            "(add them with a consent note, or as pending).",
        )
    dropped = sorted(active.keys() - slugs)
    for slug in dropped:
        active[slug].status = SubscriptionStatus.UNSUBSCRIBED
    if not dropped:
        return
    if len(dropped) == len(active) and subscriber.status in (
        SubscriberStatus.PENDING,
        SubscriberStatus.CONFIRMED,
    ):
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        outbox.emit("subscriber.unsubscribed", {"id": subscriber.id, "email": subscriber.email})
    subscriber.consent_events.append(
        ConsentEvent(action="unsubscribe", source=actor, lists=dropped)
    )


def resend_confirmation(subscriber_id: int, *, actor: str) -> Subscriber:
    """Mail the confirmation link again, as the admin's Resend button does; refused with
    :class:`NothingToConfirm` when nothing of theirs is pending (the mail would not go)."""
    subscriber = get(subscriber_id)
    pending = subscriber.status == SubscriberStatus.PENDING or any(
        s.status == SubscriptionStatus.PENDING for s in subscriber.subscriptions
    )
    if not pending or subscriber.status in _BLOCKED or is_blocked(subscriber.email):
        raise NothingToConfirm(
            f"Subscriber {subscriber_id} has nothing pending to confirm "
            f"({SubscriberStatus(subscriber.status).value})."
        )
    audit.record("subscriber.resend", f"subscriber {subscriber_id}", actor=actor)
    db.session.commit()
    queues.enqueue(jobs.send_confirmation, subscriber_id, queue=queues.TRANSACTIONAL)
    return subscriber


def _merged(current: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``given`` laid over it; a key given as ``None`` goes."""
    merged = {**(current or {}), **given}
    return {k: v for k, v in merged.items() if v is not None}
