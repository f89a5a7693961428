"""Turning what a visitor typed into a safe address and display name, or a clear refusal."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

MAX_ADDRESS = 254  # RFC 5321 path limit minus the angle brackets
MAX_NAME = 200

# C0/C1 controls and the Unicode line/paragraph separators: anything that could end a
# header line or hide text in a mail client.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InvalidInput(ValueError):
    """A field a visitor filled in cannot be accepted; ``str(exc)`` says why, in their words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidAddress(InvalidInput):
    """The address cannot be used; ``str(exc)`` says why."""

    def __init__(self, message: str) -> None:
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
        raise InvalidAddress("Please enter your email address.")
    if _CONTROL.search(value):
        raise InvalidAddress("The address must not contain line breaks or control characters.")
    if len(value) > MAX_ADDRESS:
        raise InvalidAddress(f"The address is too long (at most {MAX_ADDRESS} characters).")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    address = checked.ascii_email.lower()
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(f"The address is too long (at most {MAX_ADDRESS} characters).")
    return address


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
        raise InvalidInput("name", "The name must not contain line breaks or control characters.")
    if len(raw) > MAX_NAME:
        raise InvalidInput("name", f"The name is too long (at most {MAX_NAME} characters).")
    return clean_name(raw)
