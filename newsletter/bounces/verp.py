"""What we sign into the mail we send, so that a report about it proves itself.

Return paths (``bounces+d42.<sig>@…``) name a delivery, so a bounce that quotes one is
matched to exactly one delivery; a transactional mail's (``bounces+r-7.<sig>@…``) names its
subscriber at their current address. Unsubscribe addresses (``bounces+u-7.<sig>@…``, the mailto
target of List-Unsubscribe) name a subscriber at their current address, so a mail arriving there
unsubscribes that subscriber. A bulk mail's Message-ID (``<issue3.delivery42.<sig>@…>``) carries
a keyed tag too: a complaint that only quotes the Message-ID (feedback loops redact the
rest) still names its delivery, and counting up through ids names nobody. Each kind is signed
with its own purpose string: a forged tag, or a tag of one kind put in another's place,
matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from functools import lru_cache

from flask import current_app

from .. import signing

_TAG = re.compile(r"\+d(\d{1,18})\.([0-9a-f]{10})@", re.IGNORECASE)
# Hex and digits only: some mail servers lowercase the local part on the way in.
_UNSUBSCRIBE_TAG = re.compile(r"\+u-(\d{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)
_SUBSCRIBER_TAG = re.compile(r"\+r-(\d{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)
_MESSAGE_ID_TAG = re.compile(r"\.delivery(\d{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)
MAX_LOCAL_PART = 64  # RFC 5321; longer local parts are refused by many servers


# What each kind of tag signs, and how many hex characters of the HMAC it keeps. Each kind
# has its own prefix, so one kind's tag never passes for another's.
def _delivery_message(delivery_id: int) -> str:
    return f"verp:{delivery_id}"


def _unsubscribe_message(subscriber_id: int, email: str) -> str:
    # Bound to the address, like the https link: the tag dies when the address changes.
    return f"unsubscribe-mailto:{subscriber_id}:{email.lower()}"


def _subscriber_message(subscriber_id: int, email: str) -> str:
    return f"reader-return-path:{subscriber_id}:{email.lower()}"


def _message_id_message(delivery_id: int) -> str:
    return f"message-id:{delivery_id}"


_DELIVERY_TAG_LENGTH = 10  # short: a return path must fit in 64 characters
_TAG_LENGTH = 16


def _signed_number(
    found: re.Match[str] | None, message: Callable[[int], str], length: int
) -> int | None:
    """The number a tag names when its signature is ours under any key, else None."""
    if found is None:
        return None
    number, signature = int(found.group(1)), found.group(2).lower()
    return number if signing.verify(signature, message(number), length) else None


def _mailbox() -> tuple[str, str]:
    return _split(current_app.config.get("BOUNCE_ADDRESS") or current_app.config["FROM"])


@lru_cache(maxsize=8)
def _split(address: str) -> tuple[str, str]:
    # Parsed once per address: parseaddr cost as much as the rest of a bulk mail's envelope.
    local, _, domain = parseaddr(address)[1].rpartition("@")
    return local.partition("+")[0], domain


def return_path(delivery_id: int) -> str:
    """The envelope sender for one delivery: ``bounces+d42.<sig>@example.org``."""
    local, domain = _mailbox()
    signature = signing.sign(_delivery_message(delivery_id), _DELIVERY_TAG_LENGTH)
    return f"{local}+d{delivery_id}.{signature}@{domain}"


def delivery_id(address: str) -> int | None:
    """The delivery a VERP address names, or None when it is none of ours (or forged)."""
    return _signed_number(_TAG.search(address), _delivery_message, _DELIVERY_TAG_LENGTH)


def subscriber_return_path(subscriber_id: int, email: str) -> str:
    """The envelope sender of a transactional mail (confirmation, welcome) to one subscriber:
    ``bounces+r-7.<sig>@example.org``, so its bounce proves which subscriber it is about. Bound
    to the address, like the unsubscribe tag; the plain mailbox when the tag does not fit."""
    local, domain = _mailbox()
    signature = signing.sign(_subscriber_message(subscriber_id, email), _TAG_LENGTH)
    tagged = f"{local}+r-{subscriber_id}.{signature}"
    return f"{tagged if len(tagged) <= MAX_LOCAL_PART else local}@{domain}"


def subscriber_claim(address: str) -> tuple[int, str] | None:
    """``(subscriber_id, signature)`` from a transactional return path, or None; check it
    against the subscriber's current address with :func:`subscriber_signed`."""
    found = _SUBSCRIBER_TAG.search(address)
    return (int(found.group(1)), found.group(2).lower()) if found else None


def subscriber_signed(subscriber_id: int, email: str, signature: str) -> bool:
    """True when ``signature`` is ours for this subscriber at this address (under any key)."""
    return signing.verify(signature, _subscriber_message(subscriber_id, email), _TAG_LENGTH)


def message_tag(delivery_id: int) -> str:
    """The keyed part of a bulk mail's Message-ID (see ``BulkTemplate.message_id``)."""
    return signing.sign(_message_id_message(delivery_id), _TAG_LENGTH)


def delivery_in_message_id(message_id: str) -> int | None:
    """The delivery a Message-ID names by its keyed tag; None for a forged one, and for the
    untagged ``<issue3.delivery42@…>`` of mails sent before tags (anyone can count those)."""
    return _signed_number(_MESSAGE_ID_TAG.search(message_id), _message_id_message, _TAG_LENGTH)


def unsubscribe_address(subscriber_id: int, email: str) -> str | None:
    """Where a mail unsubscribes this subscriber: ``bounces+u-7.<sig>@example.org``.

    None when the bounce mailbox's own local part is too long to leave room for the tag
    (the mail then offers only the https link).
    """
    local, domain = _mailbox()
    signature = signing.sign(_unsubscribe_message(subscriber_id, email), _TAG_LENGTH)
    tagged = f"{local}+u-{subscriber_id}.{signature}"
    return f"{tagged}@{domain}" if len(tagged) <= MAX_LOCAL_PART else None


def unsubscribe_claim(address: str) -> tuple[int, str] | None:
    """``(subscriber_id, signature)`` from an unsubscribe address, or None for any other.

    The signature can only be checked against the subscriber's current address, which the
    caller looks up: see :func:`unsubscribe_signed`.
    """
    found = _UNSUBSCRIBE_TAG.search(address)
    return (int(found.group(1)), found.group(2).lower()) if found else None


def unsubscribe_signed(subscriber_id: int, email: str, signature: str) -> bool:
    """True when ``signature`` is ours for this subscriber at this address (under any key)."""
    return signing.verify(signature, _unsubscribe_message(subscriber_id, email), _TAG_LENGTH)
