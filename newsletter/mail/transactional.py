"""Transactional mail bytes (confirmations, welcomes, test copies) the way bulk copies are made.

Building each mail with ``EmailMessage`` and ``as_bytes()`` costs ~2 ms, most of a
confirmation's price. Here the email package builds one kind of mail once (From and Subject
encoded, boundary, part headers) around two marker bodies; each subscriber's mail is then the
subscriber's headers, those bytes, and the two bodies quoted-printable encoded by ``binascii``
(C, lines <= 76). The header and body encoders and the DKIM signer are bulk's, so every kind
of mail we send is written and signed alike. Pure: no database, no network.
"""

from __future__ import annotations

import email.utils
import secrets
import time
from email.message import EmailMessage
from functools import lru_cache

from .bulk import (
    address_header,
    header_line,
    list_id_header,
    list_unsubscribe,
    quoted_printable,
)
from .dkim import Signer
from .message import POLICY, date_value, domain_of
from .render import Rendered


class HeaderInjection(ValueError):
    """A header value would end its line: refused rather than repaired."""


class MailTemplate:
    """One kind of transactional mail from one sender with one subject, signed by ``signer``
    when DKIM is configured; ``language`` (the code it is written in) for Content-Language;
    ``automatic`` for a mail the system writes by itself, not a person (RFC 3834
    ``Auto-Submitted``)."""

    def __init__(
        self,
        sender: str,
        subject: str,
        signer: Signer | None = None,
        language: str = "",
        automatic: bool = False,
    ) -> None:
        self.domain = domain_of(sender)
        self.signer = signer
        text_marker, html_marker = (f"nlbody{secrets.token_hex(6)}{n}" for n in "th")
        msg = EmailMessage(policy=POLICY)
        msg.set_content(text_marker, charset="utf-8", cte="quoted-printable")
        msg.add_alternative(html_marker, subtype="html", charset="utf-8", cte="quoted-printable")
        for part in msg.iter_parts():
            del part["MIME-Version"]  # only the top level carries it
        head, _, rest = msg.as_bytes().partition(text_marker.encode() + b"\r\n")
        middle, _, tail = rest.partition(html_marker.encode() + b"\r\n")
        name, address = email.utils.parseaddr(sender)
        self._head = (
            address_header("From", address, name)
            + header_line("Subject", " ".join(subject.split()))
            + (header_line("Content-Language", language) if language else b"")
            # Autoresponders (vacation notices) must not answer it (RFC 3834): no person wrote
            # it to be answered, and an answer to a signup someone else made helps no one.
            + (b"Auto-Submitted: auto-generated\r\n" if automatic else b"")
            + head
        )
        self._middle, self._tail = middle, tail

    def fill(
        self,
        *,
        recipient: str,
        body: Rendered,
        unsubscribe_url: str | None = None,
        unsubscribe_mailto: str | None = None,
        mailing_list: tuple[str, str] | None = None,
    ) -> bytes:
        """The complete mail to one subscriber, with the one-click unsubscribe headers (RFC 8058)
        when given an ``unsubscribe_url`` and a List-Id (RFC 2919) when it is about a
        ``mailing_list`` (its list id and name). To is the bare address: a system mail never
        carries a name, which whoever typed the address into a form may have chosen."""
        own = [
            address_header("To", recipient, ""),
            b"Date: " + date_value(int(time.time())).encode() + b"\r\n",
            b"Message-ID: " + email.utils.make_msgid(domain=self.domain).encode() + b"\r\n",
        ]
        if mailing_list:
            own.append(list_id_header(*mailing_list))
        if unsubscribe_url:
            own.append(list_unsubscribe(unsubscribe_url, unsubscribe_mailto))
            own.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        for line in own:
            _check_one_header(line)
        data = b"".join(
            [*own, self._head, _body(body.text), self._middle, _body(body.html), self._tail]
        )
        return data if self.signer is None else self.signer.sign(data) + data


def _check_one_header(line: bytes) -> None:
    # Folding continues a header on lines that start with a space; any other line break
    # would start a header of someone else's choosing.
    unfolded = line[:-2].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    if b"\r" in unfolded or b"\n" in unfolded:
        name = unfolded.partition(b":")[0].decode("ascii", "replace")
        raise HeaderInjection(f"a line break in the {name} header")


def _body(text: str) -> bytes:
    return quoted_printable(text) or b"\r\n"


@lru_cache(maxsize=32)
def template(
    sender: str,
    subject: str,
    signer: Signer | None = None,
    language: str = "",
    automatic: bool = False,
) -> MailTemplate:
    """The template for this sender, subject, DKIM key, language and kind (``automatic``: sent
    by the system on its own, see :class:`MailTemplate`), built once per process."""
    return MailTemplate(sender, subject, signer, language, automatic)
