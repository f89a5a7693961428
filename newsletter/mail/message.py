"""Building RFC 5322 messages with the email package. Header injection is impossible here:
the ``email`` policy refuses CR/LF in header values, and display names are quoted by
``Address``."""

from __future__ import annotations

import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage

from .render import Rendered

POLICY = email.policy.SMTP.clone(max_line_length=78)


def domain_of(address: str) -> str:
    """The domain part of an address (for Message-ID)."""
    return email.utils.parseaddr(address)[1].rpartition("@")[2] or "localhost"


def format_recipient(email_address: str, name: str = "") -> str:
    """``Name <addr>`` with the name quoted and stripped of line breaks."""
    clean = " ".join(name.split())
    if not clean:
        return email_address
    return str(Address(display_name=clean, addr_spec=email_address))


def build(
    *,
    sender: str,
    to: str,
    subject: str,
    body: Rendered,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML) with Message-ID and Date."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain_of(sender))
    msg["MIME-Version"] = "1.0"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body.text, cte="quoted-printable")
    msg.add_alternative(body.html, subtype="html", cte="quoted-printable")
    return msg
