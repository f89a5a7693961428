"""The do-not-mail list. It holds salted hashes only, so an erased subscriber's address is not
kept, yet an import or signup can still be checked against it."""

from __future__ import annotations

import functools

from sqlalchemy import Exists, Select, Table, bindparam, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from .. import signing
from ..extensions import db
from ..models import Subscriber, SubscriberStatus, Suppression, SuppressionReason
from .addresses import InvalidAddress, normalise_address

# Reasons that stop every mail, even one the subscriber asks for by signing up again. An erased
# subscriber may come back through double opt-in; confirming lifts the erasure entry.
BLOCKING = (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED, SuppressionReason.ADMIN)


def _stored_form(email: str) -> str:
    try:
        return normalise_address(email)
    except InvalidAddress:
        return email.strip()


def _canonical(email: str) -> str:
    # Case-folded in full: a suppressed subscriber must not slip back in as Foo@ instead of foo@.
    # Only non-ASCII input needs the (slow) validator, to turn an IDN domain into Punycode;
    # imports hash a million addresses through here.
    address = email.strip()
    return (address if address.isascii() else _stored_form(address)).lower()


def email_hash(email: str) -> str:
    """Salted SHA-256 (HMAC keyed with SECRET_KEY) of the address, for ``Suppression``."""
    return signing.sign(_canonical(email))


def _hashes(email: str) -> list[str]:
    # Hashes under rotated-out keys too, so key rotation does not empty the list.
    return signing.signatures(_canonical(email))


@functools.cache
def _listed(keys: int, blocking: bool) -> Select[tuple[int]]:
    # Built once per number of keys: every signup and every transactional mail asks.
    hashes = [bindparam(f"h{i}") for i in range(keys)]
    found = select(Suppression.id).where(Suppression.email_hash.in_(hashes))
    if blocking:
        # One bound value per reason, not an expanding IN: that is rewritten into the SQL at
        # every execution, which cost a signup a tenth of its CPU time.
        reasons = [literal(reason, Suppression.reason.type) for reason in BLOCKING]
        found = found.where(Suppression.reason.in_(reasons))
    return found.limit(1)


def hash_params(email: str) -> dict[str, str]:
    """The address's hashes as the parameters ``h0``, ``h1``… of :func:`blocked_clause`."""
    return {f"h{i}": h for i, h in enumerate(_hashes(email))}


def blocked_clause(keys: int) -> Exists:
    """``EXISTS`` a blocking entry for the hashes bound as ``h0``…, for use in a statement
    that should do nothing for a blocked address (``keys``: how many hashes)."""
    return _listed(keys, blocking=True).exists()


def _on_list(email: str, blocking: bool) -> bool:
    params = hash_params(email)
    found = _listed(len(params), blocking)
    return db.session.scalar(found, params) is not None


def is_suppressed(email: str) -> bool:
    """True when the address is on the do-not-mail list, for any reason."""
    return _on_list(email, blocking=False)


def is_blocked(email: str) -> bool:
    """True when no mail at all may go to the address (bounced, complained, admin)."""
    return _on_list(email, blocking=True)


def suppress(email: str, reason: SuppressionReason, detail: str = "") -> None:
    """Put the address on the do-not-mail list (idempotent, safe under concurrent workers).

    For bounces and complaints the subscriber's status follows. Joins the caller's transaction:
    bounce handling calls this mid-batch and commits with its own changes.
    """
    if not is_suppressed(email):
        insert_ignore(
            Suppression, email_hash=email_hash(email), reason=reason, detail=detail[:2000]
        )
    if reason in (SuppressionReason.BOUNCED, SuppressionReason.COMPLAINED):
        # Stored addresses are normalised: a plain comparison, by index, not a lower() scan.
        subscriber = db.session.scalar(
            select(Subscriber).where(Subscriber.email == _stored_form(email))
        )
        if subscriber is not None:
            subscriber.status = SubscriberStatus(reason.value)
    db.session.flush()


def upsert(table: Table, dialect: str) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for ``table`` that can say what to do ON CONFLICT, in this dialect."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def insert_ignore(model: type[db.Model], **values: object) -> None:
    """INSERT that does nothing when a unique key already exists (a concurrent twin won)."""
    row = upsert(model.__table__, db.session.get_bind().dialect.name).values(**values)
    db.session.execute(row.on_conflict_do_nothing())


def lift_erasure(email: str) -> None:
    """Forget an erasure entry once the subscriber has opted in again (caller commits)."""
    lift(email, (SuppressionReason.ERASED,))


def lift(email: str, reasons: tuple[SuppressionReason, ...]) -> int:
    """Take the address off the list for these reasons, under any key; returns how many
    entries went (caller commits). Bounce handling lifts bounced/complained on an admin's word."""
    result = db.session.execute(
        delete(Suppression).where(
            Suppression.email_hash.in_(_hashes(email)), Suppression.reason.in_(reasons)
        )
    )
    return result.rowcount or 0
