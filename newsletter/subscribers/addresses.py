"""Turning what a visitor typed into a safe address and display name, or a clear refusal."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

MAX_ADDRESS = 254  # RFC 5321 path limit minus the angle brackets
MAX_NAME = 200

# C0/C1 controls and the Unicode line/paragraph separators: anything that could end a
# header line or hide text in a mail client.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Lazy: read in the language of the page (or the English of the admin, the API, the CLI).
_ADDRESS_TOO_LONG = _l("The address is too long (at most %(limit)d characters).", limit=MAX_ADDRESS)
_NAME_CONTROL = _l("The name must not contain line breaks or control characters.")
_NAME_TOO_LONG = _l("The name is too long (at most %(limit)d characters).", limit=MAX_NAME)


class InvalidInput(ValueError):
    """A field a visitor filled in cannot be accepted; ``str(exc)`` says why, in their words."""

    def __init__(self, field: str, message: str | LazyString) -> None:
        super().__init__(message)  # a lazy message is read in the language of whoever reads it
        self.field = field


class InvalidAddress(InvalidInput):
    """The address cannot be used; ``str(exc)`` says why."""

    def __init__(self, message: str | LazyString) -> None:
        super().__init__("email", message)


def normalise_address(raw: str) -> str:
    """The address as stored: syntax-checked, lowercased (IDNA domain), no control characters.

    The local part is lowercased too: RFC 5321 lets a server tell ``Ann@`` from ``ann@``,
    but no mailbox provider does, and subscribers expect one subscription per address.

    Addresses whose local part needs SMTPUTF8 are refused: not every relay carries them, and
    an address we cannot mail must not be signed up.
    """
    value = (raw or "").strip(" \t")
    if not value:
        raise InvalidAddress(_l("Please enter your email address."))
    if _CONTROL.search(value):
        raise InvalidAddress(_l("The address must not contain line breaks or control characters."))
    if len(value) > MAX_ADDRESS:
        raise InvalidAddress(_ADDRESS_TOO_LONG)
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(LazyString(_not_valid, str(exc))) from None
    address = checked.ascii_email.lower()
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(_ADDRESS_TOO_LONG)
    return address


def _not_valid(reason: str) -> str:
    # email-validator says precisely what is wrong, in English only: other languages get
    # the plain sentence.
    if str(get_locale() or "en") == "en":
        return reason
    return gettext("This is not a valid email address.")


def lookup_form(raw: str) -> str:
    """The address as it would be stored, for finding a subscriber by a typed address with a plain
    comparison; text that is no valid address comes back trimmed and lowercased (it finds
    nobody, as it could never have been stored)."""
    try:
        return normalise_address(raw)
    except InvalidAddress:
        return (raw or "").strip().lower()


def clean_name(raw: str | None) -> str:
    """A display name without control characters or line breaks, at most 200 characters."""
    return " ".join(_CONTROL.sub(" ", raw or "").split())[:MAX_NAME]


def strict_name(raw: str) -> str:
    """A name typed on a form, refused (not repaired) when it smells of header injection."""
    if _CONTROL.search(raw):
        raise InvalidInput("name", _NAME_CONTROL)
    if len(raw) > MAX_NAME:
        raise InvalidInput("name", _NAME_TOO_LONG)
    return clean_name(raw)
