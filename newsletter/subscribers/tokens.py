"""Signed links for subscribers. One serializer per purpose, each with its own salt and lifetime.

A token carries the subscriber id and a short hash of the address it was issued for, so a
token dies as soon as the address it vouched for changes (or the subscriber is erased). Its
signing time ties it to one row too: a token older than the row it names was made for a
subscriber who had that id before (SQLite handed out freed ids again until upgrade 0009).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

from .. import signing


class TokenError(Exception):
    """Base of the token failures a view may catch."""


class TokenExpired(TokenError):
    """The signature is good but the link is older than its purpose allows."""


class TokenInvalid(TokenError):
    """Tampered, truncated, for another purpose, or for an address that has changed."""


def _confirm_age() -> timedelta:
    return timedelta(days=current_app.config["CONFIRM_MAX_AGE_DAYS"])


# Unsubscribe and preferences links sit in mails people keep for years; RFC 8058 and the
# bulk-sender rules want them to keep working, so they expire only when the address changes.
CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"
_SALTS = {
    CONFIRM: "newsletter.confirm.v1",
    UNSUBSCRIBE: "newsletter.unsubscribe.v1",
    MANAGE: "newsletter.manage.v1",
}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    current, *fallbacks = signing.keys()
    return _serializer_for((*fallbacks, current), _SALTS[purpose])


@lru_cache(maxsize=32)
def _serializer_for(keys: tuple[str, ...], salt: str) -> URLSafeTimedSerializer:
    # Accepts every key (the last one signs): key rotation keeps links already in inboxes
    # working. Built once per key set; :func:`make` signs without it (see there).
    return URLSafeTimedSerializer(list(keys), salt=salt)


_ADDRESS_HASH = 16  # hex characters of the address hash a token carries


def address_hash(email: str) -> str:
    """Short keyed hash of an address, bound into tokens."""
    return signing.sign(email, _ADDRESS_HASH)


def address_hashes(email: str) -> set[str]:
    """The address's short hash under every current key (what a token may carry)."""
    return set(signing.signatures(email, _ADDRESS_HASH))


def make(purpose: str, subscriber_id: int, email: str) -> str:
    """Sign a link token for ``purpose`` bound to this subscriber and address."""
    return make_many((purpose,), subscriber_id, email)[0]


def make_many(purposes: tuple[str, ...], subscriber_id: int, email: str) -> list[str]:
    """:func:`make` for several purposes at once (every bulk mail carries two links).

    The tokens are in itsdangerous' format, signed as ``_serializer(purpose).dumps([id,
    hash])`` signs (and :func:`read` checks them with that serializer), but put together
    here, the payload and timestamp once for all purposes: itsdangerous' general path (a new
    signer, key derivation, JSON and a zlib attempt per token) cost more than the rest of a
    bulk copy. The zlib attempt is left out: it shortens only payloads with long runs of
    repeated digits, by a few bytes, and ``loads`` reads compressed and plain payloads alike.
    """
    key = signing.keys()[0]
    payload = base64_encode(f'[{int(subscriber_id)},"{address_hash(email)}"]')
    signed = payload + b"." + base64_encode(int_to_bytes(int(time.time())))
    macs = (signing.digest(_signing_key(key, p), signed, "sha1") for p in purposes)
    return [(signed + b"." + base64_encode(m)).decode() for m in macs]


@lru_cache(maxsize=32)
def _signing_key(secret_key: str, purpose: str) -> bytes:
    # itsdangerous' default signer: "django-concat" key derivation, then HMAC-SHA1 (as a
    # MAC, not a bare hash, so SHA-1 is sound here; the format is itsdangerous' own).
    salt = _SALTS[purpose]
    return hashlib.sha1(salt.encode() + b"signer" + secret_key.encode()).digest()  # noqa: S324


class Claim(NamedTuple):
    """What a token says: whom it was made for, and when."""

    subscriber_id: int
    address_hash: str
    signed_at: datetime


def read(purpose: str, token: str) -> Claim:
    """Return what the token claims, or raise TokenExpired / TokenInvalid.

    The caller must still check the claim against the subscriber row with
    :func:`vouches_for`; the model lookup belongs to the service, not here.
    """
    max_age = _confirm_age() if purpose == CONFIRM else None
    try:
        data, signed_at = _serializer(purpose).loads(
            token, max_age=int(max_age.total_seconds()) if max_age else None, return_timestamp=True
        )
    except SignatureExpired as exc:
        raise TokenExpired(str(exc)) from None
    except (BadSignature, UnicodeError, ValueError):
        raise TokenInvalid("bad signature") from None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not isinstance(data[0], int)
        or not isinstance(data[1], str)
    ):
        raise TokenInvalid("bad payload")
    return Claim(data[0], data[1], signed_at)


# Tokens carry whole seconds, and a worker on another host may sign with a clock a little
# behind the one that stamped the row.
_CLOCK_SLACK = timedelta(seconds=5)


def vouches_for(claim: Claim, email: str, created_at: datetime) -> bool:
    """True when the token was made for this row: its address, and no older than the row."""
    return claim.signed_at + _CLOCK_SLACK >= created_at and matches(claim.address_hash, email)


def matches(token_hash: str, email: str) -> bool:
    """True when a token's address hash is for this address (under any current key)."""
    return signing.verify(token_hash, email, _ADDRESS_HASH)
