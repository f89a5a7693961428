"""Bulk mail bytes: the MIME structure built once per issue, each subscriber's copy filled in.

Building every copy with ``EmailMessage.as_bytes()`` costs ~2 ms, which alone would cap a
core near 500 messages/s. Here the email package builds the message once (headers folded
and encoded, boundary, part headers) around two marker bodies; each subscriber's copy is those
bytes with the subscriber's headers put in front and the subscriber's two bodies, quoted-printable
encoded by ``binascii`` (C, lines <= 76), put where the markers were. DKIM (``mail.dkim``) signs
the finished bytes, covering the List-Unsubscribe headers. Pure: no database, no network.
"""

from __future__ import annotations

import base64
import binascii
import email.quoprimime
import email.utils
import re
import secrets
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import NamedTuple

from .dkim import SharedParts, Signer
from .message import POLICY, date_value, domain_of
from .render import Rendered


class QuotedPrintable:
    """Quoted-printable with CRLF line ends and lines of at most 76 characters, for one body
    of one issue, remembering what it encoded. QP works line by line and all but a few lines
    of an issue are the same for every subscriber, so a body comes as runs of whole lines (see
    ``Rendered.runs``), a run every subscriber shares being the same string object at the same
    place each time. So the encoder keeps, per place, the run it last encoded: a shared run
    is found by identity, without hashing or comparing its text, and only the few lines
    around a subscriber's values are encoded per copy, without piling up. It also notes whether
    an encoded line starts with a dot (see :class:`Copy`)."""

    def __init__(self) -> None:
        self._last: list[tuple[str, bytes, bool]] = []  # per place: run, its QP, dot line?

    def encode(self, runs: tuple[str, ...], parts: list[bytes]) -> bool:
        """Add the runs, encoded as one body ending with a line break, to ``parts`` (the
        message is joined once, at the end); return whether a line of it starts with a dot."""
        last, dot_lines, start = self._last, False, len(parts)
        for place, run in enumerate(runs):
            if place == len(last):
                last.append(("", b"", False))
            known = last[place]
            if known[0] is not run:
                data = quoted_printable(run)
                known = last[place] = (run, data, _has_dot_line(data))
            if known[1]:
                parts.append(known[1])
                dot_lines = dot_lines or known[2]
        if len(parts) == start:
            parts.append(b"\r\n")
        return dot_lines


def quoted_printable(text: str) -> bytes:
    """Whole lines of text QP-encoded; the last line break is added if missing."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return b""
    if not text.endswith("\n"):
        text += "\n"
    return binascii.b2a_qp(text.replace("\n", "\r\n").encode("utf-8"), istext=True)


def _has_dot_line(data: bytes) -> bool:
    """True when a line of ``data`` (which starts at a line start) starts with a dot."""
    return data.startswith(b".") or b"\r\n." in data


class Copy(NamedTuple):
    """One subscriber's complete message. ``dot_lines`` says whether any line starts with a dot:
    the builder knows it from its parts (the shared ones checked once per issue), so SMTP
    can skip its dot-stuffing pass over each ~30 KB copy when none does."""

    data: bytes
    dot_lines: bool


class BulkTemplate:
    """One issue's message, ready to be personalised into bytes for each subscriber."""

    def __init__(
        self,
        *,
        sender: str,
        subject: str,
        list_id: str,
        list_name: str = "",
        signer: Signer | None = None,
    ) -> None:
        self.sender_address = email.utils.parseaddr(sender)[1]
        self.domain = domain_of(sender)
        self.signer = signer
        # Per footer language: each encoder remembers the runs of one language's bodies.
        self._encoders: dict[str, tuple[QuotedPrintable, QuotedPrintable]] = {}
        text_marker, html_marker = (f"nlbody{secrets.token_hex(6)}{n}" for n in "th")
        msg = EmailMessage(policy=POLICY)
        msg.set_content(text_marker, charset="utf-8", cte="quoted-printable")
        msg.add_alternative(html_marker, subtype="html", charset="utf-8", cte="quoted-printable")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # No Auto-Submitted (RFC 3834): an issue or a sequence step is written by a person and
        # read as list mail; List-Id and Precedence already keep autoresponders from answering.
        msg["Precedence"] = "bulk"
        for part in msg.iter_parts():
            del part["MIME-Version"]  # only the top level carries it
        raw = msg.as_bytes()
        head, _, rest = raw.partition(text_marker.encode() + b"\r\n")
        middle, _, tail = rest.partition(html_marker.encode() + b"\r\n")
        # From, Subject and List-Id are encoded here rather than by the email package, whose
        # folding of long non-ASCII subjects can drop the space between two encoded words, and
        # which leaves a list name's specials unquoted (``A <b>, c <id>``: which is the id?).
        sender_name, _ = email.utils.parseaddr(sender)
        fields, _, body_start = head.partition(b"\r\n\r\n")
        # The header lines every copy shares, and the body's start (after the blank line): the
        # DKIM signer hashes the two apart.
        self._fields = (
            address_header("From", self.sender_address, sender_name)
            + header_line("Subject", " ".join(subject.split()))
            + list_id_header(list_id, list_name)
            + fields
            + b"\r\n"
        )
        self._body_start, self._middle, self._tail = body_start, middle, tail
        self._signing = SharedParts()
        self._dot_lines = any(map(_has_dot_line, (self._fields, body_start, middle, tail)))

    def message_id(self, issue_id: int, delivery_id: int, tag: str) -> str:
        """Stable per delivery, so a copy resent by an admin is recognisably the same mail.

        ``tag`` is the delivery's keyed tag (``bounces.verp.message_tag``): with it, a report
        that quotes this id proves which mail it is about; without it, ids could be counted.
        """
        return f"<issue{issue_id}.delivery{delivery_id}.{tag}@{self.domain}>"

    def personalise(
        self,
        *,
        recipient: str,
        name: str,
        message_id: str,
        body: Rendered,
        unsubscribe_url: str,
        unsubscribe_mailto: str | None = None,
        date: str | None = None,
        language: str = "",
    ) -> Copy:
        """The complete message for one subscriber, signed when a DKIM key is configured;
        ``language`` names the language of ``body``'s footer (its runs differ per language)."""
        html, text = body.runs or ((body.html,), (body.text,))
        # No header line starts with a dot: each starts with its name or folding white space.
        headers = b"".join(
            [
                address_header("To", recipient, name),
                b"Date: " + (date or date_value(int(time.time()))).encode() + b"\r\n",
                b"Message-ID: " + message_id.encode() + b"\r\n",
                list_unsubscribe(unsubscribe_url, unsubscribe_mailto),
            ]
        )
        if language not in self._encoders:
            self._encoders[language] = (QuotedPrintable(), QuotedPrintable())
        text_qp, html_qp = self._encoders[language]
        body = [self._body_start]
        text_dots = text_qp.encode(text, body)
        body.append(self._middle)
        html_dots = html_qp.encode(html, body)
        body.append(self._tail)
        data = b"".join([headers, self._fields, b"\r\n", *body])
        if self.signer is not None:
            data = self.signer.sign_parts(headers, self._fields, body, self._signing) + data
        return Copy(data, self._dot_lines or text_dots or html_dots)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9 ]{1,60}")


def address_header(field: str, address: str, name: str) -> bytes:
    """``From:``/``To:`` with a display name, folded by us, never by the email package.

    Its refolding drops the quotes around a long display name holding an "@", so the name
    would read as the address. Plain names go as they are; other short ASCII names in quotes;
    anything longer or non-ASCII as RFC 2047 encoded words, one per line.
    """
    clean = " ".join(name.split())
    if not clean:
        return f"{field}: {address}\r\n".encode()
    if _PLAIN_NAME.fullmatch(clean):  # the common case needs no quoting
        line = f"{field}: {clean}"
    elif clean.isascii() and clean.isprintable() and len(clean) <= 60:
        quoted = clean.replace("\\", "\\\\").replace('"', '\\"')
        line = f'{field}: "{quoted}"'
    else:
        text = clean.encode("utf-8", "replace").decode()  # no lone surrogates
        line = f"{field}: " + "\r\n ".join(map(_encoded_word, _word_runs(text)))
    if len(line) + len(address) + 3 > 78 or "\n" in line:
        return f"{line}\r\n <{address}>\r\n".encode()  # folding white space before it
    return f"{line} <{address}>\r\n".encode()


_ENCODED_WORD_BYTES = 45  # base64 of 45 bytes plus "=?utf-8?b?…?=" is 72 characters (<= 75)
_ENCODED_WORD_MAX = 75  # RFC 2047: an encoded word, and a line holding one, is at most 75/76


def _name_fits(run: str, first: bool) -> bool:
    return len(run.encode()) <= _ENCODED_WORD_BYTES


def _word_runs(text: str, fits: Callable[[str, bool], bool] = _name_fits) -> list[str]:
    """``text`` in pieces that each ``fits`` (told whether it is the first), cut after a space
    where one allows (a mail program drops the white space between encoded words, not inside
    them)."""
    runs: list[str] = []
    run = ""
    for piece in re.findall(r"\S+\s*|\s+", text):
        if run and not fits(run + piece, not runs):
            runs.append(run)
            run = ""
        run += piece
        while not fits(run, not runs):  # one long word: cut it anywhere
            cut = len(run) - 1
            while cut > 1 and not fits(run[:cut], not runs):
                cut -= 1
            runs.append(run[:cut])
            run = run[cut:]
    return [*runs, run] if run else runs


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def list_unsubscribe(url: str, mailto: str | None = None) -> bytes:
    """The ``List-Unsubscribe:`` header (RFC 2369), every mail kind's: never encoded, since a
    mail client finds the URL only as plain ``<https://…>``, and one target per folded line
    to keep lines short whatever the token's length."""
    targets = f"<{url}>" + (f",\r\n <{mailto}>" if mailto else "")
    return f"List-Unsubscribe: {targets}\r\n".encode()


def header_line(name: str, value: str) -> bytes:
    """``Name: value`` folded to lines of at most 78 characters, RFC 2047-encoded if needed.

    ASCII is never encoded: the email package's folding turns a word too long for one line
    (a URL) into encoded words, which clients and filters then read as gibberish.
    """
    if value.isascii():
        lines = [f"{name}:"]
        for word in value.split(" "):
            if word and len(lines[-1]) + 1 + len(word) > 78 and lines[-1] != f"{name}:":
                lines.append("")  # fold: the space before this word starts the next line
            lines[-1] += " " + word
        return ("\r\n".join(lines) + "\r\n").encode()
    # Quoted-printable words, each of at most 75 characters on a line of at most 76 (RFC 2047):
    # the email package's ``Header`` makes words of 77 for about half of all long subjects.
    first = 76 - len(name) - 2

    def fits(run: str, is_first: bool) -> bool:
        return len(_q_word(run)) <= (first if is_first else _ENCODED_WORD_MAX)

    words = "\r\n ".join(map(_q_word, _word_runs(value, fits)))
    return f"{name}: {words}\r\n".encode()


def _q_word(text: str) -> str:
    return email.quoprimime.header_encode(text.encode("utf-8", "replace"), "utf-8")


def list_id_header(list_id: str, list_name: str = "") -> bytes:
    """``List-Id:`` (RFC 2919): the list's name as a phrase, plain, quoted or encoded as a
    display name is (:func:`address_header`), then ``<list_id>``."""
    if not list_name.strip():
        return f"List-Id: <{list_id}>\r\n".encode()
    return address_header("List-Id", list_id, list_name)


def list_id_for(slug: str, sender: str) -> str:
    """A List-Id like ``weekly.example.org`` (RFC 2919) from a list slug and the From domain."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", slug).strip("-") or "newsletter"
    return f"{label}.{domain_of(sender)}"
